"""PostGIS bulk paths keyed by a DSN, for work spread over processes (大规模入库).

The SQL behind :mod:`urbangrid.scale.postgis`: loading tables filled partition by
partition by parallel workers (each opens its own connection from the DSN, so
nothing here holds a :class:`~urbangrid.store.Store`), moved into place in one
transaction; year partitions of ``case_history``; and the server-side assignment
``urbangrid.locate_update``. Everything lives in the PostgreSQL schema
``urbangrid``; identifiers go through :mod:`psycopg.sql`, values are parameters.

Rows come as Arrow tables and go in by one ``COPY`` each: binary (the store's
encoder, :mod:`urbangrid.store._copy_binary`, fed straight from the Arrow buffers)
when every column already has its PostgreSQL type, else CSV written by Arrow for
the server to parse (numbers read from a CSV file, say).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from urbangrid.errors import StoreSchemaError, ValidationError
from urbangrid.problems import Problem, problem
from urbangrid.store._columns import ArrowText
from urbangrid.store._copy_binary import SIGNATURE, TRAILER, Field, encode_column, rows_binary
from urbangrid.store.postgis import SCHEMA, describe_dsn

__all__ = [
    "BAD_POINTS_SHOWN",
    "CASE_HISTORY",
    "bad_points",
    "case_history_partitions",
    "check_locate_inputs",
    "commit_loading_table",
    "create_loading_table",
    "drop_loading_tables",
    "locate_update",
    "move_year_tables",
    "replace_partition",
    "replace_partition_by_year",
    "table_exists",
]

CASE_HISTORY = "case_history"
"""The year-partitioned case table of migration 1301."""


def _connect(dsn: str) -> psycopg.Connection[Any]:
    """A connection in UTC; `with` it commits on success, rolls back on error."""
    return psycopg.connect(dsn, options="-c timezone=UTC")


def table_exists(dsn: str, table: str) -> bool:
    """Whether table `table` exists in schema ``urbangrid``."""
    with _connect(dsn) as con:
        row = con.execute("SELECT to_regclass(%s)", (f"{SCHEMA}.{table}",)).fetchone()
    return row is not None and row[0] is not None


def create_loading_table(dsn: str, stage: str, columns: Mapping[str, str]) -> None:
    """Create loading table `stage`: ``_part`` (the partition a row came from, indexed)
    and `columns` (name → PostgreSQL type)."""
    cols = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns.items()]
    with _connect(dsn) as con:
        con.execute(
            sql.SQL("CREATE TABLE {} (_part integer NOT NULL, {})").format(
                sql.Identifier(SCHEMA, stage), sql.SQL(", ").join(cols)
            )
        )
        con.execute(sql.SQL("CREATE INDEX ON {} (_part)").format(sql.Identifier(SCHEMA, stage)))


def replace_partition(
    dsn: str, stage: str, part: int, names: list[str], types: list[str], rows: pa.Table
) -> None:
    """Put `rows` (columns `names` of PostgreSQL `types`, ``_part`` first) into loading
    table `stage` in place of partition `part`'s earlier rows, in one transaction: a
    partition run again after a worker died never doubles rows."""
    with _connect(dsn) as con, con.transaction():
        table = sql.Identifier(SCHEMA, stage)
        con.execute(sql.SQL("DELETE FROM {} WHERE _part = %s").format(table), (part,))
        _copy_rows(con, table, names, types, rows)


def replace_partition_by_year(
    dsn: str,
    stage: str,
    part: int,
    names: list[str],
    types: list[str],
    rows: pa.Table,
    years: np.ndarray,
) -> None:
    """As :func:`replace_partition`, into one loading table per calendar year
    (``<stage>_y<year>``, made on first use like ``case_history``), `years` giving
    the year of each row."""
    with _connect(dsn) as con, con.transaction():
        # an earlier attempt at this partition wrote the same rows, so the same years
        for year in np.unique(years).tolist():
            table = _year_stage(con, stage, int(year))
            con.execute(sql.SQL("DELETE FROM {} WHERE _part = %s").format(table), (part,))
            _copy_rows(con, table, names, types, rows.filter(pa.array(years == year)))


def _year_stage(con: psycopg.Connection[Any], stage: str, year: int) -> sql.Identifier:
    """The loading table of one year, made on first use: ``case_history``'s columns
    and ``_part``, no key, no index (they come when it is attached)."""
    name = sql.Identifier(SCHEMA, f"{stage}_y{year}")
    # two workers may start the same year at once
    con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (stage,))
    con.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED, "
            "_part integer NOT NULL)"
        ).format(name, sql.Identifier(SCHEMA, CASE_HISTORY))
    )
    return name


def _year_stages(con: psycopg.Connection[Any], stage: str) -> dict[int, str]:
    rows = con.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
        (SCHEMA, stage.replace("_", "\\_") + "\\_y%"),
    ).fetchall()
    return {int(t.rsplit("_y", 1)[1]): t for (t,) in rows}


def move_year_tables(dsn: str, stage: str, columns: Sequence[str]) -> None:
    """Move every year loading table of `stage` into ``case_history``, in one
    transaction (see :func:`_attach_year`)."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    with _connect(dsn) as con, con.transaction():
        for year, table in sorted(_year_stages(con, stage).items()):
            _attach_year(con, year, sql.Identifier(SCHEMA, table), cols)


def commit_loading_table(
    dsn: str,
    stage: str,
    table: str,
    columns: Sequence[str],
    *,
    append: bool,
    overwrite: bool = False,
    geometry: tuple[str, str, int] | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> None:
    """Move loading table `stage` into place in one transaction.

    ``append``: insert its `columns` into the existing `table`, drop it. Otherwise
    rename it to `table` (dropping an existing one when `overwrite`), with a
    generated point column ``geom`` from (x column, y column, EPSG code)
    `geometry` and its GiST index, and the `manifest` as the table comment.
    """
    s, t = sql.Identifier(SCHEMA, stage), sql.Identifier(SCHEMA, table)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    with _connect(dsn) as con, con.transaction():
        if append:
            con.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(t, cols, cols, s))
            con.execute(sql.SQL("DROP TABLE {}").format(s))
            return
        if overwrite:
            con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(t))
        con.execute(sql.SQL("ALTER TABLE {} DROP COLUMN _part").format(s))
        con.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(s, sql.Identifier(table)))
        if geometry is not None:
            _add_point_column(con, table, geometry)
        con.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                t, sql.Literal(json.dumps(dict(manifest or {}), default=str))
            )
        )


def _add_point_column(
    con: psycopg.Connection[Any], table: str, geometry: tuple[str, str, int]
) -> None:
    """A stored generated point column ``geom`` of `table`, from its x and y columns."""
    x, y, srid = geometry
    t = sql.Identifier(SCHEMA, table)
    con.execute(
        sql.SQL(
            "ALTER TABLE {} ADD COLUMN geom geometry(POINT, {}) GENERATED ALWAYS AS "
            "(ST_SetSRID(ST_MakePoint({}, {}), {})) STORED"
        ).format(
            t, sql.Literal(int(srid)), sql.Identifier(x), sql.Identifier(y), sql.Literal(int(srid))
        )
    )
    con.execute(
        sql.SQL("CREATE INDEX {} ON {} USING gist (geom)").format(
            sql.Identifier(f"{table}_geom_gist"), t
        )
    )


def drop_loading_tables(dsn: str, stage: str) -> None:
    """Drop loading table `stage` and its year tables: nothing of a failed load remains."""
    with _connect(dsn) as con:
        for name in [stage, *_year_stages(con, stage).values()]:
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
    vals = _fixed_values(col, pgtype)
    if vals is None:
        return None
    data = np.ascontiguousarray(vals.astype(_FIXED_DTYPES[pgtype])).view(np.uint8).reshape(-1)
    width = np.dtype(_FIXED_DTYPES[pgtype]).itemsize
    lengths = np.where(col.is_valid().to_numpy(zero_copy_only=False), width, -1)
    return Field(data, np.arange(len(col), dtype=np.int64) * width, lengths.astype(np.int64))


def _fixed_values(col: pa.Array, pgtype: str) -> np.ndarray | None:
    """A fixed-width column as the numbers PostgreSQL's binary format holds (nulls as
    0, masked by the caller), or None when its Arrow type does not fit `pgtype`."""
    t = col.type
    vals: np.ndarray
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
    return vals


def _binary_payload(rows: pa.Table, types: list[str]) -> bytes | None:
    """The binary COPY stream of ``rows`` (columns in ``types`` order), or None."""
    fields = []
    for col, pgtype in zip(rows.columns, types, strict=True):
        found = _arrow_field(col.combine_chunks(), pgtype)
        if found is None:
            return None
        fields.append(found)
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


def check_locate_inputs(dsn: str, table: str, grid_layer: str, key: str) -> None:
    """Raise StoreSchemaError unless `table` and `grid_layer` exist, the grid layer
    has ``geom``, ``valid_to`` and `key`, and ``urbangrid.locate_update`` exists;
    ValidationError naming the rows whose point is no place (:func:`bad_points`,
    over every partition of `table`)."""
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
        # Every partition checked before any is written: a run over several
        # partitions, each its own transaction, never stops half-way on a bad point.
        n, problems = bad_points(con, table, grid_layer)
        if n:
            raise _bad_points_error(dsn, table, n, problems)


# Why urbangrid.locate (migration 1901) would answer NULL for a point that is not
# NULL: such a point is no place, and an assignment run names it instead of writing
# NULL beside it (or, for SRID 0 and points beyond their CRS, failing in the
# middle of the UPDATE with the transform's error).
_BAD_POINT = """
CASE
  WHEN ST_IsEmpty({p}) THEN 'empty geometry'
  WHEN ST_SRID({p}) = 0 THEN 'no CRS (SRID 0): set one with ST_SetSRID'
  WHEN NOT (abs(ST_XMin({p})) < 1e15 AND abs(ST_XMax({p})) < 1e15
            AND abs(ST_YMin({p})) < 1e15 AND abs(ST_YMax({p})) < 1e15)
    THEN 'coordinates not finite numbers (NaN, infinite or huge)'
  WHEN ST_SRID({p}) <> %(srid)s
       AND NOT EXISTS (SELECT 1 FROM spatial_ref_sys WHERE srid = ST_SRID({p}))
    THEN 'SRID ' || ST_SRID({p}) || ' is not in spatial_ref_sys'
  WHEN ST_SRID({p}) <> %(srid)s
       AND EXISTS (SELECT 1 FROM spatial_ref_sys
                   WHERE srid = ST_SRID({p}) AND proj4text LIKE '%%+proj=longlat%%')
       AND NOT (ST_XMin({p}) >= -180 AND ST_XMax({p}) <= 180
                AND ST_YMin({p}) >= -90 AND ST_YMax({p}) <= 90)
    THEN 'longitude/latitude out of range for SRID ' || ST_SRID({p})
END
"""

#: Bad points named in the error of an assignment run (the count says how many in all).
BAD_POINTS_SHOWN = 10


def _row_key(con: psycopg.Connection[Any], table: str) -> tuple[sql.Composable, str]:
    """How to name a row of urbangrid.`table`: its primary key (as text), else its ctid."""
    cols = [
        r[0]
        for r in con.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (f"{SCHEMA}.{table}",),
        ).fetchall()
    ]
    if not cols:
        return sql.SQL("t.ctid::text"), "ctid"
    parts = sql.SQL(" || ', ' || ").join(
        sql.SQL("{}::text").format(sql.Identifier("t", c)) for c in cols
    )
    return parts, ", ".join(cols)


def bad_points(
    con: psycopg.Connection[Any],
    table: str,
    grid_layer: str,
    *,
    column: str | None = None,
    only_missing: bool = False,
    point_column: str = "geom",
) -> tuple[int, list[Problem]]:
    """Points of urbangrid.`table` (all its partitions) that locate cannot place though
    not NULL: empty, SRID 0, NaN / infinite / huge coordinates, an SRID unknown to
    PostGIS, longitude/latitude out of range. Returns how many, and the first
    :data:`BAD_POINTS_SHOWN` as problems naming the row by its primary key."""
    (srid,) = con.execute("SELECT Find_SRID(%s, %s, 'geom')", (SCHEMA, grid_layer)).fetchone() or (
        0,
    )
    key, key_name = _row_key(con, table)
    reason = sql.SQL(_BAD_POINT).format(p=sql.Identifier("t", point_column))
    where = sql.SQL("{} IS NOT NULL").format(sql.Identifier("t", point_column))
    if only_missing and column is not None:
        where = sql.SQL("{} AND {} IS NULL").format(where, sql.Identifier("t", column))
    query = sql.SQL(
        "SELECT count(*) OVER (), k, left(ST_AsEWKT(g), 80), why FROM ("
        "SELECT {key} AS k, {pt} AS g, {reason} AS why FROM {t} AS t WHERE {where}"
        ") AS b WHERE why IS NOT NULL ORDER BY k LIMIT %(shown)s"
    ).format(
        key=key, pt=sql.Identifier("t", point_column), reason=reason,
        t=sql.Identifier(SCHEMA, table), where=where,
    )  # fmt: skip
    rows = con.execute(query, {"srid": srid, "shown": BAD_POINTS_SHOWN}).fetchall()
    if not rows:
        return 0, []
    problems = [
        problem(f"{SCHEMA}.{table}", None, point_column, wkt, f"row {key_name}={k}: {why}")
        for _, k, wkt, why in rows
    ]
    return int(rows[0][0]), problems


def _bad_points_error(dsn: str, table: str, n: int, problems: list[Problem]) -> ValidationError:
    more = f" (first {len(problems)} shown)" if n > len(problems) else ""
    lines = "; ".join(f"{p['reason']} ({p['value']})" for p in problems)
    return ValidationError(
        f"{describe_dsn(dsn)}: {n} point(s) of {SCHEMA}.{table} cannot be placed{more}: "
        f"{lines}. Nothing was written; fix or delete those rows (or set their point "
        "to NULL), then run the assignment again",
        problems,
    )


def locate_update(
    dsn: str,
    target: str,
    grid_layer: str,
    key: str,
    column: str,
    *,
    only_missing: bool,
    grid_version: str | None,
    max_vertices: int,
) -> int:
    """Run ``urbangrid.locate_update`` (migration 1302) on table `target` in one
    transaction: `column` of each point (``geom``) gets the `key` of the current
    `grid_layer` polygon covering it; returns the rows updated.

    Raises
    ------
    ValidationError
        Points that are not NULL but no place (see :func:`bad_points`), named by
        their row's primary key; nothing is written.
    """
    with _connect(dsn) as con, con.transaction():
        n, problems = bad_points(con, target, grid_layer, column=column, only_missing=only_missing)
        if n:
            raise _bad_points_error(dsn, target, n, problems)
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
