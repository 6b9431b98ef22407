-- urbangrid.locate_unit_grid in the time of a plain ST_Covers query (issue 22).
--
-- Migration 0601 made it a wrapper of the PL/pgSQL urbangrid.locate, which per
-- point looks the layer's SRID up in the geometry_columns view (Find_SRID) and
-- runs a dynamic query, planned anew each time: 2.4 ms a point, ~50× the query it
-- runs. It is now one SQL query over unit_grid, planned once per statement: the
-- layer's SRID comes from the column's type modifier (a catalog row), the point
-- is checked and transformed in one CASE, and the GiST condition `geom && p`
-- comes first. The answers are 1901's: the smallest grid_code (codepoint order)
-- of the current grids covering the point, boundary included; NULL when none, and
-- for a NULL, empty, SRID 0, NaN, infinite or huge point, an SRID PostGIS does
-- not know, or degrees out of range. urbangrid.locate(layer, key, pt), for any
-- layer, is unchanged.

-- @postgis
CREATE OR REPLACE FUNCTION urbangrid.locate_unit_grid(pt geometry)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.grid_code::text
    FROM (SELECT CASE
            WHEN pt IS NULL OR ST_IsEmpty(pt) OR ST_SRID(pt) = 0
                 OR NOT (abs(ST_XMin(pt)) < 1e15 AND abs(ST_XMax(pt)) < 1e15
                         AND abs(ST_YMin(pt)) < 1e15 AND abs(ST_YMax(pt)) < 1e15)
                THEN NULL  -- NaN fails every comparison: NOT (…) catches it too
            WHEN ST_SRID(pt) = l.srid THEN pt
            WHEN NOT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = ST_SRID(pt))
                THEN NULL
            WHEN EXISTS (SELECT 1 FROM spatial_ref_sys
                         WHERE srid = ST_SRID(pt) AND proj4text LIKE '%+proj=longlat%')
                 AND NOT (ST_XMin(pt) >= -180 AND ST_XMax(pt) <= 180
                          AND ST_YMin(pt) >= -90 AND ST_YMax(pt) <= 90)
                THEN NULL
            ELSE ST_Transform(pt, l.srid)
          END AS p
          FROM (SELECT postgis_typmod_srid(a.atttypmod) AS srid
                FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = 'urbangrid.unit_grid'::regclass AND a.attname = 'geom')
               AS l) AS q
    JOIN urbangrid.unit_grid AS g ON g.geom && q.p AND ST_Covers(g.geom, q.p)
    WHERE g.valid_to IS NULL
    ORDER BY g.grid_code::text COLLATE "C"
    LIMIT 1
$$;

COMMENT ON FUNCTION urbangrid.locate_unit_grid(geometry) IS
'grid_code of the current unit grid covering pt (boundary included); the smallest '
'(codepoint order) when several do; NULL when none, and for a NULL, empty, SRID 0, '
'NaN, infinite or huge point. Same rule as urbangrid.locate(''unit_grid'', '
'''grid_code'', pt) and urbangrid.spatial.index.GridIndex.from_store; one SQL query '
'planned once per statement (migration 2201).';
-- @end
