-- urbangrid.locate for unit grids in the time of locate_unit_grid (issue 22).
--
-- urbangrid.locate(layer, key, pt) is PL/pgSQL with a dynamic query, planned anew for
-- every point (~1.1 ms a point, ~20x a plain ST_Covers query). Its common call,
-- locate('unit_grid', 'grid_code', pt), now hands over to migration 2201's
-- locate_unit_grid, a static query planned once per session: measured 86 us a point
-- against 66 us for the plain query on 14,400 grids (benchmarks/answers.py).
-- work_grid/work_grid_code and admin_area/code run static queries (planned once per
-- session); any other layer keeps the dynamic query. The layer's SRID is read from
-- the column's type modifier (a catalog row) instead of the geometry_columns view
-- (Find_SRID). Answers are migration 1901's for every point, bad points included.

-- @postgis
CREATE OR REPLACE FUNCTION urbangrid.locate(layer text, key text, pt geometry)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    layer_srid integer;
    result text;
BEGIN
    IF layer = 'unit_grid' AND key = 'grid_code' THEN
        -- the common call: a static query, planned once per session (migration 2201)
        RETURN urbangrid.locate_unit_grid(pt);
    END IF;
    IF pt IS NULL OR ST_IsEmpty(pt) OR ST_SRID(pt) = 0
       OR NOT (abs(ST_XMin(pt)) < 1e15 AND abs(ST_XMax(pt)) < 1e15
               AND abs(ST_YMin(pt)) < 1e15 AND abs(ST_YMax(pt)) < 1e15) THEN
        RETURN NULL;
    END IF;
    SELECT postgis_typmod_srid(a.atttypmod) INTO layer_srid
    FROM pg_catalog.pg_attribute AS a
    WHERE a.attrelid = format('urbangrid.%I', layer)::regclass AND a.attname = 'geom';
    IF ST_SRID(pt) <> layer_srid THEN
        IF NOT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = ST_SRID(pt)) THEN
            RETURN NULL;
        END IF;
        IF EXISTS (SELECT 1 FROM spatial_ref_sys
                   WHERE srid = ST_SRID(pt) AND proj4text LIKE '%+proj=longlat%')
           AND NOT (ST_XMin(pt) >= -180 AND ST_XMax(pt) <= 180
                    AND ST_YMin(pt) >= -90 AND ST_YMax(pt) <= 90) THEN
            RETURN NULL;
        END IF;
        pt := ST_Transform(pt, layer_srid);
    END IF;
    -- The other polygon layers urbangrid declares: static queries, planned once.
    IF layer = 'work_grid' AND key = 'work_grid_code' THEN
        SELECT work_grid_code::text INTO result FROM urbangrid.work_grid
        WHERE valid_to IS NULL AND geom && pt AND ST_Covers(geom, pt)
        ORDER BY work_grid_code::text COLLATE "C" LIMIT 1;
        RETURN result;
    ELSIF layer = 'admin_area' AND key = 'code' THEN
        SELECT code::text INTO result FROM urbangrid.admin_area
        WHERE valid_to IS NULL AND geom && pt AND ST_Covers(geom, pt)
        ORDER BY code::text COLLATE "C" LIMIT 1;
        RETURN result;
    END IF;
    EXECUTE format(
        'SELECT %1$I::text FROM urbangrid.%2$I '
        'WHERE valid_to IS NULL AND geom && $1 AND ST_Covers(geom, $1) '
        'ORDER BY %1$I::text COLLATE "C" LIMIT 1',
        key, layer)
    INTO result USING pt;
    RETURN result;
END
$$;

COMMENT ON FUNCTION urbangrid.locate(text, text, geometry) IS
'Key of the current row of a polygon layer covering pt (boundary included); the '
'smallest key (codepoint order) when several do; NULL when none, and for a NULL, '
'empty, SRID 0, NaN, infinite or huge point. Same rule as '
'urbangrid.spatial.index.GridIndex.from_store; unit_grid/grid_code through '
'urbangrid.locate_unit_grid (migration 2202).';
-- @end
