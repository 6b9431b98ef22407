-- Foundation layers: administrative areas and street centrelines.
--
-- Portable dialect (see urbangrid/store/migrations.py): TEXT, INTEGER, DOUBLE,
-- BOOLEAN, DATE, DATETIME, JSON; `-- @layer` registers a table as a layer.

-- 行政区划 administrative areas: district (区县, 6-digit code), street office
-- (街道/乡镇, 9-digit) and community (社区/村, 12-digit) in one table, so that a
-- point's whole hierarchy is one query and parent links stay checkable.
CREATE TABLE admin_area (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'city', 'district', 'street', 'community')),
    name TEXT NOT NULL,
    parent_code TEXT,
    source TEXT
);
-- @layer admin_area key=code geometry=geom:MULTIPOLYGON history=true

CREATE INDEX admin_area_parent_idx ON admin_area (parent_code);

-- 道路中心线 street centrelines, one row per directed-or-not OSM/survey edge.
CREATE TABLE street_centreline (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    edge_id TEXT NOT NULL,
    u TEXT,
    v TEXT,
    name TEXT,
    highway TEXT,
    oneway BOOLEAN,
    length_m DOUBLE,
    source TEXT,
    tags JSON
);
-- @layer street_centreline key=edge_id geometry=geom:LINESTRING

CREATE INDEX street_centreline_highway_idx ON street_centreline (highway);
