"""The binary COPY encoder (urbangrid.store._copy_binary) against a real server."""

from __future__ import annotations

import datetime as dt

import numpy as np
import psycopg
import pytest
import shapely

from urbangrid.store._columns import arrow_text
from urbangrid.store._copy_binary import BadValue, Constant, binary_chunks

TYPES = {
    "t": "text",
    "i": "bigint",
    "i4": "integer",
    "f": "double precision",
    "b": "boolean",
    "d": "date",
    "ts": "timestamp with time zone",
    "j": "jsonb",
    "g": "geometry",
}


def _copy(
    con: psycopg.Connection, columns: list[object], srids: list[int], chunk: int = 2
) -> list[tuple[object, ...]]:
    con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    cols = ", ".join(f"{c} {t}" for c, t in TYPES.items())
    con.execute(f"CREATE TEMP TABLE t (n serial, {cols})")
    names = ", ".join(TYPES)
    with con.cursor() as cur, cur.copy(f"COPY t ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        for block in binary_chunks(columns, list(TYPES.values()), srids=srids, chunk=chunk):
            copy.write(block)
    return con.execute(f"SELECT {names.replace('g', 'ST_AsEWKT(g)')} FROM t ORDER BY n").fetchall()


def test_every_type_round_trips(pg_dsn: str) -> None:
    at = dt.datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=dt.UTC)
    geoms = [shapely.Point(116.3, 39.9), None, shapely.LineString([(0, 0), (1, 1)])]
    big_endian = shapely.to_wkb(geoms[2], byte_order=0)
    columns = [
        ["路", None, ""],
        [1, None, -(2**63)],
        [7, 8, None],
        [0.1, None, 1e300],
        [True, False, None],
        [dt.date(2020, 2, 29), None, dt.date(1999, 12, 31)],
        Constant(at),
        ['{"名": [1, 2]}', None, "3"],
        [shapely.to_wkb(geoms[0]), None, big_endian],
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        rows = _copy(con, columns, [0] * 8 + [4326])
    assert rows[0] == (
        "路",
        1,
        7,
        0.1,
        True,
        dt.date(2020, 2, 29),
        at,
        {"名": [1, 2]},
        "SRID=4326;POINT(116.3 39.9)",
    )
    assert rows[1] == (None, None, 8, None, False, None, at, None, None)
    assert rows[2] == (
        "",
        -(2**63),
        None,
        1e300,
        None,
        dt.date(1999, 12, 31),
        at,
        3,
        "SRID=4326;LINESTRING(0 0,1 1)",
    )


def test_arrow_text_and_object_arrays(pg_dsn: str) -> None:
    import pandas as pd

    text = arrow_text(pd.Series(["a", None, "中文"], dtype="str"))
    assert text is not None
    columns: list[object] = [
        text,
        np.array([1, 2, 3], dtype=object),
        [None] * 3,
        [None] * 3,
        [None] * 3,
        [None] * 3,
        [None] * 3,
        np.array(['{"a":1}', None, "[]"], dtype=object),
        [None] * 3,
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        rows = _copy(con, columns, [0] * 9, chunk=2)  # a chunk boundary inside the Arrow slice
    assert [r[0] for r in rows] == ["a", None, "中文"]
    assert [r[7] for r in rows] == [{"a": 1}, None, []]


@pytest.mark.parametrize(
    ("column", "kind", "why"),
    [
        (["ok", "a\x00b"], "text", "NUL"),
        (["ok", "\ud800"], "text", "encoded"),
        ([1, 2**63], "bigint", "does not fit"),
    ],
)
def test_bad_values_name_row_and_column(column: list[object], kind: str, why: str) -> None:
    with pytest.raises(BadValue, match=why) as err:
        list(binary_chunks([["x", "y"], column], ["text", kind]))
    assert (err.value.row, err.value.column) == (1, 1)
