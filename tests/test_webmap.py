"""The demo's layered web map: every layer switchable, routes drawn."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely

from urbangrid.demo.map import MapLayer, write_layers_map


def test_layers_are_named_and_switchable(tmp_path: Path) -> None:
    grids = gpd.GeoDataFrame(
        {"grid_code": ["110108014001001"]},
        geometry=[shapely.box(448000, 4428000, 448100, 4428100)], crs="EPSG:4548")
    pts = gpd.GeoDataFrame({"name": ["路灯"]}, geometry=[shapely.Point(116.33, 39.99)],
                           crs="EPSG:4326")
    empty = pts.iloc[:0]
    path = write_layers_map(tmp_path / "m.html", {
        "unit grids 单元网格": MapLayer(grids, tooltip=("grid_code",)),
        "components 部件": MapLayer(pts, color="#e31a1c", tooltip=("name",)),
        "nothing": MapLayer(empty),
    }, title="test")
    html = path.read_text(encoding="utf-8")
    for name in ("unit grids 单元网格", "components 部件"):  # folium writes JSON-escaped names
        assert json.dumps(name) in html
    assert "110108014001001" in html and "L.control.layers" in html
    assert '"nothing"' not in html  # empty layers are left out


def _grid_layer() -> dict[str, MapLayer]:
    grids = gpd.GeoDataFrame(
        {"grid_code": ["110108014001001"]},
        geometry=[shapely.box(448000, 4428000, 448100, 4428100)], crs="EPSG:4548")
    return {"unit grids 单元网格": MapLayer(grids, tooltip=("grid_code",))}


def test_maps_carry_leaflet_and_fetch_nothing_by_default(tmp_path: Path,
                                                         monkeypatch: object) -> None:
    import re

    monkeypatch.delenv("URBANGRID_BASEMAP", raising=False)  # type: ignore[attr-defined]
    html = write_layers_map(tmp_path / "m.html", _grid_layer()).read_text(encoding="utf-8")
    assert "Leaflet 1.9.3" in html and ".leaflet-container" in html  # inlined, not linked
    assert not re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="https?://', html)
    assert "L.tileLayer" not in html and "urbangrid-legend" in html
    assert "L.control.scale" in html


def test_basemaps(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    from urbangrid.errors import RoutingError

    env = monkeypatch  # a pytest MonkeyPatch
    env.delenv("TIANDITU_KEY", raising=False)  # type: ignore[attr-defined]
    osm = write_layers_map(tmp_path / "o.html", _grid_layer(), basemap="osm")
    assert "tile.openstreetmap.org" in osm.read_text(encoding="utf-8")
    with pytest.raises(RoutingError, match="needs a Tianditu key"):
        write_layers_map(tmp_path / "t.html", _grid_layer(), basemap="tianditu-vec")
    assert not (tmp_path / "t.html").exists()
    env.setenv("TIANDITU_KEY", "k123")  # type: ignore[attr-defined]
    env.setenv("URBANGRID_BASEMAP", "tianditu-img")  # type: ignore[attr-defined]
    html = write_layers_map(tmp_path / "t.html", _grid_layer()).read_text(encoding="utf-8")
    assert "tianditu.gov.cn/img_w/wmts" in html and "tianditu.gov.cn/cia_w/wmts" in html
    assert "tk=k123" in html and "LAYER=img" in html
    with pytest.raises(RoutingError, match="choose one of none, osm"):
        write_layers_map(tmp_path / "x.html", _grid_layer(), basemap="amap")


def test_unnamed_streets_are_described_by_heading_and_class(tmp_path: Path) -> None:
    """Route steps on unnamed streets say turn, heading and road class, not 无名道路."""
    import re

    from urbangrid.data import data_path
    from urbangrid.loaders.osm import read_street_graph
    from urbangrid.routing.patrol.export import step_texts, write_gpx
    from urbangrid.routing.patrol.routes import area_route

    G = read_street_graph(data_path("osm/beijing_haidian_wudaokou.osm.bz2"), "bike")
    area = shapely.box(116.3185, 39.9905, 116.3225, 39.9935)  # Chengfu Rd, Tsinghua west
    r = area_route(G, area, area_crs="EPSG:4326", start=(116.3200, 39.9915), iterations=20)
    texts = step_texts(r)
    assert len(texts) == len(r.instructions)
    unnamed = [t for s, t in zip(r.instructions, texts, strict=True)
               if s.street is None and s.action != "arrive"]
    assert unnamed, "the area has unnamed streets"
    pattern = r"(出发|直行|左转|右转|掉头) 向(北|东北|东|东南|南|西南|西|西北) 沿 \S+ \d+ 米"
    for zh, en in unnamed:
        assert re.fullmatch(pattern, zh), zh
        assert re.fullmatch(r"[A-Z][a-zA-Z -]+, head [a-z-]+ on an? [a-z ]+, \d+ m", en), en
    named = [t for s, t in zip(r.instructions, texts, strict=True) if s.street]
    assert all(zh == s.text_zh for s, (zh, _) in zip(
        [s for s in r.instructions if s.street], named, strict=True))
    gpx = write_gpx(r, tmp_path / "r.gpx").read_text(encoding="utf-8")
    assert "无名道路" not in gpx and unnamed[0][0] in gpx
