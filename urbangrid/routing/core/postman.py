"""Chinese postman tours: undirected and directed (exact), mixed (bounded gap).

A collector who must drive every street of an area and come back follows a Chinese
postman tour. On an undirected graph the cheapest tour adds a minimum-weight T-join
of the odd-degree nodes (:mod:`urbangrid.routing.core.matching`); on a directed graph
(every arc one way) a minimum-cost flow balances in- and out-degrees; on a mixed
graph (some streets one-way, some two-way, e.g. a bike patrol) the problem is
NP-hard and is solved as a time-limited integer program whose dual bound gives the
reported gap.

All functions return a :class:`~urbangrid.routing.core.plan.RoutePlan` with one route,
its ``lower_bound`` and ``optimal`` flag, and never modify the input graph.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from urbangrid.errors import RoutingError
from urbangrid.routing.core.graphs import (
    EdgeId,
    IndexedGraph,
    check_node,
    check_reachable,
    index_graph,
)
from urbangrid.routing.core.matching import certified_t_join_arrays, t_join_arrays
from urbangrid.routing.core.plan import Route, RoutePlan

__all__ = ["check_flow_certificate", "chinese_postman", "directed_postman", "mixed_postman"]

#: Seconds the certified T-join (the compiled blossom's matching of sparse candidate
#: pairs plus its dual lifted to the streets, see :mod:`urbangrid.routing.core.tjoin`)
#: may take before the integer program takes over: 0.05 s for Futian's 1,346 odd
#: nodes, 4.5-5.5 s for Wuhan's 14,702 at load 4-5 (``benchmarks/routing.py --only
#: tjoin``), where the integer program does not finish.
CERTIFY_SECONDS = 30.0


def _default_start(ig: IndexedGraph, start: Hashable | None, G: nx.Graph) -> int:
    if start is None:
        return int(ig.tail[0])
    check_node(G, start, "start node")
    s = ig.index[start]
    if not ((ig.tail == s).any() or (ig.head == s).any()):
        msg = f"start node {start!r} has no edges"
        raise RoutingError(msg)
    return s


def euler_walk(
    n: int, tail: np.ndarray, head: np.ndarray, start: int, *, directed: bool
) -> list[tuple[int, bool]]:
    """Eulerian circuit over traversal copies ``i`` (``tail[i] -> head[i]``).

    Returns ``(i, forward)`` pairs in driving order from ``start``; ``forward`` is
    False when an undirected copy is driven from ``head[i]`` to ``tail[i]``.
    Hierholzer's method on arrays (networkx's ``eulerian_circuit`` took 6 s on
    Wuhan's 120,000 copies). Raises RoutingError when the copies hold no Eulerian
    circuit through ``start`` (odd degrees, or pieces ``start`` does not reach).
    """
    m = len(tail)
    tail_l, head_l = np.asarray(tail, dtype=np.int64), np.asarray(head, dtype=np.int64)
    if directed:
        ends, other, fwd = tail_l, head_l, np.ones(m, dtype=bool)
        copy = np.arange(m)
    else:
        ends, other = np.r_[tail_l, head_l], np.r_[head_l, tail_l]
        fwd = np.r_[np.ones(m, dtype=bool), tail_l == head_l]  # a loop is driven forward
        copy = np.r_[np.arange(m), np.arange(m)]
    order = np.argsort(ends, kind="stable")
    ptr = np.searchsorted(ends[order], np.arange(n + 1)).tolist()
    nxt, end = ptr[:-1], ptr[1:]
    s_copy, s_other, s_fwd = copy[order].tolist(), other[order].tolist(), fwd[order].tolist()
    used = [False] * m
    stack: list[tuple[int, int, bool]] = [(int(start), -1, True)]
    out: list[tuple[int, bool]] = []
    while stack:
        v = stack[-1][0]
        q = nxt[v]
        while q < end[v] and used[s_copy[q]]:
            q += 1
        nxt[v] = q
        if q == end[v]:
            _, c, f = stack.pop()
            if c >= 0:
                out.append((c, f))
            continue
        c = s_copy[q]
        used[c] = True
        nxt[v] = q + 1
        stack.append((s_other[q], c, s_fwd[q]))
    out.reverse()
    if len(out) != m or not _closes(out, tail_l, head_l, int(start)):
        msg = "the edges to drive hold no closed walk through the start (odd degrees or pieces)"
        raise RoutingError(msg)
    return out


def _closes(walk: list[tuple[int, bool]], tail: np.ndarray, head: np.ndarray, start: int) -> bool:
    """Whether the walk is connected end to end from ``start`` back to it."""
    at = start
    for c, f in walk:
        a, b = (int(tail[c]), int(head[c])) if f else (int(head[c]), int(tail[c]))
        if a != at:
            return False
        at = b
    return at == start


def _plan(
    ig: IndexedGraph,
    walk: list[tuple[int, bool]],
    copies: np.ndarray,
    served_first: bool,
    start: int,
    weight: str,
    lower_bound: float,
    optimal: bool,
    info: dict[str, Any],
) -> RoutePlan:
    """Turn copy indices (each naming an input edge in ``copies``) into a RoutePlan."""
    ids = ig.ids
    seen = np.zeros(len(ids), dtype=bool)
    edges: list[EdgeId] = []
    served: list[bool] = []
    ws: list[float] = []
    for c, fwd in walk:
        e = int(copies[c])
        u, v, k = ids[e]
        edges.append((u, v, k) if fwd else (v, u, k))
        s = served_first and not seen[e]
        seen[e] = True
        served.append(bool(s))
        ws.append(float(ig.w[e]))
    cost = math.fsum(ws)
    dead = math.fsum(w for w, s in zip(ws, served, strict=True) if not s)
    route = Route(
        start=ig.nodes[start],
        edges=tuple(edges),
        served=tuple(served),
        cost=cost,
        deadhead_cost=dead,
    )
    return RoutePlan(
        routes=(route,),
        weight=weight,
        lower_bound=lower_bound,
        optimal=optimal,
        info=info,
    )


def chinese_postman(
    G: nx.Graph,
    *,
    weight: str = "weight",
    start: Hashable | None = None,
    time_limit_s: float = 60.0,
) -> RoutePlan:
    """Cheapest closed walk driving every edge of an undirected graph.

    The odd-degree nodes are paired by a minimum-weight T-join solved exactly on
    the street graph (see :func:`urbangrid.routing.core.matching.min_t_join`), then an
    Eulerian circuit of the graph plus the join is read from ``start``.

    Parameters
    ----------
    G : networkx.Graph or networkx.MultiGraph
        Connected undirected street graph; parallel edges and self-loops are kept
        and each must be driven.
    weight : str
        Edge attribute holding the cost (metres or seconds), finite and >= 0.
    start : node, optional
        Depot; default the first endpoint of the first edge.
    time_limit_s : float
        Seconds for the parity integer program; past it the plan is still
        feasible but ``optimal`` may be False.

    Returns
    -------
    RoutePlan
        One route; ``lower_bound`` is the proven optimum when ``optimal``. When the
        certified T-join (:mod:`urbangrid.routing.core.tjoin`) finishes within
        :data:`CERTIFY_SECONDS`, ``info["certificate"]`` holds its dual (a laminar
        family of node sets over the positions of ``index_graph``'s nodes) and
        ``info["t_join_bound"]`` the bound
        :func:`~urbangrid.routing.core.tjoin.check_t_join_certificate` proved;
        otherwise the integer program's own bound is used.

    Raises
    ------
    RoutingError
        For a directed graph, a bad weight or an unknown start node.
    UnreachableError
        When some edge is not connected to ``start``.

    See Also
    --------
    directed_postman : every arc one way.
    mixed_postman : one-way and two-way streets together.
    urbangrid.routing.core.rural.rural_postman : only some streets must be driven.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.cycle_graph(4)
    >>> G.add_edge(0, 2)
    >>> nx.set_edge_attributes(G, 1.0, "weight")
    >>> plan = chinese_postman(G, start=0)
    >>> plan.cost, plan.deadhead_cost, plan.optimal
    (6.0, 1.0, True)
    """
    if G.is_directed():
        msg = "chinese_postman needs an undirected graph; use directed_postman or mixed_postman"
        raise RoutingError(msg)
    t0 = time.perf_counter()
    ig = index_graph(G, weight)
    s = _default_start(ig, start, G)
    m = len(ig.ids)
    check_reachable(ig, range(m), s, strongly=False)
    deg = np.bincount(ig.tail, minlength=ig.n) + np.bincount(ig.head, minlength=ig.n)
    odd = deg % 2 == 1
    info: dict[str, Any] = {"odd_nodes": int(odd.sum())}
    cert = certified_t_join_arrays(
        ig.n, ig.tail, ig.head, ig.w, odd, min(CERTIFY_SECONDS, time_limit_s)
    )
    if cert is not None:
        join, jcost, res = cert
        jlb, opt = min(res.bound, jcost), True
        info.update(certificate=res.certificate, t_join_bound=res.bound, exact=res.exact)
    else:
        join, _, jlb, opt = t_join_arrays(ig.n, ig.tail, ig.head, ig.w, odd, time_limit_s)
    copies = np.r_[np.arange(m), np.asarray(join, dtype=np.int64)]
    walk = euler_walk(ig.n, ig.tail[copies], ig.head[copies], s, directed=False)
    base = math.fsum(ig.w.tolist())
    info["seconds"] = time.perf_counter() - t0
    return _plan(ig, walk, copies, True, s, weight, base + jlb, opt, info)


def _min_cost_flow(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    cost: np.ndarray,
    supply: np.ndarray,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Uncapacitated min-cost flow by the simplex method, with its dual certificate.

    ``supply[v]`` is the net flow that must leave node ``v``. Returns integral arc
    flows, their cost and node potentials. The potentials are checked by
    :func:`check_flow_certificate` (non-negative reduced costs prove optimality; the
    constraint matrix is totally unimodular, so the vertex found is integral).
    """
    m = len(tail)
    A = sp.csr_matrix(
        (np.r_[np.ones(m), -np.ones(m)], (np.r_[tail, head], np.r_[np.arange(m), np.arange(m)])),
        shape=(n, m),
    )
    res = linprog(cost, A_eq=A, b_eq=supply, bounds=(0, None), method="highs-ds")
    if res.status != 0:
        msg = f"the balancing flow has no solution ({res.message})"
        raise RoutingError(msg)
    x = np.round(res.x).astype(np.int64)
    pi = np.asarray(res.eqlin.marginals, dtype=float)
    value = float(np.dot(cost, x))
    bound = check_flow_certificate(tail, head, cost, supply, x, pi)
    if value - bound > 1e-7 * max(1.0, abs(value)):
        msg = "the balancing flow failed its optimality check; please report this graph"
        raise RoutingError(msg)
    return x, value, pi


def check_flow_certificate(
    tail: np.ndarray,
    head: np.ndarray,
    cost: np.ndarray,
    supply: np.ndarray,
    flow: np.ndarray,
    potential: np.ndarray,
) -> float:
    """Check an uncapacitated min-cost flow and its node potentials; return the bound.

    The flow must be integral, non-negative and meet ``supply`` (net outflow per
    node). The bound is ``Σ_v supply_v π_v`` minus the total negative reduced cost
    ``c_a - (π_tail - π_head)`` times the flow any arc could need, so rounding in
    ``π`` can only lower it: it is a valid lower bound on every feasible flow's
    cost, and equal to the flow's cost exactly when the potentials prove it optimal.

    Raises
    ------
    RoutingError
        If the flow is not integral, negative or unbalanced.
    """
    x = np.asarray(flow)
    n = len(supply)
    if (x < 0).any() or not np.array_equal(x, np.round(x)):
        raise RoutingError("the flow must be integral and non-negative")
    bal = np.bincount(tail, weights=x, minlength=n) - np.bincount(head, weights=x, minlength=n)
    if not np.allclose(bal, supply):
        raise RoutingError("the flow does not meet the supplies")
    reduced = cost - (potential[tail] - potential[head])
    # any feasible flow sends at most the total positive supply down one arc
    worst = float(np.clip(-reduced, 0.0, None).sum()) * float(np.clip(supply, 0, None).sum())
    return math.fsum((supply * potential).tolist()) - worst


def directed_postman(
    G: nx.DiGraph,
    *,
    weight: str = "weight",
    start: Hashable | None = None,
) -> RoutePlan:
    """Cheapest closed walk driving every arc of a directed graph forwards.

    Nodes with more arcs in than out get extra traversals of shortest paths to
    nodes with more out than in, chosen by a minimum-cost flow (exact; the node
    potentials are checked as a duality certificate). This is what
    ``pgr_chinesePostman`` solves.

    Parameters
    ----------
    G : networkx.DiGraph or networkx.MultiDiGraph
        Strongly connected graph of arcs; a two-way street is two arcs, each
        driven (e.g. both kerbs swept).
    weight : str
        Arc attribute holding the cost (metres or seconds), finite and >= 0.
    start : node, optional
        Depot; default the tail of the first arc.

    Returns
    -------
    RoutePlan
        One route, proven optimal.

    Raises
    ------
    UnreachableError
        When an arc cannot be reached from ``start`` and back.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph([(0, 1), (1, 2), (2, 0), (0, 2)])
    >>> nx.set_edge_attributes(G, 1.0, "weight")
    >>> directed_postman(G, start=0).cost
    5.0
    """
    if not G.is_directed():
        msg = "directed_postman needs a directed graph; use chinese_postman"
        raise RoutingError(msg)
    t0 = time.perf_counter()
    ig = index_graph(G, weight)
    s = _default_start(ig, start, G)
    m = len(ig.ids)
    check_reachable(ig, range(m), s, strongly=True)
    outdeg = np.bincount(ig.tail, minlength=ig.n)
    indeg = np.bincount(ig.head, minlength=ig.n)
    # extra flow must leave nodes with surplus in-degree
    supply = (indeg - outdeg).astype(float)
    x, fcost, pi = _min_cost_flow(ig.n, ig.tail, ig.head, ig.w, supply)
    copies = np.r_[np.arange(m), np.repeat(np.arange(m), x)]
    walk = euler_walk(ig.n, ig.tail[copies], ig.head[copies], s, directed=True)
    base = math.fsum(ig.w.tolist())
    bound = check_flow_certificate(ig.tail, ig.head, ig.w, supply, x, pi)
    info = {
        "unbalanced_nodes": int((supply != 0).sum()),
        "potentials": pi,
        "flow_bound": bound,
        "seconds": time.perf_counter() - t0,
    }
    return _plan(ig, walk, copies, True, s, weight, base + min(bound, fcost), True, info)


def _mixed_streets(
    G: nx.DiGraph, ig: IndexedGraph, oneway: str, merge_twins: bool
) -> tuple[np.ndarray, np.ndarray, dict[EdgeId, EdgeId]]:
    """Split arcs into one-way arcs and two-way streets; pair reverse twins.

    Returns (is_oneway per arc, twin_of per arc (-1 for none or for the kept
    arc of a pair), alias map twin id -> kept id).
    """
    m = len(ig.ids)
    ow = np.zeros(m, dtype=bool)
    for i, (u, v, k) in enumerate(ig.ids):
        val = G.edges[u, v, k].get(oneway) if G.is_multigraph() else G.edges[u, v].get(oneway)
        ow[i] = bool(val) and str(val).lower() not in ("false", "0", "no")
    twin_of = np.full(m, -1, dtype=np.int64)
    aliases: dict[EdgeId, EdgeId] = {}
    if merge_twins:
        pending: dict[tuple[int, int], list[int]] = {}
        for i in range(m):
            if ow[i] or ig.tail[i] == ig.head[i]:
                continue
            key = (int(ig.head[i]), int(ig.tail[i]))
            cands = pending.get(key)
            j = next(
                (c for c in cands or [] if math.isclose(ig.w[c], ig.w[i], rel_tol=1e-9)),
                None,
            )
            if j is not None and cands is not None:
                cands.remove(j)
                twin_of[i] = j
                aliases[ig.ids[i]] = ig.ids[j]
            else:
                pending.setdefault((int(ig.tail[i]), int(ig.head[i])), []).append(i)
    return ow, twin_of, aliases


def mixed_postman(
    G: nx.DiGraph,
    *,
    weight: str = "weight",
    oneway: str = "oneway",
    start: Hashable | None = None,
    merge_twins: bool = True,
    time_limit_s: float = 30.0,
) -> RoutePlan:
    """Closed walk driving every street of a mixed graph, with a proven gap.

    Arcs whose ``oneway`` attribute is true must be driven forwards; every other
    arc is a two-way street, driven once in either direction. With
    ``merge_twins`` an arc ``(u, v)`` and a reverse arc ``(v, u)`` of the same
    weight, both two-way, count as one street (the osmnx encoding of a two-way
    road), so a bike patrol passes it once.

    The problem is NP-hard. It is solved as an integer flow (balanced traversal
    counts, each street at least once) by HiGHS within ``time_limit_s``. The
    linear relaxation gives the lower bound; if HiGHS stops without a solution,
    the relaxation's orientation is rounded and balanced by a minimum-cost flow.

    Parameters
    ----------
    G : networkx.DiGraph or networkx.MultiDiGraph
        The street graph; two-way streets may appear once or as twin arcs.
    weight : str
        Arc attribute holding the cost (metres or seconds), finite and >= 0.
    oneway : str
        Arc attribute marking one-way streets (``True``/``"True"``/``"yes"``).
    start : node, optional
        Depot; default the tail of the first arc.
    merge_twins : bool
        Pair reverse twin arcs into one two-way street.
    time_limit_s : float
        Seconds for the integer program.

    Returns
    -------
    RoutePlan
        One route with ``lower_bound`` and ``gap``; ``info["aliases"]`` maps each
        merged twin arc to the street id it stands for and ``info["required"]``
        lists the streets, for :func:`~urbangrid.routing.core.plan.check_plan`.

    Raises
    ------
    UnreachableError
        When a street cannot be reached from ``start`` and back.
    """
    if not G.is_directed():
        msg = "mixed_postman needs a directed graph with a one-way attribute"
        raise RoutingError(msg)
    t0 = time.perf_counter()
    ig = index_graph(G, weight)
    s = _default_start(ig, start, G)
    ow, twin_of, aliases = _mixed_streets(G, ig, oneway, merge_twins)
    # streets: every arc that is not a merged twin; two-way ones may go backwards
    street = np.flatnonzero(twin_of < 0)
    two = ~ow[street]
    fwd_tail = np.r_[ig.tail, ig.head[~ow]]
    fwd_head = np.r_[ig.head, ig.tail[~ow]]
    drive = sp.csr_matrix((np.ones(len(fwd_tail)), (fwd_tail, fwd_head)), shape=(ig.n, ig.n))
    check_reachable(ig, street.tolist(), s, strongly=True, arcs=drive)
    prog = _mixed_program(ig, ow, twin_of, street)
    x, lower, optimal = _mixed_solve(prog, ig.n, time_limit_s)
    copies = np.repeat(np.arange(len(prog.vt)), x)
    walk = euler_walk(ig.n, prog.vt[copies], prog.vh[copies], s, directed=True)
    route = _mixed_route(ig, walk, copies, prog.back, twin_of, s)
    info = {
        "aliases": aliases,
        "required": [ig.ids[int(e)] for e in street],
        "two_way_streets": int(two.sum()),
        "seconds": time.perf_counter() - t0,
    }
    return RoutePlan(routes=(route,), weight=weight, lower_bound=lower, optimal=optimal, info=info)


@dataclass(frozen=True)
class _MixedProgram:
    """The integer flow of :func:`mixed_postman`.

    Variables are the forward count of every arc (twins included, as deadhead
    links) then the backward count of every two-way arc: variable ``i`` drives
    ``vt[i] -> vh[i]`` at cost ``vc[i]``; ``back`` lists the arc of each backward
    variable.
    """

    vt: np.ndarray
    vh: np.ndarray
    vc: np.ndarray
    back: np.ndarray
    A_bal: sp.csr_matrix
    A_cov: sp.csr_matrix
    A_ge: sp.csr_matrix
    b_ge: np.ndarray


def _mixed_program(
    ig: IndexedGraph, ow: np.ndarray, twin_of: np.ndarray, street: np.ndarray
) -> _MixedProgram:
    """Variables and constraints (balance, street coverage, parity cuts) of the integer flow."""
    m = len(ig.ids)
    back = np.flatnonzero(~ow)
    nv = m + len(back)
    vt = np.r_[ig.tail, ig.head[back]]
    vh = np.r_[ig.head, ig.tail[back]]
    vc = np.r_[ig.w, ig.w[back]]
    A_bal = sp.csr_matrix(
        (np.r_[np.ones(nv), -np.ones(nv)], (np.r_[vt, vh], np.r_[np.arange(nv), np.arange(nv)])),
        shape=(ig.n, nv),
    )
    A_cov = _mixed_cover(ow, twin_of, street, back, nv)
    A_par, b_par = _mixed_parity(ig, street, vt, vh)
    A_ge = sp.vstack([A_cov, A_par], format="csr")
    b_ge = np.r_[np.ones(len(street)), b_par]
    return _MixedProgram(vt, vh, vc, back, A_bal, A_cov, A_ge, b_ge)


def _mixed_cover(
    ow: np.ndarray, twin_of: np.ndarray, street: np.ndarray, back: np.ndarray, nv: int
) -> sp.csr_matrix:
    """Coverage matrix: one row per street over the variables that drive it."""
    m = len(ow)
    back_pos = np.full(m, -1, dtype=np.int64)
    back_pos[back] = m + np.arange(len(back))
    rows, cols = [], []
    for r, e in enumerate(street):
        rows.append(r)
        cols.append(int(e))
        if not ow[e]:
            rows.append(r)
            cols.append(int(back_pos[e]))
    twins = np.flatnonzero(twin_of >= 0)
    street_row = {int(e): r for r, e in enumerate(street)}
    for e in twins:
        r = street_row[int(twin_of[e])]
        rows += [r, r]
        cols += [int(e), int(back_pos[e])]
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(street), nv))


def _mixed_parity(
    ig: IndexedGraph, street: np.ndarray, vt: np.ndarray, vh: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Parity cuts ``A x >= b``: one row per node meeting an odd number of streets."""
    # such a node is passed an even number of times, so at least once more than it
    # has streets
    nv = len(vt)
    st_t, st_h = ig.tail[street], ig.head[street]
    nl = st_t != st_h
    sdeg = np.bincount(st_t[nl], minlength=ig.n) + np.bincount(st_h[nl], minlength=ig.n)
    oddn = np.flatnonzero(sdeg % 2 == 1)
    loops_free = np.flatnonzero(vt != vh)
    inc = sp.csr_matrix(
        (
            np.ones(2 * len(loops_free)),
            (np.r_[vt[loops_free], vh[loops_free]], np.r_[loops_free, loops_free]),
        ),
        shape=(ig.n, nv),
    )
    return inc[oddn], sdeg[oddn] + 1.0


def _mixed_solve(
    prog: _MixedProgram, n: int, time_limit_s: float
) -> tuple[np.ndarray, float, bool]:
    """Traversal count per variable, lower bound on its cost, and whether it is optimal."""
    nv = len(prog.vt)
    vt, vh, vc, A_cov = prog.vt, prog.vh, prog.vc, prog.A_cov
    cons = [
        LinearConstraint(prog.A_bal, np.zeros(n), np.zeros(n)),
        LinearConstraint(prog.A_ge, prog.b_ge, np.inf),
    ]
    lp = linprog(
        vc,
        A_ub=-prog.A_ge,
        b_ub=-prog.b_ge,
        A_eq=prog.A_bal,
        b_eq=np.zeros(n),
        bounds=(0, None),
        method="highs",
    )
    lower = float(lp.fun) if lp.status == 0 else 0.0
    res = milp(
        vc,
        integrality=np.ones(nv),
        bounds=Bounds(np.zeros(nv), np.full(nv, np.inf)),
        constraints=cons,
        options={"time_limit": max(0.1, float(time_limit_s)), "mip_rel_gap": 0.0, "disp": False},
    )
    x: np.ndarray | None = None
    optimal = False
    if res.x is not None:
        x = np.round(res.x).astype(np.int64)
        optimal = res.status == 0
        bound = getattr(res, "mip_dual_bound", None)
        if bound is not None and math.isfinite(bound):
            lower = max(lower, float(bound))
    if x is None or not _mixed_ok(x, vt, vh, A_cov, n):
        x = None
        optimal = False
    if not optimal:
        # the rounded relaxation, balanced by a min-cost flow, sometimes beats an
        # integer program stopped early
        xr = _mixed_round(lp.x if lp.status == 0 else None, vt, vh, vc, A_cov, n)
        if x is None or float(np.dot(vc, xr)) < float(np.dot(vc, x)):
            x = xr
    assert x is not None
    value = float(np.dot(vc, x))
    if optimal:
        lower = value
    lower = min(lower, value)
    return x, lower, optimal


def _mixed_route(
    ig: IndexedGraph,
    walk: list[tuple[int, bool]],
    copies: np.ndarray,
    back: np.ndarray,
    twin_of: np.ndarray,
    start: int,
) -> Route:
    """The walk as a Route on the input arcs, each street served on its first pass."""
    m = len(ig.ids)
    # name each traversal by its arc; a backward traversal is (v, u, key) of arc (u, v, key)
    arc_of = np.r_[np.arange(m), back]
    seen_street = np.zeros(m, dtype=bool)
    edges: list[EdgeId] = []
    served: list[bool] = []
    ws: list[float] = []
    for c, _ in walk:
        v = int(copies[c])
        a = int(arc_of[v])
        u_, v_, k_ = ig.ids[a]
        edges.append((u_, v_, k_) if v < m else (v_, u_, k_))
        st = int(twin_of[a]) if twin_of[a] >= 0 else a
        served.append(not seen_street[st])
        seen_street[st] = True
        ws.append(float(ig.w[a]))
    return Route(
        start=ig.nodes[start],
        edges=tuple(edges),
        served=tuple(served),
        cost=math.fsum(ws),
        deadhead_cost=math.fsum(w for w, sv in zip(ws, served, strict=True) if not sv),
    )


def _mixed_ok(x: np.ndarray, vt: np.ndarray, vh: np.ndarray, A_cov: sp.csr_matrix, n: int) -> bool:
    bal = np.bincount(vt, weights=x, minlength=n) - np.bincount(vh, weights=x, minlength=n)
    return bool(np.all(bal == 0) and np.all(A_cov @ x >= 1) and np.all(x >= 0))


def _mixed_round(
    xlp: np.ndarray | None,
    vt: np.ndarray,
    vh: np.ndarray,
    vc: np.ndarray,
    A_cov: sp.csr_matrix,
    n: int,
) -> np.ndarray:
    """Fallback: drive each street in its LP-preferred direction, then balance.

    Each street gets one traversal on its variable with the largest LP value
    (any, without an LP); the imbalance is repaired by a min-cost flow over all
    variables, which keeps coverage and yields a feasible integral solution.
    """
    nv = len(vt)
    base = np.zeros(nv, dtype=np.int64)
    score = xlp if xlp is not None else np.zeros(nv)
    A = A_cov.tocsr()
    for r in range(A.shape[0]):
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        base[cols[np.argmax(score[cols])]] += 1
    supply = (
        np.bincount(vh, weights=base, minlength=n) - np.bincount(vt, weights=base, minlength=n)
    ).astype(float)
    extra, _, _ = _min_cost_flow(n, vt, vh, vc, supply)
    return base + extra
