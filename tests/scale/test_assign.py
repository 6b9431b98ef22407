"""Streaming bulk assignment: one process and a Dask cluster give the same rows."""

from __future__ import annotations

import gzip
import os
import pickle
import signal
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from urbangrid.errors import CRSError, DataFileError, ScaleJobError
from urbangrid.scale import AssignResult, assign_points
from urbangrid.spatial.index.engine import GridIndex, reference_locate

from .conftest import SAMPLE_311

XY = ("longitude", "latitude")


def _sample() -> pd.DataFrame:
    return pd.read_csv(SAMPLE_311, dtype=str, keep_default_na=False, na_values=[""])


def _expected(index: GridIndex) -> pd.Series:
    """Keys from the GEOS reference, computed without the scale module."""
    frame = _sample()
    x = pd.to_numeric(frame["longitude"]).to_numpy()
    y = pd.to_numeric(frame["latitude"]).to_numpy()
    pos = reference_locate(index.geometries, x, y)
    assert index.keys is not None
    keys = np.where(pos >= 0, index.keys[np.maximum(pos, 0)], None)
    return pd.Series(keys, dtype="string", name="grid_key")


def _keys(values: pd.Series) -> list[Any]:
    """Keys as a list with None for missing (pd.NA does not compare)."""
    return [None if pd.isna(v) else v for v in values.tolist()]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name)


class TestIndexTravels:
    def test_pickle_round_trip_is_small_and_equal(self, ward_index: GridIndex) -> None:
        payload = pickle.dumps(ward_index, protocol=5)
        again = pickle.loads(payload)
        assert len(payload) < 2 * ward_index.nbytes
        xs = np.linspace(-71.19, -70.99, 101)
        ys = np.linspace(42.23, 42.39, 101)
        want = ward_index.locate_many(xs, ys, crs=4326)
        assert (again.locate_many(xs, ys, crs=4326) == want).all()
        assert again.grid_version == ward_index.grid_version


class TestSingleProcess:
    def test_csv_matches_the_reference(self, ward_index: GridIndex) -> None:
        res = assign_points(SAMPLE_311, ward_index, xy=XY, crs="EPSG:4326", partition_rows=700)
        assert isinstance(res, AssignResult)
        assert (res.rows, res.partitions, res.workers, res.invalid) == (2424, 4, 0, 0)
        pd.testing.assert_series_equal(res.frame["grid_key"], _expected(ward_index))
        assert res.assigned == int(res.frame["grid_key"].notna().sum())
        # the two rows without coordinates are kept, unassigned
        assert res.frame.loc[res.frame["latitude"].isna(), "grid_key"].isna().all()

    def test_every_input_kind_gives_the_same_keys(
        self, ward_index: GridIndex, tmp_path: Path
    ) -> None:
        expected = _expected(ward_index)
        frame = _sample()
        frame["longitude"] = pd.to_numeric(frame["longitude"])
        frame["latitude"] = pd.to_numeric(frame["latitude"])
        pq_path = tmp_path / "pts.parquet"
        frame.to_parquet(pq_path, row_group_size=300)
        ok = frame.dropna(subset=["longitude"])
        points = gpd.GeoDataFrame(
            ok[["case_enquiry_id"]], geometry=gpd.points_from_xy(ok["longitude"], ok["latitude"]),
            crs=4326,
        )
        gpkg = tmp_path / "pts.gpkg"
        points.to_file(gpkg)
        runs = {
            "parquet": assign_points(pq_path, ward_index, xy=XY, crs=4326, partition_rows=1000),
            "frame": assign_points(frame, ward_index, xy=XY, crs=4326, partition_rows=1000),
            "dask": assign_points(dd.from_pandas(frame, npartitions=3), ward_index, xy=XY,
                                  crs=4326),
        }
        for name, res in runs.items():
            assert _keys(res.frame["grid_key"]) == _keys(expected), name
        geo = {
            "gpkg": assign_points(gpkg, ward_index, partition_rows=1000),
            "geoframe": assign_points(points, ward_index, partition_rows=1000),
        }
        want = _keys(expected[ok.index])
        for name, res in geo.items():
            assert _keys(res.frame["grid_key"]) == want, name
        assert runs["parquet"].partitions == 3  # row groups of 300 packed up to 1000 rows

    def test_empty_and_nan_points_in_a_geopackage_are_unassigned(
        self, ward_index: GridIndex, tmp_path: Path
    ) -> None:
        # A GeoPackage stores a NaN point as an empty one; GEOS refuses getX on it.
        import shapely

        geoms = [shapely.Point(-71.06, 42.36), shapely.Point(), shapely.Point(np.nan, np.nan)]
        points = gpd.GeoDataFrame({"n": [0, 1, 2]}, geometry=geoms, crs=4326)
        gpkg = tmp_path / "empty.gpkg"
        points.to_file(gpkg)
        for on_invalid in ("raise", "null"):
            res = assign_points(gpkg, ward_index, on_invalid=on_invalid)  # type: ignore[arg-type]
            keys = res.frame.sort_values("n")["grid_key"].tolist()
            assert keys[0] is not None and pd.isna(keys[1]) and pd.isna(keys[2])
            assert res.assigned == 1

    def test_gcj02_points_are_transformed(self, ward_index: GridIndex) -> None:
        # outside China GCJ-02 equals WGS84 (the published algorithm), so keys agree
        a = assign_points(SAMPLE_311, ward_index, xy=XY, crs="GCJ-02")
        b = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326)
        assert a.frame["grid_key"].equals(b.frame["grid_key"])

    def test_parquet_output_is_renamed_into_place(
        self, ward_index: GridIndex, tmp_path: Path
    ) -> None:
        out = tmp_path / "assigned.parquet"
        res = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, out=out, partition_rows=1000)
        assert res.out == str(out) and res.frame is None
        names = sorted(p.name for p in out.iterdir())
        assert names == ["_urbangrid.json", "part.00000.parquet", "part.00001.parquet",
                         "part.00002.parquet"]
        back = pd.read_parquet(out)
        assert _keys(back["grid_key"]) == _keys(_expected(ward_index))
        assert _leftovers(tmp_path) == []
        with pytest.raises(DataFileError, match="already exists"):
            assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, out=out)
        again = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, out=out, overwrite=True)
        assert again.partitions == 1 and len(list(out.glob("part.*"))) == 1
        assert _leftovers(tmp_path) == []


class TestBadInput:
    def test_bad_coordinate_names_file_row_field_and_writes_nothing(
        self, ward_index: GridIndex, tmp_path: Path
    ) -> None:
        frame = _sample()
        frame.loc[1234, "latitude"] = "42,35"  # a decimal comma
        src = tmp_path / "bad.csv.gz"
        with gzip.open(src, "wt", encoding="utf-8") as fh:
            frame.to_csv(fh, index=False)
        out = tmp_path / "out.parquet"
        with pytest.raises(DataFileError, match=r"bad\.csv\.gz: row 1235 field 'latitude': "
                                                r"value '42,35' is not a number"):
            assign_points(src, ward_index, xy=XY, crs=4326, out=out, partition_rows=500)
        assert not out.exists() and _leftovers(tmp_path) == []
        res = assign_points(src, ward_index, xy=XY, crs=4326, on_invalid="null")
        assert res.invalid == 1 and pd.isna(res.frame.loc[1234, "grid_key"])

    def test_missing_columns_crs_and_clashing_name(self, ward_index: GridIndex) -> None:
        with pytest.raises(DataFileError, match=r"no column\(s\) \['lon'\]"):
            assign_points(SAMPLE_311, ward_index, xy=("lon", "latitude"), crs=4326)
        with pytest.raises(CRSError, match="say which CRS"):
            assign_points(SAMPLE_311, ward_index, xy=XY)
        with pytest.raises(DataFileError, match="already has a column 'ward'"):
            assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, column="ward")
        with pytest.raises(DataFileError, match="no such file"):
            assign_points("nowhere.csv", ward_index, xy=XY, crs=4326)

    def test_metres_given_as_degrees_is_named(self, ward_index: GridIndex) -> None:
        frame = pd.DataFrame({"x": [330_000.0, 331_000.0], "y": [4_690_000.0, 4_691_000.0]})
        with pytest.raises(CRSError, match=r"rows 0\.\.: .*look like metres"):
            assign_points(frame, ward_index, xy=("x", "y"), crs=4326)


class TestDaskCluster:
    def test_two_workers_give_the_single_process_rows(
        self, ward_index: GridIndex, cluster_client: Any, tmp_path: Path
    ) -> None:
        single = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500,
                               out=tmp_path / "one.parquet")
        both = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500,
                             out=tmp_path / "two.parquet", scheduler=cluster_client)
        assert both.workers == 2 and single.workers == 0
        assert (both.rows, both.assigned, both.partitions) == (
            single.rows, single.assigned, single.partitions)
        a = pd.read_parquet(tmp_path / "one.parquet")
        b = pd.read_parquet(tmp_path / "two.parquet")
        pd.testing.assert_frame_equal(a, b)
        assert _keys(b["grid_key"]) == _keys(_expected(ward_index))

    def test_parquet_partitions_are_read_on_the_workers(
        self, ward_index: GridIndex, cluster_client: Any, tmp_path: Path
    ) -> None:
        frame = _sample()
        frame[list(XY)] = frame[list(XY)].apply(pd.to_numeric)
        frame.to_parquet(tmp_path / "in.parquet", row_group_size=250)
        res = assign_points(tmp_path / "in.parquet", ward_index, xy=XY, crs=4326,
                            partition_rows=500, scheduler=cluster_client)
        assert res.partitions == 5
        assert _keys(res.frame["grid_key"]) == _keys(_expected(ward_index))

    def test_a_worker_killed_mid_run_is_retried(
        self, ward_index: GridIndex, cluster_client: Any, tmp_path: Path
    ) -> None:
        marker = tmp_path / "killed-once"

        def kill_once(frame: pd.DataFrame) -> pd.DataFrame:
            # the third partition kills its worker the first time it runs
            if frame.index[0] == 1000 and not marker.exists():
                marker.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            return frame

        out = tmp_path / "retried.parquet"
        res = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500,
                            out=out, scheduler=cluster_client, transform=kill_once)
        assert marker.exists()
        assert res.partitions == 5
        assert _keys(pd.read_parquet(out)["grid_key"]) == _keys(_expected(ward_index))
        assert _leftovers(tmp_path) == []
        assert not any(p.name.startswith(".part") for p in out.iterdir())

    def test_a_partition_that_always_kills_fails_clearly_and_writes_nothing(
        self, ward_index: GridIndex, cluster_client: Any, tmp_path: Path
    ) -> None:
        def always_kill(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.index[0] == 1500:
                os.kill(os.getpid(), signal.SIGKILL)
            return frame

        out = tmp_path / "never.parquet"
        with pytest.raises(ScaleJobError, match=r"partition 3 \(rows from 1500\) killed 2 "
                                                r"worker\(s\).*nothing was written"):
            assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, partition_rows=500,
                          out=out, scheduler=cluster_client, transform=always_kill)
        assert not out.exists() and _leftovers(tmp_path) == []
        # the cluster still works afterwards
        res = assign_points(SAMPLE_311, ward_index, xy=XY, crs=4326, scheduler=cluster_client)
        assert res.rows == 2424
