-- Patrol routes (巡查路线): one collector's closed walk through an area (issue 8).
--
-- One row per version of a route: re-planning an area (new streets, another mode,
-- another start) closes the previous version (valid_to), so "the route ridden on
-- date D" is an as-of query. Lengths in metres, times in seconds.
CREATE TABLE patrol_route (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    route_id TEXT NOT NULL,          -- <area code>:<mode>, e.g. 110108001002W01:bike
    area_code TEXT,                  -- work grid / unit grid / any area code
    mode TEXT NOT NULL,              -- walk | bike | ebike | car (urbangrid/routing/modes.toml)
    length_m DOUBLE NOT NULL,        -- route length
    duration_s DOUBLE NOT NULL,      -- patrol time at the mode's speeds, turn penalties included
    deadhead_m DOUBLE NOT NULL,      -- 空驶: length not serving a required street
    deadhead_share DOUBLE NOT NULL,
    street_m DOUBLE NOT NULL,        -- required street length (both sides counted)
    lower_bound_s DOUBLE,            -- proven lower bound on the travel time of any route
    area_m2 DOUBLE,
    n_required INTEGER NOT NULL,
    n_skipped INTEGER NOT NULL,      -- required streets no closed walk can serve
    uturns INTEGER NOT NULL,
    start_node TEXT NOT NULL,
    start_snap_m DOUBLE NOT NULL,    -- distance from the given start point to the street
    metric_crs TEXT NOT NULL,        -- CRS the lengths were measured in
    instructions JSON,               -- turn-by-turn steps (text_zh, text_en, distance_m, ...)
    source TEXT                      -- street graph provenance
);
-- @layer patrol_route key=route_id geometry=geom:LINESTRING history=true

CREATE INDEX patrol_route_area_idx ON patrol_route (area_code);
