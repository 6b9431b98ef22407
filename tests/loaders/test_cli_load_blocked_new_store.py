"""A first load that bad rows block leaves no store and does not say it made one (issue
20: Cambridge MA's centrelines, one MultiLineString row, printed "created the store
cam.gpkg" on a load that wrote nothing and removed the empty file)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from click.testing import CliRunner

from urbangrid.cli.main import main


def _streets(tmp_path: Path) -> Path:
    x, y = -71.10, 42.37  # Cambridge MA
    lines = [shapely.LineString([(x, y), (x + 0.001, y)]),
             shapely.LineString([(x + 0.001, y), (x + 0.002, y)]),
             # two parts that do not join: no single street line
             shapely.MultiLineString([[(x, y + 0.001), (x + 0.001, y + 0.001)],
                                      [(x, y + 0.002), (x + 0.001, y + 0.002)]])]
    path = tmp_path / "streets.geojson"
    gpd.GeoDataFrame({"ID": ["a", "b", "c"], "name": ["A St", "B St", "C St"],
                      "highway": "residential"}, geometry=lines, crs=4326).to_file(path)
    return path


def test_a_blocked_first_load_makes_no_store_and_says_none(tmp_path: Path) -> None:
    store = tmp_path / "new.gpkg"
    res = CliRunner().invoke(main, ["load", "streets", str(_streets(tmp_path)), "--store",
                                    str(store)])
    assert res.exit_code == 3, res.output
    assert "row 3 field geometry" in res.output + res.stderr
    assert "created the store" not in res.stderr
    assert not store.exists()
    kept = CliRunner().invoke(main, ["load", "streets", str(_streets(tmp_path)), "--store",
                                     str(store), "--on-invalid", "skip"])
    assert kept.exit_code == 4, kept.output
    assert f"created the store {store}" in kept.stderr
    assert store.is_file()
