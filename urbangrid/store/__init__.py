"""Stores: one contract (:class:`Store`), two back ends.

``urbangrid.connect("district.gpkg")`` gives the embedded GeoPackage store (one
file, no server, opens in QGIS); ``urbangrid.connect("postgresql://…")`` gives
the PostGIS store, the system of record. Both keep the same contract, proven by
one contract test suite run against each (``tests/store/test_contract.py``).

Layers are declared once, in the SQL migrations under
``urbangrid/schemas/migrations/`` (see :mod:`urbangrid.store.migrations`).
"""

from __future__ import annotations

from pathlib import Path

from urbangrid.errors import StoreConnectionError
from urbangrid.store.base import (
    DuplicateKeyError,
    LayerInfo,
    PostGISOnlyError,
    Store,
    StoreBusyError,
    StoreConflictError,
    WriteMode,
    WriteResult,
)
from urbangrid.store.gpkg import GeoPackageStore
from urbangrid.store.postgis import PostGISStore

__all__ = [
    "DuplicateKeyError",
    "GeoPackageStore",
    "LayerInfo",
    "PostGISOnlyError",
    "PostGISStore",
    "Store",
    "StoreBusyError",
    "StoreConflictError",
    "WriteMode",
    "WriteResult",
    "connect",
    "init_store",
]


def connect(
    target: str | Path, *, migrate: bool = True, srid: int = 4326, readonly: bool = False
) -> Store:
    """Open a store.

    Parameters
    ----------
    target : str or Path
        A path ending in ``.gpkg`` (the embedded store; created if missing) or a
        ``postgresql://`` / ``postgres://`` DSN (PostGIS).
    migrate : bool
        Apply pending schema migrations (default True; idempotent).
    srid : int
        EPSG code for geometry columns of a *new* store (default 4326, WGS84
        longitude/latitude in degrees). Existing stores keep theirs.
    readonly : bool
        Open for reading only (default False): the store must exist and hold
        urbangrid's tables; nothing is created, migrated or written (a
        GeoPackage is opened ``mode=ro``, a PostGIS session is
        ``default_transaction_read_only``), and every write raises
        :class:`~urbangrid.errors.StorePermissionError`. For commands that only
        read: ``db info``, ``load history``, ``components stats``, dry runs,
        ``locate``, ``geocode``.

    Returns
    -------
    Store

    Raises
    ------
    StoreConnectionError
        A bad path, an unreachable server or a database without PostGIS; the
        message says what is wrong and what to do.

    Examples
    --------
    >>> import tempfile, pathlib, urbangrid
    >>> with urbangrid.connect(pathlib.Path(tempfile.mkdtemp()) / "d.gpkg") as store:
    ...     "admin_area" in store.layers()
    True
    """
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")) or (
        "dbname=" in text and not text.endswith(".gpkg")
    ):
        return PostGISStore(text, migrate=migrate and not readonly, srid=srid, readonly=readonly)
    if text.lower().endswith(".gpkg"):
        return GeoPackageStore(text, migrate=migrate and not readonly, srid=srid,
                               readonly=readonly)
    raise StoreConnectionError(
        f"cannot tell what kind of store {text!r} is: give a path ending in .gpkg "
        "(embedded GeoPackage) or a postgresql:// DSN (PostGIS)"
    )


def init_store(target: str | Path, *, srid: int = 4326) -> tuple[Store, list[int]]:
    """Create or upgrade a store; returns it and the migration versions applied.

    On PostGIS this also creates the ``postgis`` extension when it is missing
    (which needs a superuser). Running it twice applies nothing the second time.
    """
    text = str(target)
    store: Store
    if text.startswith(("postgresql://", "postgres://")) or "dbname=" in text:
        pg = PostGISStore(text, migrate=False, create_extension=True, srid=srid)
        applied = pg.migrate()
        store = pg
    else:
        gp = connect(text, migrate=False, srid=srid)
        assert isinstance(gp, GeoPackageStore)
        applied = gp.migrate()
        store = gp
    return store, applied
