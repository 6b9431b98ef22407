"""PostGIS bulk paths: COPY of assigned partitions, yearly case history, server-side assignment."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import psycopg
import pytest

from urbangrid.errors import DataFileError, StoreSchemaError
from urbangrid.scale import assign_points
from urbangrid.scale.postgis import (
    CASE_HISTORY,
    PostGISSink,
    assign_in_database,
    case_history_partitions,
)
from urbangrid.spatial.index import GridIndex

from .conftest import SAMPLE_311, WARDS

XY = ("longitude", "latitude")
CASE_COLUMNS = {"case_id": "text", "opened_at": "timestamptz", "category": "text",
                "lon": "double precision", "lat": "double precision", "grid_key": "text"}
CASE_RENAME = {"case_id": "case_enquiry_id", "opened_at": "open_dt", "category": "type",
               "lon": "longitude", "lat": "latitude"}


def _sink(dsn: str) -> PostGISSink:
    return PostGISSink(dsn, CASE_HISTORY, columns=CASE_COLUMNS, rename=CASE_RENAME,
                       mode="append")


def _loading_tables(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as con:
        rows = con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'urbangrid' "
                           "AND tablename LIKE '\\_%%'").fetchall()
    return [r[0] for r in rows]


def _cases(dsn: str) -> pd.DataFrame:
    with psycopg.connect(dsn) as con:
        rows = con.execute(
            "SELECT case_id, grid_key, tableoid::regclass::text FROM urbangrid.case_history "
            "ORDER BY case_id").fetchall()
    return pd.DataFrame(rows, columns=["case_id", "grid_key", "partition"])


def _by_case(cases: pd.DataFrame) -> dict[str, str | None]:
    return {k: (None if pd.isna(v) else v)
            for k, v in zip(cases["case_id"], cases["grid_key"], strict=True)}


class TestCaseHistory:
    def test_append_by_copy_lands_in_year_partitions(
        self, pg_dsn: str, ward_index: GridIndex
    ) -> None:
        res = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500,
                            out=_sink(pg_dsn))
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

    def test_a_failed_load_leaves_nothing(
        self, pg_dsn: str, ward_index: GridIndex, tmp_path: Path
    ) -> None:
        frame = pd.read_csv(SAMPLE_311, dtype=str)
        frame.loc[2000, "longitude"] = "east"
        bad = tmp_path / "bad.csv.gz"
        with gzip.open(bad, "wt") as fh:
            frame.to_csv(fh, index=False)
        with pytest.raises(DataFileError, match="row 2000 field 'longitude'"):
            assign_points(bad, ward_index, xy=XY, crs=4326, partition_rows=500,
                          out=_sink(pg_dsn))
        assert len(_cases(pg_dsn)) == 0 and _loading_tables(pg_dsn) == []

    def test_sink_checks_its_target(self, pg_dsn: str) -> None:
        with pytest.raises(StoreSchemaError, match="no such table"):
            PostGISSink(pg_dsn, "nope", columns={"a": "text"}, mode="append").open()
        with pytest.raises(StoreSchemaError, match="table exists"):
            PostGISSink(pg_dsn, CASE_HISTORY, columns={"a": "text"}).open()
        with pytest.raises(StoreSchemaError, match="column types"):
            PostGISSink(pg_dsn, "x", columns={"a": "varchar(3)"})


class TestServerSide:
    def test_database_assignment_equals_the_index(
        self, pg_dsn: str, ward_index: GridIndex, cluster_client: Any
    ) -> None:
        # points in by COPY from 2 Dask workers, without keys
        sink = PostGISSink(pg_dsn, CASE_HISTORY, columns={
            k: v for k, v in CASE_COLUMNS.items() if k != "grid_key"}, rename=CASE_RENAME,
            mode="append")
        assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500, out=sink,
                      scheduler=cluster_client)
        wards = gpd.read_file(WARDS)
        with psycopg.connect(pg_dsn) as con:
            con.execute("CREATE TABLE urbangrid.ward (fid integer PRIMARY KEY, ward text, "
                        "geom geometry(MULTIPOLYGON, 4326))")
            for i, row in enumerate(wards.itertuples()):
                con.execute("INSERT INTO urbangrid.ward VALUES (%s, %s, "
                            "ST_Multi(ST_GeomFromText(%s, 4326)))",
                            (i, str(row.WARD), row.geometry.wkt))
        n = assign_in_database(pg_dsn, CASE_HISTORY, "ward", "ward", grid_version="2012",
                               parallel=2, max_vertices=32)
        assert n == 2424
        cases = _cases(pg_dsn)
        local = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326).frame
        want = {k: (None if pd.isna(v) else v)
                for k, v in zip(local["case_enquiry_id"], local["grid_key"], strict=True)}
        assert _by_case(cases) == want
        assert _loading_tables(pg_dsn) == []
        with pytest.raises(StoreSchemaError, match="no table"):
            assign_in_database(pg_dsn, CASE_HISTORY, "no_grid", "code")
