"""Exact mixed rural postman: valid optimal routes with their bound, never worse than the
search, on graphs with one-way streets."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from tests.routing.patrol_cases import CRS, lattice_frame
from urbangrid.routing.core.carp import collector_routes
from urbangrid.routing.core.exact import mixed_rural_postman_exact
from urbangrid.routing.core.plan import check_route
from urbangrid.routing.patrol.streets import street_graph


def _mixed(n: int, seed: int) -> tuple[nx.MultiDiGraph, list]:
    """One arc per street of an n × n lattice, some one-way, random required streets."""
    rng = np.random.default_rng(seed)
    f = lattice_frame(n)
    f["oneway"] = rng.random(len(f)) < 0.3
    G = street_graph(f, "car", crs=CRS)
    H = nx.MultiDiGraph(**G.graph)
    seen = set()
    for u, v, k, d in G.edges(keys=True, data=True):
        if d["street_id"] in seen:
            continue
        seen.add(d["street_id"])
        H.add_edge(u, v, key=k, **d)
    # keep the strongly connected part, as area_route does
    D = nx.DiGraph()
    for u, v, d in H.edges(data=True):
        D.add_edge(u, v)
        if not d["oneway"]:
            D.add_edge(v, u)
    comp = max(nx.strongly_connected_components(D), key=len)
    H = H.subgraph(comp).copy()
    arcs = list(H.edges(keys=True))
    pick = rng.choice(len(arcs), size=max(2, len(arcs) // 3), replace=False)
    return H, [arcs[i] for i in sorted(pick)]


@pytest.mark.parametrize("seed", range(6))
def test_optimal_valid_and_never_worse_than_the_search(seed: int) -> None:
    H, req = _mixed(4, seed)
    depot = req[0][0]
    ex = mixed_rural_postman_exact(H, req, start=depot, time_limit_s=10)
    assert ex.optimal and ex.route is not None
    served = [e for e, s in zip(ex.route.edges, ex.route.served, strict=True) if s]
    assert len(served) == len(set(req))
    cost = check_route(H, ex.route, weight="time_s", required=req, oneway="oneway")
    assert cost == pytest.approx(ex.route.cost)
    assert ex.lower_bound == pytest.approx(cost)
    search = collector_routes(H, depot=depot, k=1, required=req, weight="time_s",
                              oneway="oneway", iterations=200, seed=seed)
    assert cost <= search.cost + 1e-6


def test_disconnected_required_streets_need_cuts() -> None:
    # two far corners of a lattice: the integer program first serves each on its own
    f = lattice_frame(5)
    G = street_graph(f, "car", crs=CRS)
    H = nx.MultiDiGraph(**G.graph)
    seen = set()
    for u, v, k, d in G.edges(keys=True, data=True):
        if d["street_id"] not in seen:
            seen.add(d["street_id"])
            H.add_edge(u, v, key=k, **d)
    arcs = list(H.edges(keys=True))
    req = [arcs[0], arcs[-1]]
    ex = mixed_rural_postman_exact(H, req, start=arcs[0][0], time_limit_s=10)
    assert ex.optimal and ex.info["cuts"] >= 1
    check_route(H, ex.route, weight="time_s", required=req, oneway="oneway")
