"""The PostGIS store: the system of record.

Everything lives in the PostgreSQL schema ``urbangrid``. Every identifier
built at run time goes through :mod:`psycopg.sql`; values are always
parameters; bulk writes use binary ``COPY``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, cast

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.pq import TransactionStatus

from urbangrid.errors import (
    StoreConnectionError,
    StoreError,
    StorePermissionError,
    StoreSchemaError,
    ValidationError,
)
from urbangrid.problems import Problem, problem
from urbangrid.store._pg_locks import busy_message, describe_dsn, lock_timeout_s
from urbangrid.store._pg_staged import (
    StagedLoad,
    begin_staged_load,
    drop_orphans,
    drop_own_stages,
    stage_in_transaction,
)
from urbangrid.store.base import (
    SERIAL_LAYER,
    BaseStore,
    DuplicateKeyError,
    LayerInfo,
    PreparedGeometry,
    PreparedRows,
    RejectedValue,
    Store,
    StoreBusyError,
    StoreConflictError,
    WriteResult,
    _geometry_wkb,
    _validation_error,
    _where_values,
    all_missing,
    batch_json_problems,
    chunks,
    json_text_problems,
    utc_ms,
)
from urbangrid.store.migrations import LayerDirective, read_migrations

__all__ = ["SCHEMA", "PostGISStore", "describe_dsn", "grant_readonly"]

#: The PostgreSQL schema holding every urbangrid table.
SCHEMA = "urbangrid"

_LOGICAL = {
    "text": "text",
    "character varying": "text",
    "bigint": "integer",
    "integer": "integer",
    "smallint": "integer",
    "double precision": "float",
    "real": "float",
    "numeric": "float",
    "boolean": "boolean",
    "date": "date",
    "timestamp with time zone": "datetime",
    "timestamp without time zone": "datetime",
    "jsonb": "json",
    "json": "json",
}
# Loads at least this large, and at least as large as the layer, drop its
# secondary indexes and build them again after the COPY (see `_prepare_bulk`).
BULK_ROWS = 20_000
# Serialises concurrent `urbangrid db init` runs against one database.
_MIGRATION_LOCK = 0x75726267  # "urbg"


def _connect(dsn: str, timeout_s: int, *, readonly: bool = False) -> psycopg.Connection[Any]:
    """An autocommit connection in UTC (transactions are the store's), every lock
    wait bounded by :func:`lock_timeout_s`; `readonly`: a session whose every
    transaction is read-only."""
    options = f"-c timezone=UTC -c lock_timeout={int(lock_timeout_s() * 1000)}"
    if readonly:
        options += " -c default_transaction_read_only=on"
    return psycopg.connect(dsn, autocommit=True, connect_timeout=timeout_s, options=options)


def grant_readonly(
    dsn: str, role: str, *, create: bool = False, password: str | None = None
) -> list[str]:
    """Grant `role` read-only access to the urbangrid schema of the database at `dsn`.

    `role` may then read every urbangrid table (those later migrations create
    too) and write none. Connects as `dsn` without opening a store (nothing is
    created or migrated).

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
        The role does not exist (and ``create`` is False), is a superuser or owns
        the schema (no grant makes it read-only), the grant is refused, or the
        role's effective privileges afterwards are not read-only (may write a
        table or a sequence, create in the schema, or may not read a table:
        a grant that did not take, as when `dsn` is not the schema's owner).
    """
    with psycopg.connect(dsn, autocommit=True) as con:
        return _grant_readonly(con, role, create=create, password=password)


def _grant_readonly(
    con: psycopg.Connection[Any], role: str, *, create: bool, password: str | None
) -> list[str]:
    """The statements of :func:`grant_readonly`, run on `con` (autocommit), then the
    role's effective privileges checked."""
    exists = con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    r = sql.Identifier(role)
    stmts: list[sql.Composed] = []
    if not exists:
        if not create:
            raise StoreConnectionError(
                f"no role {role!r}; create it first, or pass --create (create=True)"
            )
        q = sql.SQL("CREATE ROLE {} LOGIN").format(r)
        if password is not None:
            q += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        stmts.append(q)
    else:
        _refuse_writer_role(con, role)
    stmts += _readonly_statements(con, r)
    done: list[str] = []
    try:
        for stmt in stmts:
            con.execute(stmt)
            text = stmt.as_string(con)
            done.append(
                text.split(" PASSWORD ")[0] + (" PASSWORD ***" if " PASSWORD " in text else "")
            )
    except psycopg.Error as exc:
        raise StoreConnectionError(f"cannot grant read-only access to {role!r}: {exc}") from exc
    wrong = _readonly_violations(con, role)
    if wrong:
        shown = "; ".join(wrong[:5]) + (f" (and {len(wrong) - 5} more)" if len(wrong) > 5 else "")
        raise StoreConnectionError(
            f"{role!r} is not read-only after the grants: {shown}. Run this as the owner of "
            f"the urbangrid schema (role {con.info.user!r} may not grant or revoke all of "
            "it), and check the role is not a member of a writer role"
        )
    return done


def _refuse_writer_role(con: psycopg.Connection[Any], role: str) -> None:
    """A superuser, or a role owning the schema or one of its tables, stays a writer
    whatever is revoked: refused."""
    row = con.execute(
        "SELECT r.rolsuper, pg_has_role(%s, n.nspowner, 'USAGE') OR EXISTS ("
        "  SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid "
        "  AND pg_has_role(%s, c.relowner, 'USAGE')) "
        "FROM pg_roles r, pg_namespace n WHERE r.rolname = %s AND n.nspname = %s",
        (role, role, role, SCHEMA),
    ).fetchone()
    if row and (row[0] or row[1]):
        what = "is a superuser" if row[0] else f"owns the {SCHEMA} schema or its tables"
        raise StoreConnectionError(
            f"role {role!r} {what}: no grant can make it read-only; name a role that "
            "only reads (e.g. --create a new one)"
        )


def _readonly_statements(con: psycopg.Connection[Any], r: sql.Identifier) -> list[sql.Composed]:
    """Revoke everything on the schema's tables, sequences and functions (and in
    future ones), then grant what reading needs."""
    s = sql.Identifier(SCHEMA)
    db = sql.Identifier(con.info.dbname)
    out = []
    for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
        k = sql.SQL(kind)
        out.append(sql.SQL("REVOKE ALL ON ALL {} IN SCHEMA {} FROM {}").format(k, s, r))
        out.append(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} REVOKE ALL ON {} FROM {}").format(
                s, k, r
            )
        )
    out += [
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM {}").format(s, r),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, r),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {} TO {}").format(s, r),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(s, r),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT EXECUTE ON FUNCTIONS TO {}").format(
            s, r
        ),
    ]
    return out


def _readonly_violations(con: psycopg.Connection[Any], role: str) -> list[str]:
    """What `role` may effectively do beyond reading the schema (PUBLIC and role
    memberships count), or may not read; empty when it is read-only."""
    rows = con.execute(
        "SELECT c.relname, c.relkind, "
        "  CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%(r)s, c.oid, 'USAGE,UPDATE') "
        "  ELSE has_table_privilege(%(r)s, c.oid, "
        "    'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') END, "
        "  c.relkind = 'S' OR has_table_privilege(%(r)s, c.oid, 'SELECT') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p', 'v', 'm', 'S')",
        {"r": role, "s": SCHEMA},
    ).fetchall()
    out = [f"may write {name}" for name, _, writes, _ in rows if writes]
    out += [f"may not read {name}" for name, _, _, reads in rows if not reads]
    (create,) = con.execute(
        "SELECT has_schema_privilege(%s, %s, 'CREATE')", (role, SCHEMA)
    ).fetchone() or (False,)
    if create:
        out.append(f"may create objects in schema {SCHEMA}")
    return out


# Errors of a transaction that lost to another one: running it again may succeed.
_CONFLICTS = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.LockNotAvailable,
)
# Keys per statement of a change-set rollback.
_KEY_CHUNK = 5000

_COPY_CONTEXT = re.compile(r"COPY \S+, line (\d+)(?:, column (\w+))?")


class PostGISStore(BaseStore):
    """Store in a PostgreSQL + PostGIS database; see :func:`urbangrid.connect`.

    Parameters
    ----------
    dsn : str
        ``postgresql://user:password@host:port/dbname`` or a libpq key/value string.
    migrate : bool
        Apply pending migrations on connect (default True).
    create_extension : bool
        Run ``CREATE EXTENSION postgis`` when the database lacks it (needs a
        superuser); ``urbangrid db init`` sets it. Otherwise a database without
        PostGIS is an error that says what to do.
    srid : int
        EPSG code of geometry columns when the schema is first created.
    """

    kind = "postgis"
    # One array parameter, hashed by the server (PostgreSQL 14+): 316,851 keys cost
    # one scan of the layer instead of 64 scans of 5,000 keys each.
    where_chunk = 10_000_000
    _depth_locking: str | None = None

    def __init__(
        self,
        dsn: str,
        *,
        migrate: bool = True,
        create_extension: bool = False,
        srid: int = 4326,
        connect_timeout: int = 5,
        readonly: bool = False,
    ) -> None:
        self.target = describe_dsn(dsn)
        self._dsn = dsn
        self.readonly = readonly
        # A staged load ran in the open transaction (its staging table is dropped
        # when the transaction ends without having swapped it in).
        self._staged_pending = False
        try:
            self.connection = _connect(dsn, connect_timeout, readonly=readonly)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise StoreConnectionError(
                f"cannot connect to PostgreSQL at {self.target}: {reason}. Check that the "
                "server is running (e.g. `pg_ctlcluster 15 main start`), and the host, port, "
                "database name and password in the DSN."
            ) from exc
        except psycopg.ProgrammingError as exc:
            raise StoreConnectionError(f"bad PostgreSQL DSN: {exc}") from exc
        self._ensure_postgis(create_extension and not readonly)
        if readonly:
            self._check_schema()
        else:
            self._ensure_bookkeeping(srid)
        self.srid = int(self._fetch1("SELECT value FROM {}.settings WHERE key = 'srid'"))
        if migrate:
            self.migrate()
        self._refresh_layers()

    # ------------------------------------------------------------ set-up
    def _fetch1(self, query: str, params: Sequence[Any] = ()) -> Any:
        row = self.connection.execute(
            sql.SQL(query).format(sql.Identifier(SCHEMA)),  # type: ignore[arg-type,unused-ignore]
            params,
        ).fetchone()
        return None if row is None else row[0]

    def _ensure_postgis(self, create: bool) -> None:
        con = self.connection
        if con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
            return
        dbname = con.info.dbname
        available = con.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if not available:
            self.connection.close()
            raise StoreConnectionError(
                f"the PostgreSQL server of {self.target} has no PostGIS installed: install it "
                "(Debian: `apt-get install postgresql-15-postgis-3`; `make test` does this), "
                f"then run `urbangrid db init {self.target}`"
            )
        if not create:
            self.connection.close()
            raise StoreConnectionError(
                f"database {dbname!r} at {self.target} does not have the PostGIS extension: "
                f"run `urbangrid db init <DSN>` as a superuser, or `CREATE EXTENSION postgis;` "
                "in that database, then connect again"
            )
        try:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.errors.InsufficientPrivilege as exc:
            self.connection.close()
            raise StoreConnectionError(
                f"cannot create the PostGIS extension in {dbname!r}: {exc}. Ask a superuser "
                "to run `CREATE EXTENSION postgis;` in that database."
            ) from exc

    def _check_schema(self) -> None:
        """A read-only open: the urbangrid schema must be there (nothing is created)."""
        (ready,) = self.connection.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.layer_registry",)
        ).fetchone() or (False,)
        if not ready:
            self.connection.close()
            raise StoreConnectionError(
                f"{self.target} holds no urbangrid schema: nothing to read (a read-only "
                "command never creates a store); `urbangrid db init DSN` creates it"
            )

    def _ensure_bookkeeping(self, srid: int) -> None:
        s = sql.Identifier(SCHEMA)
        (ready,) = self.connection.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.layer_registry",)
        ).fetchone() or (False,)
        if ready:
            return  # nothing to create: also lets a read-only role connect
        with self.connection.transaction():
            self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self.connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
            self.connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.settings "
                    "(key text PRIMARY KEY, value text NOT NULL)"
                ).format(s)
            )
            self.connection.execute(
                sql.SQL(
                    "INSERT INTO {}.settings VALUES ('srid', %s) ON CONFLICT DO NOTHING"
                ).format(s),
                (str(srid),),
            )
            self.connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.schema_version (version integer PRIMARY KEY, "
                    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(s)
            )
            self.connection.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {}.layer_registry (name text PRIMARY KEY, "
                    "key_column text, geometry_column text, geometry_type text, srid integer, "
                    "history boolean NOT NULL)"
                ).format(s)
            )

    def schema_version(self) -> int:
        """Highest migration version applied (0 for none)."""
        return int(self._fetch1("SELECT coalesce(max(version), 0) FROM {}.schema_version"))

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied (empty if none).

        Each migration runs in its own transaction under an advisory lock, so
        two processes migrating one database at once do not collide.
        """
        applied = []
        con = self.connection
        s = sql.Identifier(SCHEMA)
        done = {
            v for (v,) in con.execute(sql.SQL("SELECT version FROM {}.schema_version").format(s))
        }
        pending = [mig for mig in read_migrations() if mig.version not in done]
        for mig in pending:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                done = con.execute(
                    sql.SQL("SELECT 1 FROM {}.schema_version WHERE version = %s").format(s),
                    (mig.version,),
                ).fetchone()
                if done:
                    continue
                con.execute(sql.SQL("SET LOCAL search_path TO {}, public").format(s))
                for stmt in mig.sql("postgis"):
                    if stmt.startswith("-- @layer "):
                        self._apply_layer(mig.layers[int(stmt.split()[2])])
                    else:
                        con.execute(stmt.encode())  # trusted text shipped with the package
                con.execute(
                    sql.SQL("INSERT INTO {}.schema_version (version, name) VALUES (%s, %s)").format(
                        s
                    ),
                    (mig.version, mig.name),
                )
            applied.append(mig.version)
        if applied:
            self._refresh_layers()
        return applied

    def _apply_layer(self, d: LayerDirective) -> None:
        con = self.connection
        t = sql.Identifier(SCHEMA, d.table)
        srid = d.srid or self.srid
        if d.history:
            con.execute(
                sql.SQL(
                    "ALTER TABLE {} ADD COLUMN valid_from timestamptz NOT NULL, "
                    "ADD COLUMN valid_to timestamptz"
                ).format(t)
            )
        if d.key:
            con.execute(
                sql.SQL("CREATE UNIQUE INDEX {} ON {} ({}) {}").format(
                    sql.Identifier(d.table + "_key_idx"),
                    t,
                    sql.Identifier(d.key),
                    sql.SQL("WHERE valid_to IS NULL" if d.history else ""),
                )
            )
        if d.geometry_column:
            con.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} geometry({}, {})").format(
                    t,
                    sql.Identifier(d.geometry_column),
                    sql.SQL(d.geometry_type or "GEOMETRY"),
                    sql.Literal(srid),
                )
            )
            con.execute(
                sql.SQL("CREATE INDEX {} ON {} USING gist ({})").format(
                    sql.Identifier(f"{d.table}_{d.geometry_column}_gist"),
                    t,
                    sql.Identifier(d.geometry_column),
                )
            )
        con.execute(
            sql.SQL("INSERT INTO {}.layer_registry VALUES (%s, %s, %s, %s, %s, %s)").format(
                sql.Identifier(SCHEMA)
            ),
            (
                d.table,
                d.key,
                d.geometry_column,
                d.geometry_type,
                srid if d.geometry_column else None,
                d.history,
            ),
        )

    def _refresh_layers(self) -> None:
        s = sql.Identifier(SCHEMA)
        regs = self.connection.execute(
            sql.SQL(
                "SELECT name, key_column, geometry_column, geometry_type, srid, history "
                "FROM {}.layer_registry"
            ).format(s)
        ).fetchall()
        layers = {}
        self._pgtypes: dict[str, dict[str, str]] = {}
        # Columns with a DEFAULT: a write must send their NULLs rather than leave them out.
        self._defaults: dict[str, set[str]] = {}
        for name, key, gcol, gtype, srid, history in regs:
            columns, required = {}, set()
            pgtypes = self._pgtypes.setdefault(name, {})
            defaults = self._defaults.setdefault(name, set())
            for col, dtype, nullable, default in self.connection.execute(
                "SELECT column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (SCHEMA, name),
            ):
                pgtypes[col] = dtype
                if default is not None:
                    defaults.add(col)
                if col in ("fid", "valid_from", "valid_to", gcol):
                    continue
                logical = _LOGICAL.get(dtype)
                if logical is None:
                    raise StoreSchemaError(f"{self.target}: column {name}.{col} has type {dtype}")
                columns[col] = logical
                if nullable == "NO":
                    required.add(col)
            layers[name] = LayerInfo(
                name, key, gcol, gtype, srid, history, columns, frozenset(required)
            )
        self._layers = layers

    # ------------------------------------------------------------ capabilities
    def second_connection(self) -> PostGISStore:
        """Another store on the same database, with its own connection.

        For work that must commit while this store's transaction is open, such
        as reserving serials while a long load holds its table locked. It
        shares this store's view of the schema (layers, types, settings)
        instead of reading it again: 5 ms to connect instead of 30 ms.
        """
        other = object.__new__(PostGISStore)
        other.__dict__.update(self.__dict__)
        other.connection = _connect(self._dsn, 5, readonly=self.readonly)
        return other

    @contextmanager
    def side_store(self) -> Iterator[Store]:
        """A second connection (:meth:`second_connection`), closed after: its
        writes commit on their own while this store's transaction is open."""
        other = self.second_connection()
        try:
            yield other
        finally:
            other.close()

    def knn_radius(
        self,
        layer: str,
        x: float,
        y: float,
        k: int,
        *,
        where: Mapping[str, Sequence[Any]] | None = None,
        as_of: dt.datetime | None = None,
    ) -> float | None:
        """Half-width of a box around (x, y) holding the `k` current rows nearest in
        planar layer CRS units (the GiST index's ``<->`` order); None when the layer
        holds no such row. With `as_of`, the box search of the base store."""
        info = self.layer_info(layer)
        if as_of is not None or not info.geometry_column:
            return super().knn_radius(layer, x, y, k, where=where, as_of=as_of)
        conds: list[sql.Composable] = [sql.SQL("valid_to IS NULL")] if info.history else []
        params: list[Any] = []
        for col, values in (where or {}).items():
            # Binary: a text array in the text format is escaped value by value
            # in Python (5 s for 316,851 keys).
            conds.append(sql.SQL("{} = ANY(%b)").format(sql.Identifier(col)))
            params.append(_where_values(values, info.columns[col]))
        g = sql.Identifier(info.geometry_column)
        query = sql.SQL(
            "SELECT max(d) FROM (SELECT {g} <-> ST_SetSRID(ST_MakePoint(%s, %s), %s) AS d "
            "FROM {t} WHERE {c} ORDER BY {g} <-> ST_SetSRID(ST_MakePoint(%s, %s), %s) LIMIT %s) "
            "AS nearest"
        ).format(
            g=g,
            t=sql.Identifier(SCHEMA, info.name),
            c=sql.SQL(" AND ").join(conds) if conds else sql.SQL("true"),
        )
        srid = info.srid or self.srid
        row = self.connection.execute(query, [x, y, srid, *params, x, y, srid, k]).fetchone()
        if row is None or row[0] is None:
            return None
        # The k nearest in planar CRS units all touch this box.
        return float(row[0]) * 1.000001 + 1e-9

    def current_values(
        self, layer: str, column: str, values: Sequence[Any], value_column: str
    ) -> dict[Any, Any]:
        """``{column value: value_column value}`` of the current rows whose `column`
        is one of `values`: a hash join on the values (the column need not be indexed:
        an index on ``source`` would slow every bulk load)."""
        info = self.layer_info(layer)
        for c in (column, value_column):
            if c not in info.columns:
                raise StoreSchemaError(f"layer {layer!r} has no column {c!r}")
        if not values or self._is_empty(info):
            return {}
        query = sql.SQL(
            "SELECT c.{k}, c.{v} FROM {t} AS c JOIN unnest(%b::{type}[]) AS w(value) "
            "ON c.{k} = w.value{current}"
        ).format(
            k=sql.Identifier(column),
            v=sql.Identifier(value_column),
            t=sql.Identifier(SCHEMA, info.name),
            type=sql.SQL(self._pgtypes[info.name][column]),
            current=sql.SQL(" WHERE c.valid_to IS NULL" if info.history else ""),
        )
        return dict(self.connection.execute(query, (list(values),)).fetchall())

    def json_differs(
        self, layer: str, column: str, keys: Sequence[Any], texts: Sequence[str | None]
    ) -> set[Any] | None:
        """Keys whose stored JSON `column` differs from `texts` (jsonb equality: key
        order and spacing do not count, ``1`` and ``true`` differ): one join, so a
        re-run of 316,851 rows parses no stored JSON in Python."""
        info = self.layer_info(layer)
        if info.key is None or info.columns.get(column) != "json":
            return None
        query = sql.SQL(
            "SELECT w.k FROM unnest(%b::{type}[], %b::text[]) AS w(k, j) JOIN {t} AS c "
            "ON c.{key} = w.k{current} WHERE c.{col} IS DISTINCT FROM w.j::jsonb"
        ).format(
            type=sql.SQL(self._pgtypes[info.name][info.key]),
            t=sql.Identifier(SCHEMA, info.name),
            key=sql.Identifier(info.key),
            col=sql.Identifier(column),
            current=sql.SQL(" AND c.valid_to IS NULL" if info.history else ""),
        )
        # Binary parameters: the text array in the text format escapes every
        # quote of every JSON text by regex (20 s for 316,851 values).
        try:
            with self.connection.transaction(), self.connection.cursor(binary=True) as cur:
                cur.execute(query, (list(keys), list(texts)))
                rows = cur.fetchall()
        except psycopg.errors.DataException:
            return None  # a text jsonb refuses (\u0000 …): the caller compares
        return {r[0] for r in rows}

    def identical_keys(self, layer: str, frame: pd.DataFrame) -> set[Any] | None:
        """The keys of `frame`'s rows whose current stored row holds exactly what
        writing the row would store: each of `frame`'s columns equal (``IS NOT
        DISTINCT FROM``, jsonb as jsonb) and the geometry's EWKB byte for byte.

        The rows are encoded as a write encodes them and copied into a temporary
        table, then joined with the layer once: a re-run of an unchanged file
        needs no stored row read back and compared in Python (316,851 rows:
        ~12 s busy). None (the caller compares every row) when a row would not
        be written as it is (a bad value), keys repeat, or the session may not
        make a temporary table (a read-only role or transaction).
        """
        info = self.layer_info(layer)
        key = info.key
        if key is None or key not in frame.columns or frame.empty:
            return None
        if frame[key].isna().any() or frame[key].duplicated().any():
            return None
        try:
            prepared = self._prepare(info, frame, "<diff>")
            geoms: PreparedGeometry | None = None
            if info.geometry_column:
                geoms, problems = _geometry_wkb(info, frame, "<diff>")
                if problems:
                    return None
        except (ValidationError, StoreSchemaError):
            return None
        cols = list(prepared.columns)
        every = [*cols, *([info.geometry_column] if info.geometry_column else [])]
        temp = f"{info.name}__same"
        layer_t = sql.Identifier(SCHEMA, info.name)
        same = [
            sql.SQL("t.{c} IS NOT DISTINCT FROM c.{c}").format(c=sql.Identifier(c))
            for c in cols
            if c != key
        ]
        if info.geometry_column:
            g = sql.Identifier(info.geometry_column)
            same.append(
                sql.SQL("ST_AsEWKB(t.{g}) IS NOT DISTINCT FROM ST_AsEWKB(c.{g})").format(g=g)
            )
        query = sql.SQL("SELECT t.{k} FROM {t} AS t JOIN {l} AS c ON c.{k} = t.{k}{cur}{w}").format(
            k=sql.Identifier(key),
            t=sql.Identifier("pg_temp", temp),
            l=layer_t,
            cur=sql.SQL(" AND c.valid_to IS NULL" if info.history else ""),
            w=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(same) if same else sql.SQL(""),
        )
        con = self.connection
        try:
            with con.transaction():  # a savepoint in the caller's transaction
                con.execute(
                    sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
                    .format(
                        sql.Identifier(temp),
                        sql.SQL(", ").join(map(sql.Identifier, every)),
                        layer_t,
                    )
                )
                with self._copy_errors(info):
                    self._copy(info, cols, None, False, iter([(0, prepared.data, geoms)]),
                               temp, schema="pg_temp")  # fmt: skip
                rows = con.execute(query).fetchall()
                con.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier("pg_temp", temp)))
        except (psycopg.Error, RejectedValue, StoreSchemaError):
            return None
        return {r[0] for r in rows}

    def reserve_serials(self, key: str, n: int, *, layer: str = SERIAL_LAYER) -> int:
        """Add `n` to counter `key` of `layer` and return its new value (one UPSERT:
        the row lock it takes makes concurrent writers wait for each other)."""
        t = self.layer_info(layer).name
        with self._atomic():
            row = self.connection.execute(
                sql.SQL(
                    "INSERT INTO {t} AS s (serial_key, last_serial) VALUES (%s, %s) "
                    "ON CONFLICT (serial_key) DO UPDATE SET last_serial = s.last_serial "
                    "+ excluded.last_serial RETURNING last_serial"
                ).format(t=sql.Identifier(SCHEMA, t)),
                (key, n),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def raise_serials(self, floors: Mapping[str, int], *, layer: str = SERIAL_LAYER) -> None:
        """Move each counter of `layer` up to at least its floor."""
        if not floors:
            return
        t = self.layer_info(layer).name
        query = sql.SQL(
            "INSERT INTO {t} AS s (serial_key, last_serial) VALUES (%s, %s) "
            "ON CONFLICT (serial_key) DO UPDATE SET last_serial = "
            "GREATEST(s.last_serial, excluded.last_serial)"
        ).format(t=sql.Identifier(SCHEMA, t))
        with self._atomic(), self.connection.cursor() as cur:
            cur.executemany(query, [(k, int(v)) for k, v in floors.items()])

    def lock_layer(self, layer: str, *, timeout_s: float = 120.0) -> None:
        """The layer's load lock until the transaction ends, waited for at most
        `timeout_s` (then :class:`StoreBusyError` naming the holder). Call inside
        :meth:`transaction`.

        The lock is the layer's row of ``layer_registry`` taken ``FOR UPDATE``,
        which needs the UPDATE privilege: a read-only role cannot take it (and
        block every load), unlike an advisory lock anyone connected may take.
        The session says ``urbangrid load <layer>`` in ``pg_stat_activity``
        (unless the client gave its own ``application_name``).
        """
        self.layer_info(layer)
        con = self.connection
        con.execute("SELECT set_config('lock_timeout', %s, true)", (f"{int(timeout_s * 1000)}",))
        self._depth_locking = layer
        con.execute(
            sql.SQL("SELECT 1 FROM {} WHERE name = %s FOR UPDATE").format(
                sql.Identifier(SCHEMA, "layer_registry")
            ),
            (layer,),
        )
        self._depth_locking = None
        # A killed load's staging table goes now (a role that may not drop it leaves
        # it for `urbangrid db check` run by the owner).
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege), con.transaction():
            drop_orphans(con, SCHEMA, self.layer_info(layer).name)
        # Named for others' "store busy" lines, unless the client named itself.
        con.execute(
            "SELECT set_config('lock_timeout', %s, true), set_config('application_name', "
            "coalesce(nullif(current_setting('application_name'), ''), %s), true)",
            (f"{int(lock_timeout_s() * 1000)}", f"urbangrid load {layer}"),
        )

    def drop_leftovers(self) -> list[str]:
        """Drop the staging tables of loads whose session is gone; see
        :meth:`Store.drop_leftovers`."""
        with self.transaction():
            return drop_orphans(self.connection, SCHEMA)

    def _in_transaction(self) -> bool:
        return bool(self.connection.info.transaction_status != TransactionStatus.IDLE)

    def _undo_versions(
        self, info: LayerInfo, written: list[Any], reopened: list[Any], at: dt.datetime
    ) -> tuple[int, int]:
        assert info.key is not None
        t, k = sql.Identifier(SCHEMA, info.name), sql.Identifier(info.key)
        counts = []
        for query, keys in (
            (sql.SQL("DELETE FROM {} WHERE valid_from = %s AND {} = ANY(%s)"), written),
            (
                sql.SQL("UPDATE {} SET valid_to = NULL WHERE valid_to = %s AND {} = ANY(%s)"),
                reopened,
            ),
        ):
            n = 0
            for part in chunks(keys, _KEY_CHUNK):
                n += self.connection.execute(query.format(t, k), (at, part)).rowcount
            counts.append(n)
        return counts[0], counts[1]

    def ensure_locate_functions(self) -> None:
        """Make sure the ``urbangrid.locate`` SQL functions exist.

        They come with migration ``0601_locate.sql``; this applies pending
        migrations (idempotent) and checks the functions are there.

        Raises
        ------
        StoreError
            The functions are missing after migrating.
        """
        self.migrate()
        found = self.connection.execute(
            "SELECT to_regprocedure('urbangrid.locate(text, text, geometry)') IS NOT NULL"
        ).fetchone()
        if not found or not found[0]:
            raise StoreError(f"{self.target}: urbangrid.locate is missing after migrating")

    def grant_readonly(
        self, role: str, *, create: bool = False, password: str | None = None
    ) -> list[str]:
        """Grant `role` read-only access to the urbangrid schema; see :func:`grant_readonly`."""
        return _grant_readonly(self.connection, role, create=create, password=password)

    # ------------------------------------------------------------ primitives
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically; nested blocks become savepoints.

        A write refused for lack of privilege (a read-only role) becomes
        :class:`~urbangrid.errors.StorePermissionError`; a deadlock, a
        serialisation failure or a lock not granted in time,
        :class:`~urbangrid.store.base.StoreConflictError`; a key stored twice,
        :class:`~urbangrid.store.base.DuplicateKeyError`. Nothing is written.
        """
        try:
            with self.connection.transaction():
                yield
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction) as exc:
            raise StorePermissionError(
                f"{self.target}: role {self.connection.info.user!r} may not write here "
                f"(read-only?): {exc.diag.message_primary or exc}; nothing was written"
            ) from exc
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKeyError(
                f"{self.target}: {exc.diag.message_detail or exc}; nothing was written "
                "(use mode='upsert' to update existing keys)"
            ) from exc
        except psycopg.errors.LockNotAvailable as exc:
            what = "a lock"
            if self._depth_locking:
                what = f"the load lock of layer {self._depth_locking!r}"
            self._depth_locking = None
            raise StoreBusyError(busy_message(self.connection, self.target, what)) from exc
        except _CONFLICTS as exc:
            raise StoreConflictError(
                f"{self.target}: {exc.diag.message_primary or exc}; nothing was written, try again"
            ) from exc
        finally:
            self._drop_stages()

    def _drop_stages(self) -> None:
        """Once the outermost transaction is over: drop the staging tables of staged
        loads in it that were not swapped in (rolled back), see :meth:`_insert`."""
        if not self._staged_pending or self._in_transaction() or self.connection.closed:
            return
        self._staged_pending = False
        with contextlib.suppress(psycopg.Error):
            drop_own_stages(self.connection, SCHEMA)

    def _select(
        self,
        info: LayerInfo,
        columns: list[str],
        where: Mapping[str, list[Any]],
        bbox: Sequence[float] | None,
        as_of: dt.datetime | None,
        all_versions: bool,
    ) -> tuple[list[tuple[Any, ...]], list[bytes | None] | None]:
        sel: list[sql.Composable] = [sql.Identifier(c) for c in columns]
        if info.geometry_column:
            sel.append(sql.SQL("ST_AsBinary({})").format(sql.Identifier(info.geometry_column)))
        conds: list[sql.Composable] = []
        params: list[Any] = []
        if info.history and not all_versions:
            if as_of is None:
                conds.append(sql.SQL("valid_to IS NULL"))
            else:
                conds.append(sql.SQL("valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"))
                params.extend([as_of, as_of])
        for col, values in where.items():
            conds.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(col)))
            params.append(values)
        if bbox is not None:
            conds.append(
                sql.SQL("{} && ST_MakeEnvelope(%s, %s, %s, %s, %s)").format(
                    sql.Identifier(info.geometry_column or "")
                )
            )
            params.extend([*map(float, bbox), info.srid])
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sel or [sql.SQL("fid")]), sql.Identifier(SCHEMA, info.name)
        )
        if conds:
            query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds)
        query += sql.SQL(" ORDER BY fid")
        with self.connection.cursor(binary=True) as cur:
            cur.execute(query, params)
            records = cur.fetchall()
        n = len(columns)
        if not info.geometry_column:
            return [tuple(r) for r in records], None
        return [tuple(r[:n]) for r in records], [
            None if r[n] is None else bytes(r[n]) for r in records
        ]

    def _is_empty(self, info: LayerInfo) -> bool:
        (empty,) = self.connection.execute(
            sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(
                sql.Identifier(SCHEMA, info.name)
            )
        ).fetchone() or (True,)
        return bool(empty)

    def _insert(
        self,
        info: LayerInfo,
        columns: list[str],
        data: list[list[Any]],
        geoms: PreparedGeometry | None,
        valid_from: dt.datetime | None,
    ) -> None:
        """One binary ``COPY``, built column by column (:mod:`._copy_binary`).

        JSON text goes to ``jsonb`` as is (the server parses it: one encoding
        in all), geometry as WKB made EWKB on the way. A writer thread sends
        each block while the next is encoded. A large load into an *empty*
        layer inside a transaction (a loader's change set) goes through a
        staging table swapped in within that transaction (:meth:`_staged_copy`);
        other large loads drop the layer's secondary indexes first and build
        each once afterwards, inside the caller's transaction (see
        :meth:`_prepare_bulk`).
        """
        n = len(data[0]) if data else (0 if geoms is None else len(geoms.wkb))
        if n == 0:
            return
        # A column without a value is NULL all the same when left out of the COPY.
        keep = [
            j
            for j, c in enumerate(columns)
            if c in self._defaults[info.name] or not all_missing(data[j])
        ]
        if not keep and columns and not info.geometry_column:
            keep = [0]  # COPY needs one column at least
        cols = [columns[j] for j in keep]
        kept = [data[j] for j in keep]
        staged = self._stage_in_transaction(info, n)
        if staged is not None:
            self._staged_copy(info, staged, cols, valid_from, kept, geoms, n)
            return
        parts = iter([(0, kept, geoms)])
        rebuild, freeze = self._prepare_bulk(info, n)
        with self._copy_errors(info):
            self._copy(info, cols, valid_from, freeze, parts)
            for ddl in rebuild:
                self.connection.execute(ddl.encode())  # definitions read back from the catalogue

    def _stage_in_transaction(self, info: LayerInfo, n: int) -> StagedLoad | None:
        """A staged load in the open transaction (:func:`stage_in_transaction`) for a
        large load into an empty layer, else None (the caller loads in one go)."""
        if n < BULK_ROWS or not self._in_transaction():
            return None
        return stage_in_transaction(
            self.connection, self._dsn, SCHEMA, info.name, timeout_s=lock_timeout_s(),
            helpers=2 if n >= 2 * BULK_ROWS else 1,
        )  # fmt: skip

    def _staged_copy(
        self,
        info: LayerInfo,
        staged: StagedLoad,
        cols: list[str],
        valid_from: dt.datetime | None,
        data: list[Any],
        geoms: PreparedGeometry | None,
        n: int,
    ) -> None:
        """The rows into a staging table on the helper connections, its indexes built
        on two connections at once, then swapped in within this store's transaction:
        a load that is one with the caller's other writes (a loader's record), all or
        nothing, and no longer builds its indexes one after another.

        With two helpers and an identity key, two ``COPY`` streams (half the rows
        each, the keys written in file order) fill it at once: the server parses
        and stores on two cores (316,851 components, server side alone: 2.6 s →
        1.9-2.3 s with the machine busy). Otherwise one ``COPY … FREEZE``.
        """
        self._staged_pending = True
        streams = staged._helper if staged.identity_column is not None else staged._helper[:1]
        try:
            with self._copy_errors(info):
                if len(streams) < 2:
                    with streams[0].transaction():
                        stage = staged.create(streams[0])
                        parts = iter([(0, data, geoms)])
                        self._copy(info, cols, valid_from, True, parts, stage, con=streams[0])
                else:
                    with streams[0].transaction():
                        stage = staged.create(streams[0], reserve=n)
                    self._copy_streams(info, staged, stage, cols, valid_from, data, geoms)
                staged.finish(self.connection)
        finally:
            staged.close()

    def _copy_streams(
        self,
        info: LayerInfo,
        staged: StagedLoad,
        stage: str,
        cols: list[str],
        valid_from: dt.datetime | None,
        data: list[Any],
        geoms: PreparedGeometry | None,
    ) -> None:
        """Rows [0, n/2) on the first connection and [n/2, n) on the second, at once,
        into `stage`, each row's identity key written (from the layer's next key on,
        as the one-stream COPY would give them). Raises the first stream's error
        (:class:`RejectedValue` with its row counted from the first row)."""
        assert staged.identity_column is not None
        key, streams = staged.identity_column, staged._helper
        n = len(data[0]) if data else (0 if geoms is None else len(geoms.wkb))
        keys = np.arange(staged.next_value, staged.next_value + n, dtype=np.int64)
        half = n // 2
        errors: list[tuple[int, BaseException]] = []

        def send(i: int, con: psycopg.Connection[Any], a: int, b: int) -> None:
            part = [keys[a:b], *(col[a:b] for col in data)]
            g = None if geoms is None else PreparedGeometry(geoms.values[a:b], geoms.wkb[a:b])
            try:
                with self._copy_errors(info):
                    self._copy(info, [key, *cols], valid_from, False, iter([(a, part, g)]),
                               stage, con=con)  # fmt: skip
            except RejectedValue as exc:
                if exc.row is not None and isinstance(exc.__cause__, psycopg.Error):
                    exc.row += a  # the server counts lines from this stream's first row
                errors.append((i, exc))
            except BaseException as exc:  # re-raised below, on the caller's thread
                errors.append((i, exc))

        side = threading.Thread(target=send, args=(1, streams[1], half, n))
        side.start()
        send(0, streams[0], 0, half)
        side.join()
        if errors:
            raise min(errors, key=lambda e: e[0])[1]

    def append_batches(
        self,
        layer: str,
        batches: Iterable[tuple[int, pd.DataFrame] | tuple[int, pd.DataFrame, Any]],
        *,
        rows: int,
        at: dt.datetime | None = None,
        source: str = "<frames>",
    ) -> WriteResult:
        """Append rows given a batch at a time, streamed into one ``COPY``, all or nothing.

        See :meth:`BaseStore.append_batches`. Each batch is checked, encoded
        and sent as it comes, while the caller prepares the next one: the
        client and the server work at the same time instead of in turn. The
        first bad batch stops the sending, but every later batch is still
        checked, so the error lists every bad value; the transaction (and the
        ``COPY`` in it) is then rolled back. A large load drops the layer's
        indexes first and builds them once at the end (see
        :meth:`_prepare_bulk`); into an *empty* layer, outside a caller's
        transaction, it goes through a staging table whose indexes are built
        side by side and which is then swapped in (:mod:`._pg_staged`).
        """
        info = self.layer_info(layer)
        valid_from = utc_ms(at or dt.datetime.now(dt.UTC)) if info.history else None
        load = _StreamedLoad(self, info, source)
        stream = load.parts(batches)
        staged = self._begin_staged(info, rows)
        try:
            sent = self._stream_copy(load, stream, rows, valid_from, staged)
            if staged is not None and sent:
                with self._copy_errors(info):
                    staged.finish(self.connection)
        except BaseException as exc:
            if staged is not None:
                staged.abort(self.connection)
            if not isinstance(exc, ValidationError):
                raise
            if load.own and exc is load.own[0]:
                raise
            raise load.more_problems(exc) from exc
        finally:
            if staged is not None:
                staged.close()
        return WriteResult(inserted=sum(len(p) for _, p in load.kept))

    def _stream_copy(
        self,
        load: _StreamedLoad,
        stream: Iterator[tuple[int, list[Any], PreparedGeometry | None]],
        rows: int,
        valid_from: dt.datetime | None,
        staged: StagedLoad | None,
    ) -> bool:
        """The transaction of :meth:`append_batches`: one COPY of every batch of
        `stream` (into the staging table of `staged`, else into the layer, whose
        indexes are rebuilt after); False when there was no batch at all."""
        info = load.info
        with self.transaction():
            if staged is None:
                # Every writer of the layer takes its load lock before anything else
                # (a staged load took it on its lock-holding connection): the batches,
                # read from here on, see every earlier load and no later one.
                self.lock_layer(info.name, timeout_s=lock_timeout_s())
            first = next(stream, None)  # the COPY's columns are the first batch's
            if first is None:
                return False
            rebuild: list[str] = []
            if staged is not None:
                target, freeze = staged.create(self.connection), True
            else:
                target = info.name
                rebuild, freeze = self._prepare_bulk(info, rows)
            try:
                with self._copy_errors(info):
                    self._copy(
                        info, load.columns, valid_from, freeze, chain([first], stream), target
                    )
            except RejectedValue as exc:
                for _ in stream:  # check the rest, so the error lists all
                    pass
                json = info.columns.get(exc.field or "") == "json"
                load.problems.extend(_rejected(exc, load.kept, load.source, json))
            if not load.problems:
                with self._copy_errors(info):
                    for ddl in rebuild:
                        self.connection.execute(ddl.encode())
            if load.problems:
                load.own.append(_validation_error(load.source, info.name, load.problems))
                raise load.own[0]
        return True

    def _begin_staged(self, info: LayerInfo, rows: int) -> StagedLoad | None:
        """A staged load (:mod:`._pg_staged`) for a large load into an empty layer, if it can be.

        Not inside a caller's transaction (the staging table must commit on
        its own), nor below :data:`BULK_ROWS` rows.
        """
        if rows < BULK_ROWS or self.connection.info.transaction_status != TransactionStatus.IDLE:
            return None
        return begin_staged_load(
            self._dsn, SCHEMA, info.name, timeout_s=lock_timeout_s(), layer=info.name
        )

    def _copy(
        self,
        info: LayerInfo,
        columns: list[str],
        valid_from: dt.datetime | None,
        freeze: bool,
        parts: Iterator[tuple[int, list[Any], PreparedGeometry | None]],
        table: str | None = None,
        con: psycopg.Connection[Any] | None = None,
        schema: str = SCHEMA,
    ) -> None:
        """One binary ``COPY`` of `columns` (then ``valid_from`` and the geometry).

        Into the layer's table, or `table` in `schema` (a staging table in the
        same schema, a temporary one in ``pg_temp``), on the store's connection
        or `con`.

        `parts` gives the rows a batch at a time, as (row number of its first
        row, values per column, geometries); each is encoded and sent as it
        comes, so a caller that reads and checks batch k+1 while the server
        stores batch k keeps both busy. A writer thread sends each block while
        the next is encoded.

        Raises
        ------
        RejectedValue
            A value the encoder refuses, its row counted from the first part.
        """
        # Imported at the first COPY: a store opened only to read never loads the
        # encoder (its row loop is Cython, compiled at install; nothing compiles here).
        from urbangrid.store._copy_binary import (
            SIGNATURE,
            TRAILER,
            BadValue,
            Constant,
            binary_chunks,
        )

        pgtypes = self._pgtypes[info.name]
        cols = list(columns)
        types = [pgtypes[c] for c in cols]
        srids = [0] * len(cols)
        if valid_from is not None:
            cols.append("valid_from")
            types.append(pgtypes["valid_from"])
            srids.append(0)
        if info.geometry_column:
            cols.append(info.geometry_column)
            types.append("geometry")
            # geometry_recv reads EWKB: the encoder writes the SRID into each WKB
            # header (cheaper than shapely.set_srid, which copies every geometry).
            srids.append(info.srid or self.srid)
        con = con or self.connection
        query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY{})").format(
            sql.Identifier(schema, table or info.name),
            sql.SQL(", ").join(map(sql.Identifier, cols)),
            sql.SQL(", FREEZE" if freeze else ""),
        )
        with con.cursor() as cur, cur.copy(query, writer=QueuedLibpqWriter(cur)) as copy:
            copy.write(SIGNATURE)
            for start, data, geoms in parts:
                values: list[Any] = list(data)
                if valid_from is not None:
                    values.append(Constant(valid_from))
                if info.geometry_column:
                    assert geoms is not None
                    values.append(geoms.wkb)
                try:
                    for block in binary_chunks(
                        values, types, encoding=con.info.encoding, srids=srids, framed=False
                    ):
                        copy.write(block)
                except BadValue as exc:
                    raise RejectedValue(start + exc.row, cols[exc.column], exc.reason) from exc
            copy.write(TRAILER)

    @contextmanager
    def _copy_errors(self, info: LayerInfo) -> Iterator[None]:
        """Turn what a COPY into `columns` and the index builds raise into store errors.

        A value the server refuses becomes :class:`RejectedValue` with its row
        counted from the start of the COPY; a repeated key,
        :class:`StoreSchemaError`.
        """
        try:
            yield
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateKeyError(
                f"{self.target}: writing {info.name!r}: {exc.diag.message_detail or exc}; "
                "use mode='upsert' to update existing keys"
            ) from exc
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            m = _COPY_CONTEXT.search(exc.diag.context or "")
            if m is None:
                raise StoreSchemaError(f"{self.target}: writing {info.name!r}: {exc}") from exc
            raise RejectedValue(
                int(m.group(1)) - 1, m.group(2), exc.diag.message_primary or str(exc)
            ) from exc

    def _prepare_bulk(self, info: LayerInfo, n: int) -> tuple[list[str], bool]:
        """Ready the layer for a large COPY: the index definitions to rebuild, and FREEZE.

        Building an index once over the loaded rows is several times faster
        than growing it row by row (GiST most of all), so a load of at least
        :data:`BULK_ROWS` rows, and at least the size of the table, drops the
        layer's indexes here (the primary key too when no foreign key needs
        it); :meth:`_insert` builds them again after the COPY. The caller's
        transaction makes drop, load and rebuild one atomic step; meanwhile
        the table is locked against readers, as for any bulk load. Only the
        table's owner may drop its indexes: for another role the COPY goes into
        the indexed table.

        Into an *empty* table the load also runs as ``COPY … FREEZE`` after a
        ``TRUNCATE`` of the empty table in the same transaction (what FREEZE
        requires): rows are written already frozen, so neither the index builds
        nor later readers have to check or set their visibility, about 10 %
        less time. Rolled back, the TRUNCATE restores the table as it was. The
        one visible effect is PostgreSQL's documented caveat: a repeatable-read
        transaction that began before the commit and reads the layer only
        after it sees the new rows instead of an empty layer.
        """
        if n < BULK_ROWS:
            return [], False
        con = self.connection
        table = sql.Identifier(SCHEMA, info.name)
        (owner,) = con.execute(
            "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass",
            (f"{SCHEMA}.{info.name}",),
        ).fetchone() or (False,)
        if not owner:
            return [], False
        # The lock first: no other writer can add rows between the checks below and
        # the load (DROP INDEX would take the same lock anyway).
        con.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table))
        (empty, stored, referenced) = con.execute(
            sql.SQL(
                "SELECT NOT EXISTS (SELECT 1 FROM {t}), "
                "(SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass), "
                "EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %s::regclass)"
            ).format(t=table),
            (f"{SCHEMA}.{info.name}",) * 2,
        ).fetchone() or (False, 0, True)
        if not empty and n < stored:
            return [], False
        con.execute("SET LOCAL maintenance_work_mem = '256MB'")  # index sorts in memory
        freeze = bool(empty and not referenced)
        if freeze:
            con.execute(sql.SQL("TRUNCATE {}").format(table))
        defs = con.execute(
            "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index AS x "
            "JOIN pg_class AS c ON c.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary ORDER BY c.relname",
            (f"{SCHEMA}.{info.name}",),
        ).fetchall()
        for name, _ in defs:
            con.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(SCHEMA, name)))
        rebuild = [d for _, d in defs]
        if not referenced:
            # The primary key too, unless a foreign key needs it: kept, it is grown
            # row by row (a third of the COPY's server time for 316,851 components:
            # 0.95 -> 0.62 s; built once afterwards, 0.06 s). The rebuild, first of
            # all, still rejects a repeated key.
            pkey = con.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'p'",
                (f"{SCHEMA}.{info.name}",),
            ).fetchone()
            if pkey is not None:
                name, definition = pkey
                con.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(name))
                )
                add = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    table, sql.Identifier(name)
                )
                rebuild.insert(0, add.as_string(con) + definition)
        return rebuild, freeze

    def _close(self, info: LayerInfo, keys: list[Any], at: dt.datetime) -> int:
        assert info.key is not None
        cur = self.connection.execute(
            sql.SQL("UPDATE {} SET valid_to = %s WHERE valid_to IS NULL AND {} = ANY(%s)").format(
                sql.Identifier(SCHEMA, info.name), sql.Identifier(info.key)
            ),
            (at, keys),
        )
        return int(cur.rowcount)

    def _delete(self, info: LayerInfo, keys: list[Any] | None) -> int:
        t = sql.Identifier(SCHEMA, info.name)
        if keys is None:
            return int(self.connection.execute(sql.SQL("DELETE FROM {}").format(t)).rowcount)
        assert info.key is not None
        cur = self.connection.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(t, sql.Identifier(info.key)),
            (keys,),
        )
        return int(cur.rowcount)

    def close(self) -> None:
        """Close the database connection."""
        self.connection.close()


@dataclass
class _StreamedLoad:
    """What :meth:`PostGISStore.append_batches` keeps while batches stream in.

    ``kept`` holds the batches sent, their JSON columns only: to name the bad
    JSON text the server refuses, or that an aborted COPY never reported on.
    Keeping every column of every batch held the whole file in memory (a first
    load paid 0.3 s of page faults for it). ``own`` holds the store's own
    ValidationError once raised, to tell it from the caller's.
    """

    store: PostGISStore
    info: LayerInfo
    source: str
    problems: list[Problem] = field(default_factory=list)
    kept: list[tuple[int, PreparedRows]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    own: list[ValidationError] = field(default_factory=list)

    def parts(
        self, batches: Iterable[tuple[int, pd.DataFrame] | tuple[int, pd.DataFrame, Any]]
    ) -> Iterator[tuple[int, list[Any], PreparedGeometry | None]]:
        """Each batch checked and converted, as the COPY takes it; once a problem is
        found the later batches are only checked."""
        for start, frame, *wkb in batches:
            prepared, geoms = self._checked(start, frame, wkb)
            if prepared is None or self.problems:
                continue  # checked, not sent: the load will be rolled back
            if not self.columns:
                self.columns.extend(prepared.columns)
            elif prepared.columns != self.columns:
                raise StoreSchemaError(
                    f"{self.source}: rows from {start} have columns {prepared.columns}, "
                    f"earlier batches {self.columns}"
                )
            self.kept.append((start, _json_only(self.info, prepared)))
            yield start, prepared.data, geoms
            del prepared, geoms, frame, wkb  # sent: only the JSON text is kept

    def _checked(
        self, start: int, frame: pd.DataFrame, wkb: list[Any]
    ) -> tuple[PreparedRows | None, PreparedGeometry | None]:
        """One batch converted (None when it has bad values) and its geometries;
        its problems join ``problems`` with rows counted from the input's first."""
        found: list[Problem] = []
        prepared: PreparedRows | None = None
        try:
            prepared = self.store._prepare(self.info, frame, self.source)
        except ValidationError as exc:
            found.extend(exc.problems)
        geoms = None
        if self.info.geometry_column:
            geoms, bad = _geometry_wkb(self.info, frame, self.source, *wkb)
            found.extend(bad)
        for p in found:
            row = p.get("row")
            shifted = {**p, "row": None if row is None else start + int(str(row))}
            self.problems.append(cast(Problem, shifted))
        return prepared, geoms

    def more_problems(self, exc: ValidationError) -> ValidationError:
        """`exc` (the caller's own checks failed) with the store's problems added.

        The JSON text of the batches already sent is checked too: the aborted
        COPY never reported on it.
        """
        problems = list(self.problems)
        for start, prepared in self.kept:
            problems.extend(
                batch_json_problems(self.info, start, prepared.columns, prepared.data, self.source)
            )
        return ValidationError(
            f"{exc} (and {len(problems)} problem(s) found writing)" if problems else str(exc),
            [*exc.problems, *problems],
        )


def _json_only(info: LayerInfo, prepared: PreparedRows) -> PreparedRows:
    """`prepared` reduced to its JSON columns (no keys)."""
    cols = [c for c in prepared.columns if info.columns.get(c) == "json"]
    data = [prepared.data[prepared.columns.index(c)] for c in cols]
    return PreparedRows(cols, data, [], len(prepared))


def _rejected(
    exc: RejectedValue, kept: list[tuple[int, PreparedRows]], source: str, json: bool
) -> list[Problem]:
    """The problems behind a value the COPY refused, by input row.

    `kept` holds the batches sent, each with its first input row; the COPY
    counts rows from the first of them. For a `json` field every bad text of
    every batch is listed, not only the first one the server met. Other values
    are not named (`kept` holds JSON text only): the server's reason says more.
    """
    field_ = exc.field
    found: list[Problem] = []
    sent = 0
    for start, prepared in kept:
        if json and field_ in prepared.columns:
            col = prepared.data[prepared.columns.index(field_)]
            found.extend(
                problem(source, start + i, field_, col[i], reason)
                for i, reason in json_text_problems(col)
            )
        elif not json and exc.row is not None and sent <= exc.row < sent + len(prepared):
            found.append(problem(source, start + exc.row - sent, field_, None, exc.reason))
        sent += len(prepared)
    return found or [problem(source, exc.row, field_, None, exc.reason)]
