-- The assignment rule inside PostGIS, for systems that only speak SQL (issue 6).
--
-- urbangrid.locate(layer, key, pt): key of the current row of a polygon layer whose
-- polygon covers pt (boundary included); the smallest key (codepoint order) when
-- several do; NULL when none: the rule of GridIndex.from_store. PostgreSQL only:
-- a GeoPackage has no server-side functions (use urbangrid.spatial.index there).

-- @postgis
CREATE OR REPLACE FUNCTION urbangrid.locate(layer text, key text, pt geometry)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    layer_srid integer;
    result text;
BEGIN
    layer_srid := Find_SRID('urbangrid', layer, 'geom');
    IF ST_SRID(pt) <> layer_srid THEN
        pt := ST_Transform(pt, layer_srid);
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
'smallest key (codepoint order) when several do; NULL when none. Same rule as '
'urbangrid.spatial.index.GridIndex.from_store.';

CREATE OR REPLACE FUNCTION urbangrid.locate_unit_grid(pt geometry)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT urbangrid.locate('unit_grid', 'grid_code', pt)
$$;
-- @end
