"""Every command that writes files refuses, before its work, an output that would write
over a file it reads (new-user trial: ``--polygon oak.geojson -o oak.geojson`` lost the
area; ``staffing district.gpkg --areas district.gpkg`` wrote into the store): one line,
exit code 2, the input untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

import urbangrid
from urbangrid.cli.main import main
from urbangrid.data import data_path

WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")

# (arguments, the input written over): {store} an urbangrid GeoPackage, {area} a polygon
# GeoJSON, {csv} a CSV of points, {osm} an OSM street file, {t} the test's folder.
# fmt: off
CASES = [
    (["route", "{osm}", "--polygon", "{area}", "-o", "{area}"], "--polygon {area}"),
    (["plan", "{store}", "--norms", "{t}/plan/summary.txt", "--out", "{t}/plan"],
     "--norms {t}/plan/summary.txt"),
    (["plan", "{store}", "--norms", "{t}/plan/gpx/n.toml", "--out", "{t}/plan"],
     "--norms {t}/plan/gpx/n.toml"),
    (["staffing", "{store}", "--areas", "{store}"], "STORE {store}"),
    (["grids", "validate", "{store}", "--out", "{store}"], "STORE {store}"),
    (["grids", "diff", "{store}", "v1", "v2", "--csv", "{store}"], "STORE {store}"),
    (["locate", "{store}", "--csv", "{csv}", "-o", "{csv}"], "--csv {csv}"),
    (["locate", "{store}", "--csv", "{csv}", "--problems", "{csv}"], "--csv {csv}"),
    (["geocode", "{store}", "--csv", "{csv}", "-o", "{csv}"], "--csv {csv}"),
    (["reverse", "{store}", "--csv", "{csv}", "-o", "{csv}"], "--csv {csv}"),
    (["scale", "assign", "{csv}", "--grid", "{area}", "-o", "{t}", "--overwrite"],
     "SOURCE {csv}"),
    (["scale", "routes", "{osm}", "--areas", "{t}/beat.routes.geojson", "--id-column", "code",
      "-o", "{t}/beat.csv"], "--areas {t}/beat.routes.geojson"),  # the routes beside -o
]
# fmt: on


@pytest.fixture()
def inputs(tmp_path: Path) -> dict[str, str]:
    store = tmp_path / "district.gpkg"
    urbangrid.connect(str(store)).close()
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame({"code": ["a"]}, geometry=[shapely.box(116.33, 39.99, 116.34, 40.0)],
                     crs=4326).to_file(area)
    shutil.copy(area, tmp_path / "beat.routes.geojson")
    csv = tmp_path / "points.csv"
    csv.write_text("lon,lat\n116.335,39.995\n", encoding="utf-8")
    osm = tmp_path / WUDAOKOU.name
    shutil.copy(WUDAOKOU, osm)
    (tmp_path / "plan" / "gpx").mkdir(parents=True)
    norms = Path(urbangrid.__file__).parent / "routing" / "patrol" / "norms" / "staffing.toml"
    for name in ("summary.txt", "gpx/n.toml"):  # norms a plan --out would replace
        shutil.copy(norms, tmp_path / "plan" / name)
    return {"store": str(store), "area": str(area), "csv": str(csv), "osm": str(osm),
            "t": str(tmp_path)}


@pytest.mark.parametrize(("args", "over"), CASES)
def test_an_output_over_an_input_is_refused_before_the_work(
        inputs: dict[str, str], args: list[str], over: str) -> None:
    before = {p: Path(p).read_bytes() for p in Path(inputs["t"]).rglob("*") if p.is_file()}
    res = CliRunner().invoke(main, [a.format(**inputs) for a in args])
    assert res.exit_code == 2, res.output
    assert f"would write over {over.format(**inputs)}, which the command reads" in res.output
    assert res.output.count("error:") == 1 and "Traceback" not in res.output
    assert {p: Path(p).read_bytes() for p in Path(inputs["t"]).rglob("*")
            if p.is_file()} == before
