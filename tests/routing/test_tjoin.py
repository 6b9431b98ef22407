"""Certified T-joins: the sparse matching program, its lifted dual and the checker."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from urbangrid.errors import RoutingError
from urbangrid.routing.core._blossom import min_cost_perfect_matching
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


def _random_graph(rng: np.random.Generator) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    n = int(rng.integers(1, 16)) * 2
    p = rng.uniform(0.1, 1.0)
    iu, ju = np.triu_indices(n, 1)
    keep = rng.random(len(iu)) < p
    top = int(rng.choice([2, 10, 1000, 2**40]))  # many ties up to near the 64-bit limit
    return n, iu[keep], ju[keep], rng.integers(0, top, int(keep.sum())).astype(np.int64)


def _chain(inner: np.ndarray, parent: np.ndarray, v: int) -> set[int]:
    """The blossoms holding ``v``."""
    out, x = set(), int(inner[v])
    while x >= 0:
        out.add(x)
        x = int(parent[x])
    return out


class TestBlossomKernel:
    """The compiled primal-dual matching against networkx's, and its exact dual."""

    @pytest.mark.parametrize("seed", range(6))
    def test_random_graphs_match_networkx_with_a_tight_dual(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(60):
            n, a, b, c = _random_graph(rng)
            mate, y2, parent, z2, inner, _ = min_cost_perfect_matching(n, a, b, c)
            G = nx.Graph()
            G.add_nodes_from(range(n))
            G.add_weighted_edges_from(zip(a.tolist(), b.tolist(), (-c).tolist(), strict=True))
            ref = nx.max_weight_matching(G, maxcardinality=True)
            assert int((mate >= 0).sum()) == 2 * len(ref)
            assert all(mate[mate[v]] == v for v in np.flatnonzero(mate >= 0))
            if 2 * len(ref) < n:
                continue
            cost = sum(int(c[k]) for k in range(len(a)) if mate[a[k]] == b[k])
            assert cost == -sum(G[u][v]["weight"] for u, v in ref)

            # y_u + y_v + Σ z over the blossoms holding one end <= cost, exactly
            assert (z2 >= 0).all() and (parent[parent >= 0] > np.flatnonzero(parent >= 0)).all()
            for u, v, ck in zip(a.tolist(), b.tolist(), c.tolist(), strict=True):
                sep = _chain(inner, parent, u) ^ _chain(inner, parent, v)
                load = int(y2[u]) + int(y2[v]) + sum(int(z2[x]) for x in sep)
                assert load <= 2 * ck
                if mate[u] == v:
                    assert load == 2 * ck
            assert sum(y2.tolist()) + sum(z2.tolist()) == 2 * cost

    def test_empty_and_single_edge(self) -> None:
        e = np.zeros(0, np.int64)
        assert len(min_cost_perfect_matching(0, e, e, e)[0]) == 0
        mate, y2, *_ = min_cost_perfect_matching(2, np.array([0]), np.array([1]), np.array([7]))
        assert mate.tolist() == [1, 0] and int(y2.sum()) == 14


class TestCertifiedTJoin:
    @pytest.mark.parametrize("seed", range(8))
    def test_equals_networkx_matching_with_certificate(self, seed: int) -> None:
        n, a, b, w, terminal = _geometric(seed, 150)
        res = certified_t_join(n, a, b, w, terminal)
        assert res is not None and res.optimal
        assert res.info.get("compiled") == 1.0  # the blossom's dual, no linear program
        assert _parity_ok(n, a, b, res.edges, terminal)
        assert res.cost == pytest.approx(_networkx_join_cost(n, a, b, w, terminal), rel=1e-9)
        assert res.certificate is not None
        bound = check_t_join_certificate(n, a, b, w, terminal, res.certificate)
        assert bound == pytest.approx(res.cost, rel=1e-8)
        assert bound <= res.cost * (1 + 1e-12)

    @pytest.mark.parametrize("seed", range(3))
    def test_matching_program_fallback_agrees(self, seed: int) -> None:
        # the linear-program path, kept for when the compiled blossom cannot certify
        n, a, b, w, terminal = _geometric(seed, 150)
        res = certified_t_join(n, a, b, w, terminal, method="lp")
        assert res is not None and res.optimal and "compiled" not in res.info
        assert res.cost == pytest.approx(_networkx_join_cost(n, a, b, w, terminal), rel=1e-9)
        with pytest.raises(ValueError, match="method"):
            certified_t_join(n, a, b, w, terminal, method="simplex")

    @pytest.mark.parametrize("seed", range(3))
    def test_integer_weights_are_proven_exactly(self, seed: int) -> None:
        # whole decimetres: a bound above cost - 1 leaves no cheaper integer join
        n, a, b, w, terminal = _geometric(seed, 150, scale=1000.0)
        res = certified_t_join(n, a, b, w, terminal)
        assert res is not None and res.exact
        assert res.cost == pytest.approx(_networkx_join_cost(n, a, b, w, terminal))

    @pytest.mark.parametrize("seed", range(12))
    def test_small_graphs_with_ties_and_zero_weights(self, seed: int) -> None:
        # whole units with zeros: ties everywhere, and the floors of the integer costs
        n, a, b, w, terminal = _geometric(100 + seed, 60, scale=3.0)
        res = certified_t_join(n, a, b, w, terminal)
        assert res is not None and res.optimal and res.exact
        assert _parity_ok(n, a, b, res.edges, terminal)
        assert res.cost == pytest.approx(_networkx_join_cost(n, a, b, w, terminal), abs=1e-9)
        assert res.certificate is not None
        bound = check_t_join_certificate(n, a, b, w, terminal, res.certificate)
        assert res.cost - 1 < bound <= res.cost * (1 + 1e-12)

    @pytest.mark.parametrize("leaves", [40, 200])
    def test_star_of_tied_leaves(self, leaves: int) -> None:
        # every leaf's nearest terminals tie: the first candidates hold no perfect matching
        a, b = np.zeros(leaves, np.int64), np.arange(1, leaves + 1)
        T = np.r_[False, np.ones(leaves, bool)]
        res = certified_t_join(leaves + 1, a, b, np.full(leaves, 3.0), T)
        assert res is not None and res.optimal and res.info.get("compiled") == 1.0
        assert res.cost == 3.0 * leaves

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
