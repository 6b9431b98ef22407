-- Case history partitioned by year (案件历史, 按年分区), PostGIS only (issue 13).
--
-- Every 311/12345 case of a city for years: hundreds of millions of rows. One
-- partition per calendar year (UTC) of opened_at, so a year's load, re-assignment
-- or archive (DETACH PARTITION) touches only that year, and queries on a period scan
-- only its years. Partitions are created on demand by case_history_partition(year).
-- Not a store layer: a partitioned table's primary key must contain the partition
-- column, which the layer contract's fid key does not. The GeoPackage store keeps
-- no case history (a district's cases fit a plain layer).
--
-- Points are as reported, WGS84 longitude/latitude in degrees (EPSG:4326); geom is
-- computed from lon/lat by the server. grid_key is the covering grid polygon's key,
-- grid_version the grid version it was assigned against.

-- @postgis
CREATE TABLE case_history (
    case_id text NOT NULL,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz,
    category text,
    status text,
    source text,
    lon double precision,
    lat double precision,
    geom geometry(POINT, 4326) GENERATED ALWAYS AS (
        CASE WHEN lon IS NULL OR lat IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END
    ) STORED,
    grid_key text,
    grid_version text,
    attrs jsonb,
    PRIMARY KEY (case_id, opened_at)
) PARTITION BY RANGE (opened_at);

CREATE INDEX case_history_geom_gist ON case_history USING gist (geom);
CREATE INDEX case_history_grid_idx ON case_history (grid_key);

CREATE FUNCTION case_history_partition(year integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    part text := format('case_history_y%s', year);
BEGIN
    IF year < 1900 OR year > 2999 THEN
        RAISE EXCEPTION 'case_history_partition: year % is out of range 1900-2999', year;
    END IF;
    IF to_regclass(format('urbangrid.%I', part)) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE urbangrid.%I PARTITION OF urbangrid.case_history '
            'FOR VALUES FROM (%L) TO (%L)',
            part,
            make_timestamptz(year, 1, 1, 0, 0, 0, 'UTC'),
            make_timestamptz(year + 1, 1, 1, 0, 0, 0, 'UTC'));
    END IF;
    RETURN part;
END
$$;
-- @end
