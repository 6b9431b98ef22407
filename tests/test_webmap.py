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
