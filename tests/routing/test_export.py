"""Patrol exports (issue 8): GPX 1.1 against its schema, GeoJSON, store layer, map, CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from lxml import etree

from tests.routing.patrol_cases import CRS, X0, Y0, box, lattice
from urbangrid.cli.route import route as route_cmd
from urbangrid.data import data_path
from urbangrid.errors import RoutingError
from urbangrid.loaders.osm import read_osm_graph, read_street_graph, streets_frame
from urbangrid.routing.patrol.export import (
    GPX_NAMESPACE,
    load_routes,
    routes_frame,
    write_geojson,
    write_gpx,
    write_map,
)
from urbangrid.routing.patrol.routes import PatrolRoute, area_route

XSD = Path(__file__).parent.parent / "data" / "gpx" / "gpx11.xsd"
WUDAOKOU = data_path("osm/beijing_haidian_wudaokou.osm.bz2")
BEIJING = timezone(timedelta(hours=8))


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def _valid(path: Path) -> None:
    schema = _schema()
    doc = etree.parse(str(path))
    assert schema.validate(doc), schema.error_log


@cache
def _square() -> PatrolRoute:
    G = lattice("bike", n=2)
    return area_route(G, box(0, 0, 1, 1), area_crs=CRS, boundary="both", start=(X0, Y0),
                      start_crs=CRS, area_id="SQ")


@cache
def _real() -> tuple[PatrolRoute, ...]:
    from urbangrid.demo.inputs import demo_work_grids

    wg = demo_work_grids(WUDAOKOU).iloc[[2, 9]]
    G = read_street_graph(WUDAOKOU, "bike")
    return tuple(area_route(G, row.geometry, area_crs=wg.crs, area_id=row.work_grid_code,
                            unreachable="skip") for row in wg.itertuples())


class TestGpx:
    def test_schema_rejects_a_bad_file(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.gpx"
        bad.write_text(f'<gpx xmlns="{GPX_NAMESPACE}" version="1.1"><trk/></gpx>')
        assert not _schema().validate(etree.parse(str(bad)))  # no creator attribute

    def test_hand_made_route_validates(self, tmp_path: Path) -> None:
        r = _square()
        p = write_gpx(r, tmp_path / "sq.gpx", start_time=datetime(2026, 5, 6, 8, tzinfo=BEIJING))
        _valid(p)
        ns = {"g": GPX_NAMESPACE}
        doc = etree.parse(str(p))
        pts = doc.findall(".//g:trkpt", ns)
        assert len(pts) == 5  # four corners and back
        times = [p.find("g:time", ns).text for p in pts]
        assert times[0] == "2026-05-06T00:00:00Z"
        assert times == sorted(times)
        assert len(doc.findall(".//g:rtept", ns)) == len(r.instructions)

    def test_real_routes_validate(self, tmp_path: Path) -> None:
        for r in _real():
            p = write_gpx(r, tmp_path / f"{r.area_id}.gpx")
            _valid(p)
            text = p.read_text(encoding="utf-8")
            assert "巡查路线" in text and "路" in text

    def test_naive_time_refused(self, tmp_path: Path) -> None:
        with pytest.raises(RoutingError, match="time zone"):
            write_gpx(_square(), tmp_path / "x.gpx", start_time=datetime(2026, 5, 6, 8))


class TestGeoJsonAndMap:
    def test_geojson(self, tmp_path: Path) -> None:
        r = _square()
        p = write_geojson([r], tmp_path / "r.geojson", steps=True, areas=True)
        doc = json.loads(p.read_text(encoding="utf-8"))
        kinds = [f["properties"]["kind"] for f in doc["features"]]
        assert kinds.count("route") == 1 and kinds.count("area") == 1
        assert kinds.count("step") == len(r.instructions)
        line = doc["features"][0]
        assert line["geometry"]["type"] == "LineString"
        lon, lat = line["geometry"]["coordinates"][0]
        assert 116 < lon < 118 and 39 < lat < 41  # EPSG:32650 → WGS 84 near Beijing
        assert line["properties"]["length_m"] == pytest.approx(400.0)
        back = gpd.read_file(p)
        assert back.crs.to_epsg() == 4326

    def test_map(self, tmp_path: Path) -> None:
        p = write_map(list(_real()), tmp_path / "m.html")
        html = p.read_text(encoding="utf-8")
        assert "leaflet" in html.lower()
        assert _real()[0].area_id in html
        assert "9654;" in html  # direction arrows (▶ entity, escaped in the JS)

    def test_duplicate_ids(self) -> None:
        with pytest.raises(RoutingError, match="share the id 'SQ:bike'"):
            routes_frame([_square(), _square()])


def test_store_layer(store: object) -> None:
    routes = _real()
    res = load_routes(store, routes)
    assert res.inserted == 2
    again = load_routes(store, routes)
    assert again.unchanged == 2 and again.inserted == 0
    back = store.read("patrol_route")  # type: ignore[attr-defined]
    assert sorted(back["route_id"]) == sorted(f"{r.area_id}:bike" for r in routes)
    row = back.set_index("route_id").loc[f"{routes[0].area_id}:bike"]
    assert row["length_m"] == pytest.approx(routes[0].length_m)
    assert row["instructions"][0]["action"] == "depart"
    assert row.geometry.geom_type == "LineString"


class TestCli:
    def test_file_and_polygon(self, tmp_path: Path) -> None:
        from urbangrid.demo.inputs import demo_work_grids

        wg = demo_work_grids(WUDAOKOU).iloc[[4]]
        area = tmp_path / "area.geojson"
        wg.to_crs("EPSG:4326").to_file(area)
        out = [tmp_path / "r.gpx", tmp_path / "r.geojson", tmp_path / "r.html"]
        res = CliRunner().invoke(route_cmd, [str(WUDAOKOU), "--polygon", str(area), "--mode",
                                             "walk", *[a for o in out for a in ("-o", str(o))]])
        assert res.exit_code == 0, res.output
        assert "deadhead" in res.output
        _valid(out[0])
        assert all(o.stat().st_size > 0 for o in out)

    def test_errors_are_one_line(self, tmp_path: Path) -> None:
        area = tmp_path / "area.geojson"
        gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=CRS).to_file(area)
        res = CliRunner().invoke(route_cmd, [str(WUDAOKOU), "--polygon", str(area),
                                             "--start", "116.0,39.0"])
        assert res.exit_code == 1
        assert res.output.startswith("error: ")

    def test_store_area_code(self, tmp_path: Path) -> None:
        import urbangrid
        from urbangrid.demo.inputs import demo_work_grids

        path = tmp_path / "d.gpkg"
        s = urbangrid.connect(str(path))
        s.write("street_centreline", streets_frame(read_osm_graph(WUDAOKOU)), "upsert")
        wg = demo_work_grids(WUDAOKOU).iloc[[5]].assign(version="test", weights=None,
                                                      source="test")
        s.write("work_grid", wg, "upsert")
        s.close()
        code = wg["work_grid_code"].iloc[0]
        res = CliRunner().invoke(route_cmd, [str(path), "--area", code, "--mode", "bike",
                                             "--skip-unreachable", "--save",
                                             "-o", str(tmp_path / "r.gpx")])
        assert res.exit_code == 0, res.output
        _valid(tmp_path / "r.gpx")
        s = urbangrid.connect(str(path))
        assert s.count("patrol_route") == 1
        s.close()
        res = CliRunner().invoke(route_cmd, [str(path), "--area", "NOPE"])
        assert res.exit_code == 1 and "area 'NOPE' is in none of work_grid" in res.output
