"""Read-only access to the PostGIS store (只读角色).

:func:`grant_readonly` lets a role read every urbangrid table (now and those later
migrations create) and nothing else. :func:`connect_readonly` opens the store as
such a role, without migrating; writes through it fail with
:class:`~urbangrid.errors.StorePermissionError` and nothing is written.
"""

from __future__ import annotations

# One owner: the store's grant (its docstring says what it grants and checks).
from urbangrid.store.postgis import PostGISStore, grant_readonly

__all__ = ["connect_readonly", "grant_readonly"]


def connect_readonly(dsn: str) -> PostGISStore:
    """Open the PostGIS store at `dsn` without migrating, as a read-only role may.

    Reads work; any write raises :class:`~urbangrid.errors.StorePermissionError`
    with nothing written (the server refuses it, the store reports it).
    """
    return PostGISStore(dsn, migrate=False)
