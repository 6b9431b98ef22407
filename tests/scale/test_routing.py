"""City-wide patrol planning: the same routes on one process and on 2 Dask workers."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from urbangrid.data import data_path
from urbangrid.errors import PatrolAreaError, RoutingError
from urbangrid.loaders.osm import read_street_graph
from urbangrid.scale import CityPlan, plan_areas

OPTIONS = {"iterations": 60, "unreachable": "skip", "lower_bound": False}


@pytest.fixture(scope="module")
def walk_graph() -> nx.MultiDiGraph:
    """Walking graph of the bundled Wudaokou OSM extract (EPSG:4548, metres)."""
    return read_street_graph(data_path("osm/beijing_haidian_wudaokou.osm.bz2"), "walk")


@pytest.fixture(scope="module")
def areas(walk_graph: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """A 2 x 2 partition of the central street area, codes A0..A3."""
    xy = np.array([(d["x"], d["y"]) for _, d in walk_graph.nodes(data=True)])
    (x0, y0), (x1, y1) = np.percentile(xy, 25, axis=0), np.percentile(xy, 75, axis=0)
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym),
             shapely.box(x0, ym, xm, y1), shapely.box(xm, ym, x1, y1)]
    return gpd.GeoDataFrame({"code": [f"A{k}" for k in range(4)]}, geometry=boxes,
                            crs=walk_graph.graph["crs"])


class TestPlanAreas:
    def test_two_workers_give_the_serial_routes(
        self, walk_graph: nx.MultiDiGraph, areas: gpd.GeoDataFrame, cluster_client: Any
    ) -> None:
        serial = plan_areas(walk_graph, areas, id_column="code", **OPTIONS)
        parallel = plan_areas(walk_graph, areas, id_column="code", scheduler=cluster_client,
                              **OPTIONS)
        assert isinstance(parallel, CityPlan)
        assert (serial.workers, parallel.workers) == (0, 2)
        assert [r.area_id for r in parallel.routes] == ["A0", "A1", "A2", "A3"]
        for a, b in zip(serial.routes, parallel.routes, strict=True):
            assert a.plan.routes[0].edges == b.plan.routes[0].edges
            assert a.plan.routes[0].cost == b.plan.routes[0].cost
        assert serial.table().equals(parallel.table())

    def test_an_area_without_streets_is_listed_or_raised(
        self, walk_graph: nx.MultiDiGraph, areas: gpd.GeoDataFrame
    ) -> None:
        # 50 km east of the areas, in their metric CRS: no street of the graph near it
        _, y0, x1, _ = areas.total_bounds
        far = gpd.GeoDataFrame({"code": ["FAR"]},
                               geometry=[shapely.box(x1 + 50_000, y0, x1 + 50_100, y0 + 100)],
                               crs=areas.crs)
        both = gpd.pd.concat([areas.iloc[:1], far], ignore_index=True)
        plan = plan_areas(walk_graph, both, id_column="code", on_error="skip", **OPTIONS)
        assert [r.area_id for r in plan.routes] == ["A0"]
        assert "area FAR" in plan.failed["FAR"] and "PatrolAreaError" in plan.failed["FAR"]
        with pytest.raises(PatrolAreaError, match="area FAR"):
            plan_areas(walk_graph, both, id_column="code", **OPTIONS)

    def test_inputs_are_checked(
        self, walk_graph: nx.MultiDiGraph, areas: gpd.GeoDataFrame
    ) -> None:
        with pytest.raises(RoutingError, match="iterations=None"):
            plan_areas(walk_graph, areas, id_column="code", iterations=None)
        with pytest.raises(PatrolAreaError, match="no column 'grid'"):
            plan_areas(walk_graph, areas, id_column="grid")
        twice = gpd.pd.concat([areas, areas], ignore_index=True)
        with pytest.raises(PatrolAreaError, match="repeat"):
            plan_areas(walk_graph, twice, id_column="code")
        with pytest.raises(PatrolAreaError, match="no CRS"):
            plan_areas(walk_graph, areas.set_crs(None, allow_override=True), id_column="code")

    def test_missing_codes_are_named_not_called_repeats(
        self, walk_graph: nx.MultiDiGraph, areas: gpd.GeoDataFrame
    ) -> None:
        # two areas without a code used to be reported as "area codes repeat: ['nan']"
        gaps = areas.copy()
        gaps["code"] = ["A0", None, "  ", "A3"]
        with pytest.raises(PatrolAreaError) as err:
            plan_areas(walk_graph, gaps, id_column="code", **OPTIONS)
        msg = str(err.value)
        assert "row(s) 2, 3 of 4 have no 'code'" in msg and "dropna" in msg
        assert "repeat" not in msg and "nan" not in msg
