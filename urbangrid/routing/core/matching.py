"""Minimum-weight T-joins: the exact parity repair behind every postman tour.

A *T-join* is a set of edges whose odd-degree nodes are exactly the terminal set
``T``. Making a graph Eulerian at least cost means adding a minimum-weight T-join
with ``T`` the odd-degree nodes; this is the same problem as the minimum-weight
perfect matching of ``T`` on shortest-path distances (Edmonds & Johnson), but
solved on the sparse street graph itself, without the ``|T|²`` distance table.

:func:`certified_t_join_arrays` is tried first by the Chinese postman: a compiled
primal-dual blossom matching of sparse candidate pairs whose exact dual, lifted to
the street graph, is an optimality certificate checked independently
(:mod:`urbangrid.routing.core.tjoin`). When it does not finish in time, the solver
is an integer program on the street graph,
solved to a zero gap by HiGHS through :func:`scipy.optimize.milp`::

    min  Σ_e w_e x_e
    s.t. Σ_{e ∈ δ(v)} x_e − 2 z_v = [v ∈ T]    for every node v
         x_e ∈ {0, 1},  z_v ∈ {0, …, ⌊deg(v) / 2⌋}

(an edge is never needed twice: dropping two copies keeps every parity and costs
nothing more). With few terminals (at most :data:`MATCHING_MAX_TERMINALS`) the join
is instead the shortest paths of a minimum perfect matching of ``T`` (networkx's
blossom on a table of ``|T|²`` distances): the program's relaxation is weak when the
terminals are few and far apart, and HiGHS spent over 20 s without proof on a
14-terminal join of a 5,430-edge Wuhan clip that the matching solves in 0.01 s.
HiGHS closes the branch-and-bound tree with a dual bound equal to the
incumbent, which is the optimality proof; :attr:`TJoin.lower_bound` keeps that
bound. The tests compare the result with brute-force matching on tiny graphs and
with networkx's exact blossom matching on mid-size ones.

References
----------
.. [1] J. Edmonds, E. L. Johnson. Matching, Euler tours and the Chinese postman.
   Mathematical Programming 5:88-124, 1973.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

from urbangrid.errors import RoutingError
from urbangrid.routing.core.graphs import EdgeId, check_node, index_graph
from urbangrid.routing.core.tjoin import CertifiedTJoin, certified_t_join

__all__ = ["MATCHING_MAX_TERMINALS", "TJoin", "certified_t_join_arrays", "min_t_join"]

#: Up to this many terminals the join comes from an exact matching, not the integer
#: program: networkx's blossom takes 0.04 s for 50 terminals, 0.5 s for 100 and
#: 16 s for 300 (measured on a Wuhan clip), and one Dijkstra run per terminal.
MATCHING_MAX_TERMINALS = 64

#: From this many terminals the certified T-join (compiled blossom, see
#: :mod:`urbangrid.routing.core.tjoin`) is tried before the integer program: 0.25 s
#: for Cambridge MA's 1,498 odd nodes where the program took 95 s.
CERTIFIED_MIN_TERMINALS = 65


@dataclass(frozen=True)
class TJoin:
    """A T-join and its optimality evidence.

    Attributes
    ----------
    edges : list of (u, v, key)
        Edges of the join, each used once.
    cost : float
        Sum of their weights.
    lower_bound : float
        Proven lower bound on the minimum T-join cost.
    optimal : bool
        Whether ``cost`` is proven minimal (to HiGHS's zero relative gap).
    """

    edges: list[EdgeId]
    cost: float
    lower_bound: float
    optimal: bool


def min_t_join(
    G: nx.Graph,
    terminals: Iterable[Hashable],
    *,
    weight: str = "weight",
    time_limit_s: float = 60.0,
) -> TJoin:
    """Find a minimum-weight T-join of an undirected graph.

    Parameters
    ----------
    G : networkx.Graph or networkx.MultiGraph
        Undirected graph; ``weight`` must be finite and non-negative on every edge.
    terminals : iterable of node
        The set ``T``; a node listed twice cancels out.
    weight : str
        Edge attribute holding the cost (metres or seconds).
    time_limit_s : float
        Seconds for the integer program. When it runs out, the best join found is
        returned with ``optimal=False`` (or a greedy nearest-terminal join), its
        cycles removed, with a proven ``lower_bound``.

    Returns
    -------
    TJoin

    Raises
    ------
    RoutingError
        If ``G`` is directed, a terminal is not a node, or a connected component
        holds an odd number of terminals (no T-join exists).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.path_graph(4)
    >>> nx.set_edge_attributes(G, 1.0, "weight")
    >>> min_t_join(G, [0, 3]).cost
    3.0
    """
    if G.is_directed():
        msg = "min_t_join needs an undirected graph"
        raise RoutingError(msg)
    ig = index_graph(G, weight)
    mask = np.zeros(ig.n, dtype=bool)
    for t in terminals:
        check_node(G, t, "terminal")
        mask[ig.index[t]] ^= True
    chosen, cost, lb, opt = t_join_arrays(ig.n, ig.tail, ig.head, ig.w, mask, time_limit_s)
    return TJoin([ig.ids[e] for e in chosen], cost, lb, opt)


def _cheapest_per_pair(
    tail: np.ndarray, head: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loops dropped and, per node pair, only the cheapest edge kept (only it can be in
    a minimum T-join): the pair as (smaller node, larger node) and the edge positions."""
    keep = np.flatnonzero(tail != head)
    a = np.minimum(tail[keep], head[keep])
    b = np.maximum(tail[keep], head[keep])
    order = np.lexsort((w[keep], b, a))
    a, b, pos = a[order], b[order], keep[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    return a[first], b[first], pos[first]


def t_join_arrays(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    w: np.ndarray,
    terminal: np.ndarray,
    time_limit_s: float,
) -> tuple[list[int], float, float, bool]:
    """Array form of :func:`min_t_join`: returns edge positions, cost, bound, optimal.

    From :data:`CERTIFIED_MIN_TERMINALS` terminals the certified T-join is tried first
    (its bound checked, see :func:`certified_t_join_arrays`). The join is a forest
    whose every piece holds a terminal, also when the time limit cuts the search
    short (then ``optimal`` is False and the bound is the larger of HiGHS's dual
    bound and half the sum of nearest-terminal distances).
    """
    if not terminal.any():
        return [], 0.0, 0.0, True
    a, b, pos = _cheapest_per_pair(tail, head, w)
    m = len(pos)
    cw = w[pos]
    adj = sp.csr_matrix((np.ones(m), (a, b)), shape=(n, n))
    ncomp, label = connected_components(adj, directed=False)
    odd = np.bincount(label, weights=terminal.astype(float), minlength=ncomp) % 2 == 1
    if odd.any():
        msg = (
            f"no T-join: a connected component holds an odd number of terminals "
            f"({int(odd.sum())} such components)"
        )
        raise RoutingError(msg)
    if terminal.sum() <= MATCHING_MAX_TERMINALS:
        exact = _forest_join(n, a, b, cw, _matching_join(n, a, b, cw, terminal), terminal)
        chosen = [int(p) for p in pos[exact]]
        cost = math.fsum(float(w[p]) for p in chosen)
        return chosen, cost, cost, True
    if terminal.sum() >= CERTIFIED_MIN_TERMINALS:
        cert = certified_t_join_arrays(n, tail, head, w, terminal, time_limit_s)
        if cert is not None:
            chosen, cost, res = cert
            return chosen, cost, min(res.bound, cost), True
    inc = sp.csr_matrix(
        (np.ones(2 * m), (np.r_[a, b], np.r_[np.arange(m), np.arange(m)])), shape=(n, m)
    )
    deg = np.asarray(inc.sum(axis=1)).ravel()
    A = sp.hstack([inc, -2.0 * sp.eye(n, format="csr")], format="csr")
    rhs = terminal.astype(float)
    res = milp(
        np.r_[cw, np.zeros(n)],
        integrality=np.ones(m + n),
        bounds=Bounds(np.zeros(m + n), np.r_[np.ones(m), np.floor(deg / 2)]),
        constraints=LinearConstraint(A, rhs, rhs),
        options={"time_limit": max(0.1, float(time_limit_s)), "mip_rel_gap": 0.0, "disp": False},
    )
    sel: np.ndarray | None = None
    optimal = False
    if res.x is not None:
        x = np.round(res.x[:m]).astype(np.int64)
        cand = np.flatnonzero(x == 1)
        par = (np.bincount(a[cand], minlength=n) + np.bincount(b[cand], minlength=n)) % 2 == 1
        if np.array_equal(par, terminal):
            sel = cand
            optimal = res.status == 0
    if sel is None:
        sel = np.asarray(_greedy_join(n, a, b, cw, terminal), dtype=np.int64)
    # an incumbent cut short by the time limit (or the greedy XOR of paths) may hold
    # cycles, even whole pieces far from every terminal; callers that join the walk
    # through the terminals (rural_postman) need every piece to touch one
    sel = _forest_join(n, a, b, cw, sel, terminal)
    chosen = [int(p) for p in pos[sel]]
    cost = math.fsum(float(w[p]) for p in chosen)
    if optimal:
        # HiGHS proves optimality to its tolerances; the exact bound is then the cost
        return chosen, cost, cost, True
    # the solve's dual bound holds whether or not it found a solution; the nearest-
    # terminal bound holds always and is what is left when HiGHS stops at its root
    bound = getattr(res, "mip_dual_bound", None)
    lb = float(bound) if bound is not None and math.isfinite(bound) else 0.0
    lb = max(lb, _nearest_terminal_bound(n, a, b, cw, terminal))
    return chosen, cost, min(lb, cost), False


def certified_t_join_arrays(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    w: np.ndarray,
    terminal: np.ndarray,
    time_limit_s: float,
) -> tuple[list[int], float, CertifiedTJoin] | None:
    """Minimum T-join with a checked dual certificate, or None (then use :func:`t_join_arrays`).

    Parallel edges and loops are reduced to the cheapest edge per node pair (the
    certificate is checked on that simple graph, whose T-joins cost the same);
    returns the input edge positions, the cost and the certified result. See
    :mod:`urbangrid.routing.core.tjoin`.
    """
    a, b, pos = _cheapest_per_pair(tail, head, w)
    res = certified_t_join(n, a, b, w[pos], terminal, time_limit_s=time_limit_s)
    if res is None or not res.optimal:
        return None
    sel = _forest_join(n, a, b, w[pos], res.edges, terminal)
    chosen = [int(p) for p in pos[sel]]
    return chosen, math.fsum(float(w[p]) for p in chosen), res


def _forest_join(
    n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, sel: np.ndarray, terminal: np.ndarray
) -> np.ndarray:
    """The T-join inside the T-join ``sel`` that is a forest (never dearer: a subset).

    Every piece of ``sel`` holds an even number of terminals, so a spanning tree of
    the piece holds exactly one T-join: the tree edges below which an odd number of
    terminals lie. The cycles of ``sel`` go, and so do its pieces with no terminal;
    every piece of the result holds a terminal. The spanning tree is the minimum one,
    to keep the cheap edges of each cycle.
    """
    if len(sel) == 0:
        return sel
    sa, sb = a[sel], b[sel]
    # +1 on every weight: the same tree (every spanning forest of the pieces has the
    # same number of edges), and scipy's spanning tree would drop zero weights
    J = sp.csr_matrix((w[sel] + 1.0, (sa, sb)), shape=(n, n))
    T = minimum_spanning_tree(J).tocoo()
    edge_of = {(int(x), int(y)): int(e) for x, y, e in zip(sa, sb, sel, strict=True)}
    adj: dict[int, list[tuple[int, int]]] = {}
    for x, y in zip(T.row.tolist(), T.col.tolist(), strict=True):
        e = edge_of[(min(x, y), max(x, y))]
        adj.setdefault(x, []).append((y, e))
        adj.setdefault(y, []).append((x, e))
    # breadth-first order from a root per piece; leaves first, each node passes
    # its parity up through the edge to its parent
    parent: dict[int, tuple[int, int]] = {}
    order: list[int] = []
    for root in adj:
        if root in parent:
            continue
        parent[root] = (-1, -1)
        order.append(root)
        i = len(order) - 1
        while i < len(order):
            x = order[i]
            i += 1
            for y, e in adj[x]:
                if y not in parent:
                    parent[y] = (x, e)
                    order.append(y)
    odd = terminal.copy()
    keep: list[int] = []
    for x in reversed(order):
        up, e = parent[x]
        if odd[x] and up >= 0:
            keep.append(e)
            odd[up] ^= True
    return np.asarray(sorted(keep), dtype=np.int64)


def _nearest_terminal_bound(
    n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, terminal: np.ndarray
) -> float:
    """Half the sum of each terminal's distance to its nearest other terminal.

    A minimum T-join costs as much as a minimum perfect matching of the terminals on
    shortest-path distances, and a matched pair ``(t, u)`` costs ``d(t, u) >=
    (near(t) + near(u)) / 2``. One Dijkstra run from all terminals gives every
    ``near(t)``: the shortest path from ``t`` to its nearest other terminal leaves
    ``t``'s Voronoi cell through an edge ``(x, y)``, and ``d(t, x) + w + d(y)`` is
    its length (Mehlhorn's boundary-edge argument).
    """
    A = sp.csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    T = np.flatnonzero(terminal)
    d, _, src = dijkstra(A, directed=False, indices=T, min_only=True, return_predecessors=True)
    cross = (src[a] != src[b]) & (src[a] >= 0) & (src[b] >= 0)
    length = d[a[cross]] + w[cross] + d[b[cross]]
    near = np.full(n, np.inf)
    np.minimum.at(near, src[a[cross]], length)
    np.minimum.at(near, src[b[cross]], length)
    near_t = near[T]
    # a terminal with no boundary edge can only arise from ties at zero distance
    return 0.5 * math.fsum(np.where(np.isfinite(near_t), near_t, 0.0).tolist())


def _matching_join(
    n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, terminal: np.ndarray
) -> np.ndarray:
    """Minimum T-join as the XOR of the shortest paths of a minimum perfect matching.

    The matching's cost is the minimum T-join's (Edmonds & Johnson); the XOR of its
    paths is a T-join no dearer (shared edges cancel), so it is a minimum one.
    """
    A = sp.csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    T = np.flatnonzero(terminal)
    dist, pred = dijkstra(A, directed=False, indices=T, return_predecessors=True)
    K = nx.Graph()
    K.add_nodes_from(range(len(T)))
    for i in range(len(T)):
        d = dist[i, T[i + 1 :]]
        ok = np.flatnonzero(np.isfinite(d))
        K.add_weighted_edges_from((i, i + 1 + int(j), float(d[j])) for j in ok)
    eid = {(int(x), int(y)): e for e, (x, y) in enumerate(zip(a, b, strict=True))}
    used = np.zeros(len(a), dtype=bool)
    for i, j in nx.min_weight_matching(K):
        cur, src = int(T[j]), int(T[i])
        while cur != src:
            p = int(pred[i, cur])
            used[eid[(min(p, cur), max(p, cur))]] ^= True
            cur = p
    return np.flatnonzero(used)


def _greedy_join(
    n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, terminal: np.ndarray
) -> list[int]:
    """Pair each terminal with its nearest free terminal; XOR the shortest paths.

    The fallback when the integer program finds nothing in time: linear in the
    number of terminals times one Dijkstra run, and always a valid T-join.
    """
    m = len(a)
    A = sp.csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    eid = {(int(x), int(y)): i for i, (x, y) in enumerate(zip(a, b, strict=True))}
    free = set(np.flatnonzero(terminal).tolist())
    used = np.zeros(m, dtype=bool)
    while free:
        s = free.pop()
        dist, pred = dijkstra(A, directed=False, indices=s, return_predecessors=True)
        cand = [t for t in free if math.isfinite(dist[t])]
        t = min(cand, key=lambda x: dist[x])
        free.discard(t)
        cur = t
        while cur != s:
            p = int(pred[cur])
            used[eid[(min(p, cur), max(p, cur))]] ^= True
            cur = p
    return [int(e) for e in np.flatnonzero(used)]
