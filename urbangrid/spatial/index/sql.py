"""The assignment rule inside PostGIS, for systems that only speak SQL.

``urbangrid.locate(layer, key, pt)`` gives, for a point geometry in any SRID, the key
of the current row of ``layer`` whose polygon covers it (boundary included), the
smallest key (codepoint order) where several do: the rule of
:class:`urbangrid.spatial.index.engine.GridIndex` built with
:meth:`~urbangrid.spatial.index.engine.GridIndex.from_store`. The GiST index on ``geom``
serves the ``&&`` filter. ``urbangrid.locate_unit_grid(pt)`` applies it to unit grids.

The functions are created by the store migration ``0601_locate.sql``, so every
migrated PostGIS store has them; :meth:`urbangrid.store.Store.ensure_locate_functions`
checks it.

PostGIS answers ``ST_Covers`` for a point with its own point-in-polygon code, not
GEOS's; both agree everywhere except, possibly, on points within rounding distance of
an edge that is not axis-aligned. GCJ-02 and BD-09 are unknown to PostGIS: convert
such points first (:func:`urbangrid.spatial.crs.transform.transform_xy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from urbangrid.store import Store

__all__ = ["install_locate_sql"]


def install_locate_sql(store: Store) -> None:
    """Make sure a PostGIS store has the ``urbangrid.locate`` SQL functions.

    They come with migration ``0601_locate.sql``; this applies pending migrations
    (idempotent) and checks the functions are there.

    Parameters
    ----------
    store : urbangrid.store.Store
        An open PostGIS store.

    Raises
    ------
    StoreError
        The store is a GeoPackage (:class:`~urbangrid.store.PostGISOnlyError`), or the
        functions are missing after migrating.
    """
    store.ensure_locate_functions()
