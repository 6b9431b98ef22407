"""Graph helpers shared by the arc-routing solvers: edge ids, weight checks, arrays.

Every solver in :mod:`urbangrid.routing` takes a networkx ``Graph``, ``MultiGraph``,
``DiGraph`` or ``MultiDiGraph`` whose edges carry a named numeric ``weight``
attribute (metres or seconds; the solvers never convert units). An edge is named
by its id ``(u, v, key)``; on a simple graph the key is ``0``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from urbangrid.errors import RoutingError, UnreachableError

__all__ = [
    "EdgeId",
    "IndexedGraph",
    "check_node",
    "check_reachable",
    "edge_index",
    "edge_position",
    "edge_weight",
    "index_graph",
    "iter_edges",
    "required_edges",
]

EdgeId = tuple[Hashable, Hashable, Any]


def iter_edges(G: nx.Graph) -> Iterator[tuple[Hashable, Hashable, Any, dict[str, Any]]]:
    """Yield ``(u, v, key, data)`` for every edge, with ``key=0`` on simple graphs."""
    if G.is_multigraph():
        yield from G.edges(keys=True, data=True)
    else:
        for u, v, d in G.edges(data=True):
            yield u, v, 0, d


def edge_weight(u: Hashable, v: Hashable, key: Any, data: dict[str, Any], weight: str) -> float:
    """Return the weight of one edge, checked finite and non-negative.

    Raises
    ------
    RoutingError
        When the attribute is missing, not a number, NaN, infinite or negative;
        the message names the edge ``(u, v, key)``.
    """
    if weight not in data:
        msg = f"edge {(u, v, key)!r} has no {weight!r} attribute"
        raise RoutingError(msg)
    w = data[weight]
    try:
        wf = float(w)
    except (TypeError, ValueError):
        msg = f"edge {(u, v, key)!r} has a non-numeric {weight!r}: {w!r}"
        raise RoutingError(msg) from None
    if not math.isfinite(wf) or wf < 0:
        msg = f"edge {(u, v, key)!r} has {weight!r} = {w!r}; weights must be finite and >= 0"
        raise RoutingError(msg)
    return wf


def edge_index(G: nx.Graph) -> dict[EdgeId, int]:
    """Position of every edge id in :func:`iter_edges` order.

    On an undirected graph the reversed id ``(v, u, key)`` maps to the same position:
    the orientation networkx iterates an edge in is its canonical id.
    """
    index: dict[EdgeId, int] = {}
    undirected = not G.is_directed()
    for i, (u, v, k, _) in enumerate(iter_edges(G)):
        index[(u, v, k)] = i
        if undirected:
            index.setdefault((v, u, k), i)
    return index


def edge_position(G: nx.Graph, e: tuple[Any, ...], index: dict[EdgeId, int]) -> int:
    """Position (in :func:`iter_edges` order) of the edge a required edge names.

    ``e`` is ``(u, v)`` or ``(u, v, key)``; on a multigraph ``(u, v)`` must name the
    only edge between its nodes, on a simple graph the key is ``0``; on an
    undirected graph ``(v, u, key)`` names the same edge as ``(u, v, key)``.
    ``index`` is :func:`edge_index` of ``G``. This is the one normalisation of
    required edges: every solver and the plan check use it.

    Raises
    ------
    RoutingError
        Naming the node or edge that is not in the graph, or the ambiguous pair.
    """
    e = tuple(e)
    if len(e) == 2:
        u, v = e
        for n in (u, v):
            check_node(G, n, f"required edge {e!r}: node")
        k: Any = 0
        if G.is_multigraph():
            keys = list(G[u][v]) if G.has_edge(u, v) else []
            if len(keys) != 1:
                msg = f"required edge {e!r} needs a key ({len(keys)} parallel edges)"
                raise RoutingError(msg)
            k = keys[0]
        e = (u, v, k)
    if len(e) != 3:
        msg = f"required edge {e!r} is not a (u, v) or (u, v, key) tuple"
        raise RoutingError(msg)
    try:
        return index[e]  # type: ignore[index]
    except (KeyError, TypeError):
        msg = f"required edge {e!r} is not in the graph"
        raise RoutingError(msg) from None


def required_edges(
    G: nx.Graph, required: Iterable[tuple[Any, ...]], index: dict[EdgeId, int] | None = None
) -> list[int]:
    """Positions (in :func:`iter_edges` order) of the required edges, in their order.

    Each is normalised by :func:`edge_position` (``index`` defaults to
    :func:`edge_index` of ``G``).

    Raises
    ------
    RoutingError
        An edge is not in the graph or ambiguous, none is given, or one is listed twice.
    """
    index = edge_index(G) if index is None else index
    out = [edge_position(G, e, index) for e in required]
    if not out:
        msg = "no required edges"
        raise RoutingError(msg)
    if len(set(out)) != len(out):
        msg = "a required edge is listed twice"
        raise RoutingError(msg)
    return out


def check_node(G: nx.Graph, node: Hashable, role: str = "node") -> None:
    """Raise :class:`RoutingError` naming ``node`` when it is not in ``G``."""
    try:
        present = G.has_node(node)
    except TypeError:
        present = False
    if not present:
        msg = f"{role} {node!r} is not a node of the graph"
        raise RoutingError(msg)


@dataclass(frozen=True)
class IndexedGraph:
    """Integer-indexed view of a graph for the array solvers.

    Attributes
    ----------
    nodes : list
        Node labels; position ``i`` is node index ``i``.
    index : dict
        Label to index.
    ids : list of EdgeId
        Edge ids in input order.
    tail, head : numpy.ndarray of int64
        Node indices of each edge (``u`` and ``v`` of the id).
    w : numpy.ndarray of float64
        Edge weights in the graph's unit.
    directed : bool
        Whether the graph is directed.
    """

    nodes: list[Hashable]
    index: dict[Hashable, int]
    ids: list[EdgeId]
    tail: np.ndarray
    head: np.ndarray
    w: np.ndarray
    directed: bool

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def csgraph(self, *, undirected: bool | None = None) -> sp.csr_matrix:
        """Sparse adjacency with the cheapest parallel edge per node pair.

        Self-loops are left out (they never shorten a path); zero weights are kept
        as explicit entries, which scipy's csgraph routines treat as edges.
        """
        und = (not self.directed) if undirected is None else undirected
        t, h, w = self.tail, self.head, self.w
        keep = t != h
        t, h, w = t[keep], h[keep], w[keep]
        if und:
            t, h = np.minimum(t, h), np.maximum(t, h)
        order = np.lexsort((w, h, t))
        t, h, w = t[order], h[order], w[order]
        first = np.ones(len(t), dtype=bool)
        first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
        t, h, w = t[first], h[first], w[first]
        if und:
            t, h, w = np.r_[t, h], np.r_[h, t], np.r_[w, w]
        return sp.csr_matrix((w, (t, h)), shape=(self.n, self.n))


def index_graph(G: nx.Graph, weight: str) -> IndexedGraph:
    """Check every weight of ``G`` and return its :class:`IndexedGraph`.

    Raises
    ------
    RoutingError
        When the graph has no edges, or an edge weight is missing or invalid.
    """
    if G.number_of_edges() == 0:
        msg = "the graph has no edges to route over"
        raise RoutingError(msg)
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    ids: list[EdgeId] = []
    tail: list[int] = []
    head: list[int] = []
    ws: list[float] = []
    for u, v, k, d in iter_edges(G):
        ws.append(edge_weight(u, v, k, d, weight))
        ids.append((u, v, k))
        tail.append(index[u])
        head.append(index[v])
    return IndexedGraph(
        nodes=nodes,
        index=index,
        ids=ids,
        tail=np.asarray(tail, dtype=np.int64),
        head=np.asarray(head, dtype=np.int64),
        w=np.asarray(ws, dtype=np.float64),
        directed=G.is_directed(),
    )


def check_reachable(
    ig: IndexedGraph,
    edges: Iterable[int],
    start: int,
    *,
    strongly: bool,
    arcs: sp.csr_matrix | None = None,
) -> None:
    """Raise :class:`UnreachableError` naming the first edge not reachable from ``start``.

    With ``strongly=True`` an edge must lie on a closed walk through ``start``: its
    tail reachable from ``start`` and ``start`` reachable from its head, in the
    directed adjacency ``arcs`` (default: the graph's own).
    """
    from scipy.sparse.csgraph import breadth_first_order

    A = ig.csgraph() if arcs is None else arcs
    fwd = np.zeros(ig.n, dtype=bool)
    fwd[breadth_first_order(A, start, directed=strongly, return_predecessors=False)] = True
    if strongly:
        back = np.zeros(ig.n, dtype=bool)
        back[breadth_first_order(A.T.tocsr(), start, directed=True, return_predecessors=False)] = (
            True
        )
    else:
        back = fwd
    for e in edges:
        t, h = int(ig.tail[e]), int(ig.head[e])
        if not (fwd[t] and back[h]):
            why = " and back (one-way streets)" if strongly else " (the graph is disconnected)"
            where = f"the start node {ig.nodes[start]!r}"
            msg = f"edge {ig.ids[e]!r} cannot be reached from {where}{why}"
            raise UnreachableError(msg)
