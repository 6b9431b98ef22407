"""Read-only access to the PostGIS store (只读角色).

:func:`grant_readonly` lets a role read every urbangrid table (now and those later
migrations create) and nothing else. :func:`connect_readonly` opens the store as
such a role: the ordinary :func:`urbangrid.connect` would try to create the schema
bookkeeping on connect, which a read-only role may not do. Writes through the
returned store fail with :class:`~urbangrid.errors.StorePermissionError` before
anything is sent.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from urbangrid.errors import StoreConnectionError, StorePermissionError
from urbangrid.store.postgis import SCHEMA, PostGISStore

__all__ = ["ReadOnlyPostGISStore", "connect_readonly", "grant_readonly"]


def grant_readonly(dsn: str, role: str, *, create: bool = False,
                   password: str | None = None) -> list[str]:
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
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}")
            .format(s, r),
            sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {} FROM {}")
            .format(s, r),
        ]
        try:
            for q in stmts:
                con.execute(q)
                text = q.as_string(con)
                done.append(text.split(" PASSWORD ")[0] + (" PASSWORD ***" if " PASSWORD " in text
                                                           else ""))
        except psycopg.Error as exc:
            raise StoreConnectionError(f"cannot grant read-only access to {role!r}: {exc}") from exc
    return done


class ReadOnlyPostGISStore(PostGISStore):
    """A PostGIS store opened by a read-only role: reads work, writes are refused."""

    def _ensure_bookkeeping(self, srid: int) -> None:
        row = self.connection.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.settings",)
        ).fetchone()
        if not row or not row[0]:
            raise StoreConnectionError(
                f"{self.target}: no urbangrid schema readable here; a writer must run "
                "`urbangrid db init` and `urbangrid db grant-readonly ROLE` first"
            )

    def migrate(self) -> list[int]:
        """Nothing: a read-only role cannot migrate."""
        return []

    def _refuse(self, what: str) -> StorePermissionError:
        return StorePermissionError(
            f"{self.target}: opened read-only (role {self.connection.info.user!r}); "
            f"{what} refused, nothing written"
        )

    def write(self, layer: str, frame: Any, mode: Any = "append", **kwargs: Any) -> Any:
        """Refused: raises StorePermissionError."""
        raise self._refuse(f"writing {layer!r}")

    def retire(self, layer: str, keys: Any, **kwargs: Any) -> int:
        """Refused: raises StorePermissionError."""
        raise self._refuse(f"retiring rows of {layer!r}")


def connect_readonly(dsn: str) -> ReadOnlyPostGISStore:
    """Open the PostGIS store at `dsn` for reading only (no bookkeeping, no migrations)."""
    return ReadOnlyPostGISStore(dsn, migrate=False)
