-- Case log (案卷流转记录), collector roster and collector areas (issue 10).
--
-- One row per case event (上报 核实 立案 派遣 处置 核查 结案): enough to compute the
-- evaluation indicators (urbangrid.routing.indicators) from real data. Times are the
-- city's local wall-clock times as recorded.

CREATE TABLE case_event (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,         -- <case_id>:<event>:<n>
    case_id TEXT NOT NULL,          -- 案卷号
    event TEXT NOT NULL CHECK (event IN ('上报', '核实', '立案', '派遣', '处置', '核查', '结案')),
    at DATETIME NOT NULL,           -- when the event happened
    collector_id TEXT,              -- 监督员编号: who reported / verified / checked
    channel TEXT,                   -- on 上报: collector (监督员上报) or public, hotline …
    assigned_to TEXT,               -- 责任监督员 of the place
    area_code TEXT,                 -- collector area / work grid / ward the case lies in
    category TEXT,                  -- subclass code or the source's type
    kind TEXT,                      -- component | event
    department TEXT,                -- 处置单位 the case went to
    due_at DATETIME,                -- 处置截止时间 when the source gives one
    source TEXT,                    -- file the row came from
    source_row INTEGER              -- its data row number in that file
);
-- @layer case_event key=event_id geometry=geom:POINT

CREATE INDEX case_event_case_idx ON case_event (case_id);
CREATE INDEX case_event_collector_idx ON case_event (collector_id);

-- 监督员名册: the collectors a case log may name.
CREATE TABLE collector (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    collector_id TEXT NOT NULL,
    name TEXT,
    area_code TEXT,                 -- collector area patrolled
    mode TEXT,                      -- walk | bike | ebike | car
    shift TEXT                      -- shift label (1, 2, 3, 1b …)
);
-- @layer collector key=collector_id history=true

-- 采集员责任区: contiguous groups of grids, each ridden round within the limit.
CREATE TABLE collector_area (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    area_code TEXT NOT NULL,        -- <community code>C<nn>
    community_code TEXT,
    n_grids INTEGER NOT NULL,
    streets INTEGER NOT NULL,
    patrol_km DOUBLE NOT NULL,
    route_s DOUBLE NOT NULL,        -- one closed round, seconds
    deadhead_s DOUBLE NOT NULL,
    limit_s DOUBLE NOT NULL,
    fits BOOLEAN NOT NULL,
    mode TEXT,
    grid_codes JSON                 -- the unit grids of the area
);
-- @layer collector_area key=area_code geometry=geom:MULTIPOLYGON history=true
