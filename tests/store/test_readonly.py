"""`connect(target, readonly=True)`: read-only commands never create, migrate or
touch a store (issue 19)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.errors import StoreConnectionError, StorePermissionError
from urbangrid.store import Store

ROADS = gpd.GeoDataFrame(
    {"edge_id": ["a"], "name": ["成府路"]},
    geometry=[shapely.LineString([(116.33, 39.99), (116.34, 39.99)])],
    crs="EPSG:4326",
)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def target_of(store: Store, request: pytest.FixtureRequest) -> str:
    postgis = request.node.callspec.params["store"] == "postgis"
    return request.getfixturevalue("pg_dsn") if postgis else store.target


def test_readonly_store_reads_and_refuses_writes(
    store: Store, request: pytest.FixtureRequest
) -> None:
    store.write("street_centreline", ROADS, "append")
    with urbangrid.connect(target_of(store, request), readonly=True) as ro:
        assert ro.readonly and ro.count("street_centreline") == 1
        assert ro.read("street_centreline")["name"].tolist() == ["成府路"]
        with pytest.raises(StorePermissionError):
            ro.write("street_centreline", ROADS.assign(edge_id="b"), "append")
    assert store.count("street_centreline") == 1


def test_missing_geopackage_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.gpkg"
    with pytest.raises(StoreConnectionError, match="never creates"):
        urbangrid.connect(path, readonly=True)
    assert not path.exists()
    for args in (["db", "info", str(path)], ["load", "history", "--store", str(path)],
                 ["components", "stats", str(path)]):  # fmt: skip
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 1 and "never creates" in out.output, (args, out.output)
        assert "Traceback" not in out.output
    assert not path.exists()


def test_gdal_geopackage_is_left_alone(tmp_path: Path) -> None:
    """A GeoPackage QGIS or GDAL wrote: a dry run says what it is and adds nothing."""
    qgis = tmp_path / "qgis.gpkg"
    pyogrio.write_dataframe(ROADS, qgis, layer="roads")
    before = sha(qgis)
    with pytest.raises(StoreConnectionError, match="without urbangrid's tables"):
        urbangrid.connect(qgis, readonly=True)
    survey = tmp_path / "s.geojson"
    pyogrio.write_dataframe(ROADS, survey, driver="GeoJSON")
    args = ["load", "streets", str(survey), "--store", str(qgis), "--dry-run",
            "--diff", str(tmp_path / "d")]  # fmt: skip
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1 and "without urbangrid's tables" in out.output, out.output
    assert sha(qgis) == before
    assert [n for n, _ in pyogrio.list_layers(qgis)] == ["roads"]


def test_readonly_postgis_without_schema_creates_nothing(bare_pg_dsn: str) -> None:
    with pytest.raises(StoreConnectionError):
        urbangrid.connect(bare_pg_dsn, readonly=True)
    with psycopg.connect(bare_pg_dsn) as con:
        found = con.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'urbangrid'")
        assert found.fetchone() == (0,)


def test_dry_run_leaves_the_geopackage_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    urbangrid.connect(path).close()
    before = sha(path)
    survey = tmp_path / "s.geojson"
    pyogrio.write_dataframe(ROADS, survey, driver="GeoJSON")
    args = ["load", "streets", str(survey), "--store", str(path), "--dry-run",
            "--diff", str(tmp_path / "d")]  # fmt: skip
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "1 added" in out.output and sha(path) == before
