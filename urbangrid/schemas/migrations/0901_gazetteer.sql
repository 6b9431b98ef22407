-- Gazetteer (地名地址库, GB/T 30428.3): places of the six standard types, with history.
--
-- One row per version of a place. place_type is one of area (区域), zone (地片),
-- block (区片), street (街巷), plate (门（楼）牌), poi (兴趣点). `names` lists other
-- names: [{"name": ..., "kind": "alias" | "en" | "old" | "building", "from": date,
-- "to": date}]; a renamed place keeps its old name there with the dates, and the
-- store keeps the previous row (valid_to) too.
CREATE TABLE place (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    place_id TEXT NOT NULL,         -- osm:node/123, osm:street:成府路, admin:110108010, file:row
    place_type TEXT NOT NULL CHECK (place_type IN ('area', 'zone', 'block', 'street', 'plate', 'poi')),
    name TEXT NOT NULL,             -- official name (标准名称)
    names JSON,                     -- aliases, English and old names with dates
    parent_id TEXT,                 -- the place it lies in
    admin_code TEXT,                -- statistical division code (区划代码)
    street TEXT,                    -- plates and POIs: the street (街巷) of the address
    housenumber TEXT,               -- plates: door number without 号 (12, 12-8, 甲2)
    grid_code TEXT,                 -- unit grid (单元网格) of the representative point
    community_code TEXT,            -- community (社区) of the representative point
    source TEXT                     -- provenance: osm:<file>, plates:<file>, divisions
);
-- @layer place key=place_id geometry=geom:GEOMETRY history=true

CREATE INDEX place_type_idx ON place (place_type);
CREATE INDEX place_name_idx ON place (name);
CREATE INDEX place_street_idx ON place (street, housenumber);

-- Trigram search on names, the PostgreSQL way of fuzzy lookup (pg_trgm is a trusted
-- extension: a database owner may create it).
-- @postgis
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX place_name_trgm_idx ON place USING gin (name gin_trgm_ops);
-- @end
