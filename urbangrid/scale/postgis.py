"""PostGIS at scale (大规模入库): parallel COPY in, server-side assignment, yearly partitions.

Three bulk paths, all in the PostgreSQL schema ``urbangrid``:

* :class:`PostGISSink` — the output of :func:`urbangrid.scale.assign.assign_points`
  as a PostGIS table. Every partition is COPYed, in one binary COPY (the store's
  encoder, :mod:`urbangrid.store._copy_binary`, fed straight from the Arrow buffers;
  CSV written by Arrow when a column is text for the server to parse, such as numbers
  read from a CSV file), by the worker that assigned it into a loading table,
  replacing that partition's earlier rows in the same transaction, so a partition
  re-run after a worker died never doubles rows. When every partition is in, one
  transaction either renames the loading table into place (``mode="create"``) or
  inserts it into an existing table (``mode="append"``). A failed run drops the
  loading tables: readers never see part of a load.
* Appending to ``case_history``: the rows are loaded into one table per calendar year
  (UTC), without indexes or key. At commit, a year with no partition yet becomes one
  as it stands: renamed, given a CHECK on its range (so attaching needs no scan) and
  attached, which builds its key and indexes in bulk, once, after the rows are in; a
  year that has a partition already gets its rows by ``INSERT … SELECT``.
* ``case_history`` (migration ``1301_case_history.sql``) — every case of a city for
  years, partitioned by calendar year (UTC) of ``opened_at``; ``geom`` is computed from
  ``lon``/``lat`` (EPSG:4326) by the server.
* :func:`assign_in_database` — the assignment done inside PostgreSQL for points already
  there, by the SQL function ``urbangrid.locate_update`` (migration 1302), the
  set-based form of ``urbangrid.locate`` (migration 0601): each point gets the key of
  the current grid polygon covering it (boundary included), the smallest key when
  several do, as :meth:`~urbangrid.spatial.index.engine.GridIndex.from_store` answers; the
  grid is cut into small pieces by ``ST_Subdivide`` so each test is cheap. With
  ``parallel > 1``, one connection per year partition at a time.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from urbangrid.errors import StoreSchemaError
from urbangrid.store._columns import ArrowText
from urbangrid.store._copy_binary import SIGNATURE, TRAILER, Field, encode_column, rows_binary
from urbangrid.store.postgis import SCHEMA, describe_dsn

__all__ = ["CASE_HISTORY", "PostGISSink", "assign_in_database", "case_history_partitions"]

CASE_HISTORY = "case_history"
"""The year-partitioned case table of migration 1301."""

_PG_TYPES = {"text", "bigint", "double precision", "boolean", "timestamptz", "date", "jsonb"}


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, options="-c timezone=UTC")


class PostGISSink:
    """Write assigned partitions into a PostGIS table by COPY, all or nothing.

    Parameters
    ----------
    dsn : str
        ``postgresql://…`` of a database migrated by urbangrid (schema ``urbangrid``).
    table : str
        Target table in schema ``urbangrid``.
    columns : mapping of str to str
        Target column → PostgreSQL type (``text``, ``bigint``, ``double precision``,
        ``boolean``, ``timestamptz``, ``date``, ``jsonb``), in order.
    rename : mapping of str to str, optional
        Target column → input column, where the names differ (e.g.
        ``{"case_id": "case_enquiry_id", "lon": "longitude"}``).
    mode : {"create", "append"}
        ``create`` makes ``table`` (it must not exist unless ``overwrite``);
        ``append`` inserts into an existing table (e.g. :data:`CASE_HISTORY`).
    geometry : (str, str, int), optional
        With ``mode="create"``: (x column, y column, EPSG code) from which a generated
        ``geom`` point column with a GiST index is added.
    overwrite : bool
        With ``mode="create"``, replace an existing table once the load is complete.

    Examples
    --------
    >>> sink = PostGISSink("postgresql://u:p@localhost/db", "case_history",
    ...     columns={"case_id": "text", "opened_at": "timestamptz", "lon": "double precision",
    ...              "lat": "double precision", "grid_key": "text"},
    ...     rename={"case_id": "case_enquiry_id", "opened_at": "open_dt",
    ...             "lon": "longitude", "lat": "latitude"}, mode="append")
    >>> sink.target
    'postgresql://u@localhost:5432/db/case_history'
    """

    def __init__(
        self,
        dsn: str,
        table: str,
        *,
        columns: Mapping[str, str],
        rename: Mapping[str, str] | None = None,
        mode: Literal["create", "append"] = "create",
        geometry: tuple[str, str, int] | None = None,
        overwrite: bool = False,
    ) -> None:
        if mode not in ("create", "append"):
            raise ValueError(f"mode must be 'create' or 'append', not {mode!r}")
        bad = {c: t for c, t in columns.items() if t not in _PG_TYPES}
        if bad:
            raise StoreSchemaError(f"column types {bad} are not among {sorted(_PG_TYPES)}")
        self.dsn = dsn
        self.table = table
        self.columns = dict(columns)
        self.rename = dict(rename or {})
        self.mode = mode
        self.geometry = geometry
        self.overwrite = overwrite
        self.stage = f"_loading_{table}_{uuid.uuid4().hex[:8]}"
        # case_history: one loading table per year, each becoming that year's partition
        self.by_year = mode == "append" and table == CASE_HISTORY
        if self.by_year and "opened_at" not in self.columns:
            raise StoreSchemaError(f"{self.target}: the columns must include opened_at")

    @property
    def target(self) -> str:
        """``postgresql://user@host:port/db/table`` (no password), for messages."""
        return f"{describe_dsn(self.dsn)}/{self.table}"

    def open(self) -> None:
        """Check the target and create the loading table (client side)."""
        with _connect(self.dsn) as con:
            row = con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{self.table}",)).fetchone()
            exists = row is not None and row[0] is not None
            if self.mode == "create" and exists and not self.overwrite:
                raise StoreSchemaError(
                    f"{self.target}: table exists; pass overwrite=True to replace it"
                )
            if self.mode == "append" and not exists:
                raise StoreSchemaError(f"{self.target}: no such table to append to")
            if self.by_year:
                return  # the year tables are made as rows arrive
            cols = [
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))
                for c, t in self.columns.items()
            ]
            con.execute(
                sql.SQL("CREATE TABLE {} (_part integer NOT NULL, {})").format(
                    sql.Identifier(SCHEMA, self.stage), sql.SQL(", ").join(cols)
                )
            )
            con.execute(
                sql.SQL("CREATE INDEX ON {} (_part)").format(sql.Identifier(SCHEMA, self.stage))
            )

    def _year_stage(self, con: psycopg.Connection[Any], year: int) -> sql.Identifier:
        """The loading table of one year, made on first use: ``case_history``'s columns
        and ``_part``, no key, no index (they come when it is attached)."""
        name = sql.Identifier(SCHEMA, f"{self.stage}_y{year}")
        # two workers may start the same year at once
        con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.stage,))
        con.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED, "
                "_part integer NOT NULL)"
            ).format(name, sql.Identifier(SCHEMA, CASE_HISTORY))
        )
        return name

    def _year_stages(self, con: psycopg.Connection[Any]) -> dict[int, str]:
        rows = con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            (SCHEMA, self.stage.replace("_", "\\_") + "\\_y%"),
        ).fetchall()
        return {int(t.rsplit("_y", 1)[1]): t for (t,) in rows}

    def write(self, table: Any, i: int) -> None:
        """COPY partition ``i`` (worker side), replacing an earlier attempt's rows."""
        if not isinstance(table, pa.Table):
            frame = (
                table.drop(columns=[table.geometry.name]) if hasattr(table, "geometry") else table
            )
            table = pa.Table.from_pandas(frame, preserve_index=False)
        names = [self.rename.get(c, c) for c in self.columns]
        missing = [n for n in names if n not in table.column_names]
        if missing:
            raise StoreSchemaError(
                f"{self.target}: the rows have no column(s) {missing} for "
                f"{[c for c in self.columns if self.rename.get(c, c) in missing]}"
            )
        picked = table.select(names)
        # timestamps as ISO text with an explicit zone: PostgreSQL parses them whatever
        # Arrow's unit; naive ones are UTC.
        arrays = []
        for col in picked.columns:
            if pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("us", tz=col.type.tz or "UTC"))
            arrays.append(col)
        picked = pa.table(
            [pa.array(np.full(picked.num_rows, i, dtype=np.int32)), *arrays],
            names=["_part", *self.columns],
        )
        names, types = ["_part", *self.columns], ["integer", *self.columns.values()]
        if not self.by_year:
            with _connect(self.dsn) as con, con.transaction():
                stage = sql.Identifier(SCHEMA, self.stage)
                con.execute(sql.SQL("DELETE FROM {} WHERE _part = %s").format(stage), (i,))
                _copy_rows(con, stage, names, types, picked)
            return
        opened = picked.column("opened_at")
        if not pa.types.is_timestamp(opened.type):
            # text (a CSV): the year decides the table, so parse here, as PostgreSQL
            # would (ISO 8601, offsets honoured, none meaning UTC)
            try:
                ts = pd.to_datetime(opened.to_pandas(), format="mixed", utc=True)
            except (ValueError, TypeError) as exc:
                raise StoreSchemaError(
                    f"{self.target}: opened_at of partition {i} is not a date-time: {exc}"
                ) from None
            opened = pa.array(ts, type=pa.timestamp("us", tz="UTC"))
            picked = picked.set_column(
                picked.schema.get_field_index("opened_at"), "opened_at", opened
            )
        if opened.null_count:
            raise StoreSchemaError(
                f"{self.target}: opened_at is empty in {opened.null_count} row(s) of partition {i}"
            )
        years = pc.year(opened).to_numpy()
        with _connect(self.dsn) as con, con.transaction():
            # an earlier attempt at this partition wrote the same rows, so the same years
            for year in np.unique(years).tolist():
                stage = self._year_stage(con, int(year))
                con.execute(sql.SQL("DELETE FROM {} WHERE _part = %s").format(stage), (i,))
                _copy_rows(con, stage, names, types, picked.filter(pa.array(years == year)))

    def commit(self, manifest: dict[str, Any]) -> None:
        """Move the complete load into place in one transaction (client side)."""
        s = sql.Identifier(SCHEMA, self.stage)
        t = sql.Identifier(SCHEMA, self.table)
        cols = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        with _connect(self.dsn) as con, con.transaction():
            if self.by_year:
                for year, stage in sorted(self._year_stages(con).items()):
                    _attach_year(con, year, sql.Identifier(SCHEMA, stage), cols)
                return
            if self.mode == "append":
                con.execute(
                    sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(t, cols, cols, s)
                )
                con.execute(sql.SQL("DROP TABLE {}").format(s))
                return
            if self.overwrite:
                con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(t))
            con.execute(sql.SQL("ALTER TABLE {} DROP COLUMN _part").format(s))
            con.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(s, sql.Identifier(self.table))
            )
            if self.geometry is not None:
                x, y, srid = self.geometry
                con.execute(
                    sql.SQL(
                        "ALTER TABLE {} ADD COLUMN geom geometry(POINT, {}) GENERATED ALWAYS AS "
                        "(ST_SetSRID(ST_MakePoint({}, {}), {})) STORED"
                    ).format(
                        t,
                        sql.Literal(int(srid)),
                        sql.Identifier(x),
                        sql.Identifier(y),
                        sql.Literal(int(srid)),
                    )
                )
                con.execute(
                    sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(
                        sql.Identifier(f"{self.table}_geom_gist"), t
                    )
                )
            con.execute(
                sql.SQL("COMMENT ON TABLE {} IS {}").format(
                    t, sql.Literal(json.dumps(manifest, default=str))
                )
            )

    def abort(self) -> None:
        """Drop the loading tables: nothing of a failed load remains."""
        with _connect(self.dsn) as con:
            for name in [self.stage, *self._year_stages(con).values()]:
                con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, name)))


def _copy_rows(
    con: psycopg.Connection[Any],
    table: sql.Composable,
    names: list[str],
    types: list[str],
    rows: pa.Table,
) -> None:
    """COPY an Arrow table in, in one write: binary when every column is typed for its
    PostgreSQL type, else CSV written by Arrow (text the server parses)."""
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    binary = _binary_payload(rows, types)
    payload: bytes | memoryview
    if binary is None:
        buf = io.BytesIO()
        pacsv.write_csv(
            rows, buf, pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        )
        payload, form = buf.getbuffer(), "csv"
    else:
        payload, form = binary, "binary"
    query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT {})").format(table, cols, sql.SQL(form))
    with con.cursor().copy(query) as copy:
        copy.write(payload)


# binary send format of the fixed-width types (big-endian); PostgreSQL's epoch is 2000
_FIXED_DTYPES = {
    "integer": ">i4",
    "bigint": ">i8",
    "double precision": ">f8",
    "boolean": "u1",
    "timestamptz": ">i8",
    "date": ">i4",
}
_PG_EPOCH_US = 946_684_800_000_000
_PG_EPOCH_DAYS = 10_957


def _arrow_field(col: pa.Array, pgtype: str) -> Field | None:
    """One Arrow column as a field of the store's binary COPY encoder; None when its
    Arrow type is not the PostgreSQL type's (text to parse: the CSV path does it)."""
    t = col.type
    if pgtype in ("text", "jsonb"):
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            if pgtype == "jsonb" or not pa.types.is_dictionary(t):
                return None
            col = col.cast(pa.string())
        # encode_column takes ArrowText for a sequence of str (its UTF-8 buffers are used)
        return encode_column(cast(Any, ArrowText(col)), pgtype)
    if pgtype == "double precision" and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        vals = col.cast(pa.float64()).fill_null(0).to_numpy()
    elif pgtype in ("bigint", "integer") and pa.types.is_integer(t):
        vals = col.cast(pa.int64()).fill_null(0).to_numpy()
    elif pgtype == "boolean" and pa.types.is_boolean(t):
        vals = col.fill_null(False).to_numpy(zero_copy_only=False)
    elif pgtype == "timestamptz" and pa.types.is_timestamp(t) and t.tz is not None:
        vals = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).fill_null(0).to_numpy()
        vals = vals - _PG_EPOCH_US
    elif pgtype == "date" and pa.types.is_date(t):
        vals = col.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy() - _PG_EPOCH_DAYS
    else:
        return None
    data = np.ascontiguousarray(vals.astype(_FIXED_DTYPES[pgtype])).view(np.uint8).reshape(-1)
    width = np.dtype(_FIXED_DTYPES[pgtype]).itemsize
    lengths = np.where(col.is_valid().to_numpy(zero_copy_only=False), width, -1)
    return Field(data, np.arange(len(col), dtype=np.int64) * width, lengths.astype(np.int64))


def _binary_payload(rows: pa.Table, types: list[str]) -> bytes | None:
    """The binary COPY stream of ``rows`` (columns in ``types`` order), or None."""
    fields = []
    for col, pgtype in zip(rows.columns, types, strict=True):
        field = _arrow_field(col.combine_chunks(), pgtype)
        if field is None:
            return None
        fields.append(field)
    if rows.num_rows == 0:
        return SIGNATURE + TRAILER
    return b"".join((SIGNATURE, rows_binary(fields), TRAILER))


def _attach_year(
    con: psycopg.Connection[Any], year: int, stage: sql.Identifier, cols: sql.Composable
) -> None:
    """Move one year's loading table into ``case_history`` (in the caller's
    transaction): as the year's partition when it has none, else by INSERT."""
    if not 1900 <= year <= 2999:
        raise StoreSchemaError(f"case_history: year {year} is out of range 1900-2999")
    part = f"{CASE_HISTORY}_y{year}"
    parent = sql.Identifier(SCHEMA, CASE_HISTORY)
    if con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{part}",)).fetchone() != (None,):
        con.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(parent, cols, cols, stage)
        )
        con.execute(sql.SQL("DROP TABLE {}").format(stage))
        return
    # the bounds of case_history_partition (migration 1301): the UTC calendar year
    lo, hi = f"{year}-01-01 00:00:00+00", f"{year + 1}-01-01 00:00:00+00"
    target = sql.Identifier(SCHEMA, part)
    check = sql.Identifier(f"{part}_range")
    con.execute(sql.SQL("ALTER TABLE {} DROP COLUMN _part").format(stage))
    con.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(stage, sql.Identifier(part)))
    # the CHECK spares ATTACH a scan of the rows; ATTACH builds the key and indexes
    con.execute(
        sql.SQL(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK (opened_at >= {} AND opened_at < {})"
        ).format(target, check, sql.Literal(lo), sql.Literal(hi))
    )
    con.execute(
        sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
            parent, target, sql.Literal(lo), sql.Literal(hi)
        )
    )
    con.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, check))


def case_history_partitions(dsn: str) -> dict[int, int]:
    """Year → row count of each ``case_history`` partition (estimates from statistics).

    Parameters
    ----------
    dsn : str
        The PostGIS database.
    """
    with _connect(dsn) as con:
        rows = con.execute(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE n.nspname = %s AND p.relname = %s ORDER BY c.relname",
            (SCHEMA, CASE_HISTORY),
        ).fetchall()
    return {int(name.rsplit("_y", 1)[1]): int(n) for name, n in rows}


def assign_in_database(
    dsn: str,
    table: str,
    grid_layer: str,
    key: str,
    *,
    column: str = "grid_key",
    grid_version: str | None = None,
    years: Sequence[int] | None = None,
    only_missing: bool = False,
    parallel: int = 1,
    max_vertices: int = 64,
) -> int:
    """Assign points already in PostGIS to grid polygons, inside the database.

    Runs the SQL function ``urbangrid.locate_update`` (migration
    ``1302_locate_update.sql``), the set-based form of ``urbangrid.locate`` (migration
    0601): each point gets the key of the current grid polygon covering it (boundary
    included), the smallest key (codepoint order) when several do, NULL when none: the
    rule of :meth:`urbangrid.spatial.index.engine.GridIndex.from_store`.

    Parameters
    ----------
    dsn : str
        The PostGIS database (schema ``urbangrid``, migrated).
    table : str
        Point table in schema ``urbangrid`` with a ``geom`` column (e.g.
        :data:`CASE_HISTORY` or a table made by :class:`PostGISSink`). Points are
        transformed to the grid's SRID.
    grid_layer : str
        Polygon history layer in schema ``urbangrid`` (``unit_grid``, ``work_grid`` …:
        ``geom`` and ``valid_to`` columns); its current rows are used.
    key : str
        Grid column written to ``column``.
    column : str
        Point column receiving the key (NULL where no polygon covers the point).
    grid_version : str, optional
        Also written to ``grid_version`` (``case_history`` has that column).
    years : sequence of int, optional
        ``case_history`` only: the year partitions to assign (default all).
    only_missing : bool
        Only rows whose ``column`` is NULL.
    parallel : int
        Connections working at once, one partition each (for ``case_history``).
    max_vertices : int
        ``ST_Subdivide`` piece size; smaller pieces make each covers test cheaper.

    Returns
    -------
    int
        Rows updated.

    Raises
    ------
    StoreSchemaError
        A table or column is missing, or the database lacks migration 1302.
    """
    with _connect(dsn) as con:
        for name in (table, grid_layer):
            if con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{name}",)).fetchone() == (None,):
                raise StoreSchemaError(f"{describe_dsn(dsn)}: no table {SCHEMA}.{name}")
        cols = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = %s",
                (SCHEMA, grid_layer),
            )
        }
        missing = {"geom", "valid_to", key} - cols
        if missing:
            raise StoreSchemaError(
                f"{describe_dsn(dsn)}: {SCHEMA}.{grid_layer} has no column(s) {sorted(missing)}"
            )
        if con.execute("SELECT to_regproc('urbangrid.locate_update')").fetchone() == (None,):
            raise StoreSchemaError(
                f"{describe_dsn(dsn)}: urbangrid.locate_update is missing; "
                "migrate the database (urbangrid db init)"
            )
        if table == CASE_HISTORY:
            parts = sorted(case_history_partitions(dsn))
            targets = [f"{CASE_HISTORY}_y{y}" for y in parts if years is None or y in years]
        else:
            targets = [table]

    def run(target: str) -> int:
        with _connect(dsn) as con, con.transaction():
            row = con.execute(
                "SELECT urbangrid.locate_update(%s::regclass, %s, %s, %s, 'geom', %s, %s, %s, %s)",
                (
                    sql.Identifier(SCHEMA, target).as_string(con),
                    grid_layer,
                    key,
                    column,
                    only_missing,
                    None if grid_version is None else "grid_version",
                    grid_version,
                    max_vertices,
                ),
            ).fetchone()
        return int(row[0]) if row else 0

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return sum(pool.map(run, targets))
