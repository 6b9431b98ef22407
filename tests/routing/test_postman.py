"""Chinese postman: exact optimum on hand-made graphs, brute force and blossom matching."""

from __future__ import annotations

import copy
import math
import random

import networkx as nx
import numpy as np
import pytest

from tests.routing.helpers import (
    brute_force_cpp_cost,
    brute_force_t_join_cost,
    matching_cpp_cost,
    random_connected_multigraph,
)
from urbangrid.errors import InfeasibleRouteError, RoutingError, UnreachableError
from urbangrid.routing.core.matching import min_t_join
from urbangrid.routing.core.plan import Route, check_plan, check_route
from urbangrid.routing.core.postman import (
    check_flow_certificate,
    chinese_postman,
    directed_postman,
    euler_walk,
    mixed_postman,
)


def _square(diagonal: float) -> nx.Graph:
    G = nx.Graph()
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        G.add_edge(a, b, weight=1.0)
    G.add_edge(0, 2, weight=diagonal)
    return G


class TestChinesePostman:
    @pytest.mark.parametrize(("diagonal", "expected"), [(1.5, 7.0), (3.0, 9.0)])
    def test_square_with_diagonal(self, diagonal: float, expected: float) -> None:
        G = _square(diagonal)
        plan = chinese_postman(G, start=1)
        assert plan.cost == pytest.approx(expected)
        assert plan.optimal
        assert plan.lower_bound == pytest.approx(expected)
        assert plan.routes[0].start == 1
        assert check_plan(G, plan) == pytest.approx(expected)

    def test_star_doubles_every_edge(self) -> None:
        G = nx.star_graph(4)
        for i, (a, b) in enumerate(G.edges):
            G.edges[a, b]["weight"] = float(i + 1)
        plan = chinese_postman(G, start=0)
        assert plan.cost == pytest.approx(20.0)
        assert plan.deadhead_cost == pytest.approx(10.0)
        check_plan(G, plan)

    def test_eulerian_graph_has_no_deadhead(self) -> None:
        G = nx.cycle_graph(5)
        nx.set_edge_attributes(G, 2.0, "weight")
        plan = chinese_postman(G)
        assert plan.cost == 10.0
        assert plan.deadhead_cost == 0.0
        assert len(plan.walk) == 5

    def test_isolated_nodes_are_ignored(self) -> None:
        G = _square(1.5)
        G.add_node("lonely")
        assert chinese_postman(G, start=0).cost == pytest.approx(7.0)

    def test_parallel_edges_and_self_loop(self) -> None:
        G = nx.MultiGraph()
        G.add_edge(0, 1, weight=1.0)
        G.add_edge(0, 1, weight=5.0)
        G.add_edge(1, 2, weight=2.0)
        G.add_edge(2, 2, weight=3.0)
        plan = chinese_postman(G, start=0)
        # odd nodes: 1 and 2 -> duplicate (1, 2)
        assert plan.cost == pytest.approx(1 + 5 + 2 + 3 + 2)
        check_plan(G, plan)

    @pytest.mark.parametrize("seed", range(25))
    def test_matches_brute_force(self, seed: int) -> None:
        rng = random.Random(seed)
        G = random_connected_multigraph(rng.randint(3, 11), rng.randint(0, 8), seed)
        if sum(1 for _, d in G.degree() if d % 2) > 14:
            pytest.skip("too many odd nodes for brute force")
        plan = chinese_postman(G, weight="weight")
        assert plan.optimal
        assert plan.cost == pytest.approx(brute_force_cpp_cost(G))
        assert check_plan(G, plan) == pytest.approx(plan.cost)

    @pytest.mark.parametrize("seed", range(3))
    def test_matches_networkx_blossom_mid_size(self, seed: int) -> None:
        G = nx.MultiGraph(nx.random_geometric_graph(220, 0.12, seed=seed))
        G = G.subgraph(max(nx.connected_components(G), key=len)).copy()
        pos = nx.get_node_attributes(G, "pos")
        for a, b, k in G.edges(keys=True):
            G.edges[a, b, k]["length"] = math.dist(pos[a], pos[b])
        odd = sum(1 for _, d in G.degree() if d % 2)
        assert odd >= 60
        plan = chinese_postman(G, weight="length")
        assert plan.optimal
        assert plan.cost == pytest.approx(matching_cpp_cost(G, "length"), rel=1e-9)
        check_plan(G, plan, weight="length")

    def test_input_not_mutated(self) -> None:
        G = random_connected_multigraph(12, 6, 3)
        before = copy.deepcopy(G)
        chinese_postman(G)
        assert nx.utils.edges_equal(
            G.edges(keys=True, data=True), before.edges(keys=True, data=True)
        )
        assert G.graph == before.graph


class TestDirectedPostman:
    def test_one_way_loop(self) -> None:
        G = nx.DiGraph()
        nx.add_cycle(G, [0, 1, 2, 3])
        nx.set_edge_attributes(G, 2.5, "weight")
        plan = directed_postman(G, start=2)
        assert plan.cost == pytest.approx(10.0)
        assert plan.deadhead_cost == 0.0
        assert plan.walk[0][0] == 2
        check_plan(G, plan)

    def test_chord_forces_loop_again(self) -> None:
        G = nx.DiGraph([(0, 1), (1, 2), (2, 0), (0, 2)])
        nx.set_edge_attributes(G, 1.0, "weight")
        # (0, 2) leaves 2 with an extra in-arc: 2 -> 0 must be driven twice
        plan = directed_postman(G, start=0)
        assert plan.cost == pytest.approx(5.0)
        check_plan(G, plan)

    @pytest.mark.parametrize("seed", range(8))
    def test_matches_network_simplex(self, seed: int) -> None:
        rng = random.Random(seed)
        n = rng.randint(4, 25)
        G = nx.MultiDiGraph()
        nx.add_cycle(G, list(range(n)))
        for _ in range(2 * n):
            a, b = rng.sample(range(n), 2)
            G.add_edge(a, b)
        for a, b, k in G.edges(keys=True):
            G.edges[a, b, k]["weight"] = rng.randint(1, 30)
        plan = directed_postman(G)
        # reference: min-cost flow on integer weights with networkx
        H = nx.DiGraph()
        for a, b, d in G.edges(data=True):
            if not H.has_edge(a, b) or H[a][b]["weight"] > d["weight"]:
                H.add_edge(a, b, weight=d["weight"])
        for v in G:
            H.add_node(v, demand=G.out_degree(v) - G.in_degree(v))
        extra = nx.min_cost_flow_cost(H)
        assert plan.cost == pytest.approx(sum(d["weight"] for *_, d in G.edges(data=True)) + extra)
        assert plan.optimal
        check_plan(G, plan)

    def test_potentials_certify_the_flow(self) -> None:
        G = nx.DiGraph([(0, 1), (1, 2), (2, 0), (0, 2)])
        nx.set_edge_attributes(G, 1.0, "weight")
        plan = directed_postman(G, start=0)
        # one extra pass of 2 -> 0, proven by the potentials
        assert plan.info["flow_bound"] == pytest.approx(1.0)
        assert plan.lower_bound == pytest.approx(plan.cost)
        tail, head = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 2])
        supply = np.array([-1.0, 0.0, 1.0])
        cost = np.ones(4)
        flow = np.array([0, 0, 1, 0])
        pi = np.asarray(plan.info["potentials"], dtype=float)
        bound = check_flow_certificate(tail, head, cost, supply, flow, np.array([0.0, 0.0, 1.0]))
        assert bound == pytest.approx(1.0)
        assert len(pi) == 3
        # zero potentials prove nothing, and an unbalanced flow is refused
        assert check_flow_certificate(tail, head, cost, supply, flow, np.zeros(3)) == 0.0
        with pytest.raises(RoutingError, match="supplies"):
            check_flow_certificate(tail, head, cost, supply, np.zeros(4), np.zeros(3))

    def test_wrong_way_is_caught(self) -> None:
        G = nx.DiGraph([(0, 1), (1, 0)])
        nx.set_edge_attributes(G, 1.0, "weight")
        bad = Route(
            start=0, edges=((0, 1, 0), (0, 1, 0)), served=(True, False), cost=2.0, deadhead_cost=1.0
        )
        with pytest.raises(InfeasibleRouteError, match="does not start"):
            check_route(G, bad)
        bad = Route(
            start=1, edges=((1, 0, 0), (0, 1, 0)), served=(True, True), cost=2.0, deadhead_cost=0.0
        )
        check_route(G, bad)
        one_way = nx.DiGraph([(0, 1), (2, 0)])
        nx.set_edge_attributes(one_way, 1.0, "weight")
        wrong = Route(0, ((0, 1, 0), (1, 0, 0)), (True, True), 2.0, 0.0)
        with pytest.raises(InfeasibleRouteError, match="against its direction"):
            check_route(one_way, wrong)


def _mixed_grid(seed: int, n: int = 4, p_oneway: float = 0.4) -> nx.MultiDiGraph:
    rng = random.Random(seed)
    G = nx.MultiDiGraph()
    for a, b in nx.grid_2d_graph(n, n).edges:
        w = float(rng.randint(1, 9))
        if rng.random() < p_oneway:
            u, v = (a, b) if rng.random() < 0.5 else (b, a)
            G.add_edge(u, v, weight=w, oneway=True)
        else:
            G.add_edge(a, b, weight=w, oneway=False)
            G.add_edge(b, a, weight=w, oneway=False)
    return G


class TestMixedPostman:
    def test_all_two_way_equals_undirected(self) -> None:
        G = _mixed_grid(1, p_oneway=0.0)
        plan = mixed_postman(G, start=(0, 0))
        U = nx.MultiGraph()
        for a, b, d in G.edges(data=True):
            if repr(a) < repr(b):
                U.add_edge(a, b, weight=d["weight"])
        assert plan.cost == pytest.approx(chinese_postman(U).cost)
        assert plan.optimal

    def test_all_one_way_equals_directed(self) -> None:
        G = nx.MultiDiGraph()
        nx.add_cycle(G, [0, 1, 2, 3, 4], weight=1.0, oneway=True)
        G.add_edge(0, 2, weight=1.5, oneway=True)
        plan = mixed_postman(G, start=0)
        assert plan.cost == pytest.approx(directed_postman(G, start=0).cost)

    @pytest.mark.parametrize("seed", range(6))
    def test_feasible_with_bound(self, seed: int) -> None:
        G = next(
            g
            for g in (_mixed_grid(100 * seed + i) for i in range(100))
            if nx.is_strongly_connected(g)
        )
        plan = mixed_postman(G, start=(0, 0))
        assert plan.gap is not None and plan.gap >= 0
        assert plan.lower_bound is not None and plan.lower_bound <= plan.cost + 1e-9
        total = check_plan(
            G, plan, oneway="oneway", required=plan.info["required"], twins=plan.info["aliases"]
        )
        assert total == pytest.approx(plan.cost)
        # lower bound from the undirected relaxation
        U = nx.MultiGraph()
        seen = set()
        for a, b, k, d in G.edges(keys=True, data=True):
            if (a, b, k) in plan.info["aliases"]:
                continue
            seen.add((a, b, k))
            U.add_edge(a, b, weight=d["weight"])
        assert plan.cost >= chinese_postman(U).cost - 1e-9


def rng_nodes(G: nx.MultiGraph, seed: int) -> list[int]:
    """80 distinct nodes of ``G`` (above CERTIFIED_MIN_TERMINALS)."""
    return random.Random(seed).sample(sorted(G.nodes), 80)


def matching_t_join_cost(G: nx.MultiGraph, T: list[int]) -> float:
    """networkx's exact minimum perfect matching of ``T`` on shortest-path lengths."""
    K = nx.Graph()
    for i, s in enumerate(T):
        d = nx.single_source_dijkstra_path_length(G, s)
        K.add_weighted_edges_from((s, t, d[t]) for t in T[i + 1 :])
    return sum(K[a][b]["weight"] for a, b in nx.min_weight_matching(K))


class TestEulerWalk:
    def test_figure_eight_with_a_loop_closes(self) -> None:
        # two triangles sharing node 0, a loop at 4; undirected and directed
        tail = np.array([0, 1, 2, 0, 3, 4, 4])
        head = np.array([1, 2, 0, 3, 4, 0, 4])
        for directed in (False, True):
            walk = euler_walk(5, tail, head, 0, directed=directed)
            assert sorted(c for c, _ in walk) == list(range(7))
            at = 0
            for c, fwd in walk:
                a, b = (tail[c], head[c]) if fwd else (head[c], tail[c])
                assert a == at
                at = b
            assert at == 0

    def test_odd_degrees_raise(self) -> None:
        with pytest.raises(RoutingError, match="no closed walk"):
            euler_walk(3, np.array([0, 1]), np.array([1, 2]), 0, directed=False)


class TestTJoin:
    def test_path(self) -> None:
        G = nx.path_graph(5)
        nx.set_edge_attributes(G, 2.0, "weight")
        tj = min_t_join(G, [0, 4])
        assert tj.cost == 8.0 and tj.optimal and len(tj.edges) == 4

    @pytest.mark.parametrize("seed", range(15))
    def test_matches_brute_force_matching(self, seed: int) -> None:
        rng = random.Random(100 + seed)
        G = random_connected_multigraph(rng.randint(4, 14), rng.randint(0, 10), seed)
        T = rng.sample(sorted(G.nodes), 2 * rng.randint(1, min(6, len(G) // 2)))
        tj = min_t_join(G, T)
        assert tj.optimal
        assert tj.cost == pytest.approx(brute_force_t_join_cost(G, T))
        odd = {n for e in tj.edges for n in e[:2]}
        deg = {n: sum(1 for e in tj.edges for x in e[:2] if x == n) for n in odd}
        assert {n for n, d in deg.items() if d % 2} == set(T)

    @pytest.mark.parametrize("seed", range(3))
    def test_many_terminals_by_the_certified_join(self, seed: int) -> None:
        # above CERTIFIED_MIN_TERMINALS: the compiled blossom's join, parallel edges kept
        G = nx.MultiGraph(nx.random_geometric_graph(300, 0.11, seed=seed))
        G = G.subgraph(max(nx.connected_components(G), key=len)).copy()
        pos = nx.get_node_attributes(G, "pos")
        for u, v, k in list(G.edges(keys=True)):
            G.edges[u, v, k]["weight"] = math.dist(pos[u], pos[v])
        u, v = next(iter(G.edges()))
        G.add_edge(u, v, weight=G.edges[u, v, 0]["weight"] * 2)  # a dearer parallel street
        T = sorted(rng_nodes(G, seed))
        tj = min_t_join(G, T)
        assert tj.optimal and tj.lower_bound <= tj.cost * (1 + 1e-12)
        assert tj.cost == pytest.approx(matching_t_join_cost(G, T), rel=1e-9)
        D = nx.MultiGraph([e[:2] for e in tj.edges])
        assert {n for n, d in D.degree() if d % 2} == set(T)

    def test_odd_component_raises(self) -> None:
        G = nx.path_graph(3)
        nx.set_edge_attributes(G, 1.0, "weight")
        with pytest.raises(RoutingError, match="odd number of terminals"):
            min_t_join(G, [0])


class TestBadInput:
    def test_negative_weight_names_edge(self) -> None:
        G = _square(1.0)
        G.edges[1, 2]["weight"] = -3
        with pytest.raises(RoutingError, match=r"\(1, 2, 0\)"):
            chinese_postman(G)

    @pytest.mark.parametrize("value", [None, "abc", math.nan, math.inf])
    def test_bad_weight_values(self, value: object) -> None:
        G = _square(1.0)
        G.edges[2, 3]["weight"] = value
        with pytest.raises(RoutingError, match=r"\(2, 3, 0\)"):
            chinese_postman(G)

    def test_missing_weight(self) -> None:
        G = _square(1.0)
        del G.edges[0, 1]["weight"]
        with pytest.raises(RoutingError, match="no 'weight' attribute"):
            chinese_postman(G)

    def test_unknown_start(self) -> None:
        with pytest.raises(RoutingError, match="start node 'x'"):
            chinese_postman(_square(1.0), start="x")

    def test_disconnected_graph(self) -> None:
        G = _square(1.0)
        G.add_edge(10, 11, weight=1.0)
        with pytest.raises(UnreachableError, match=r"\(10, 11, 0\)"):
            chinese_postman(G, start=0)

    def test_directed_unreachable_arc(self) -> None:
        G = nx.DiGraph()
        nx.add_cycle(G, [0, 1, 2], weight=1.0)
        G.add_edge(2, 5, weight=1.0)
        with pytest.raises(UnreachableError, match=r"\(2, 5, 0\)"):
            directed_postman(G, start=0)

    def test_empty_graph(self) -> None:
        with pytest.raises(RoutingError, match="no edges"):
            chinese_postman(nx.Graph())

    def test_wrong_direction_type(self) -> None:
        with pytest.raises(RoutingError, match="undirected"):
            chinese_postman(nx.DiGraph([(0, 1)]))
        with pytest.raises(RoutingError, match="directed"):
            directed_postman(_square(1.0))


class TestCheckPlan:
    def test_catches_uncovered_and_open(self) -> None:
        G = _square(1.5)
        plan = chinese_postman(G, start=0)
        r = plan.routes[0]
        cut = Route(r.start, r.edges[:-1], r.served[:-1], r.cost, r.deadhead_cost)
        with pytest.raises(InfeasibleRouteError, match="not closed"):
            check_route(G, cut)
        lie = Route(r.start, r.edges, r.served, r.cost + 1, r.deadhead_cost)
        with pytest.raises(InfeasibleRouteError, match="stated cost"):
            check_route(G, lie)
        G2 = G.copy()
        G2.add_edge(0, 5, weight=1.0)
        with pytest.raises(InfeasibleRouteError, match="not covered"):
            check_route(G2, r)
