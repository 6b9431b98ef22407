-- Unit grids (单元网格) and their survey versions (issue 5).
--
-- One row per version of a grid: a new survey is loaded as a new version, the store
-- closes the previous row (valid_to), and grids that did not change keep their row,
-- so "the grids of survey V" is an as-of query at V's loaded_at.

CREATE TABLE unit_grid (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    grid_code TEXT NOT NULL,        -- 单元网格编码: 15 digits (3-digit serial) or 14 (2-digit)
    code_form INTEGER NOT NULL CHECK (code_form IN (14, 15)),
    community_code TEXT NOT NULL,   -- 社区/村 12-digit statistical division code
    street_code TEXT NOT NULL,      -- 街道/乡镇 9-digit code
    county_code TEXT NOT NULL,      -- 区县 6-digit GB/T 2260 code
    grade INTEGER CHECK (grade IN (1, 2, 3)),  -- 管理等级 management grade, NULL if not set
    area_m2 DOUBLE NOT NULL,        -- area in m², computed in metric_crs
    metric_crs TEXT,                -- the metric CRS the grid was made/measured in, e.g. EPSG:4548
    work_grid_code TEXT,            -- 工作网格 the grid belongs to
    version TEXT NOT NULL,          -- survey version that introduced this shape (grid_version.version)
    source TEXT                     -- provenance: file, generator parameters
);
-- @layer unit_grid key=grid_code geometry=geom:MULTIPOLYGON history=true

CREATE INDEX unit_grid_community_idx ON unit_grid (community_code);
CREATE INDEX unit_grid_county_idx ON unit_grid (county_code);
CREATE INDEX unit_grid_work_idx ON unit_grid (work_grid_code);

-- One row per loaded grid survey: the time it was loaded is the as-of time of that
-- version, so diffs between versions are two as-of reads.
CREATE TABLE grid_version (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL,          -- label, e.g. 2024-survey
    loaded_at DATETIME NOT NULL,    -- valid_from of the rows this version wrote
    county_codes TEXT NOT NULL,     -- counties the survey covers, comma-separated
    n_grids INTEGER NOT NULL,
    n_added INTEGER NOT NULL,
    n_removed INTEGER NOT NULL,
    n_changed INTEGER NOT NULL,
    source TEXT,
    note TEXT
);
-- @layer grid_version key=version

-- Retired grid codes (closed unit_grid rows with no current row) are never issued again:
-- urbangrid.spatial.grids.retired_grid_codes reads them for renumber_grids.
