"""Brute-force references and graph makers for the routing tests."""

from __future__ import annotations

import functools
import random

import networkx as nx


def brute_force_cpp_cost(G: nx.Graph, weight: str = "weight") -> float:
    """Edge total plus the minimum perfect matching of odd nodes, by exhaustive pairing."""
    odd = [n for n, d in G.degree() if d % 2]
    dist = dict(nx.all_pairs_dijkstra_path_length(G, weight=weight))

    @functools.cache
    def best(rest: frozenset) -> float:
        if not rest:
            return 0.0
        a = min(rest)
        others = rest - {a}
        return min(dist[a][b] + best(others - {b}) for b in others)

    return sum(d[weight] for *_, d in G.edges(data=True)) + best(frozenset(odd))


def brute_force_t_join_cost(G: nx.Graph, terminals: list, weight: str = "weight") -> float:
    """Minimum perfect matching of ``terminals`` on shortest-path distances, exhaustively."""
    dist = dict(nx.all_pairs_dijkstra_path_length(G, weight=weight))

    @functools.cache
    def best(rest: frozenset) -> float:
        if not rest:
            return 0.0
        a = min(rest)
        others = rest - {a}
        return min(dist[a][b] + best(others - {b}) for b in others)

    return best(frozenset(terminals))


def matching_cpp_cost(G: nx.Graph, weight: str = "weight") -> float:
    """Edge total plus networkx's exact blossom matching on the odd nodes' distances."""
    odd = [n for n, d in G.degree() if d % 2]
    K = nx.Graph()
    for i, a in enumerate(odd):
        dist = nx.single_source_dijkstra_path_length(G, a, weight=weight)
        for b in odd[i + 1 :]:
            K.add_edge(a, b, weight=dist[b])
    M = nx.min_weight_matching(K, weight="weight")
    base = sum(d[weight] for *_, d in G.edges(data=True))
    return base + sum(K[a][b]["weight"] for a, b in M)


def random_connected_multigraph(
    n: int, extra: int, seed: int, *, integer: bool = False
) -> nx.MultiGraph:
    """A random spanning tree plus ``extra`` random edges (parallel edges allowed)."""
    rng = random.Random(seed)
    G = nx.MultiGraph()
    G.add_nodes_from(range(n))

    def w() -> float:
        return float(rng.randint(1, 20)) if integer else round(rng.uniform(1, 100), 3)

    for v in range(1, n):
        G.add_edge(rng.randrange(v), v, weight=w())
    for _ in range(extra):
        a, b = rng.sample(range(n), 2)
        G.add_edge(a, b, weight=w())
    return G
