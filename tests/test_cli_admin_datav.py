"""`urbangrid admin load` of an Aliyun DataV download: GCJ-02 although the GeoJSON says
WGS 84, so it is refused unless --boundaries-crs says what the coordinates are."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.data import data_path

DIVISIONS = str(data_path("codes/haidian_110108_divisions_2023.csv"))


def test_a_datav_file_needs_its_crs_said(tmp_path: Path) -> None:
    # DataV's columns (adcode … acroutes) on the bundled Haidian polygon
    frame = gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson"))[["geometry"]]
    datav = tmp_path / "110108.json"
    frame.assign(adcode=110108, name="海淀区", acroutes="[100000, 110000]").to_file(
        datav, driver="GeoJSON")
    store = tmp_path / "s.gpkg"
    base = ["admin", "load", str(store), "--divisions", DIVISIONS, "--boundaries", str(datav),
            "--code-column", "adcode"]
    res = CliRunner().invoke(main, base)
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert "looks like an Aliyun DataV download" in res.output
    assert "--boundaries-crs GCJ-02" in res.output and not store.exists()
    res = CliRunner().invoke(main, [*base, "--boundaries-crs", "GCJ-02"])
    assert res.exit_code == 0, res.output
    with urbangrid.connect(str(store)) as s:
        moved = s.read("admin_area", where={"code": "110108"}).geometry.iloc[0]
    # GCJ-02 → WGS 84 in Beijing: about 0.006° west (roughly 500 m)
    dx = moved.centroid.x - frame.geometry.iloc[0].centroid.x
    assert -0.0070 < dx < -0.0050


def test_route_polygon_from_datav_needs_its_crs_said(tmp_path: Path) -> None:
    import pytest

    from urbangrid.cli.route import read_polygon
    from urbangrid.errors import PatrolAreaError

    frame = gpd.read_file(data_path("boundaries/haidian_110108_wgs84.geojson"))[["geometry"]]
    datav = tmp_path / "110108.json"
    frame.assign(adcode=110108, acroutes="[100000, 110000]").to_file(datav, driver="GeoJSON")
    with pytest.raises(PatrolAreaError, match=r"DataV download .* give --crs GCJ-02"):
        read_polygon(str(datav))
    moved = read_polygon(str(datav), "GCJ-02").geometry.iloc[0]
    assert -0.0070 < moved.centroid.x - frame.geometry.iloc[0].centroid.x < -0.0050
