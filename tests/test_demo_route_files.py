"""The demo's route files hold one geometry type each (H40 item 3): QGIS opens
``patrol_routes.geojson`` without asking for a sublayer, the work grid outlines are in
``patrol_routes.area.geojson`` beside it, as ``urbangrid route -o x.geojson`` writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pyogrio

from urbangrid.data import data_path


def test_routes_step_writes_one_geometry_type_per_file(tmp_path: Path) -> None:
    from urbangrid.demo import run as demo
    from urbangrid.demo.inputs import demo_work_grids
    from urbangrid.store import GeoPackageStore

    wg = demo_work_grids(data_path("osm/beijing_haidian_wudaokou.osm.bz2")).iloc[[2, 9]]
    with GeoPackageStore(str(tmp_path / "d.gpkg")) as store:
        store.write("work_grid", wg.assign(version="test", weights=None, source="test"),
                    "upsert")
        line = demo.patrol_routes(demo.DemoContext(store, tmp_path))
    kinds = {}
    types = {}
    for name in ("patrol_routes.geojson", "patrol_routes.area.geojson",
                 "patrol_routes.steps.geojson"):
        doc = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        kinds[name] = {f["geometry"]["type"] for f in doc["features"]}
        assert name in line
        # GDAL (so QGIS) reads each as one type, not "Unknown" (which asks for a sublayer)
        types[name] = pyogrio.read_info(tmp_path / name)["geometry_type"]
    assert kinds == {"patrol_routes.geojson": {"LineString"},
                     "patrol_routes.area.geojson": {"MultiPolygon"},
                     "patrol_routes.steps.geojson": {"Point"}}
    assert types == {"patrol_routes.geojson": "LineString",
                     "patrol_routes.area.geojson": "MultiPolygon",
                     "patrol_routes.steps.geojson": "Point"}
    area = json.loads((tmp_path / "patrol_routes.area.geojson").read_text(encoding="utf-8"))
    assert sorted(f["properties"]["area_code"] for f in area["features"]) == sorted(
        wg["work_grid_code"])


def test_polygon_and_multipolygon_areas_share_one_type(tmp_path: Path) -> None:
    """A work grid read as a Polygon beside one read as a MultiPolygon: GDAL would call
    the file's type Unknown, so the Polygons are written as MultiPolygons."""
    import shapely

    from urbangrid.demo.inputs import demo_work_grids
    from urbangrid.loaders.osm import read_street_graph
    from urbangrid.routing.patrol.export import write_route_layers
    from urbangrid.routing.patrol.routes import area_route

    osm = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
    wg = demo_work_grids(osm).iloc[[2, 9]]
    G = read_street_graph(osm, "bike")
    a, b = wg.geometry
    routes = [area_route(G, a, area_crs=wg.crs, area_id="A", unreachable="skip"),
              area_route(G, shapely.MultiPolygon([b]), area_crs=wg.crs, area_id="B",
                         unreachable="skip")]
    assert [r.area.geom_type for r in routes] == ["Polygon", "MultiPolygon"]
    write_route_layers(routes, tmp_path / "r.geojson")
    area = tmp_path / "r.area.geojson"
    doc = json.loads(area.read_text(encoding="utf-8"))
    assert [f["geometry"]["type"] for f in doc["features"]] == ["MultiPolygon"] * 2
    assert pyogrio.read_info(area)["geometry_type"] == "MultiPolygon"
    a_wgs84 = shapely.geometry.shape(doc["features"][0]["geometry"])
    assert len(a_wgs84.geoms) == 1 and a_wgs84.geoms[0].is_valid  # the same one polygon
