"""PostGIS bulk paths: COPY of assigned partitions, yearly case history, server-side assignment."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pytest
import shapely
from psycopg import sql

from urbangrid.errors import DataFileError, StoreSchemaError
from urbangrid.scale import assign_points
from urbangrid.scale.postgis import (
    CASE_HISTORY,
    PostGISSink,
    assign_in_database,
    case_history_partitions,
)
from urbangrid.spatial.index.engine import GridIndex
from urbangrid.store.pg_bulk import _binary_payload, _copy_rows

from .conftest import SAMPLE_311, WARDS

XY = ("longitude", "latitude")
CASE_COLUMNS = {
    "case_id": "text",
    "opened_at": "timestamptz",
    "category": "text",
    "lon": "double precision",
    "lat": "double precision",
    "grid_key": "text",
}
CASE_RENAME = {
    "case_id": "case_enquiry_id",
    "opened_at": "open_dt",
    "category": "type",
    "lon": "longitude",
    "lat": "latitude",
}


def _sink(dsn: str) -> PostGISSink:
    return PostGISSink(dsn, CASE_HISTORY, columns=CASE_COLUMNS, rename=CASE_RENAME, mode="append")


def _loading_tables(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as con:
        rows = con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'urbangrid' "
            "AND tablename LIKE '\\_%%'"
        ).fetchall()
    return [r[0] for r in rows]


def _cases(dsn: str) -> pd.DataFrame:
    with psycopg.connect(dsn) as con:
        rows = con.execute(
            "SELECT case_id, grid_key, tableoid::regclass::text FROM urbangrid.case_history "
            "ORDER BY case_id"
        ).fetchall()
    return pd.DataFrame(rows, columns=["case_id", "grid_key", "partition"])


def _by_case(cases: pd.DataFrame) -> dict[str, str | None]:
    return {
        k: (None if pd.isna(v) else v)
        for k, v in zip(cases["case_id"], cases["grid_key"], strict=True)
    }


class TestCopyRows:
    def test_binary_copy_round_trips_every_type(self, pg_dsn: str) -> None:
        types = {
            "p": "integer",
            "s": "text",
            "b": "bigint",
            "f": "double precision",
            "o": "boolean",
            "ts": "timestamptz",
            "d": "date",
            "j": "jsonb",
        }
        utc = dt.UTC
        rows = pa.table(
            {
                "p": pa.array([1, 2, 3, 4], pa.int32()),
                "s": pa.array(["a", None, "", "北京市海淀区 é"]),
                "b": pa.array([1, None, -(2**62), 7], pa.int64()),
                "f": pa.array([1.5, float("nan"), None, -0.0]),
                "o": pa.array([True, None, False, True]),
                "ts": pa.array(
                    [
                        dt.datetime(2025, 1, 1, 0, 9, tzinfo=utc),
                        None,
                        dt.datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=utc),
                        dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=utc),
                    ],
                    pa.timestamp("us", tz="UTC"),
                ),
                "d": pa.array(
                    [dt.date(2000, 1, 1), dt.date(1999, 12, 31), None, dt.date(2025, 6, 30)]
                ),
                "j": pa.array(['{"a": 1}', None, "[]", '{"名": "值"}']),
            }
        )
        assert _binary_payload(rows, list(types.values())) is not None
        # dictionary text goes binary too; text for numbers or dates goes as CSV
        cats = pa.table({"s": pa.array(["x", "y", "x"]).dictionary_encode()})
        assert _binary_payload(cats, ["text"]) is not None
        assert _binary_payload(pa.table({"f": ["1.5"]}), ["double precision"]) is None
        with psycopg.connect(pg_dsn, options="-c timezone=UTC") as con:
            con.execute(
                "CREATE TABLE urbangrid.t ("
                + ", ".join(f"{c} {t}" for c, t in types.items())
                + ", seq serial)"
            )
            table = sql.Identifier("urbangrid", "t")
            _copy_rows(con, table, list(types), list(types.values()), rows)
            _copy_rows(con, table, list(types), list(types.values()), rows.slice(1, 3))
            _copy_rows(
                con,
                table,
                ["s", "f"],
                ["text", "double precision"],
                pa.table({"s": ["csv"], "f": ["2.5"]}),
            )
            got = con.execute(
                "SELECT " + ", ".join(types) + " FROM urbangrid.t ORDER BY seq"
            ).fetchall()
        want = [tuple(rows.column(c)[i].as_py() for c in types) for i in range(4)]
        want = [(*r[:-1], None if r[-1] is None else json.loads(r[-1])) for r in want]
        expect = want + want[1:] + [(None, "csv", None, 2.5, None, None, None, None)]
        assert len(got) == len(expect)
        for g, e in zip(got, expect, strict=True):
            assert g[:3] == e[:3] and g[4:] == e[4:]
            assert (
                g[3] == e[3]
                or (g[3] != g[3] and e[3] != e[3])  # NaN
                or (g[3] is None and e[3] is None)
            )


class TestCaseHistory:
    def test_append_by_copy_lands_in_year_partitions(
        self, pg_dsn: str, ward_index: GridIndex
    ) -> None:
        res = assign_points(
            SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500, out=_sink(pg_dsn)
        )
        assert res.out is not None and res.out.endswith("/case_history")
        cases = _cases(pg_dsn)
        assert len(cases) == 2424 and cases["case_id"].is_unique
        assert {p.split(".")[-1] for p in cases["partition"]} == {"case_history_y2025"}
        with psycopg.connect(pg_dsn) as con:
            con.execute("ANALYZE urbangrid.case_history")
        assert case_history_partitions(pg_dsn) == {2025: 2424}
        local = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326).frame
        want = dict(zip(local["case_enquiry_id"], local["grid_key"].astype(object), strict=True))
        assert _by_case(cases) == {k: (None if pd.isna(v) else v) for k, v in want.items()}
        assert _loading_tables(pg_dsn) == []

    def test_a_rerun_partition_replaces_its_rows(self, pg_dsn: str, ward_index: GridIndex) -> None:
        # a partition written twice (its first worker died after COPY) is not doubled
        frame = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326).frame
        sink = _sink(pg_dsn)
        sink.open()
        sink.write(frame.iloc[:100], 0)
        sink.write(frame.iloc[:100], 0)
        sink.write(frame.iloc[100:150], 1)
        sink.commit({})
        assert len(_cases(pg_dsn)) == 150

    def test_new_years_are_attached_with_indexes_old_years_appended(
        self, pg_dsn: str, ward_index: GridIndex
    ) -> None:
        frame = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326).frame
        first = _sink(pg_dsn)
        first.open()
        first.write(frame.iloc[:100], 0)
        first.commit({})
        # a second load: 50 more 2025 rows and 30 rows moved a year back, in two
        # partitions, the 2024 ones split between them
        later = frame.iloc[100:180].copy()
        opened = pd.to_datetime(later["open_dt"])
        later["open_dt"] = opened.where(
            np.arange(len(later)) % 8 != 0, opened - pd.DateOffset(years=1)
        ).astype(str)
        second = _sink(pg_dsn)
        second.open()
        second.write(later.iloc[:40], 0)
        second.write(later.iloc[40:], 1)
        second.commit({})
        cases = _cases(pg_dsn)
        parts = cases["partition"].str.split(".").str[-1].value_counts().to_dict()
        assert parts == {"case_history_y2025": 170, "case_history_y2024": 10}
        with psycopg.connect(pg_dsn) as con:
            indexes = con.execute(
                "SELECT tablename, count(*) FROM pg_indexes WHERE schemaname = 'urbangrid' "
                "AND tablename LIKE 'case\\_history\\_y%' GROUP BY tablename ORDER BY 1"
            ).fetchall()
            dupe = (
                "INSERT INTO urbangrid.case_history (case_id, opened_at) SELECT case_id, "
                "opened_at FROM urbangrid.case_history_y2024 LIMIT 1"
            )
            with pytest.raises(psycopg.errors.UniqueViolation):
                con.execute(dupe)
        # key, geometry and grid_key indexes on both, the attached one included
        assert indexes == [("case_history_y2024", 3), ("case_history_y2025", 3)]
        assert _loading_tables(pg_dsn) == []

    def test_a_failed_load_leaves_nothing(
        self, pg_dsn: str, ward_index: GridIndex, tmp_path: Path
    ) -> None:
        frame = pd.read_csv(SAMPLE_311, dtype=str)
        frame.loc[2000, "longitude"] = "east"
        bad = tmp_path / "bad.csv.gz"
        with gzip.open(bad, "wt") as fh:
            frame.to_csv(fh, index=False)
        with pytest.raises(DataFileError, match="row 2001 field 'longitude'"):
            assign_points(bad, ward_index, xy=XY, crs=4326, partition_rows=500, out=_sink(pg_dsn))
        assert len(_cases(pg_dsn)) == 0 and _loading_tables(pg_dsn) == []

    def test_sink_checks_its_target(self, pg_dsn: str) -> None:
        with pytest.raises(StoreSchemaError, match="no such table"):
            PostGISSink(pg_dsn, "nope", columns={"a": "text"}, mode="append").open()
        with pytest.raises(StoreSchemaError, match="table exists"):
            PostGISSink(pg_dsn, CASE_HISTORY, columns={"a": "text"}).open()
        with pytest.raises(StoreSchemaError, match="column types"):
            PostGISSink(pg_dsn, "x", columns={"a": "varchar(3)"})


def _polygon_layer(
    dsn: str, name: str, key: str, frame: gpd.GeoDataFrame, retired: list[bool] | None = None
) -> None:
    """``frame`` as a polygon history layer ``urbangrid.<name>`` (``fid`` in row order;
    rows marked ``retired`` get a ``valid_to``)."""
    epsg = frame.crs.to_epsg()
    table = sql.Identifier("urbangrid", name)
    with psycopg.connect(dsn) as con:
        con.execute(
            sql.SQL(
                "CREATE TABLE {} (fid integer PRIMARY KEY, {} text, valid_to timestamptz, "
                "geom geometry(MULTIPOLYGON, {}))"
            ).format(table, sql.Identifier(key), sql.Literal(epsg))
        )
        insert = sql.SQL(
            "INSERT INTO {} VALUES (%s, %s, %s, ST_Multi(ST_GeomFromText(%s, {})))"
        ).format(table, sql.Literal(epsg))
        for i, (k, g) in enumerate(zip(frame[key], frame.geometry, strict=True)):
            con.execute(
                insert, (i, str(k), "2020-01-01" if retired and retired[i] else None, g.wkt)
            )


def _index_by_key(frame: gpd.GeoDataFrame, key: str) -> GridIndex:
    """The index as :meth:`GridIndex.from_store` builds it: rows in key order."""
    frame = frame.sort_values(key, kind="stable").reset_index(drop=True)
    return GridIndex.from_polygons(frame, frame[key].astype(object).to_numpy())


class TestServerSide:
    def test_database_assignment_equals_the_index(
        self, pg_dsn: str, ward_index: GridIndex, cluster_client: Any
    ) -> None:
        # points in by COPY from 2 Dask workers, without keys
        sink = PostGISSink(
            pg_dsn,
            CASE_HISTORY,
            columns={k: v for k, v in CASE_COLUMNS.items() if k != "grid_key"},
            rename=CASE_RENAME,
            mode="append",
        )
        assign_points(
            SAMPLE_311,
            ward_index,
            xy=XY,
            crs=4326,
            partition_rows=500,
            out=sink,
            scheduler=cluster_client,
        )
        wards = gpd.read_file(WARDS).assign(ward=lambda f: f["WARD"].astype(str))
        _polygon_layer(pg_dsn, "ward", "ward", wards)
        n = assign_in_database(
            pg_dsn, CASE_HISTORY, "ward", "ward", grid_version="2012", parallel=2, max_vertices=32
        )
        assert n == 2424
        cases = _cases(pg_dsn)
        local = assign_points(SAMPLE_311, _index_by_key(wards, "ward"), xy=XY, crs=4326).frame
        want = {
            k: (None if pd.isna(v) else v)
            for k, v in zip(local["case_enquiry_id"], local["grid_key"], strict=True)
        }
        assert _by_case(cases) == want
        assert sum(v is not None for v in want.values()) > 2000
        # the set-based function answers as urbangrid.locate, row by row
        with psycopg.connect(pg_dsn) as con:
            differ = con.execute(
                "SELECT count(*) FROM urbangrid.case_history WHERE grid_key IS DISTINCT FROM "
                "urbangrid.locate('ward', 'ward', geom) OR grid_version <> '2012'"
            ).fetchone()
        assert differ == (0,)
        assert _loading_tables(pg_dsn) == []
        with pytest.raises(StoreSchemaError, match="no table"):
            assign_in_database(pg_dsn, CASE_HISTORY, "no_grid", "code")
        with pytest.raises(StoreSchemaError, match=r"no column\(s\) \['code'\]"):
            assign_in_database(pg_dsn, CASE_HISTORY, "ward", "code")

    def test_boundaries_overlaps_and_other_srids_follow_locate(self, pg_dsn: str) -> None:
        # two squares sharing an edge (key "B" first in fid order), a third overlapping
        # "B", a retired one covering everything; points on edges, corners, overlaps
        squares = gpd.GeoDataFrame(
            {"code": ["B", "A", "C", "Z"], "retired": [False, False, False, True]},
            geometry=[
                shapely.box(0, 0, 10, 10),
                shapely.box(10, 0, 20, 10),
                shapely.box(5, 5, 15, 15),
                shapely.box(-100, -100, 100, 100),
            ],
            crs=3857,
        )
        xs, ys = np.meshgrid(np.arange(-2.5, 22.5, 2.5), np.arange(-2.5, 17.5, 2.5))
        _polygon_layer(pg_dsn, "square", "code", squares, list(squares["retired"]))
        with psycopg.connect(pg_dsn) as con:
            con.execute(
                "CREATE TABLE urbangrid.pts (id integer, geom geometry(POINT, 3857), "
                "code text, version text)"
            )
            with con.cursor().copy("COPY urbangrid.pts (id, geom) FROM STDIN") as copy:
                for i, (x, y) in enumerate(zip(xs.ravel(), ys.ravel(), strict=True)):
                    copy.write_row((i, f"SRID=3857;POINT({x} {y})"))
        assert assign_in_database(pg_dsn, "pts", "square", "code", column="code") == xs.size
        with psycopg.connect(pg_dsn) as con:
            got = dict(con.execute("SELECT id, code FROM urbangrid.pts").fetchall())
            by_locate = dict(
                con.execute(
                    "SELECT id, urbangrid.locate('square', 'code', geom) FROM urbangrid.pts"
                ).fetchall()
            )
        index = _index_by_key(squares[~squares["retired"]], "code")
        want = index.locate_many(xs.ravel(), ys.ravel(), crs=3857)
        keys = [None if k < 0 else index.keys[k] for k in want]
        assert [got[i] for i in range(xs.size)] == keys == [by_locate[i] for i in range(xs.size)]
        assert got[int(np.flatnonzero((xs.ravel() == 10) & (ys.ravel() == 2.5))[0])] == "A"
        # only the rows without a key; points given in another SRID are transformed
        with psycopg.connect(pg_dsn) as con:
            con.execute("UPDATE urbangrid.pts SET code = NULL WHERE id < 5")
            con.execute(
                "CREATE TABLE urbangrid.pts84 AS SELECT id, ST_Transform(geom, 4326) "
                "AS geom, NULL::text AS code FROM urbangrid.pts WHERE id BETWEEN 30 AND "
                "40"
            )
        # the 5 cleared rows and those no square covers
        nulls = 5 + sum(k is None for k in keys[5:])
        assert (
            assign_in_database(pg_dsn, "pts", "square", "code", column="code", only_missing=True)
            == nulls
        )
        assert assign_in_database(pg_dsn, "pts84", "square", "code", column="code") == 11
        with psycopg.connect(pg_dsn) as con:
            inner = con.execute(
                "SELECT p.id, p.code, q.code FROM urbangrid.pts84 p JOIN urbangrid.pts q USING (id)"
            ).fetchall()
        # away from edges a round trip through degrees keeps the answer
        xy = {i: (xs.ravel()[i], ys.ravel()[i]) for i in range(xs.size)}
        for i, a, b in inner:
            if all(v % 5 != 0 for v in xy[i]):
                assert a == b
