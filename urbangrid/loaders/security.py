"""Read-only access to the PostGIS store (只读角色).

:func:`grant_readonly` lets a role read every urbangrid table (now and those later
migrations create) and nothing else. :func:`connect_readonly` opens the store as
such a role, without migrating; writes through it fail with
:class:`~urbangrid.errors.StorePermissionError` and nothing is written.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from urbangrid.errors import StoreConnectionError
from urbangrid.store.postgis import SCHEMA, PostGISStore

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
    done: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as con:
        dbname = con.info.dbname
        exists = con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        r = sql.Identifier(role)
        s = sql.Identifier(SCHEMA)
        stmts: list[sql.Composable] = []
        if not exists:
            if not create:
                msg = f"no role {role!r}; create it first, or pass create=True"
                raise StoreConnectionError(msg)
            q = sql.SQL("CREATE ROLE {} LOGIN").format(r)
            if password is not None:
                q += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            stmts.append(q)
        stmts += [
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), r),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(s, r),
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                s, r
            ),
            sql.SQL(
                "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {} FROM {}"
            ).format(s, r),
        ]
        try:
            for q in stmts:
                con.execute(q)
                text = q.as_string(con)
                done.append(
                    text.split(" PASSWORD ")[0] + (" PASSWORD ***" if " PASSWORD " in text else "")
                )
        except psycopg.Error as exc:
            raise StoreConnectionError(f"cannot grant read-only access to {role!r}: {exc}") from exc
    return done


def connect_readonly(dsn: str) -> PostGISStore:
    """Open the PostGIS store at `dsn` without migrating, as a read-only role may.

    Reads work; any write raises :class:`~urbangrid.errors.StorePermissionError`
    with nothing written (the server refuses it, the store reports it).
    """
    return PostGISStore(dsn, migrate=False)
