"""Routes as closed walks over edge ids, and the check that proves one feasible.

A :class:`Route` is one collector's closed walk, written as the ordered list of
traversed edges ``(from, to, key)``; a :class:`RoutePlan` holds the routes of
one solve with its total, deadhead and per-route figures and, where the solver has
one, a lower bound on the optimum. :func:`check_plan` re-derives every figure from
the graph and raises :class:`~urbangrid.errors.InfeasibleRouteError` on the first
violation, so a plan can be trusted without trusting the solver.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from urbangrid.errors import InfeasibleRouteError, RoutingError
from urbangrid.routing.core.graphs import (
    EdgeId,
    edge_index,
    edge_position,
    edge_weight,
    iter_edges,
)

__all__ = ["Route", "RoutePlan", "check_plan", "check_route", "make_route"]


@dataclass(frozen=True)
class Route:
    """One closed walk.

    Attributes
    ----------
    start : hashable
        Node where the walk starts and ends (the depot).
    edges : tuple of (u, v, key)
        Traversals in order, each written in the direction driven. On an
        undirected graph ``(v, u, key)`` is edge ``(u, v, key)`` driven backwards.
    served : tuple of bool
        Whether each traversal serves (covers) its edge; the others are deadhead.
    cost : float
        Sum of the traversed edge weights, in the graph's unit (metres or seconds).
    deadhead_cost : float
        Part of ``cost`` spent on traversals that serve nothing.
    load : float
        Demand served by the route (0 when demands are not used).
    """

    start: Hashable
    edges: tuple[EdgeId, ...]
    served: tuple[bool, ...]
    cost: float
    deadhead_cost: float
    load: float = 0.0

    @property
    def service_cost(self) -> float:
        """Cost of the serving traversals."""
        return self.cost - self.deadhead_cost

    @property
    def nodes(self) -> list[Hashable]:
        """Node sequence of the walk, start node first and last."""
        return [self.start, *(e[1] for e in self.edges)]

    def __len__(self) -> int:
        return len(self.edges)


@dataclass(frozen=True)
class RoutePlan:
    """Routes of one solve and what is known about their optimality.

    Attributes
    ----------
    routes : tuple of Route
        One route per collector (a single route for postman problems).
    weight : str
        Edge attribute the costs were read from.
    lower_bound : float or None
        Proven lower bound on the optimal objective, in the graph's unit.
    optimal : bool
        Whether the plan is proven optimal for its objective.
    objective : str
        ``"total"`` (sum of route costs) or ``"max"`` (longest route).
    info : dict
        Solver statistics (time in seconds, iterations, seed).
    """

    routes: tuple[Route, ...]
    weight: str
    lower_bound: float | None = None
    optimal: bool = False
    objective: str = "total"
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def cost(self) -> float:
        """Total cost of all routes."""
        return math.fsum(r.cost for r in self.routes)

    @property
    def deadhead_cost(self) -> float:
        """Total cost of the deadhead (non-serving) traversals."""
        return math.fsum(r.deadhead_cost for r in self.routes)

    @property
    def max_route_cost(self) -> float:
        """Cost of the longest route (the min-max objective)."""
        return max((r.cost for r in self.routes), default=0.0)

    @property
    def value(self) -> float:
        """The objective value: :attr:`cost` or :attr:`max_route_cost`."""
        return self.max_route_cost if self.objective == "max" else self.cost

    @property
    def gap(self) -> float | None:
        """Relative gap ``(value - lower_bound) / lower_bound``; 0 when proven optimal."""
        if self.lower_bound is None:
            return None
        if self.lower_bound <= 0:
            return 0.0 if self.value <= 0 else math.inf
        return max(0.0, (self.value - self.lower_bound) / self.lower_bound)

    @property
    def walk(self) -> tuple[EdgeId, ...]:
        """Edges of the single route (postman problems)."""
        if len(self.routes) != 1:
            msg = f"the plan has {len(self.routes)} routes; use .routes"
            raise RoutingError(msg)
        return self.routes[0].edges

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per traversal (route, seq, u, v, key, served), for a CSV file or a table."""
        rows = []
        for i, r in enumerate(self.routes):
            for j, ((u, v, k), s) in enumerate(zip(r.edges, r.served, strict=True)):
                rows.append({"route": i, "seq": j, "u": u, "v": v, "key": k, "served": s})
        return rows

    def summary(self) -> list[dict[str, Any]]:
        """Per-route figures: start, edge count, cost, deadhead cost, load."""
        return [
            {
                "route": i,
                "start": r.start,
                "edges": len(r.edges),
                "served": sum(r.served),
                "cost": r.cost,
                "deadhead_cost": r.deadhead_cost,
                "load": r.load,
            }
            for i, r in enumerate(self.routes)
        ]


class _Resolver:
    """Map a traversal ``(a, b, key)`` to the edge it drives and its weight."""

    def __init__(self, G: nx.Graph, weight: str, oneway: str | None) -> None:
        self.G = G
        self.weight = weight
        self.oneway = oneway
        self.directed = G.is_directed()
        self.multi = G.is_multigraph()
        self._edge_index: dict[EdgeId, int] | None = None
        self._ids: list[EdgeId] = []

    def _data(self, a: Hashable, b: Hashable, k: Any) -> dict[str, Any] | None:
        G = self.G
        try:
            if self.multi:
                return G[a][b][k]  # type: ignore[no-any-return]
            if k != 0:
                return None
            return G[a][b]  # type: ignore[no-any-return]
        except (KeyError, TypeError):
            return None

    def resolve(self, t: tuple[Any, ...]) -> tuple[EdgeId, float]:
        """Return (canonical edge id, weight) or raise InfeasibleRouteError."""
        if len(t) != 3:
            msg = f"traversal {t!r} is not a (u, v, key) triple"
            raise InfeasibleRouteError(msg)
        a, b, k = t
        d = self._data(a, b, k)
        if d is not None:
            if self.directed:
                return (a, b, k), edge_weight(a, b, k, d, self.weight)
            return self.canonical_undirected(a, b, k), edge_weight(a, b, k, d, self.weight)
        if self.directed and self.oneway is not None:
            d = self._data(b, a, k)
            if d is not None:
                if d.get(self.oneway):
                    msg = f"traversal {t!r} drives one-way edge {(b, a, k)!r} the wrong way"
                    raise InfeasibleRouteError(msg)
                return (b, a, k), edge_weight(b, a, k, d, self.weight)
        if self.directed and self._data(b, a, k) is not None:
            msg = f"traversal {t!r} drives arc {(b, a, k)!r} against its direction"
            raise InfeasibleRouteError(msg)
        msg = f"traversal {t!r} is not an edge of the graph"
        raise InfeasibleRouteError(msg)

    def canonical_undirected(self, a: Hashable, b: Hashable, k: Any) -> EdgeId:
        # the orientation networkx iterates an undirected edge in is its id
        i = self._index().get((a, b, k))
        return (a, b, k) if i is None else self._ids[i]

    def _index(self) -> dict[EdgeId, int]:
        if self._edge_index is None:
            self._edge_index = edge_index(self.G)
            self._ids = [(u, v, k) for u, v, k, _ in iter_edges(self.G)]
        return self._edge_index

    def canonical(self, e: tuple[Any, ...]) -> EdgeId:
        """Canonical id of a required edge given as (u, v) or (u, v, key)."""
        i = edge_position(self.G, e, self._index())
        return self._ids[i]


def make_route(
    G: nx.Graph,
    start: Hashable,
    edges: Iterable[EdgeId],
    served: Iterable[bool],
    *,
    weight: str = "weight",
    oneway: str | None = None,
    load: float = 0.0,
) -> Route:
    """Build a :class:`Route`, reading each traversal's weight from ``G``.

    Parameters
    ----------
    G : networkx graph
        Graph the walk runs on.
    start : hashable
        Depot node.
    edges : iterable of (u, v, key)
        Traversals in driving order.
    served : iterable of bool
        Serving flags, one per traversal.
    weight : str
        Edge attribute holding the cost (metres or seconds).
    oneway : str, optional
        On a directed graph, the attribute marking one-way arcs; arcs without it
        may be driven backwards (mixed graphs).
    load : float
        Demand served by the route.
    """
    res = _Resolver(G, weight, oneway)
    es = tuple(tuple(e) for e in edges)
    sv = tuple(bool(s) for s in served)
    if len(es) != len(sv):
        msg = f"{len(es)} traversals but {len(sv)} serving flags"
        raise RoutingError(msg)
    ws = [res.resolve(e)[1] for e in es]
    cost = math.fsum(ws)
    dead = math.fsum(w for w, s in zip(ws, sv, strict=True) if not s)
    return Route(start=start, edges=es, served=sv, cost=cost, deadhead_cost=dead, load=load)  # type: ignore[arg-type]


def check_plan(
    G: nx.Graph,
    plan: RoutePlan | Iterable[Route],
    *,
    weight: str = "weight",
    required: Iterable[tuple[Any, ...]] | None = None,
    oneway: str | None = None,
    serve_once: bool = False,
    demand: Mapping[EdgeId, float] | None = None,
    capacity: float | None = None,
    max_route_cost: float | None = None,
    twins: Mapping[EdgeId, EdgeId] | None = None,
    rel_tol: float = 1e-9,
) -> float:
    """Prove a plan feasible, or raise on the first violation.

    Checks that every route is a closed walk from its start node over edges of
    ``G`` (arcs only forwards on directed graphs; with ``oneway``, arcs not marked
    one-way may be driven backwards), that its cost and deadhead figures match the
    graph, and that every required edge is covered: traversed at least once, or,
    with ``serve_once``, served exactly once over the whole plan (and only required
    edges served). With ``capacity`` the served demand of each route must fit; with
    ``max_route_cost`` each route's cost must.

    Parameters
    ----------
    G : networkx graph
        The graph the plan was solved on.
    plan : RoutePlan or iterable of Route
        Routes to check.
    weight : str
        Edge cost attribute (metres or seconds).
    required : iterable of (u, v) or (u, v, key), optional
        Edges to cover; default every edge of ``G``.
    oneway : str, optional
        Attribute marking one-way arcs on a mixed (directed) graph.
    serve_once : bool
        Require each required edge to be served exactly once (CARP).
    demand : mapping of edge id to float, optional
        Demand per required edge (default 0).
    capacity : float, optional
        Largest load per route.
    max_route_cost : float, optional
        Largest cost per route (shift length).
    twins : mapping of edge id to edge id, optional
        Arcs that stand for another street id (the reverse twin of a two-way
        street, as :func:`~urbangrid.routing.core.postman.mixed_postman` reports in
        ``info["aliases"]``): driving one covers the other.
    rel_tol : float
        Relative tolerance on cost comparisons.

    Returns
    -------
    float
        The total cost recomputed from ``G``.

    Raises
    ------
    InfeasibleRouteError
        Naming the route, position and edge at fault.
    """
    routes = plan.routes if isinstance(plan, RoutePlan) else tuple(plan)
    res = _Resolver(G, weight, oneway)
    if required is None:
        req = {res.canonical(e[:3]) for e in iter_edges(G)}
    else:
        req = {res.canonical(tuple(e)) for e in required}
    dem = {res.canonical(tuple(k)): float(v) for k, v in (demand or {}).items()}
    covered: Counter[EdgeId] = Counter()
    served_count: Counter[EdgeId] = Counter()
    total = 0.0
    for ri, r in enumerate(routes):
        if not G.has_node(r.start):
            msg = f"route {ri}: start node {r.start!r} is not in the graph"
            raise InfeasibleRouteError(msg)
        if len(r.served) != len(r.edges):
            msg = f"route {ri}: {len(r.edges)} traversals but {len(r.served)} serving flags"
            raise InfeasibleRouteError(msg)
        at = r.start
        cost = []
        dead = []
        load = 0.0
        for pos, (t, s) in enumerate(zip(r.edges, r.served, strict=True)):
            if t[0] != at:
                msg = f"route {ri}, position {pos}: traversal {t!r} does not start at {at!r}"
                raise InfeasibleRouteError(msg)
            eid, w = res.resolve(tuple(t))
            if twins:
                eid = twins.get(eid, eid)
            at = t[1]
            cost.append(w)
            covered[eid] += 1
            if s:
                if serve_once and eid not in req:
                    msg = f"route {ri}, position {pos}: serves {eid!r}, which is not required"
                    raise InfeasibleRouteError(msg)
                served_count[eid] += 1
                load += dem.get(eid, 0.0)
            else:
                dead.append(w)
        if at != r.start:
            msg = f"route {ri} is not closed: it ends at {at!r}, not at its start {r.start!r}"
            raise InfeasibleRouteError(msg)
        c = math.fsum(cost)
        if not math.isclose(c, r.cost, rel_tol=rel_tol, abs_tol=1e-9):
            msg = f"route {ri}: stated cost {r.cost!r} but the graph gives {c!r}"
            raise InfeasibleRouteError(msg)
        dh = math.fsum(dead)
        if not math.isclose(dh, r.deadhead_cost, rel_tol=rel_tol, abs_tol=1e-9):
            msg = f"route {ri}: stated deadhead cost {r.deadhead_cost!r} but the graph gives {dh!r}"
            raise InfeasibleRouteError(msg)
        if capacity is not None and load > capacity * (1 + rel_tol):
            msg = f"route {ri}: load {load!r} exceeds the capacity {capacity!r}"
            raise InfeasibleRouteError(msg)
        if max_route_cost is not None and c > max_route_cost * (1 + rel_tol):
            msg = f"route {ri}: cost {c!r} exceeds the route limit {max_route_cost!r}"
            raise InfeasibleRouteError(msg)
        total += c
    for e in sorted(req, key=repr):
        n = served_count[e] if serve_once else covered[e]
        if n == 0:
            msg = f"required edge {e!r} is not {'served' if serve_once else 'covered'}"
            raise InfeasibleRouteError(msg)
        if serve_once and n > 1:
            msg = f"required edge {e!r} is served {n} times, not once"
            raise InfeasibleRouteError(msg)
    return total


def check_route(G: nx.Graph, route: Route, **kwargs: Any) -> float:
    """Check a single route; see :func:`check_plan` for the keyword options."""
    return check_plan(G, [route], **kwargs)
