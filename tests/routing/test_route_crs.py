"""Any CRS in: a patrol polygon and start drawn on a phone map (GCJ-02, BD-09) or given
in CGCS2000 give the WGS84 route; a route leaving its area says so and why."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from tests.routing.patrol_cases import CRS, lattice_frame
from urbangrid.cli.route import route as route_cmd
from urbangrid.data import data_path
from urbangrid.loaders.osm import read_street_graph
from urbangrid.routing.patrol.routes import area_route, prepare_graph
from urbangrid.routing.patrol.streets import street_graph
from urbangrid.spatial.crs.transform import transform_xy

WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
#: A block by Wudaokou (WGS84 degrees) and a start point in it.
BLOCK = shapely.box(116.3300, 39.9900, 116.3345, 39.9935)
START = (116.3322, 39.9918)


@cache
def _prepared() -> object:
    return prepare_graph(read_street_graph(WUDAOKOU, "bike"))


def _in(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    def move(xy: np.ndarray) -> np.ndarray:
        x, y = transform_xy(xy[:, 0], xy[:, 1], crs="EPSG:4326", to_crs=crs)
        return np.column_stack([x, y])

    return shapely.transform(geom, move)


def _route(area: shapely.Geometry, start: tuple[float, float], crs: str) -> object:
    return area_route(_prepared(), area, area_crs=crs, start=start, start_crs=crs,
                      area_id="B", unreachable="skip", iterations=50)


@pytest.mark.parametrize("crs", ["GCJ-02", "BD-09", "EPSG:4490"])
def test_phone_map_polygon_and_start_give_the_wgs84_route(crs: str) -> None:
    wgs = _route(BLOCK, START, "EPSG:4326")
    x, y = transform_xy([START[0]], [START[1]], crs="EPSG:4326", to_crs=crs)
    other = _route(_in(BLOCK, crs), (float(x[0]), float(y[0])), crs)
    assert other.route.edges == wgs.route.edges
    assert other.start_node == wgs.start_node
    assert other.start_snap_m == pytest.approx(wgs.start_snap_m, abs=0.5)
    if crs == "GCJ-02":
        # read as WGS84, the same coordinates land some 500 m away
        shifted = shapely.distance(_in(BLOCK, crs).centroid, BLOCK.centroid)
        assert shifted > 0.003


def test_cli_reads_a_geojson_crs_member_and_crs_option(tmp_path: Path) -> None:
    gcj = _in(BLOCK, "GCJ-02")
    fc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "GCJ-02"}},
          "features": [{"type": "Feature", "properties": {},
                        "geometry": shapely.geometry.mapping(gcj)}]}
    (tmp_path / "gcj.geojson").write_text(json.dumps(fc), encoding="utf-8")
    gpd.GeoDataFrame(geometry=[BLOCK], crs=4326).to_file(tmp_path / "wgs.geojson")
    x, y = transform_xy([START[0]], [START[1]], crs="EPSG:4326", to_crs="GCJ-02")
    base = [str(WUDAOKOU), "--mode", "bike", "--skip-unreachable"]
    a = CliRunner().invoke(route_cmd, [*base, "--polygon", str(tmp_path / "wgs.geojson"),
                                       "--start", f"{START[0]},{START[1]}"])
    b = CliRunner().invoke(route_cmd, [*base, "--polygon", str(tmp_path / "gcj.geojson"),
                                       "--start", f"{x[0]},{y[0]}", "--crs", "GCJ-02"])
    c = CliRunner().invoke(route_cmd, [*base, "--polygon", str(tmp_path / "gcj.geojson"),
                                       "--start", f"{START[0]},{START[1]}"])
    assert a.exit_code == 0 and b.exit_code == 0 and c.exit_code == 0, a.output + b.output
    first = [r.output.splitlines()[0].replace("gcj", "wgs") for r in (a, b, c)]
    assert first[0] == first[1] == first[2]


def test_a_route_leaving_its_area_says_why() -> None:
    # two one-way streets north inside the area: the way back south runs outside
    f = lattice_frame(4)
    xs = f.geometry.map(lambda g: g.coords[0][0]) - f.geometry.map(lambda g: g.coords[0][0]).min()
    vertical = f.geometry.map(lambda g: g.coords[0][0] == g.coords[-1][0])
    f["oneway"] = vertical & (xs < 150)
    G = street_graph(f, "bike", crs=CRS, source="lattice")
    x0, y0 = 440_000.0, 4_430_000.0
    area = shapely.box(x0 - 10, y0 - 10, x0 + 110, y0 + 310)
    r = area_route(G, area, area_crs=CRS, area_id="A", outside_note_m=50.0, iterations=50)
    assert r.outside_m > 50
    assert r.notes and "leaves area A" in r.notes[0] and "one-way" in r.notes[0]
    quiet = area_route(G, area, area_crs=CRS, area_id="A", outside_note_m=500.0,
                       iterations=50)
    assert quiet.notes == ()
