"""Certified T-joins: the sparse matching program, its lifted dual and the checker."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from urbangrid.errors import RoutingError
from urbangrid.routing.core.postman import chinese_postman
from urbangrid.routing.core.tjoin import (
    TJoinCertificate,
    certified_t_join,
    check_t_join_certificate,
)


def _geometric(seed: int, nodes: int, scale: float | None = None) -> tuple:
    G = nx.random_geometric_graph(nodes, 1.7 / math.sqrt(nodes), seed=seed)
    G = G.subgraph(max(nx.connected_components(G), key=len)).copy()
    pos = nx.get_node_attributes(G, "pos")
    idx = {v: i for i, v in enumerate(G)}
    a = np.array([idx[u] for u, _ in G.edges])
    b = np.array([idx[v] for _, v in G.edges])
    w = np.array([math.dist(pos[u], pos[v]) for u, v in G.edges])
    if scale is not None:
        w = np.round(w * scale)
    n = len(idx)
    terminal = (np.bincount(a, minlength=n) + np.bincount(b, minlength=n)) % 2 == 1
    return n, a, b, w, terminal


def _networkx_join_cost(n: int, a, b, w, terminal) -> float:
    """Reference: networkx's exact matching on all-pairs shortest-path distances."""
    H = nx.Graph()
    H.add_weighted_edges_from(zip(a.tolist(), b.tolist(), w.tolist(), strict=True))
    T = np.flatnonzero(terminal).tolist()
    K = nx.Graph()
    for i, s in enumerate(T):
        d = nx.single_source_dijkstra_path_length(H, s)
        K.add_weighted_edges_from((s, t, d[t]) for t in T[i + 1 :])
    return sum(K[u][v]["weight"] for u, v in nx.min_weight_matching(K))


def _parity_ok(n: int, a, b, edges, terminal) -> bool:
    deg = np.bincount(a[edges], minlength=n) + np.bincount(b[edges], minlength=n)
    return bool(np.array_equal(deg % 2 == 1, terminal))


class TestCertifiedTJoin:
    @pytest.mark.parametrize("seed", range(8))
    def test_equals_networkx_matching_with_certificate(self, seed: int) -> None:
        n, a, b, w, terminal = _geometric(seed, 150)
        res = certified_t_join(n, a, b, w, terminal)
        assert res is not None and res.optimal
        assert _parity_ok(n, a, b, res.edges, terminal)
        assert res.cost == pytest.approx(_networkx_join_cost(n, a, b, w, terminal), rel=1e-9)
        assert res.certificate is not None
        bound = check_t_join_certificate(n, a, b, w, terminal, res.certificate)
        assert bound == pytest.approx(res.cost, rel=1e-8)
        assert bound <= res.cost * (1 + 1e-12)

    @pytest.mark.parametrize("seed", range(3))
    def test_integer_weights_are_proven_exactly(self, seed: int) -> None:
        # whole decimetres: a bound above cost - 1 leaves no cheaper integer join
        n, a, b, w, terminal = _geometric(seed, 150, scale=1000.0)
        res = certified_t_join(n, a, b, w, terminal)
        assert res is not None and res.exact
        assert res.cost == pytest.approx(_networkx_join_cost(n, a, b, w, terminal))

    def test_no_terminals(self) -> None:
        res = certified_t_join(3, np.array([0, 1]), np.array([1, 2]), np.ones(2), np.zeros(3, bool))
        assert res is not None and res.cost == 0.0 and len(res.edges) == 0

    def test_two_terminals_on_a_path(self) -> None:
        # no odd cluster of 3 or more to seed the program with
        a, b, w = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])
        res = certified_t_join(4, a, b, w, np.array([True, False, False, True]))
        assert res is not None and res.optimal and res.exact
        assert res.cost == 6.0 and sorted(res.edges.tolist()) == [0, 1, 2]

    def test_postman_carries_certificate(self) -> None:
        G = nx.MultiGraph(nx.random_geometric_graph(220, 0.12, seed=1))
        G = G.subgraph(max(nx.connected_components(G), key=len)).copy()
        pos = nx.get_node_attributes(G, "pos")
        for u, v, k in G.edges(keys=True):
            G.edges[u, v, k]["length"] = math.dist(pos[u], pos[v])
        plan = chinese_postman(G, weight="length")
        assert plan.optimal
        assert isinstance(plan.info["certificate"], TJoinCertificate)
        total = math.fsum(d["length"] for *_, d in G.edges(data=True))
        assert plan.lower_bound == pytest.approx(total + plan.info["t_join_bound"])
        assert plan.lower_bound <= plan.cost * (1 + 1e-12)


class TestChecker:
    def _path(self) -> tuple:
        # 0 -1- 1 -2- 2 -3- 3, terminals 0 and 3: the join is the whole path, cost 6
        return 4, np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])

    def test_moats_prove_the_path(self) -> None:
        n, a, b, w = self._path()
        T = np.array([True, False, False, True])
        # sets: {0} y=1, {0,1} y=2, {0,1,2} y=3 (children first, each the next one's child)
        sets = np.array([1, 2, -1])
        cert = TJoinCertificate(sets, np.array([0, 1, 2, -1]), np.array([1.0, 2.0, 3.0]))
        assert check_t_join_certificate(n, a, b, w, T, cert) == pytest.approx(6.0)

    def test_overload_scales_the_bound_down(self) -> None:
        n, a, b, w = self._path()
        T = np.array([True, False, False, True])
        cert = TJoinCertificate(np.array([-1]), np.array([0, -1, -1, -1]), np.array([2.0]))
        # edge (0, 1) weighs 1 but carries 2: the bound halves
        assert check_t_join_certificate(n, a, b, w, T, cert) == pytest.approx(1.0)

    def test_even_set_is_refused(self) -> None:
        n, a, b, w = self._path()
        T = np.array([True, True, True, True])
        cert = TJoinCertificate(np.array([-1]), np.array([0, 0, -1, -1]), np.array([1.0]))
        with pytest.raises(RoutingError, match="even number"):
            check_t_join_certificate(n, a, b, w, T, cert)

    def test_bad_numbering_and_values_are_refused(self) -> None:
        n, a, b, w = self._path()
        T = np.array([True, False, False, True])
        with pytest.raises(RoutingError, match="children-first"):
            check_t_join_certificate(
                n, a, b, w, T, TJoinCertificate(np.array([0]), np.full(4, -1), np.array([1.0]))
            )
        with pytest.raises(RoutingError, match=">= 0"):
            check_t_join_certificate(
                n, a, b, w, T, TJoinCertificate(np.array([-1]), np.full(4, -1), np.array([-1.0]))
            )
