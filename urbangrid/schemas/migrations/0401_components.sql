-- City components (城市部件): the inventory a collector patrols, with history.
--
-- One row per version of a component; the store closes the previous version
-- (valid_to) on every change, so "the inventory as of date D" is a query.
-- Field names follow CJ/T 214 (OBJID, OBJNAME, DEPTCODE1..3, BGID, OBJSTATE,
-- ORDATE, CHDATE, DATASOURCE, PICTURE, NOTE) in English.
CREATE TABLE component (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    component_id TEXT NOT NULL,     -- 标识码 OBJID: admin + class + subclass + serial
    edition TEXT NOT NULL,          -- standard edition of the codes: cjt214-2007 | gbt47678-2026
    class_code TEXT NOT NULL,       -- 大类代码
    subclass_code TEXT NOT NULL,    -- 小类代码 (class + subclass digits)
    name TEXT NOT NULL,             -- 名称 OBJNAME
    status TEXT NOT NULL,           -- 状态 OBJSTATE: 完好/破损/丢失/占用 (2026: 完好/破损/丢失/废弃/移除)
    dept_code1 TEXT,                -- 主管部门代码 DEPTCODE1
    dept_name1 TEXT,                -- 主管部门 DEPTNAME1
    dept_code2 TEXT,                -- 权属单位代码 DEPTCODE2 (owner)
    dept_name2 TEXT,                -- 权属单位 DEPTNAME2
    dept_code3 TEXT,                -- 养护单位代码 DEPTCODE3 (maintainer)
    dept_name3 TEXT,                -- 养护单位 DEPTNAME3
    grid_code TEXT,                 -- 所在单元网格 BGID
    data_source TEXT NOT NULL,      -- 数据来源 DATASOURCE: 实测/地形图/调绘/其它
    location TEXT,                  -- 位置描述
    original_date DATE,             -- 初始日期 ORDATE
    change_date DATE,               -- 变更日期 CHDATE
    picture TEXT,                   -- 图片 PICTURE (path or URL)
    note TEXT,                      -- 备注 NOTE
    source TEXT,                    -- provenance key of the input record (osm:node/123, file/row)
    extra JSON                      -- subclass-specific fields: 材质, 站名 (0203), 雕塑名称 (0406) ...
);
-- @layer component key=component_id geometry=geom:GEOMETRY history=true

-- Indexes for the common look-ups only (by subclass, by grid): every index costs
-- on a 300,000-row load. Class and owner queries scan; re-load look-ups by source
-- key hash-join the keys.
CREATE INDEX component_subclass_idx ON component (subclass_code);
CREATE INDEX component_grid_idx ON component (grid_code);

-- Serial counters (流水号) per county and subclass. Allocation is one UPSERT that
-- adds n and returns the new last serial: the row lock it takes serialises
-- concurrent writers on the same counter, so two writers never get one serial.
CREATE TABLE component_serial (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    serial_key TEXT NOT NULL,       -- admin code + subclass code, e.g. 3205080101
    last_serial INTEGER NOT NULL
);
-- @layer component_serial key=serial_key
