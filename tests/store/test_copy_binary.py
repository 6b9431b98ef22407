"""The binary COPY encoder (urbangrid.store._copy_binary) against a real server."""

from __future__ import annotations

import datetime as dt
import json

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


# A fixed input over every path of the row interleaver: NULLs, empty values, jsonb's
# version byte, plain WKB made EWKB (both byte orders), EWKB
# sent as is, Arrow buffers and constants. Its stream's SHA-256 was taken from the
# numba encoder the compiled one replaced (issue 21): the bytes must not change, in one
# chunk or in many (rows never straddle chunks).
GOLDEN_TYPES = ["text", "bigint", "integer", "smallint", "double precision", "real", "boolean",
                "date", "timestamp with time zone", "jsonb", "json", "geometry", "geometry",
                "bytea", "text", "geometry", "text"]  # fmt: skip
GOLDEN_SRIDS = [0] * 11 + [4549, 0, 0, 0, 4326, 0]
GOLDEN_SHA256 = "06352593917bfcc38edc3cd37147de65f43611ad5d095a4e1e5b222f81f6218f"


def _golden_columns(n: int = 1_000) -> list[object]:
    import pandas as pd

    from urbangrid.store._columns import ArrowBytes

    def nth(i: int, every: int, value: object) -> object:
        return None if i % every == 0 else value

    epoch = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    geoms = [shapely.Point(116 + i / 1e3, 39 + i / 7e3) if i % 3 else
             shapely.LineString([(i, 0), (i + 1, 2), (i + 3, -1)]) for i in range(n)]  # fmt: skip
    wkb = [shapely.to_wkb(g, byte_order=i % 2) for i, g in enumerate(geoms)]
    ewkb = shapely.to_wkb(shapely.set_srid(shapely.points(np.arange(n), np.arange(n)), 4490),
                          include_srid=True)  # fmt: skip
    points = shapely.to_wkb(shapely.points(np.arange(n) / 10, -np.arange(n) / 10), byte_order=1)
    text = arrow_text(pd.Series([nth(i, 11, f"网格{i}" * (i % 4)) for i in range(n)], dtype="str"))
    return [
        [nth(i, 5, f"路{i}" * (i % 3)) for i in range(n)],
        [nth(i, 7, i * 2**40 - 2**62) for i in range(n)],
        [nth(i, 4, i * 3_001 - 2**30) for i in range(n)],
        [nth(i, 3, i - 500) for i in range(n)],
        [nth(i, 6, i / 7 - 1e-300 * i) for i in range(n)],
        [nth(i, 8, i / 3) for i in range(n)],
        [nth(i, 5, i % 2 == 0) for i in range(n)],
        [nth(i, 9, dt.date(1990, 1, 1) + dt.timedelta(days=i * 13)) for i in range(n)],
        [nth(i, 10, epoch + dt.timedelta(seconds=i * 3_607, microseconds=i)) for i in range(n)],
        [
            nth(i, 6, json.dumps({"n": i, "名": "x" * (i % 5)}, ensure_ascii=False))
            for i in range(n)
        ],
        [nth(i, 4, f"[{i}]") for i in range(n)],
        [nth(i, 9, w) for i, w in enumerate(wkb)],
        list(ewkb),
        [nth(i, 2, bytes(range(i % 17))) for i in range(n)],
        text,
        ArrowBytes(pa_binary(points)),
        Constant("常量"),
    ]


def pa_binary(values: object) -> object:
    import pyarrow as pa

    return pa.array(list(values), pa.binary())  # type: ignore[call-overload]


def test_golden_stream_is_unchanged() -> None:
    import hashlib

    columns = _golden_columns()
    for chunk in (7, 65_536):
        digest = hashlib.sha256()
        for block in binary_chunks(columns, GOLDEN_TYPES, srids=GOLDEN_SRIDS, chunk=chunk):
            digest.update(block)
        assert digest.hexdigest() == GOLDEN_SHA256, chunk


def test_golden_stream_loads(pg_dsn: str) -> None:
    cols = ", ".join(f"c{j} {t}" for j, t in enumerate(GOLDEN_TYPES))
    names = ", ".join(f"c{j}" for j in range(len(GOLDEN_TYPES)))
    columns = _golden_columns()
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        con.execute(f"CREATE TEMP TABLE g (n serial, {cols})")
        with con.cursor() as cur, cur.copy(f"COPY g ({names}) FROM STDIN (FORMAT BINARY)") as cp:
            for block in binary_chunks(columns, GOLDEN_TYPES, srids=GOLDEN_SRIDS, chunk=300):
                cp.write(block)
        rows = con.execute(
            "SELECT c0, c1, c9, ST_SRID(c11), ST_AsText(c11), ST_SRID(c12), c14, c16"
            " FROM g ORDER BY n"
        ).fetchall()
    assert len(rows) == 1_000
    assert rows[1] == ("路1", 2**40 - 2**62, {"n": 1, "名": "x"}, 4549,
                       "POINT(116.001 39.000142857142855)", 4490, "网格1", "常量")  # fmt: skip
    assert rows[0][0] is None and rows[0][3] is None


def test_short_wkb_keeps_the_stream_whole(pg_dsn: str) -> None:
    # A value too short for a WKB header is sent as it is; the rows around it stay in
    # place, so the server names a bad geometry, not a broken stream.
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        con.execute("CREATE TEMP TABLE s (g geometry, t text)")
        blocks = binary_chunks(
            [[b"\x01\x01\x00"], ["after"]], ["geometry", "text"], srids=[4326, 0]
        )
        copy = "COPY s (g, t) FROM STDIN (FORMAT BINARY)"
        with pytest.raises(psycopg.Error) as err, con.cursor() as cur, cur.copy(copy) as cp:
            for block in blocks:
                cp.write(block)
    assert "geometry" in str(err.value).lower() or "wkb" in str(err.value).lower(), err.value


def test_no_numba_in_the_store() -> None:
    import subprocess
    import sys

    code = "import sys, urbangrid.store._copy_binary; print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
