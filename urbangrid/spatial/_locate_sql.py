"""The assignment rule inside PostGIS, for systems that only speak SQL.

``urbangrid.locate(layer, key, pt)`` gives, for a point geometry in any SRID, the key
of the current row of ``layer`` whose polygon covers it (boundary included), the
smallest key (codepoint order) where several do: the rule of
:class:`urbangrid.spatial.index.GridIndex` built with
:meth:`~urbangrid.spatial.index.GridIndex.from_store`. The GiST index on ``geom``
serves the ``&&`` filter.

PostGIS answers ``ST_Covers`` for a point with its own point-in-polygon code, not
GEOS's; both agree everywhere except, possibly, on points within rounding distance of
an edge that is not axis-aligned. GCJ-02 and BD-09 are unknown to PostGIS: convert
such points first (:func:`urbangrid.spatial.crs.transform_xy`).

This SQL belongs in a store migration; until then :func:`install_locate_sql` applies
it (idempotent, ``CREATE OR REPLACE``).
"""

from __future__ import annotations

from typing import Any

from urbangrid.errors import StoreError

__all__ = ["LOCATE_SQL", "install_locate_sql"]

LOCATE_SQL = r"""
CREATE OR REPLACE FUNCTION urbangrid.locate(layer text, key text, pt geometry)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
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
$fn$;

COMMENT ON FUNCTION urbangrid.locate(text, text, geometry) IS
'Key of the current row of a polygon layer covering pt (boundary included); the '
'smallest key (codepoint order) when several do; NULL when none. Same rule as '
'urbangrid.spatial.index.GridIndex.from_store.';

CREATE OR REPLACE FUNCTION urbangrid.locate_unit_grid(pt geometry)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT urbangrid.locate('unit_grid', 'grid_code', pt)
$fn$;
"""


def install_locate_sql(store: Any) -> None:
    """Create (or replace) the ``urbangrid.locate`` SQL functions in a PostGIS store.

    Parameters
    ----------
    store : urbangrid.store.Store
        An open PostGIS store (``store.kind == "postgis"``).

    Raises
    ------
    StoreError
        The store is not PostGIS.
    """
    if getattr(store, "kind", None) != "postgis":
        raise StoreError("the locate SQL functions need a PostGIS store, not a GeoPackage")
    with store.connection.transaction():
        store.connection.execute(LOCATE_SQL)
