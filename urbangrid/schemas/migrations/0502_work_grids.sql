-- Work grids (工作网格): contiguous groups of unit grids for staffing (issue 5).
-- No national definition: codes are <12-digit community>W<2-digit serial>, or
-- <9-digit street>W<3-digit serial> when a work grid may span communities.

CREATE TABLE work_grid (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    work_grid_code TEXT NOT NULL,
    community_code TEXT,            -- NULL when the work grid spans communities
    street_code TEXT NOT NULL,
    n_unit_grids INTEGER NOT NULL,
    workload DOUBLE NOT NULL,       -- unit-free weighted workload (see spatial.work_grids)
    weights JSON,                   -- the measures and weights used
    area_m2 DOUBLE NOT NULL,
    version TEXT NOT NULL,          -- grid_version the grouping was made for
    source TEXT
);
-- @layer work_grid key=work_grid_code geometry=geom:MULTIPOLYGON history=true

CREATE INDEX work_grid_community_idx ON work_grid (community_code);
