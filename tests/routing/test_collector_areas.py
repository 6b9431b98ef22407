"""Collector areas: contiguous, whole grids, communities kept, routes within the limit."""

from __future__ import annotations

import pytest
import shapely

from tests.routing.lattice import lattice
from urbangrid.errors import ShiftLimitError
from urbangrid.routing.core.plan import check_route
from urbangrid.routing.patrol.collector_areas import (
    load_collector_areas,
    plan_collector_areas,
    route_lines,
)
from urbangrid.routing.patrol.streets import street_graph


@pytest.fixture(scope="module")
def district():
    streets, grids = lattice()
    return street_graph(streets, "walk", crs="EPSG:4548"), grids


@pytest.fixture(scope="module")
def plan(district):
    G, grids = district
    return plan_collector_areas(G, grids, limit_s=1800, iterations=30)


class TestPlan:
    def test_whole_grids_once_each(self, plan, district):
        _, grids = district
        a = plan.assignment
        assert sorted(a["grid_code"]) == sorted(grids["grid_code"])
        # whole work grids: both cells of a work grid share an area
        wg = grids.set_index("grid_code")["work_grid_code"]
        per_wg = a.assign(wg=a["grid_code"].map(wg)).groupby("wg")["area_code"].nunique()
        assert (per_wg == 1).all()

    def test_contiguous_and_within_community(self, plan):
        for code, geom in zip(plan.areas["area_code"], plan.areas.geometry, strict=True):
            assert shapely.get_num_geometries(geom) == 1, code
        comm = plan.assignment["grid_code"].str[:12]
        assert (plan.assignment["area_code"].str[:12] == comm).all()
        assert plan.areas["community_code"].notna().all()

    def test_routes_within_limit_and_valid(self, plan, district):
        G, _ = district
        assert plan.areas["fits"].all()
        assert (plan.areas["route_s"] <= 1800).all()
        assert plan.areas["interval_s"].equals(plan.areas["route_s"])
        for code, route in plan.routes.items():
            served = [e for e, s in zip(route.edges, route.served, strict=True) if s]
            assert check_route(G, route, weight="time_s", required=served,
                               oneway="oneway") == pytest.approx(
                float(plan.areas.set_index("area_code").at[code, "route_s"]))
        lines = route_lines(G, plan)
        assert len(lines) == len(plan.areas) and lines.crs == plan.areas.crs

    def test_stable_when_grids_change_a_little(self, plan, district):
        G, grids = district
        # drop one corner grid (a survey merged it away) and plan again
        fewer = grids[grids["grid_code"] != grids["grid_code"].iloc[-1]]
        prev = dict(zip(plan.assignment["grid_code"], plan.assignment["area_code"],
                        strict=True))
        again = plan_collector_areas(G, fewer, limit_s=1800, iterations=30, previous=prev)
        same = sum(prev[g] == a for g, a in zip(again.assignment["grid_code"],
                                                again.assignment["area_code"], strict=True))
        assert same / len(again.assignment) >= 0.75


class TestLimits:
    def test_single_grid_over_the_limit(self, district):
        G, grids = district
        # one cell's round is 4 stubs there and back: 400 s
        with pytest.raises(ShiftLimitError, match=r"unit grid .* 6\.7 min"):
            plan_collector_areas(G, grids, limit_s=300, iterations=10)
        flagged = plan_collector_areas(G, grids, limit_s=300, iterations=10, on_over="flag")
        assert (~flagged.areas["fits"]).all() and (flagged.areas["n_grids"] == 1).all()


def test_saved_in_both_stores(store, plan):
    result = load_collector_areas(store, plan, mode="walk")
    assert result.inserted == len(plan.areas)
    back = store.read("collector_area")
    assert sorted(back["area_code"]) == sorted(plan.areas["area_code"])
    again = load_collector_areas(store, plan, mode="walk")
    assert again.inserted == 0 and again.unchanged == len(plan.areas)


def test_processes_give_the_same_plan(district, plan):
    G, grids = district
    par = plan_collector_areas(G, grids, limit_s=1800, iterations=30, workers=2)
    assert par.info["workers"] == 2 and plan.info["workers"] == 1
    assert par.areas.drop(columns="geometry").equals(plan.areas.drop(columns="geometry"))
    assert par.assignment.equals(plan.assignment)
    assert par.routes == plan.routes


def test_no_two_neighbours_could_share_one_round(district):
    """The merge pass: no two neighbouring areas of a community whose rounds add up to
    at most MERGE_SHARE of the limit can be ridden round as one within it (proven by
    the exact solver on the whole graph)."""
    from urbangrid.routing.core.exact import mixed_rural_postman_exact
    from urbangrid.routing.patrol.collector_areas import MERGE_SHARE

    G, grids = district
    limit = 1500
    p = plan_collector_areas(G, grids, limit_s=limit, iterations=30)
    a = p.areas.reset_index(drop=True)
    owner = p.assignment.set_index("grid_code")["area_code"]
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            x, y = a.loc[i], a.loc[j]
            if x["community_code"] != y["community_code"] or \
                    not x.geometry.buffer(1).intersects(y.geometry) or \
                    x["route_s"] + y["route_s"] > limit * MERGE_SHARE:
                continue
            both = {x["area_code"], y["area_code"]}
            req = [(u, v, k) for u, v, k, d in G.edges(keys=True, data=True)
                   if u < v and any(owner.get(g) in both for g in grids.loc[
                       grids.geometry.contains(d["geometry"].interpolate(0.5, normalized=True)),
                       "grid_code"])]
            ex = mixed_rural_postman_exact(G, req, start=req[0][0], time_limit_s=20)
            assert ex.lower_bound > limit, (x["area_code"], y["area_code"])
