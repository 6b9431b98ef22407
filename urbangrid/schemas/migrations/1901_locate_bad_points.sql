-- urbangrid.locate answers NULL for a point it cannot place (issue 19).
--
-- One NaN, infinite or absurdly large coordinate, an empty point or a point of
-- SRID 0 (no CRS) made urbangrid.locate raise ("transform: latitude or longitude
-- exceeded limits", "Input geometry has unknown (0) SRID"), which aborted a whole
-- UPDATE … SET grid_code = urbangrid.locate(…) over millions of rows. Such a point
-- now gets NULL, as a point outside every polygon does; the rule for every other
-- point is migration 0601's, unchanged.

-- @postgis
CREATE OR REPLACE FUNCTION urbangrid.locate(layer text, key text, pt geometry)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    layer_srid integer;
    result text;
BEGIN
    IF pt IS NULL OR ST_IsEmpty(pt) OR ST_SRID(pt) = 0
       OR NOT (abs(ST_XMin(pt)) < 1e15 AND abs(ST_XMax(pt)) < 1e15
               AND abs(ST_YMin(pt)) < 1e15 AND abs(ST_YMax(pt)) < 1e15) THEN
        RETURN NULL;  -- NaN fails every comparison: NOT (…) catches it too
    END IF;
    layer_srid := Find_SRID('urbangrid', layer, 'geom');
    IF ST_SRID(pt) <> layer_srid THEN
        -- No EXCEPTION block (a subtransaction: not allowed in parallel plans): the
        -- points ST_Transform would refuse are refused first.
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
'urbangrid.spatial.index.GridIndex.from_store.';
-- @end
