"""Rural postman: known optima, heuristic against the exact integer program."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from typing import Any

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import OptimizeResult

from tests.routing.helpers import brute_force_t_join_cost, random_connected_multigraph
from urbangrid.errors import RoutingError, UnreachableError
from urbangrid.routing.core import matching, rural
from urbangrid.routing.core.matching import min_t_join
from urbangrid.routing.core.plan import check_plan
from urbangrid.routing.core.postman import chinese_postman
from urbangrid.routing.core.rural import rural_postman, rural_postman_exact


def _path(n: int) -> nx.Graph:
    G = nx.path_graph(n)
    nx.set_edge_attributes(G, 1.0, "weight")
    return G


class TestRuralPostman:
    def test_two_pieces_on_a_path(self) -> None:
        G = _path(5)
        req = [(0, 1), (3, 4)]
        plan = rural_postman(G, req, start=0)
        # 0-1 served, 1-2-3 deadhead, 3-4 served, back 4-3-2-1-0
        assert plan.cost == pytest.approx(8.0)
        assert plan.deadhead_cost == pytest.approx(6.0)
        check_plan(G, plan, required=req)
        assert rural_postman_exact(G, req, start=0).cost == pytest.approx(8.0)

    def test_depot_off_the_required_streets(self) -> None:
        G = _path(4)
        plan = rural_postman(G, [(2, 3)], start=0)
        assert plan.cost == pytest.approx(6.0)
        assert plan.routes[0].start == 0
        check_plan(G, plan, required=[(2, 3)])

    def test_connected_required_set_is_optimal(self) -> None:
        G = nx.cycle_graph(6)
        nx.set_edge_attributes(G, 1.0, "weight")
        req = [(0, 1), (1, 2), (2, 3)]
        plan = rural_postman(G, req, start=0)
        assert plan.optimal
        assert plan.cost == pytest.approx(6.0)

    def test_all_required_equals_chinese_postman(self) -> None:
        G = random_connected_multigraph(9, 6, 11)
        req = list(G.edges(keys=True))
        assert rural_postman(G, req).cost == pytest.approx(chinese_postman(G).cost)
        assert rural_postman_exact(G, req).cost == pytest.approx(chinese_postman(G).cost)

    @pytest.mark.parametrize("seed", range(12))
    def test_heuristic_against_exact(self, seed: int) -> None:
        rng = random.Random(seed)
        G = random_connected_multigraph(rng.randint(6, 14), rng.randint(3, 12), seed, integer=True)
        edges = list(G.edges(keys=True))
        req = rng.sample(edges, max(1, len(edges) // 3))
        start = rng.choice(list(G.nodes))
        heur = rural_postman(G, req, start=start)
        exact = rural_postman_exact(G, req, start=start)
        assert exact.optimal
        for plan in (heur, exact):
            assert check_plan(G, plan, required=req) == pytest.approx(plan.cost)
            assert plan.routes[0].start == start
        assert heur.cost >= exact.cost - 1e-9
        assert heur.lower_bound is not None
        assert heur.lower_bound <= exact.cost + 1e-9
        # Frederickson's construction is within 3/2 of the optimum
        assert heur.cost <= 1.5 * exact.cost + 1e-9

    def test_unreachable_required_edge(self) -> None:
        G = _path(3)
        G.add_edge(7, 8, weight=1.0)
        with pytest.raises(UnreachableError, match=r"\(7, 8, 0\)"):
            rural_postman(G, [(0, 1), (7, 8)], start=0)

    def test_unknown_required_edge(self) -> None:
        with pytest.raises(RoutingError, match=r"\(0, 3"):
            rural_postman(_path(4), [(0, 3)])
        with pytest.raises(RoutingError, match="node 9"):
            rural_postman(_path(4), [(0, 9)])

    def test_listed_twice(self) -> None:
        with pytest.raises(RoutingError, match="twice"):
            rural_postman(_path(4), [(0, 1), (1, 0)])


# --- out of time --------------------------------------------------------------------
# HiGHS stopped by its time limit returns its incumbent, which need not be minimal:
# on a clip of the Wuhan walking graph one held a cycle touching no terminal, far
# from the walk, and rural_postman's connectivity assertion fired. These fakes give
# the same answers deterministically: the real solve plus a closed detour, or
# nothing at all.


def _path_and_triangle() -> nx.Graph:
    """Path 0-1-2-3-4 (1 each), a 10-long spur 4-5, triangle 5-6-7 (1 each)."""
    G = nx.Graph()
    G.add_nodes_from(range(8))  # node index == label
    nx.add_path(G, [0, 1, 2, 3, 4], weight=1.0)
    G.add_edge(4, 5, weight=10.0)
    nx.add_cycle(G, [5, 6, 7], weight=1.0)
    return G


def _late_milp(detour: Collection[int] = (), *, found: bool = True, dual: float = 1.0) -> Callable:
    """A ``milp`` stopped by its time limit (status 1): the real solution plus one more
    traversal of every edge between ``detour`` nodes, or no solution (``found=False``)."""
    real = matching.milp

    def fake(c: np.ndarray, **kw: Any) -> OptimizeResult:
        res = real(c, **kw)
        cons = kw["constraints"]
        A = sp.csc_matrix((cons[0] if isinstance(cons, list) else cons).A)
        n = A.shape[0]  # parity rows, one per node; then one z column per node
        x = np.array(res.x)
        for j in range(A.shape[1] - n):
            ends = A[:, j].indices
            if len(ends) == 2 and set(ends.tolist()) <= set(detour):
                x[j] += 1
                x[A.shape[1] - n + ends] += 0.5  # each end gains degree 1
        return OptimizeResult(
            status=1,
            success=False,
            message="Time limit reached",
            x=x if found else None,
            fun=float(c @ x) if found else None,
            mip_dual_bound=dual if found else float("nan"),
        )

    return fake


def _cut_short(monkeypatch: pytest.MonkeyPatch, late: Callable) -> None:
    """T-joins by the (faked) integer program, however few the terminals."""
    monkeypatch.setattr(matching, "MATCHING_MAX_TERMINALS", 0)
    monkeypatch.setattr(matching, "milp", late)


class TestOutOfTime:
    @pytest.mark.parametrize(
        "late",
        [_late_milp({5, 6, 7}), _late_milp(found=False)],
        ids=["incumbent-with-a-far-cycle", "no-incumbent-greedy-join"],
    )
    def test_two_pieces_cut_short_give_a_closed_walk(
        self, late: Callable, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        G = _path_and_triangle()
        req = [(0, 1), (3, 4)]
        _cut_short(monkeypatch, late)
        plan = rural_postman(G, req, start=0, time_limit_s=1.0)
        # the optimum (test_two_pieces_on_a_path): 0-1 served, 1-2-3 deadhead, 3-4
        # served, 4-3-2-1-0 back; the triangle's cycle is dropped, not driven
        assert check_plan(G, plan, required=req) == pytest.approx(8.0)
        assert not plan.optimal
        # required 2 + max(parity bound of {0, 1, 3, 4}: half of 1+1+1+1, pieces' MST 2)
        assert plan.lower_bound == pytest.approx(4.0)

    def test_one_piece_cut_short_is_not_called_optimal(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # one piece, the path itself: the only parity repair is the path back (4)
        G = _path_and_triangle()
        req = [(0, 1), (1, 2), (2, 3), (3, 4)]
        _cut_short(monkeypatch, _late_milp({5, 6, 7}, dual=0.5))
        plan = rural_postman(G, req, start=0, time_limit_s=1.0)
        assert check_plan(G, plan, required=req) == pytest.approx(8.0)
        # the nearest-terminal bound (half of 4 + 4) proves the walk optimal
        assert plan.lower_bound == pytest.approx(8.0)
        assert plan.optimal
        # a star c-t1, c-t2, c-t3 (1 each), c-t4 (5): the odd leaves' nearest others
        # are 2, 2, 2, 6, so the bound is 6, but every pairing costs 2 + 6 = 8
        S = nx.Graph()
        S.add_edges_from([("c", "t1"), ("c", "t2"), ("c", "t3")], weight=1.0)
        S.add_edge("c", "t4", weight=5.0)
        star = list(S.edges)
        monkeypatch.undo()
        plan = rural_postman(S, star, start="c", time_limit_s=1.0)
        assert plan.optimal  # solved in time
        _cut_short(monkeypatch, _late_milp(dual=0.5))
        plan = rural_postman(S, star, start="c", time_limit_s=1.0)
        assert check_plan(S, plan, required=star) == pytest.approx(16.0)
        assert plan.lower_bound == pytest.approx(8.0 + 6.0)
        assert not plan.optimal

    def test_exact_drops_a_detour_and_cuts_no_valid_tour(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        G = _path_and_triangle()
        req = [(0, 1), (3, 4)]
        monkeypatch.setattr(rural, "milp", _late_milp({5, 6, 7}, dual=1.5))
        plan = rural_postman_exact(G, req, start=0, time_limit_s=5.0)
        # a cut round the required edges would force the walk to the triangle (cost 32)
        assert check_plan(G, plan, required=req) == pytest.approx(8.0)
        assert not plan.optimal
        assert plan.lower_bound == pytest.approx(2.0 + 1.5)  # required + dual bound


class TestTJoinOutOfTime:
    def test_cycles_and_idle_pieces_are_removed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        G = _path_and_triangle()
        G.add_edge(1, 3, weight=1.5)  # a cycle 1-2-3 beside the path
        _cut_short(monkeypatch, _late_milp({1, 2, 3, 5, 6, 7}))
        tj = min_t_join(G, [0, 4])
        # a forest inside the incumbent: never dearer, every piece holds a terminal
        assert not tj.optimal
        assert {frozenset(e[:2]) for e in tj.edges} in (
            {frozenset(p) for p in [(0, 1), (1, 3), (3, 4)]},
            {frozenset(p) for p in [(0, 1), (1, 2), (2, 3), (3, 4)]},
        )
        assert tj.cost <= 4.0
        assert tj.lower_bound == pytest.approx(3.5)  # half of 3.5 + 3.5 (via 1-3)

    @pytest.mark.parametrize("seed", range(8))
    def test_greedy_join_and_nearest_terminal_bound(
        self, seed: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        rng = random.Random(seed)
        G = nx.Graph(random_connected_multigraph(rng.randint(6, 12), rng.randint(2, 10), seed))
        T = rng.sample(list(G.nodes), 2 * rng.randint(1, G.number_of_nodes() // 2))
        _cut_short(monkeypatch, _late_milp(found=False))
        tj = min_t_join(G, T)
        odd = {n for n, d in nx.Graph([e[:2] for e in tj.edges]).degree() if d % 2}
        assert odd == set(T)
        dist = dict(nx.all_pairs_dijkstra_path_length(G))
        near = sum(min(dist[t][u] for u in T if u != t) for t in T) / 2
        assert tj.lower_bound == pytest.approx(min(near, tj.cost))
        best = brute_force_t_join_cost(G, T)
        assert tj.lower_bound <= best + 1e-6
        assert best <= tj.cost + 1e-6


class TestTJoinByMatching:
    @pytest.mark.parametrize("seed", range(10))
    def test_matching_and_integer_program_agree(
        self, seed: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        rng = random.Random(100 + seed)
        G = random_connected_multigraph(rng.randint(5, 11), rng.randint(2, 9), seed, integer=True)
        for u, v, k in rng.sample(list(G.edges(keys=True)), 2):
            G.edges[u, v, k]["weight"] = 0.0  # zero-cost streets are edges too
        H = nx.Graph()  # a second component: each needs an even number of terminals
        nx.add_path(H, [100, 101, 102], weight=2.0)
        nodes = sorted(G.nodes)
        G.add_edges_from(H.edges(data=True))
        T = [*rng.sample(nodes, 2 * rng.randint(1, len(nodes) // 2)), 100, 102]
        by_matching = min_t_join(G, T)
        monkeypatch.setattr(matching, "MATCHING_MAX_TERMINALS", 0)
        by_program = min_t_join(G, T)
        # per component: the random graph's pairing, and the path 100-101-102
        best = brute_force_t_join_cost(G.subgraph(nodes), T[:-2]) + 4.0
        for tj in (by_matching, by_program):
            assert tj.optimal
            assert tj.cost == pytest.approx(best)
            assert tj.lower_bound == pytest.approx(best)
            D = nx.MultiGraph([e[:2] for e in tj.edges])
            assert {n for n, d in D.degree() if d % 2} == set(T)
