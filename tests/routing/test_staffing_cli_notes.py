"""``urbangrid staffing`` says what no collector area holds (issue 20): the grade-1 roads
the mode leaves out (trunk on foot in China) and the streets cut off from their grid (a
viaduct over it), which the plan left out silently; ``--areas`` writes the latter."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import urbangrid
from tests.routing.lattice import X0, Y0, lattice
from urbangrid.cli.main import main
from urbangrid.spatial.grids.versions import load_unit_grids


@pytest.fixture()
def viaduct_store(tmp_path: Path) -> Path:
    """The lattice district (in China, EPSG:4548) with an 80 m viaduct over cell (1, 1)
    reached only by 1.4 km ramps (as tests/routing/test_district.py), and 200 m of trunk
    road away from the grids."""
    streets, grids = lattice()
    x, y = X0 + 100, Y0 + 100
    far = (X0 - 1000, Y0 - 1000)
    extra = gpd.GeoDataFrame(
        {"highway": ["tertiary"] * 4 + ["trunk"],
         "edge_id": ["deck", "ramp1", "ramp2", "ramp3", "expressway"]},
        geometry=[shapely.LineString([(x + 10, y + 10), (x + 90, y + 10)]),
                  shapely.LineString([far, (x + 10, y + 10)]),
                  shapely.LineString([(x + 90, y + 10), far]),
                  shapely.LineString([far, (X0, Y0 + 50)]),
                  shapely.LineString([(X0 - 600, Y0 - 600), (X0 - 400, Y0 - 600)])],
        crs=streets.crs)
    streets["edge_id"] = [f"e{i}" for i in range(len(streets))]
    streets = pd.concat([streets, extra], ignore_index=True)
    streets = streets.assign(name=None, oneway=False, source="lattice",
                             length_m=shapely.length(streets.geometry.to_numpy()))
    serial = grids.groupby("community_code").cumcount() + 1
    grids["grid_code"] = grids["community_code"] + serial.map("{:03d}".format)
    path = tmp_path / "district.gpkg"
    with urbangrid.connect(str(path)) as s:
        s.write("street_centreline", gpd.GeoDataFrame(streets).to_crs(4326), "upsert")
        load_unit_grids(s, grids, version="test", source="lattice")
    return path


def test_staffing_names_the_roads_no_area_holds(viaduct_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "areas.gpkg"
    res = CliRunner().invoke(main, ["staffing", str(viaduct_store), "--mode", "walk",
                                    "--areas", str(out), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert ("note: the walk mode leaves out 0.2 km of trunk in the street data" in res.output)
    assert ("note: 1 street(s), 0.1 km (#deck), are left out of the walk rounds: each joins "
            "its grid's other streets only by a detour beyond 300 m" in res.output), res.output
    assert "leave them to car patrols (--areas lists them, layer detached)" in res.output
    assert "layers collector_area, collector_route, detached" in res.output
    cut = gpd.read_file(out, layer="detached")
    assert cut["street_id"].tolist() == ["deck"]
    assert cut.to_crs(4548).length.iloc[0] == pytest.approx(80.0, abs=0.1)
    assert "detached" in {str(n) for n, _ in pyogrio.list_layers(out)}
    zh = CliRunner().invoke(main, ["staffing", str(viaduct_store), "--mode", "walk",
                                   "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert "注：步行巡查不含道路数据中 0.2 公里的 trunk" in zh.output, zh.output
    assert "1 条道路（0.1 公里，#deck）未纳入步行巡查路线、交给汽车巡查" in zh.output


def test_staffing_geojson_areas_write_the_detached_streets_beside(viaduct_store: Path,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "areas.geojson"
    res = CliRunner().invoke(main, ["staffing", str(viaduct_store), "--mode", "walk",
                                    "--areas", str(out), "--lang", "en"])
    assert res.exit_code == 0, res.output
    side = tmp_path / "areas.detached.geojson"
    assert f"and {side}" in res.output
    assert gpd.read_file(side)["street_id"].tolist() == ["deck"]


def test_plan_writes_detached_lengths_rounded_like_the_other_tables(viaduct_store: Path,
                                                                    tmp_path: Path) -> None:
    # the cover rounds' empty detached frame had object columns: added to the regular
    # rounds' it turned length_m to objects, which round(1) left at full precision
    from urbangrid.routing.patrol.collector_areas import _detached_frame

    assert _detached_frame([])["length_m"].dtype == "float64"
    res = CliRunner().invoke(main, ["plan", str(viaduct_store), "--mode", "walk",
                                    "--iterations", "10", "--out", str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    rows = (tmp_path / "plan" / "detached.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "street_id,name,length_m,time_s,unit,area_code,roads"
    assert len(rows) == 2 and rows[1].startswith("deck,,80.0,80.0,"), rows
