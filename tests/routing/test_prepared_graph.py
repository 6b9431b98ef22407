"""A prepared patrol graph follows edits of its graph (issue 18: no stale route caches).

The 3 × 3 lattice of :mod:`tests.routing.patrol_cases` (100 m streets, bike): the
only required street is A, (0, 0) → (1, 0), one-way east. ``buffer_m=0`` keeps the
solve graph to A plus the quickest way back found in the whole graph, so the route is
A plus that way back, and its travel time can be worked out by hand (t = one
street's time):

* as built: back by (1, 0) → (1, 1) → (0, 1) → (0, 0): 4 t;
* street V = (1, 0)–(1, 1) made ten times slower: back the long way round,
  (1, 0) → (2, 0) → (2, 1) → (1, 1) → (0, 1) → (0, 0), 6 t (V would cost 13 t);
* A made two-way (its ``oneway`` flag cleared): there and straight back on A, 2 t.
"""

from __future__ import annotations

from collections.abc import Hashable

import networkx as nx
import pytest
import shapely

from tests.routing.patrol_cases import CRS, X0, Y0, box, lattice_frame
from urbangrid.routing.patrol.routes import (
    PatrolRoute,
    PreparedGraph,
    area_route,
    prepare_graph,
)
from urbangrid.routing.patrol.streets import street_graph


def _graph() -> nx.MultiDiGraph:
    frame = lattice_frame(3)
    a = shapely.LineString([(X0, Y0), (X0 + 100, Y0)])
    frame["oneway"] = ["yes" if g.equals(a) else "no" for g in frame.geometry]
    return street_graph(frame, "bike", crs=CRS, source="lattice")


def _node(G: nx.MultiDiGraph, i: int, j: int) -> Hashable:
    x, y = X0 + 100 * i, Y0 + 100 * j
    return next(n for n, d in G.nodes(data=True) if (d["x"], d["y"]) == (x, y))


def _route_nodes(G: nx.MultiDiGraph, r: PatrolRoute) -> list[tuple[int, int]]:
    """The route's nodes in lattice coordinates, start first."""
    pos = {
        n: (round((d["x"] - X0) / 100), round((d["y"] - Y0) / 100))
        for n, d in G.nodes(data=True)
    }
    return [pos[r.route.edges[0][0]]] + [pos[e[1]] for e in r.route.edges]


AREA = box(0.25, -0.25, 0.75, 0.25)  # holds the midpoint of A only


def _route(G: nx.MultiDiGraph | PreparedGraph) -> PatrolRoute:
    return area_route(G, AREA, area_crs=CRS, buffer_m=0.0, iterations=30, seed=0)


class TestEditedGraph:
    def test_route_follows_time_and_oneway_edits(self) -> None:
        G = _graph()
        P = prepare_graph(G)
        a, b, c = _node(G, 0, 0), _node(G, 1, 0), _node(G, 1, 1)
        t = G.edges[a, b, 0]["time_s"]
        assert list(G[a][b]) == [0] and not G.has_edge(b, a)  # A is one arc, one-way

        first = _route(P)
        assert first.plan.cost == pytest.approx(4 * t)
        assert _route_nodes(G, first) == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]

        # V ten times slower, both directions: the way back goes round by (2, 0)
        for u, v in ((b, c), (c, b)):
            G.edges[u, v, 0]["time_s"] = 10 * t
        slow = _route(P)
        assert slow.plan.cost == pytest.approx(6 * t)
        assert _route_nodes(G, slow) == [(0, 0), (1, 0), (2, 0), (2, 1), (1, 1), (0, 1), (0, 0)]
        assert _route(G).plan.cost == pytest.approx(6 * t)  # a plain graph agrees

        # A two-way: there and back on A
        G.edges[a, b, 0]["oneway"] = False
        both = _route(P)
        assert both.plan.cost == pytest.approx(2 * t)
        assert sorted(_route_nodes(G, both)) == [(0, 0), (0, 0), (1, 0)]

    def test_prepare_is_idempotent_and_rebuilds_only_on_change(self) -> None:
        G = _graph()
        P = prepare_graph(G)
        assert prepare_graph(P) is P
        s = P.state()
        assert P.state() is s  # unchanged graph: the same look-ups
        u, v, k = next(iter(G.edges(keys=True)))
        G.edges[u, v, k]["time_s"] += 1.0
        assert P.state() is not s
