"""A street with no name tag that alone breaks the norm is named as unnamed, with its id
and where it is; it printed as "(nan, 1045 m)" because pandas ≥ 3 reads a name column of
text and None as strings with NaN for the gaps (new-user trial)."""

from __future__ import annotations

import re

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
