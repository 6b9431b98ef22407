"""A street with no name tag that alone breaks the norm is named as unnamed, with its id
and where it is; it printed as "(nan, 1045 m)" because pandas ≥ 3 reads a name column of
text and None as strings with NaN for the gaps (new-user trial)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from urbangrid.data import data_path
from urbangrid.errors import ShiftLimitError
from urbangrid.loaders.osm import read_street_graph
from urbangrid.routing.patrol.collector_areas import assign_streets, plan_collector_areas


def test_an_unnamed_street_over_the_norm_is_named_by_id_and_place() -> None:
    G = read_street_graph(data_path("osm/beijing_haidian_wudaokou.osm.bz2"), "walk")
    box = shapely.box(*gpd.GeoSeries(
        [shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in G.nodes],
        crs=G.graph["crs"]).total_bounds)
    grids = gpd.GeoDataFrame({"grid_code": ["110108014001001"],
                              "community_code": ["110108014001"]},
                             geometry=[box.buffer(10)], crs=G.graph["crs"])
    st = assign_streets(G, grids, key="grid_code")
    # the longest street loses its name, as a way without a name tag has none
    worst = st.loc[st["time_s"].idxmax()]
    for _u, _v, d in G.edges(data=True):
        if d["street_id"] == worst["street_id"]:
            d["name"] = None
    limit_s = float(worst["time_s"]) - 1
    with pytest.raises(ShiftLimitError) as err:
        plan_collector_areas(G, grids, limit_s=limit_s, unit="grid_code")
    text = str(err.value)
    assert "nan" not in text, text
    assert f"street {worst['street_id']} (unnamed, {worst['length_m']:.0f} m, midpoint at " \
           "lon 116." in text, text
    lon, lat = map(float, re.search(r"lon ([\d.]+), lat ([\d.]+)", text).groups())
    assert 116.3 < lon < 116.36 and 39.97 < lat < 40.01, text


def test_plan_names_the_street_in_either_language(tmp_path: Path) -> None:
    """`urbangrid plan --round 5min` on Wudaokou: one unnamed street alone takes longer by
    bike; under --lang zh the error is worded from the street's fields."""
    from click.testing import CliRunner

    import urbangrid
    from urbangrid.cli.main import main
    from urbangrid.demo.inputs import load_demo_grids
    from urbangrid.loaders.osm import read_streets

    store = tmp_path / "wudaokou.gpkg"
    with urbangrid.connect(str(store)) as s:
        s.write("street_centreline",
                read_streets(data_path("osm/beijing_haidian_wudaokou.osm.bz2")), "upsert")
        load_demo_grids(s)
    args = ["plan", str(store), "--round", "5min", "--iterations", "5", "--lang"]
    zh = CliRunner().invoke(main, [*args, "zh"])
    assert zh.exit_code == 1, zh.output
    line = (r"error: 巡查区域划分：道路 \S+（无名道路，\d+ 米，中点在经度 116\.\d{5}、纬度 "
            r"(39|40)\.\d{5}）单独巡查一遍就需 [\d.]+ 分钟，超过 5\.0 分钟的上限，多少名采集员都"
            r"无法满足；请提高上限或换更快的巡查方式")
    assert re.fullmatch(line, zh.output.strip()), zh.output
    en = CliRunner().invoke(main, [*args, "en"])
    assert en.exit_code == 1 and "(unnamed, " in en.output and "nan" not in en.output, \
        en.output
    assert "alone takes" in en.output and "above the limit of 5.0 min" in en.output
