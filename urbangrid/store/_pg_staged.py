"""A first bulk load into an empty PostGIS layer: staged, indexed in parallel, swapped in.

A load into one transaction builds the layer's indexes one after the other once
the ``COPY`` is done: for 316,851 components 0.9 s, one core busy, while the
other waits. Indexes can be built side by side only on committed rows, so a
load into an *empty* layer goes through a staging table instead:

1. a lock-holding connection takes ``SHARE ROW EXCLUSIVE`` on the layer
   (writers and other staged loads wait, at most ``timeout_s``; readers go
   on) and checks that it is empty and that nothing but its own indexes,
   constraints, defaults and identity sequence depends on it;
2. the caller's transaction creates the staging table ``LIKE`` the layer
   (no indexes) and ``COPY``\\ s into it (``FREEZE``: the table is new);
   it commits, but the staging table is not the layer, so nobody reads it;
3. the layer's indexes are built on the staging table on two connections at
   once (each connection taking the next index from one queue, GiST first): 0.6 s instead of
   0.9 s;
4. one transaction on the lock-holding connection swaps the tables: drop the
   empty layer, rename the staging table and its indexes, primary key and
   identity sequence to the layer's names, owner and comment as they were.

Any failure before the swap drops the staging table: the layer is as it was.
A staging table left by a load that crashed is dropped by the next staged load.
A layer with anything else depending on it (views, triggers, foreign keys,
grants, policies, publications, inheritance, storage options) is not swapped;
the caller then loads it in one transaction as before.
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from urbangrid.errors import StorePermissionError
from urbangrid.store._pg_locks import busy_message, describe_dsn
from urbangrid.store.base import StoreBusyError

__all__ = [
    "StagedLoad",
    "begin_staged_load",
    "drop_own_stages",
    "stage_in_transaction",
]

# The layer may be swapped when every object depending on it is one of its own
# parts: its row type, indexes, TOAST table, identity sequence, defaults,
# primary key and CHECK / NOT NULL constraints; and nothing depends on its row
# type but the array type. Anything else (views, triggers, policies, foreign
# keys either way, statistics objects, publications, functions) keeps the
# one-transaction load.
_SWAPPABLE = """
SELECT c.relkind = 'r' AND c.relpersistence = 'p' AND c.reloptions IS NULL
   AND c.relacl IS NULL AND NOT c.relrowsecurity AND NOT c.relhassubclass
   AND NOT c.relispartition AND pg_has_role(c.relowner, 'USAGE')
   AND NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid)
   AND NOT EXISTS (SELECT 1 FROM pg_publication_rel WHERE prrelid = c.oid)
   AND NOT EXISTS (
       SELECT 1 FROM pg_attribute
       WHERE attrelid = c.oid AND attnum > 0 AND attacl IS NOT NULL)
   AND NOT EXISTS (
       SELECT 1 FROM pg_constraint
       WHERE (conrelid = c.oid AND contype NOT IN ('p', 'c', 'n')) OR confrelid = c.oid)
   AND NOT EXISTS (
       SELECT 1 FROM pg_depend
       WHERE refclassid = 'pg_class'::regclass AND refobjid = c.oid
         AND classid NOT IN ('pg_type'::regclass, 'pg_class'::regclass,
                             'pg_constraint'::regclass, 'pg_attrdef'::regclass))
   AND NOT EXISTS (
       SELECT 1 FROM pg_depend
       WHERE refclassid = 'pg_type'::regclass AND refobjid = c.reltype AND deptype <> 'i')
FROM pg_class AS c WHERE c.oid = %s::regclass
"""

_INDEX_HEAD = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (ONLY )?(\S+) USING ")


@dataclass
class _Index:
    name: str
    definition: str  # pg_get_indexdef of the layer's index
    gist: bool
    constraint: str | None  # the primary key's constraint name, for the layer's key index
    comment: str | None


@dataclass
class StagedLoad:
    """A staged load under way: the lock-holding connection and what the swap restores.

    Made by :func:`begin_staged_load`; the caller creates the staging table
    and copies into it (:meth:`create`), then calls :meth:`finish` after its
    transaction commits, or :meth:`abort` on any failure, and :meth:`close`.
    """

    dsn: str
    schema: str
    table: str
    lock: psycopg.Connection[Any]
    indexes: list[_Index]
    owner: str
    comment: str | None
    sequence: str | None  # the layer's identity sequence (unqualified), if any
    identity_column: str | None
    next_value: int
    stage: str = ""
    committed: bool = False
    #: The lock is the caller's own open transaction (:func:`stage_in_transaction`):
    #: the swap joins it, and commits or rolls back with it.
    in_transaction: bool = False
    _helper: list[psycopg.Connection[Any]] = field(default_factory=list)
    _opener: threading.Thread | None = None

    def _ident(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)

    def create(self, con: psycopg.Connection[Any], *, reserve: int = 0) -> str:
        """In `con`'s open transaction: make the staging table; returns its name.

        `reserve`: the caller writes the identity column itself, keys from
        :attr:`next_value` on, for that many rows (its COPY streams at once keep
        the file's order); the sequence goes on after them.

        The name carries the backend number of the connection that holds the
        load (the lock's, when the load runs in the caller's transaction), so a
        staging table whose session is gone is known for an orphan."""
        pid = (self.lock if self.in_transaction else con).info.backend_pid
        self.stage = f"{self.table}__load_{pid}"
        con.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(
                self._ident(self.stage), self._ident(self.table)
            )
        )
        if self.identity_column is not None:
            # Keys go on from the layer's sequence, as they would without the swap.
            con.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} RESTART WITH {}").format(
                    self._ident(self.stage),
                    sql.Identifier(self.identity_column),
                    sql.Literal(self.next_value + reserve),
                )
            )
        if not self._helper:
            # The second connection for the index builds opens while the COPY runs.
            self._opener = threading.Thread(target=self._open_helper, daemon=True)
            self._opener.start()
        return self.stage

    def _open_helper(self) -> None:
        # Without it, finish() builds every index on the caller's connection.
        with contextlib.suppress(psycopg.Error):
            self._helper.append(
                psycopg.connect(self.dsn, autocommit=True, options="-c timezone=UTC")
            )

    def finish(self, con: psycopg.Connection[Any], maintenance_work_mem: str = "256MB") -> None:
        """After the caller's commit: build the indexes side by side, then swap the tables."""
        self.committed = True
        if self._opener is not None:
            self._opener.join()
        temp = {ix.name: f"{self.stage}_{i}" for i, ix in enumerate(self.indexes)}
        stage = self._qualified(self.stage)
        ddl = {ix.name: _on_stage(ix, temp[ix.name], stage) for ix in self.indexes}
        gist = [ddl[ix.name] for ix in self.indexes if ix.gist]
        others = [ddl[ix.name] for ix in self.indexes if not ix.gist]
        setting = sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem))
        con.execute(setting)
        try:
            self._build(con, gist, others, setting)
        finally:
            with contextlib.suppress(psycopg.Error):
                con.execute("RESET maintenance_work_mem")
        self._swap(temp)

    def _build(
        self,
        con: psycopg.Connection[Any],
        gist: list[str],
        others: list[str],
        setting: sql.Composed,
    ) -> None:
        """The indexes on `con` and the helper connection at the same time, each
        connection taking the next index from one queue as it finishes one (GiST
        first, the longest build): the two finish close together. 316,851
        components: GiST 0.6 s and four B-trees 1.0 s, one connection each, took
        1.0 s; from the queue ~0.85 s."""
        if not self._helper:
            for s in gist + others:
                con.execute(s.encode())
            return
        helper = self._helper[0]
        helper.execute(setting)
        errors: list[BaseException] = []
        queue = iter([*gist, *others])
        taking = threading.Lock()

        def build(c: psycopg.Connection[Any]) -> None:
            try:
                while not errors:
                    with taking:
                        s = next(queue, None)
                    if s is None:
                        return
                    c.execute(s.encode())
            except BaseException as exc:  # re-raised below, on the caller's thread
                errors.append(exc)

        side = threading.Thread(target=build, args=(helper,))
        side.start()
        build(con)
        side.join()
        if errors:
            raise errors[0]

    def _qualified(self, name: str) -> str:
        return self._ident(name).as_string(self.lock)

    def _swap(self, temp: dict[str, str]) -> None:
        lk = self.lock
        layer, stage = self._ident(self.table), self._ident(self.stage)
        try:
            lk.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(layer))
        except psycopg.errors.LockNotAvailable as exc:
            if self.in_transaction:
                raise  # the caller's transaction says so, and rolls back
            # A reader's open transaction (idle in transaction …): bounded wait, one line.
            lk.rollback()
            what = f"layer {self.table!r}"
            raise StoreBusyError(busy_message(lk, describe_dsn(self.dsn), what)) from exc
        lk.execute(sql.SQL("DROP TABLE {}").format(layer))
        lk.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(stage, sql.Identifier(self.table)))
        for ix in self.indexes:
            tmp = sql.Identifier(self.schema, temp[ix.name])
            if ix.constraint is not None:
                # ADD … USING INDEX renames the index to the constraint's name.
                lk.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}").format(
                        layer, sql.Identifier(ix.constraint), sql.Identifier(temp[ix.name])
                    )
                )
                if ix.constraint != ix.name:
                    lk.execute(
                        sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                            sql.Identifier(self.schema, ix.constraint), sql.Identifier(ix.name)
                        )
                    )
            else:
                lk.execute(
                    sql.SQL("ALTER INDEX {} RENAME TO {}").format(tmp, sql.Identifier(ix.name))
                )
            if ix.comment is not None:
                lk.execute(
                    sql.SQL("COMMENT ON INDEX {} IS {}").format(
                        sql.Identifier(self.schema, ix.name), sql.Literal(ix.comment)
                    )
                )
        if self.sequence is not None and self.identity_column is not None:
            (seq,) = lk.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                (self._qualified(self.table), self.identity_column),
            ).fetchone() or (None,)
            if seq is not None:
                lk.execute(
                    sql.SQL("ALTER SEQUENCE {} RENAME TO {}").format(
                        sql.SQL(seq), sql.Identifier(self.sequence)
                    )
                )
        lk.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(layer, sql.Identifier(self.owner)))
        if self.comment is not None:
            comment = sql.Literal(self.comment)
            lk.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(layer, comment))
        if not self.in_transaction:
            lk.commit()

    def abort(self, con: psycopg.Connection[Any]) -> None:
        """Release the lock (undoing a swap cut short), then drop the staging table if committed.

        In that order: a swap cut short holds the staging table locked until
        its rollback. Left behind on a broken connection, the staging table
        is dropped by the layer's next staged load.
        """
        if not self.lock.closed:
            with contextlib.suppress(psycopg.Error):
                self.lock.rollback()
        if self.committed and self.stage:
            with contextlib.suppress(psycopg.Error):
                con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._ident(self.stage)))

    def close(self) -> None:
        """Close the extra connections (not the caller's)."""
        if self._opener is not None:
            self._opener.join()
        for c in [*([] if self.in_transaction else [self.lock]), *self._helper]:
            if not c.closed:
                c.close()


def _on_stage(ix: _Index, temp: str, stage: str) -> str:
    """The layer's index definition, renamed `temp`, on the staging table."""
    m = _INDEX_HEAD.match(ix.definition)
    if m is None:  # pragma: no cover - pg_get_indexdef always starts so
        raise ValueError(f"unexpected index definition: {ix.definition}")
    unique = m.group(1) or ""
    return f'CREATE {unique}INDEX "{temp}" ON {stage} USING {ix.definition[m.end() :]}'


def drop_orphans(
    lock: psycopg.Connection[Any], schema: str, table: str | None = None
) -> list[str]:
    """Drop staging tables of `table` (of every layer: None) left by loads whose
    connection is gone (a crash, a kill); returns their names."""
    names = lock.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r'",
        (schema,),
    ).fetchall()
    alive = {pid for (pid,) in lock.execute("SELECT pid FROM pg_stat_activity").fetchall()}
    prefix = re.escape(table) if table is not None else r"[a-z_][a-z0-9_]*"
    pattern = re.compile(prefix + r"__load_([0-9]{1,10})")
    dropped = []
    for (name,) in names:
        m = pattern.fullmatch(name)
        if m is None or int(m.group(1)) in alive:
            continue
        ident = sql.Identifier(schema, name)
        # Another session may be dropping it right now (its transaction still open):
        # left to it, rather than waiting for that transaction to end.
        (busy,) = lock.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = %s::regclass "
            "AND pid <> pg_backend_pid())",
            (ident.as_string(lock),),
        ).fetchone() or (True,)
        if not busy:
            lock.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
            dropped.append(f"{schema}.{name}")
    return dropped


def drop_own_stages(con: psycopg.Connection[Any], schema: str) -> None:
    """Drop the staging tables named after `con`'s backend (:func:`stage_in_transaction`
    loads whose transaction did not swap them in); `con` outside any transaction."""
    pattern = f"%\\_\\_load\\_{con.info.backend_pid}"
    names = con.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' AND c.relname LIKE %s",
        (schema, pattern),
    ).fetchall()
    for (name,) in names:
        con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, name)))


def take_load_lock(lock: psycopg.Connection[Any], dsn: str, schema: str, layer: str) -> None:
    """The load lock of `layer` (its ``layer_registry`` row ``FOR UPDATE``) on `lock`,
    until its transaction ends, waited for at most the connection's ``lock_timeout``."""
    try:
        lock.execute(
            sql.SQL("SELECT 1 FROM {} WHERE name = %s FOR UPDATE").format(
                sql.Identifier(schema, "layer_registry")
            ),
            (layer,),
        )
    except psycopg.errors.LockNotAvailable as exc:
        lock.rollback()
        what = f"the load lock of layer {layer!r}"
        raise StoreBusyError(busy_message(lock, describe_dsn(dsn), what)) from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StorePermissionError(
            f"{describe_dsn(dsn)}: the role this store was opened with may not write "
            f"{layer!r}; nothing was written. Connect as a writer role."
        ) from exc


def begin_staged_load(
    dsn: str, schema: str, table: str, *, timeout_s: float = 60.0, layer: str | None = None
) -> StagedLoad | None:
    """Lock `table` against writers and plan a staged load, or None where it cannot be swapped.

    `layer`: the name whose row of ``layer_registry`` is the load lock every
    writer of the layer takes first (:meth:`PostGISStore.lock_layer`); it is
    taken here, on the connection that holds the load until its swap, so a
    staged load queues behind (and ahead of) CLI loads and streamed appends
    alike. None (nothing locked) when the layer holds rows, or anything but its
    own parts depends on it (see the module docstring); the caller loads in one
    transaction then.
    """
    lock = psycopg.connect(dsn, autocommit=False, options="-c timezone=UTC")
    try:
        lock.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(timeout_s * 1e3)}",))
        if layer is not None:
            take_load_lock(lock, dsn, schema, layer)
        # SHARE ROW EXCLUSIVE, not SHARE: it conflicts with itself, so two staged
        # loads queue here instead of both holding SHARE and both upgrading to
        # ACCESS EXCLUSIVE at the swap (a deadlock); readers still go on.
        try:
            lock.execute(
                sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
                    sql.Identifier(schema, table)
                )
            )
        except psycopg.errors.LockNotAvailable as exc:
            lock.rollback()
            what = f"layer {table!r}"
            raise StoreBusyError(busy_message(lock, describe_dsn(dsn), what)) from exc
        plan = _plan(lock, dsn, schema, table)
        if plan is None:
            lock.close()
            return None
        return plan
    except BaseException:
        lock.close()
        raise


def stage_in_transaction(
    con: psycopg.Connection[Any],
    dsn: str,
    schema: str,
    table: str,
    *,
    timeout_s: float = 60.0,
    helpers: int = 1,
) -> StagedLoad | None:
    """A staged load of `table` that joins `con`'s open transaction, or None.

    For a load that must be one with the caller's other writes (a loader's
    change set and its record): `con` locks out writers (``SHARE ROW
    EXCLUSIVE``, readers go on), a helper connection creates the staging table
    and ``COPY``\\ s into it in a transaction of its own (nobody reads it), the
    indexes are built on both connections at once (rows the helper committed),
    and the swap runs in `con`'s transaction, committed or rolled back with the
    rest. The staging table a rollback leaves is the caller's to drop (its name
    carries `con`'s backend number: once `con` is gone it is an orphan that
    :func:`drop_orphans` drops). None, with `con` holding the lock, when the
    table holds rows, has dependents, is not `con`'s to swap, was already
    locked exclusively by `con` (the helper would wait for it) or no helper
    connection opens; the caller then loads in its transaction as before.
    `helpers`: how many helper connections to open (at least one; one COPY
    stream each).
    """
    ident = sql.Identifier(schema, table)
    (held,) = con.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() "
        "AND relation = %s::regclass AND mode = 'AccessExclusiveLock')",
        (ident.as_string(con),),
    ).fetchone() or (True,)
    if held:
        return None
    con.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(ident))
    plan = _plan(con, dsn, schema, table)
    if plan is None:
        return None
    options = f"-c timezone=UTC -c lock_timeout={int(timeout_s * 1e3)}"
    for _ in range(helpers):
        try:
            plan._helper.append(psycopg.connect(dsn, autocommit=True, options=options))
        except psycopg.Error:
            break
    if not plan._helper:
        return None
    plan.in_transaction = True
    return plan


def _plan(
    lock: psycopg.Connection[Any], dsn: str, schema: str, table: str
) -> StagedLoad | None:
    """The staged load of `table` with `lock` holding it (writers locked out), or None
    when the table holds rows or anything but its own parts depends on it."""
    qualified = sql.Identifier(schema, table).as_string(lock)
    (swappable,) = lock.execute(_SWAPPABLE, (qualified,)).fetchone() or (False,)
    (empty,) = lock.execute(
        sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(schema, table))
    ).fetchone() or (False,)
    if not (swappable and empty):
        return None
    drop_orphans(lock, schema, table)
    rows = lock.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid), am.amname = 'gist', "
        "(SELECT conname FROM pg_constraint WHERE conindid = i.oid AND contype = 'p'), "
        "obj_description(i.oid, 'pg_class') "
        "FROM pg_index AS x JOIN pg_class AS i ON i.oid = x.indexrelid "
        "JOIN pg_am AS am ON am.oid = i.relam "
        "WHERE x.indrelid = %s::regclass ORDER BY i.relname",
        (qualified,),
    ).fetchall()
    indexes = [_Index(n, d, bool(g), p, c) for n, d, g, p, c in rows]
    owner, comment = lock.execute(
        "SELECT pg_get_userbyid(relowner), obj_description(oid, 'pg_class') "
        "FROM pg_class WHERE oid = %s::regclass",
        (qualified,),
    ).fetchone() or ("", None)
    ident = lock.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attidentity <> '' AND NOT attisdropped",
        (qualified,),
    ).fetchone()
    sequence, column, next_value = None, None, 1
    if ident is not None:
        column = ident[0]
        (seq,) = lock.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", (qualified, column)
        ).fetchone() or (None,)
        if seq is not None:
            last, called = lock.execute(
                sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(seq))
            ).fetchone() or (0, False)
            next_value = int(last) + 1 if called else int(last)
            (sequence,) = lock.execute(
                "SELECT relname FROM pg_class WHERE oid = %s::regclass", (seq,)
            ).fetchone() or (None,)
    return StagedLoad(
        dsn, schema, table, lock, indexes, owner, comment, sequence, column, next_value
    )
