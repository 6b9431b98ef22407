"""Exact mixed rural postman by integer programming with connectivity cuts.

The patrol route of one collector area is a *mixed rural postman* problem: serve every
required street (a two-way street in either direction, a one-way street along it) in
one closed walk from a depot, on a graph of two-way edges and one-way arcs. For the
small graphs of collector areas (a few hundred to a few thousand arcs) it solves
exactly with an integer program:

* one integer variable per direction a street may be driven (``x ≥ 0`` traversals);
* flow balance at every node (a closed walk leaves each node as often as it enters);
* every required street driven at least once (``x⁺ + x⁻ ≥ 1`` for a two-way street);
* connectivity, added lazily: a set ``S`` of nodes holding required streets but not the
  depot must be left at least once (``Σ x over arcs leaving S ≥ 1``).

Without the cuts the program is a relaxation, so its optimum is a **lower bound** for
the route; when the optimum's traversals are connected and reach the depot they form
an Eulerian multigraph, whose circuit from the depot is an **optimal route**. The
solver is HiGHS (``scipy.optimize.milp``). Costs are the ``weight`` attribute (seconds
for ``time_s``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from urbangrid.routing.core.graphs import EdgeId
from urbangrid.routing.core.plan import Route

__all__ = ["ExactResult", "HopGraph", "hop_graph", "hop_graph_from_arrays",
           "mixed_rural_postman_exact"]


@dataclass(frozen=True)
class ExactResult:
    """Outcome of :func:`mixed_rural_postman_exact`.

    Attributes
    ----------
    route : Route or None
        An optimal closed walk when ``optimal``, else None.
    lower_bound : float
        Proven lower bound on the cost of any closed walk serving the required streets
        from the depot on the graph (the cost itself when ``optimal``).
    optimal : bool
        Whether ``route`` is proven optimal.
    info : dict
        ``cuts`` added, ``solves``, ``seconds``, ``variables``, ``status``.
    """

    route: Route | None
    lower_bound: float
    optimal: bool
    info: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class _Program:
    """The key-node program: variables are the required streets' directions and the
    undominated shortest deadhead paths between key nodes (ends of required streets
    and the depot); ``path[j]`` holds the hops (rows of ``hops``) of deadhead variable ``j``."""

    nodes: list[Hashable]   # the key nodes
    tail: np.ndarray        # key-node index of each variable's tail
    head: np.ndarray
    edge: np.ndarray        # required street (position in ``arcs``) or -1 for deadhead
    forward: np.ndarray     # driven along the arc (else backwards on a two-way street)
    cost: np.ndarray
    arcs: list[EdgeId]      # the required streets
    required: np.ndarray    # positions 0..len(arcs)-1
    path: dict[int, list[tuple[int, int]]]  # rows of ``hops`` passed, in order
    hops: HopGraph


@dataclass(frozen=True)
class HopGraph:
    """The cheapest driven arc between each ordered pair of nodes, as a CSR matrix.

    Built once per graph (:func:`hop_graph`, or :func:`hop_graph_from_arrays` from arc
    arrays a caller already holds) and handed to :func:`mixed_rural_postman_exact` as
    ``hops=``, so many areas of one district share it instead of each converting a
    networkx graph again.

    Attributes
    ----------
    index : dict
        Node → row of ``matrix``.
    matrix : scipy.sparse.csr_matrix
        ``matrix[a, b]``: cost (the weight's unit) of the cheapest arc driven a → b.
    codes : numpy.ndarray
        Sorted ``a * n + b`` of every entry, to find the arc behind it.
    arcs : list of (u, v, key)
        The arc behind each entry of ``codes``, written in the direction driven.
    """

    index: dict[Hashable, int]
    matrix: sp.csr_matrix
    codes: np.ndarray
    arcs: list[EdgeId]

    def arc(self, a: int, b: int) -> EdgeId:
        """The arc driven from row ``a`` to row ``b``."""
        n = self.matrix.shape[0]
        return self.arcs[int(np.searchsorted(self.codes, a * n + b))]


def hop_graph_from_arrays(nodes: Sequence[Hashable], tail: np.ndarray, head: np.ndarray,
                          weight: np.ndarray, oneway: np.ndarray,
                          edges: Sequence[EdgeId]) -> HopGraph:
    """A :class:`HopGraph` from arcs given as arrays (positions into ``nodes``).

    ``edges[i]`` is arc ``i`` as ``(u, v, key)``; a two-way arc (``oneway[i]`` False)
    may also be driven ``v → u`` and is then written ``(v, u, key)``.
    """
    tail = np.asarray(tail, dtype=np.int64)
    head = np.asarray(head, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    back = np.flatnonzero(~np.asarray(oneway, dtype=bool))
    a = np.r_[tail, head[back]]
    b = np.r_[head, tail[back]]
    w = np.r_[weight, weight[back]]
    src = np.r_[np.arange(len(tail)), back]
    rev = np.r_[np.zeros(len(tail), dtype=bool), np.ones(len(back), dtype=bool)]
    keep = a != b
    a, b, w, src, rev = a[keep], b[keep], w[keep], src[keep], rev[keep]
    n = len(nodes)
    code = a * n + b
    order = np.lexsort((w, code))  # per pair, the cheapest first
    first = np.r_[True, code[order][1:] != code[order][:-1]] if len(order) else \
        np.zeros(0, dtype=bool)
    pick = order[first]
    arcs: list[EdgeId] = []
    for i, r in zip(src[pick].tolist(), rev[pick].tolist(), strict=True):
        u, v, k = edges[i]
        arcs.append((v, u, k) if r else (u, v, k))
    mat = sp.csr_matrix((w[pick], (a[pick], b[pick])), shape=(n, n))
    return HopGraph(index={x: i for i, x in enumerate(nodes)}, matrix=mat,
                    codes=code[pick], arcs=arcs)


def hop_graph(G: nx.MultiDiGraph, weight: str = "time_s", oneway: str = "oneway") -> HopGraph:
    """The :class:`HopGraph` of a street graph (``oneway`` False arcs driven both ways)."""
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = list(G.edges(keys=True, data=True))
    return hop_graph_from_arrays(
        nodes, np.array([index[u] for u, *_ in edges], dtype=np.int64),
        np.array([index[v] for _, v, *_ in edges], dtype=np.int64),
        np.array([float(d[weight]) for *_, d in edges]),
        np.array([bool(d.get(oneway)) for *_, d in edges], dtype=bool),
        [(u, v, k) for u, v, k, _ in edges])


def _program(G: nx.MultiDiGraph, required: Sequence[EdgeId], start: Hashable, weight: str,
             oneway: str, hops: HopGraph | None) -> _Program:
    from scipy.sparse.csgraph import dijkstra

    arcs = list(dict.fromkeys(tuple(e) for e in required))
    keys = list(dict.fromkeys([start] + [n for u, v, _k in arcs for n in (u, v)]))
    kidx = {n: i for i, n in enumerate(keys)}
    rows: list[tuple[int, int, int, bool, float]] = []  # tail, head, street, forward, cost
    for pos, (u, v, k) in enumerate(arcs):
        d = G.edges[u, v, k]
        w = float(d[weight])
        rows.append((kidx[u], kidx[v], pos, True, w))
        if not d.get(oneway):
            rows.append((kidx[v], kidx[u], pos, False, w))
    H = hops if hops is not None else hop_graph(G, weight, oneway)
    mat = H.matrix
    src = np.array([H.index[n] for n in keys], dtype=np.int64)
    dist, pred = dijkstra(mat, directed=True, indices=src, return_predecessors=True)
    is_key = np.zeros(mat.shape[0], dtype=bool)
    is_key[src] = True
    path: dict[int, list[tuple[int, int]]] = {}
    for a in range(len(keys)):
        for b in range(len(keys)):
            if a == b or not np.isfinite(dist[a, src[b]]):
                continue
            steps = _walk_back(pred[a], int(src[a]), int(src[b]), is_key)
            if steps is None:  # dominated: the shortest path passes another key node
                continue
            path[len(rows)] = steps
            rows.append((a, b, -1, True, float(dist[a, src[b]])))
    tail, head, edge, fwd, cost = zip(*rows, strict=True)
    return _Program(nodes=keys, tail=np.array(tail, dtype=np.int64),
                    head=np.array(head, dtype=np.int64), edge=np.array(edge, dtype=np.int64),
                    forward=np.array(fwd, dtype=bool), cost=np.array(cost, dtype=np.float64),
                    arcs=arcs, required=np.arange(len(arcs), dtype=np.int64), path=path,
                    hops=H)


def _walk_back(pred: np.ndarray, a: int, b: int, is_key: np.ndarray
               ) -> list[tuple[int, int]] | None:
    """Hops of the shortest path a → b, or None when it passes another key node."""
    hops = []
    node = b
    while node != a:
        p = int(pred[node])
        if p < 0:
            return None
        hops.append((p, node))
        if p != a and is_key[p]:
            return None
        node = p
    return hops[::-1]


def _base_constraints(P: _Program) -> list[LinearConstraint]:
    n, m = len(P.nodes), len(P.cost)
    cols = np.arange(m)
    bal = sp.csr_matrix((np.r_[np.ones(m), -np.ones(m)],
                         (np.r_[P.tail, P.head], np.r_[cols, cols])), shape=(n, m))
    hit = P.edge >= 0
    cover = sp.csr_matrix((np.ones(int(hit.sum())), (P.edge[hit], cols[hit])),
                          shape=(len(P.required), m))
    return [LinearConstraint(bal, 0.0, 0.0), LinearConstraint(cover, 1.0, np.inf)]


def _components(P: _Program, x: np.ndarray, depot: int) -> tuple[int, np.ndarray, list[int]]:
    """Components of the traversed arcs (undirected); the labels of those holding a
    required street or the depot."""
    n = len(P.nodes)
    used = x > 0.5
    g = sp.coo_matrix((np.ones(int(used.sum())), (P.tail[used], P.head[used])), shape=(n, n))
    k, labels = connected_components(g, directed=False)
    first = P.tail[P.edge >= 0]  # a node of each required street
    need = sorted({int(labels[i]) for i in first.tolist()} | {int(labels[depot])})
    return k, labels, need


def _cut(P: _Program, inside: np.ndarray) -> LinearConstraint:
    """Σ x over the variables leaving the node set ``inside`` ≥ 1."""
    leave = inside[P.tail] & ~inside[P.head]
    row = sp.csr_matrix(leave.astype(np.float64)[None, :])
    return LinearConstraint(row, 1.0, np.inf)


def _circuit(P: _Program, x: np.ndarray, depot: int, required: set[int]) -> Route:
    """The Eulerian circuit of the traversals ``x`` from ``depot``, first passes serving."""
    M = nx.MultiDiGraph()
    for j in np.flatnonzero(x > 0.5).tolist():
        for c in range(int(x[j] + 0.5)):
            M.add_edge(int(P.tail[j]), int(P.head[j]), key=(j, c))
    edges: list[EdgeId] = []
    served: list[bool] = []
    seen: set[int] = set()
    cost = dead = 0.0
    for _a, _b, (j, _c) in nx.eulerian_circuit(M, source=depot, keys=True):
        e = int(P.edge[j])
        if e < 0:
            edges += [P.hops.arc(a, b) for a, b in P.path[j]]
            served += [False] * len(P.path[j])
            dead += float(P.cost[j])
        else:
            u, v, k = P.arcs[e]
            edges.append((u, v, k) if P.forward[j] else (v, u, k))
            serve = e not in seen
            seen.add(e)
            served.append(serve)
            dead += 0.0 if serve else float(P.cost[j])
        cost += float(P.cost[j])
    return Route(start=P.nodes[depot], edges=tuple(edges), served=tuple(served), cost=cost,
                 deadhead_cost=dead)


def _solve(cost: np.ndarray, cons: list[LinearConstraint], time_limit_s: float,
           node_limit: int | None = None) -> Any:
    """The integer program's optimum: its LP relaxation when that is integral (the flow
    structure makes it so for most areas, and an LP solves several times faster), else
    branch and bound."""
    m = len(cost)
    lp = milp(cost, integrality=np.zeros(m), bounds=Bounds(0, np.inf), constraints=cons,
              options={"time_limit": time_limit_s, "presolve": False})
    if lp.x is not None and lp.status == 0 and np.allclose(lp.x, np.round(lp.x), atol=1e-7):
        return lp
    return milp(cost, integrality=np.ones(m), bounds=Bounds(0, np.inf), constraints=cons,
                options={"time_limit": time_limit_s, "mip_rel_gap": 0.0,
                         **({} if node_limit is None else {"node_limit": node_limit})})


def mixed_rural_postman_exact(
    G: nx.MultiDiGraph,
    required: Sequence[EdgeId],
    *,
    start: Hashable,
    weight: str = "time_s",
    oneway: str = "oneway",
    time_limit_s: float = 2.0,
    max_cuts: int = 50,
    max_variables: int | None = None,
    hops: HopGraph | None = None,
    node_limit: int | None = None,
) -> ExactResult:
    """Optimal closed walk from ``start`` serving ``required`` on a mixed graph, or a bound.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        One arc per street: ``oneway`` False streets may be driven both ways (an arc
        driven backwards is written ``(v, u, key)`` in the route), True ones only along.
    required : sequence of (u, v, key)
        Arcs of ``G`` to serve.
    start : hashable
        Depot node.
    weight : str
        Cost attribute (e.g. ``time_s``, seconds).
    oneway : str
        One-way flag attribute.
    time_limit_s : float
        Seconds for all solves together; on time out the best proven bound is returned.
    max_cuts : int
        Rounds of connectivity cuts before giving up on optimality.
    max_variables : int, optional
        Give up at once (no route, bound 0) when the key-node program has more
        variables: branch and bound grows quickly past a few hundred.
    hops : HopGraph, optional
        The deadhead graph, built once by the caller (:func:`hop_graph_from_arrays`);
        default :func:`hop_graph` of ``G``. ``G`` then only gives the required arcs'
        weight and one-way flag, and deadhead paths run on ``hops``.
    node_limit : int, optional
        Branch-and-bound nodes per solve: a budget that, unlike ``time_limit_s``, gives
        the same answer on a busy machine (keep the time limit as a backstop).

    Returns
    -------
    ExactResult
    """
    t0 = time.perf_counter()
    P = _program(G, required, start, weight, oneway, hops)
    depot = 0
    m = len(P.cost)
    if max_variables is not None and m > max_variables:
        return ExactResult(route=None, lower_bound=0.0, optimal=False,
                           info={"variables": m, "cuts": 0, "solves": 0, "status": "too big"})
    cons = _base_constraints(P)
    bound = 0.0
    info: dict[str, Any] = {"variables": m, "cuts": 0, "solves": 0, "status": "time limit"}
    for _ in range(max_cuts + 1):
        left = time_limit_s - (time.perf_counter() - t0)
        if left <= 0:
            break
        res = _solve(P.cost, cons, left, node_limit)
        info["solves"] += 1
        if res.x is None or res.status != 0:
            dual = getattr(res, "mip_dual_bound", None)
            if dual is not None and math.isfinite(dual):
                bound = max(bound, float(dual))
            break
        bound = max(bound, float(res.fun))
        x = np.round(res.x)
        k, labels, need = _components(P, x, depot)
        if len(need) == 1:
            info.update(status="optimal", seconds=time.perf_counter() - t0)
            route = _circuit(P, x, depot, set(P.required.tolist()))
            return ExactResult(route=route, lower_bound=bound, optimal=True, info=info)
        for c in need:
            if c != labels[depot]:
                cons.append(_cut(P, labels == c))
                info["cuts"] += 1
        del k
    info["seconds"] = time.perf_counter() - t0
    return ExactResult(route=None, lower_bound=bound, optimal=False, info=info)
