-- The assignment rule of urbangrid.locate (migration 0601), set-based (issue 13).
--
-- urbangrid.locate(layer, key, pt) answers one point; called once per row of a
-- 10-million-row table it runs a dynamic query per row. urbangrid.locate_update
-- writes the same answer into a column of every row of a point table in one UPDATE:
-- the key of the current row (valid_to IS NULL) of the polygon layer whose polygon
-- covers the point (boundary included), the smallest key (codepoint order, COLLATE
-- "C") when several do, NULL when none or when the point is NULL. Points in another
-- SRID are transformed to the layer's.
--
-- Why it is fast: the layer's current polygons are cut by ST_Subdivide into pieces
-- of at most max_vertices vertices, in a temporary table with a GiST index, so each
-- covers test is small. A point is covered by a polygon exactly when it is covered by
-- one of its pieces (the cuts are inside the polygon), so the answer is locate's.
--
-- Called per partition of a partitioned table (urbangrid.scale.postgis runs one
-- connection per year of case_history); every call builds its own pieces.

-- @postgis
CREATE OR REPLACE FUNCTION urbangrid.locate_update(
    points regclass,
    layer text,
    key text,
    target_column text,
    point_column text DEFAULT 'geom',
    only_missing boolean DEFAULT false,
    version_column text DEFAULT NULL,
    version text DEFAULT NULL,
    max_vertices integer DEFAULT 64
)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    layer_srid integer;
    pieces text := format('_locate_pieces_%s', pg_backend_pid());
    version_sql text := '';
    filter_sql text := '';
    n bigint;
BEGIN
    layer_srid := Find_SRID('urbangrid', layer, 'geom');
    IF version_column IS NOT NULL THEN
        version_sql := format(', %I = %L', version_column, version);
    END IF;
    IF only_missing THEN
        filter_sql := format(' WHERE %I IS NULL', target_column);
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS pg_temp.%I', pieces);
    EXECUTE format(
        'CREATE TEMPORARY TABLE %I ON COMMIT DROP AS '
        'SELECT %I::text AS key, ST_Subdivide(geom, $1) AS geom '
        'FROM urbangrid.%I WHERE valid_to IS NULL AND geom IS NOT NULL',
        pieces, key, layer)
    USING max_vertices;
    EXECUTE format('CREATE INDEX ON pg_temp.%I USING gist (geom)', pieces);
    EXECUTE format('ANALYZE pg_temp.%I', pieces);
    -- ST_Transform returns a point already in layer_srid unchanged
    EXECUTE format(
        'UPDATE %s AS t SET %I = ('
        'SELECT p.key FROM pg_temp.%I AS p '
        'WHERE p.geom && ST_Transform(t.%I, $1) AND ST_Covers(p.geom, ST_Transform(t.%I, $1)) '
        'ORDER BY p.key COLLATE "C" LIMIT 1)%s%s',
        points, target_column, pieces, point_column, point_column, version_sql, filter_sql)
    USING layer_srid;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXECUTE format('DROP TABLE pg_temp.%I', pieces);
    RETURN n;
END
$$;

COMMENT ON FUNCTION urbangrid.locate_update(regclass, text, text, text, text, boolean, text,
                                            text, integer) IS
'Set-based urbangrid.locate: writes into target_column of every row of points (only '
'NULL ones with only_missing) the key of the current row of layer covering the point '
'(boundary included), the smallest key (codepoint order) when several do, NULL when '
'none; optionally version into version_column. Returns the rows updated.';
-- @end
