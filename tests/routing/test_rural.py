"""Rural postman: known optima, heuristic against the exact integer program."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from tests.routing.helpers import random_connected_multigraph
from urbangrid.errors import RoutingError, UnreachableError
from urbangrid.routing.postman import chinese_postman
from urbangrid.routing.route import check_plan
from urbangrid.routing.rural import rural_postman, rural_postman_exact


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
