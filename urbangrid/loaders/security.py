"""Read-only access to the PostGIS store (只读角色).

:func:`grant_readonly` lets a role read every urbangrid table (now and those later
migrations create) and nothing else. :func:`connect_readonly` opens the store as
such a role, without migrating; writes through it fail with
:class:`~urbangrid.errors.StorePermissionError` and nothing is written.
"""

from __future__ import annotations

from urbangrid.store.postgis import PostGISStore
from urbangrid.store.postgis import grant_readonly as _grant_readonly

__all__ = ["connect_readonly", "grant_readonly"]


def grant_readonly(
    dsn: str, role: str, *, create: bool = False, password: str | None = None
) -> list[str]:
    """Grant `role` read-only access to the urbangrid schema of the database at `dsn`.

    Parameters
    ----------
    dsn : str
        PostgreSQL DSN of an owner of the urbangrid schema (or a superuser).
    role : str
        The role to grant to.
    create : bool
        Create the role (``LOGIN``) when it does not exist.
    password : str, optional
        Password for a role created here.

    Returns
    -------
    list of str
        The statements run (role names quoted, password masked), for the log.

    Raises
    ------
    StoreConnectionError
        The role does not exist (and ``create`` is False) or the grant is refused.
    """
    return _grant_readonly(dsn, role, create=create, password=password)


def connect_readonly(dsn: str) -> PostGISStore:
    """Open the PostGIS store at `dsn` without migrating, as a read-only role may.

    Reads work; any write raises :class:`~urbangrid.errors.StorePermissionError`
    with nothing written (the server refuses it, the store reports it).
    """
    return PostGISStore(dsn, migrate=False)
