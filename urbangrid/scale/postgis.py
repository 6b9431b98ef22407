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

import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from urbangrid.errors import StoreSchemaError
from urbangrid.store.pg_bulk import (
    CASE_HISTORY,
    case_history_partitions,
    check_locate_inputs,
    commit_loading_table,
    create_loading_table,
    drop_loading_tables,
    locate_update,
    move_year_tables,
    replace_partition,
    replace_partition_by_year,
    table_exists,
)
from urbangrid.store.postgis import describe_dsn

__all__ = ["CASE_HISTORY", "PostGISSink", "assign_in_database", "case_history_partitions"]

_PG_TYPES = {"text", "bigint", "double precision", "boolean", "timestamptz", "date", "jsonb"}


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
        exists = table_exists(self.dsn, self.table)
        if self.mode == "create" and exists and not self.overwrite:
            raise StoreSchemaError(
                f"{self.target}: table exists; pass overwrite=True to replace it"
            )
        if self.mode == "append" and not exists:
            raise StoreSchemaError(f"{self.target}: no such table to append to")
        if not self.by_year:  # (the year tables are made as rows arrive)
            create_loading_table(self.dsn, self.stage, self.columns)

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
            replace_partition(self.dsn, self.stage, i, names, types, picked)
            return
        picked, opened = self._opened_at(picked, i)
        years = pc.year(opened).to_numpy()
        replace_partition_by_year(self.dsn, self.stage, i, names, types, picked, years)

    def _opened_at(self, picked: pa.Table, i: int) -> tuple[pa.Table, Any]:
        """`picked` with ``opened_at`` as UTC timestamps, and that column; a CSV's text
        is parsed here, as PostgreSQL would (the year decides the table)."""
        opened = picked.column("opened_at")
        if not pa.types.is_timestamp(opened.type):
            # text (a CSV): ISO 8601, offsets honoured, none meaning UTC
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
        return picked, opened

    def commit(self, manifest: dict[str, Any]) -> None:
        """Move the complete load into place in one transaction (client side)."""
        if self.by_year:
            move_year_tables(self.dsn, self.stage, list(self.columns))
            return
        commit_loading_table(
            self.dsn,
            self.stage,
            self.table,
            list(self.columns),
            append=self.mode == "append",
            overwrite=self.overwrite,
            geometry=self.geometry,
            manifest=manifest,
        )

    def abort(self) -> None:
        """Drop the loading tables: nothing of a failed load remains."""
        drop_loading_tables(self.dsn, self.stage)


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
    check_locate_inputs(dsn, table, grid_layer, key)
    if table == CASE_HISTORY:
        parts = sorted(case_history_partitions(dsn))
        targets = [f"{CASE_HISTORY}_y{y}" for y in parts if years is None or y in years]
    else:
        targets = [table]

    def run(target: str) -> int:
        return locate_update(
            dsn,
            target,
            grid_layer,
            key,
            column,
            only_missing=only_missing,
            grid_version=grid_version,
            max_vertices=max_vertices,
        )

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return sum(pool.map(run, targets))
