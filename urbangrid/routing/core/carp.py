"""Capacitated and min-max arc routing: k collectors sharing a district's streets.

Each required street (edge) is *served* once by one of several closed routes from a
depot; routes may also *deadhead* along any street. Two objectives are offered:

* ``"total"`` — minimise the summed cost of all routes under a per-route
  ``capacity`` (demand units, e.g. bins or kerb metres) and/or a per-route cost
  limit ``route_limit`` (e.g. a shift of 14,400 s). This is the classic CARP.
* ``"max"`` — split the streets among exactly ``k`` collectors, each from the
  common depot or from their own start node, minimising the longest route.

The solver is a memetic algorithm in the spirit of Lacomme, Prins &
Ramdane-Chérif [1]_ and Vidal's HGS-CARP [2]_: giant tours cut by an optimal Split,
a compiled local search (relocate, swap, 2-opt*, 2-opt, with both directions of
each street), order crossover, penalised capacity with an adaptive penalty, and
partial restarts. The min-max mode runs an iterated ruin-and-recreate search with
the same local search. Both stop at ``time_limit_s`` seconds or after ``iterations``;
for a given ``seed`` and ``iterations`` the result is deterministic. The kernels
(Split, local search, insertion) are Cython (``_carp.pyx``), compiled when the package
is installed; every table they use is per task or per route, so memory grows linearly
with the number of required edges (plus the deadhead matrix between their end nodes).

:func:`read_instance` reads the CARPLIB files of the gdb, val, egl and EGL-G benchmark
sets and Tang et al.'s Hefei and Beijing sets, and :func:`solve` solves them; above
:data:`~urbangrid.routing.core.carp_decompose.DECOMPOSE_ABOVE` required edges it
re-solves groups of nearby routes (:mod:`urbangrid.routing.core.carp_decompose`), and
above :data:`RECREATE_ABOVE` it spends the second half of the search in ruin and
recreate from the memetic search's best plan.

References
----------
.. [1] P. Lacomme, C. Prins, W. Ramdane-Chérif. Competitive memetic algorithms for
   arc routing problems. Annals of Operations Research 131:159-185, 2004.
.. [2] T. Vidal. Node, edge, arc routing and turn penalties: multiple problems —
   one neighborhood extension. Operations Research 65(4):992-1010, 2017.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from urbangrid.errors import DataFileError, InfeasibleRouteError, RoutingError, UnreachableError
from urbangrid.routing.core.graphs import (
    EdgeId,
    check_node,
    edge_weight,
    iter_edges,
    required_edges,
)
from urbangrid.routing.core.plan import Route, RoutePlan

__all__ = [
    "CarpInstance",
    "CarpSolution",
    "collector_routes",
    "min_collectors",
    "read_instance",
    "solve",
]


# ---------------------------------------------------------------------------
# CARPLIB instances


@dataclass(frozen=True)
class CarpInstance:
    """A CARPLIB instance (gdb, val, egl sets): one depot, undirected edges.

    Attributes
    ----------
    name : str
        ``NOMBRE`` header.
    vertices : int
        Number of vertices, numbered ``1 … vertices``.
    depot : int
        Depot vertex.
    vehicles : int
        ``VEHICULOS``: a lower bound on the fleet, not a hard limit.
    capacity : float
        Vehicle capacity in demand units.
    required : list of (u, v, cost, demand)
        Required edges.
    nonrequired : list of (u, v, cost)
        Edges that may only be deadheaded.
    header_required_cost : float
        ``COSTE_TOTAL_REQ``; for val files it includes a per-graph constant.
    comment : str
        ``COMENTARIO`` (usually an old upper bound, not the best-known cost).
    first_vertex : int
        How the file numbered its vertices: 1 (CARPLIB) or 0 (Tang et al.'s Hefei and
        Beijing sets); vertices here are always ``1 … vertices``, file vertex
        ``i`` being ``i + 1 - first_vertex``.
    """

    name: str
    vertices: int
    depot: int
    vehicles: int
    capacity: float
    required: list[tuple[int, int, float, float]]
    nonrequired: list[tuple[int, int, float]]
    header_required_cost: float = 0.0
    comment: str = ""
    first_vertex: int = 1

    def graph(self) -> nx.MultiGraph:
        """The instance as a MultiGraph with ``cost``, ``demand`` and ``required`` attributes.

        Required edge ``i`` gets key ``i``; non-required edges follow.
        """
        G = nx.MultiGraph(name=self.name)
        G.add_nodes_from(range(1, self.vertices + 1))
        for i, (u, v, c, q) in enumerate(self.required):
            G.add_edge(u, v, key=i, cost=c, demand=q, required=True)
        base = len(self.required)
        for j, (u, v, c) in enumerate(self.nonrequired):
            G.add_edge(u, v, key=base + j, cost=c, demand=0.0, required=False)
        return G


_EDGE_RE = re.compile(
    r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*coste\s+([0-9.]+)(?:\s+demanda\s+([0-9.]+))?", re.IGNORECASE
)


def read_instance(path: str | Path) -> CarpInstance:
    """Read a CARPLIB ``.dat`` file (gdb, val, egl, EGL-G) or one of Tang et al.'s
    large instances (Hefei, Beijing: the same Spanish-header format, vertices numbered
    from 0), as they are.

    A file whose depot or any edge uses vertex 0 is read as numbered from 0 and shifted
    to ``1 … vertices`` (:attr:`CarpInstance.first_vertex` records it).

    Parameters
    ----------
    path : str or Path
        File to read (plain ASCII, ``KEY : value`` header, then edge lists).

    Returns
    -------
    CarpInstance

    Raises
    ------
    DataFileError
        When a header field is missing or the edge counts disagree with the header;
        the message names the file and the field.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        msg = f"{p}: cannot read CARP instance ({exc})"
        raise DataFileError(msg) from exc
    head: dict[str, str] = {}
    required: list[tuple[int, int, float, float]] = []
    nonreq: list[tuple[int, int, float]] = []
    section = ""
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        m = _EDGE_RE.search(line)
        if m:
            u, v = int(m.group(1)), int(m.group(2))
            c = float(m.group(3))
            if section == "LISTA_ARISTAS_REQ":
                if m.group(4) is None:
                    msg = f"{p}, line {lineno}: required edge without 'demanda'"
                    raise DataFileError(msg)
                required.append((u, v, c, float(m.group(4))))
            elif section == "LISTA_ARISTAS_NOREQ":
                nonreq.append((u, v, c))
            else:
                msg = f"{p}, line {lineno}: edge outside an edge list"
                raise DataFileError(msg)
            continue
        if ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().upper()
            if name.startswith("LISTA_ARISTAS"):
                section = name
            else:
                head[name] = value.strip()
    try:
        vertices = int(head["VERTICES"])
        depot = int(head.get("DEPOSITO", "1"))
        n_req = int(head["ARISTAS_REQ"])
        n_noreq = int(head.get("ARISTAS_NOREQ", "0"))
        vehicles = int(head.get("VEHICULOS", "0"))
        capacity = float(head["CAPACIDAD"])
        total = float(head.get("COSTE_TOTAL_REQ", "0"))
    except KeyError as exc:
        msg = (f"{p}: header field {exc.args[0]} is missing; give a CARPLIB instance (a .dat "
               "of gdb, val, egl, EGL-G, or a Hefei/Beijing .txt of Tang et al.)")
        raise DataFileError(msg) from None
    except ValueError as exc:
        msg = f"{p}: bad header value ({exc})"
        raise DataFileError(msg) from None
    if len(required) != n_req or len(nonreq) != n_noreq:
        msg = (
            f"{p}: header says {n_req} required / {n_noreq} non-required edges, "
            f"the lists hold {len(required)} / {len(nonreq)}"
        )
        raise DataFileError(msg)
    first = 0 if depot == 0 or any(0 in (a, b) for a, b, *_ in [*required, *nonreq]) else 1
    for a, b, *_ in [*required, *nonreq]:
        if not (first <= a < vertices + first and first <= b < vertices + first):
            msg = (f"{p}: edge ({a}, {b}) has a vertex outside {first}..{vertices - 1 + first}"
                   f" (vertices numbered from {first})")
            raise DataFileError(msg)
    if first == 0:
        required = [(a + 1, b + 1, c, q) for a, b, c, q in required]
        nonreq = [(a + 1, b + 1, c) for a, b, c in nonreq]
        depot += 1
    return CarpInstance(
        name=head.get("NOMBRE", p.stem),
        vertices=vertices,
        depot=depot,
        vehicles=vehicles,
        capacity=capacity,
        required=required,
        nonrequired=nonreq,
        header_required_cost=total,
        comment=head.get("COMENTARIO", ""),
        first_vertex=first,
    )


# ---------------------------------------------------------------------------
# problem arrays


@dataclass
class _Problem:
    """Compressed arrays: ``D`` between relevant nodes, tasks ``2e``/``2e+1``."""

    D: np.ndarray
    th: np.ndarray
    tt: np.ndarray
    tc: np.ndarray
    tq: np.ndarray
    allowed: np.ndarray
    depots: np.ndarray
    rel_nodes: np.ndarray  # index into the full node list
    pred: np.ndarray | None = None  # (relevant, n_full) predecessors for path expansion

    @property
    def m(self) -> int:
        return int(self.tq.shape[0] // 2)


def _tasks_problem(
    n_full: int,
    adj: sp.csr_matrix,
    directed: bool,
    t_tail: np.ndarray,
    t_head: np.ndarray,
    t_cost: np.ndarray,
    t_dem: np.ndarray,
    t_two_way: np.ndarray,
    depots: np.ndarray,
    keep_pred: bool,
) -> _Problem:
    rel = np.unique(np.r_[t_tail, t_head, depots])
    pos = np.full(n_full, -1, dtype=np.int64)
    pos[rel] = np.arange(len(rel))
    if keep_pred:
        dist, pred = dijkstra(adj, directed=directed, indices=rel, return_predecessors=True)
    else:
        dist = dijkstra(adj, directed=directed, indices=rel)
        pred = None
    D = np.ascontiguousarray(dist[:, rel])
    m = len(t_tail)
    th = np.empty(2 * m, dtype=np.int64)
    tt = np.empty(2 * m, dtype=np.int64)
    th[0::2], tt[0::2] = pos[t_tail], pos[t_head]
    th[1::2], tt[1::2] = pos[t_head], pos[t_tail]
    tc = np.repeat(np.asarray(t_cost, dtype=np.float64), 2)
    tq = np.repeat(np.asarray(t_dem, dtype=np.float64), 2)
    allowed = np.ones(2 * m, dtype=np.bool_)
    allowed[1::2] = t_two_way
    return _Problem(D, th, tt, tc, tq, allowed, pos[depots], rel, pred)


def _check_reach(prob: _Problem, names: Sequence[Any]) -> None:
    """Every required edge must be servable on a closed route from its depot."""
    D = prob.D
    for e in range(prob.m):
        ok = False
        for o in (2 * e, 2 * e + 1):
            if not prob.allowed[o]:
                continue
            for d in np.unique(prob.depots):
                if math.isfinite(D[d, prob.th[o]]) and math.isfinite(D[prob.tt[o], d]):
                    ok = True
        if not ok:
            msg = f"required edge {names[e]!r} cannot be reached from the depot and back"
            raise UnreachableError(msg)


# ---------------------------------------------------------------------------
# search


def _kernels() -> Any:
    """The compiled kernels (``_carp.pyx``, built by ``pip install``)."""
    try:
        from urbangrid.routing.core import _carp
    except ImportError as exc:  # a source tree whose extensions were never built
        msg = ("the CARP kernels are not compiled (urbangrid.routing.core._carp); "
               "reinstall urbangrid: pip install -e . (or make .venv/.installed-dev)")
        raise RoutingError(msg) from exc
    return _carp


def _matrix_shape(prob: _Problem) -> tuple[float, bool]:
    """Largest finite deadhead plus largest service cost, and whether ``D`` is symmetric
    with every task reversible (enables the reversing 2-opt*)."""
    D = prob.D
    finite = D[np.isfinite(D)]
    dmax = float(finite.max(initial=1.0)) + float(prob.tc.max(initial=1.0))
    return dmax, bool(np.array_equal(D, D.T) and prob.allowed.all())


def _neighbours(prob: _Problem, ng: int) -> np.ndarray:
    """Each edge's ``ng`` nearest edges (closest ends), in row blocks so that memory
    stays ``O(m * block)``, not ``O(m^2)``; ties go to the lower edge id."""
    m = prob.m
    a, b = prob.th[0::2], prob.tt[0::2]
    out = np.empty((m, max(ng, 0)), dtype=np.int64)
    if ng <= 0:
        return out
    D = prob.D
    block = max(1, min(m, 1_000_000 // max(m, 1)))
    for lo in range(0, m, block):
        rows = np.arange(lo, min(m, lo + block))
        ra, rb = a[rows], b[rows]
        near = np.minimum(np.minimum(D[np.ix_(ra, a)], D[np.ix_(ra, b)]),
                          np.minimum(D[np.ix_(rb, a)], D[np.ix_(rb, b)]))
        back = np.minimum(np.minimum(D[np.ix_(a, ra)], D[np.ix_(b, ra)]),
                          np.minimum(D[np.ix_(a, rb)], D[np.ix_(b, rb)])).T
        near = np.minimum(near, back)
        near[np.arange(len(rows)), rows] = np.inf
        out[rows] = np.argsort(near, axis=1, kind="stable")[:, :ng]
    return out


def _table_shape(prob: _Problem, Q: float, Lmax: float, mode: int, k: int) -> tuple[int, int]:
    """Rows (routes) and columns (tasks per route) of the kernels' route table.

    A route may take at most the tasks whose smallest demands (or service costs) add up
    to three capacities (route limits); the fleet at most twice the lower bound plus
    ten. Both are far beyond any plan the penalised search keeps, and keep the table
    linear in the number of tasks, not quadratic (3,584 tasks: 0.2 MB, was 100 MB).
    Tables grow when a solution needs more (:meth:`_Search._arrays`).
    """
    m = prob.m
    tq, tc = np.sort(prob.tq[0::2]), np.sort(prob.tc[0::2])
    longest, fleet = m + 1, m + 1
    if math.isfinite(Q) or math.isfinite(Lmax):
        per_q = int(np.searchsorted(np.cumsum(tq), 3 * Q, side="right")) if math.isfinite(Q) else m
        per_c = (int(np.searchsorted(np.cumsum(tc), 3 * Lmax, side="right"))
                 if math.isfinite(Lmax) else m)
        longest = min(m + 1, min(per_q, per_c) + 8)
        lb = max(tq.sum() / Q if math.isfinite(Q) else 1.0,
                 tc.sum() / Lmax if math.isfinite(Lmax) else 1.0, 1.0)
        fleet = min(m + 1, 2 * math.ceil(lb) + 10)
    if mode == 1:
        return k, m + 1
    return max(fleet, k), longest


@dataclass
class _Sol:
    routes: list[np.ndarray]
    cost: float
    obj: float
    feasible: bool
    costs: list[float]
    loads: list[float]


class _Search:
    def __init__(
        self,
        prob: _Problem,
        *,
        capacity: float,
        route_limit: float,
        mode: int,
        k: int,
        seed: int | np.random.Generator,
        shape: tuple[float, bool] | None = None,
    ) -> None:
        self.K = _kernels()
        self.p = prob
        self.Q = float(capacity)
        self.Lmax = float(route_limit)
        self.mode = mode
        self.k = k
        self.m = prob.m
        self.rng = np.random.default_rng(seed)
        self.maxr, self.maxl = _table_shape(prob, self.Q, self.Lmax, mode, k)
        # (largest finite deadhead + service cost, symmetric?): a whole-D scan, done once
        # per instance; sub-problems of a decomposition pass their parent's
        dmax, self.sym = shape if shape is not None else _matrix_shape(prob)
        qmax = float(prob.tq.max(initial=1.0)) or 1.0
        self.lam = max(1e-3, dmax / qmax) if math.isfinite(self.Q) else 0.0
        self.mu = 1.0 if math.isfinite(self.Lmax) else 0.0
        self.eps = 1e-3
        self.dep0 = int(prob.depots[0])
        self.shape = (dmax, self.sym)
        self.neigh = _neighbours(prob, min(20, self.m - 1))
        # the kernels' instance record (see _carp.pyx)
        self.inst = (prob.D, prob.th, prob.tt, prob.tc, prob.tq, prob.allowed)

    def _obj(self, lam: float, mu: float) -> tuple[float, float, float, float, float, int]:
        """The kernels' objective record: capacity, penalties, route limit, mode."""
        return (self.Q, float(lam), self.Lmax, float(mu), self.eps, int(self.mode))

    # -- evaluation
    def _eval(self, routes: list[np.ndarray], deps: np.ndarray) -> _Sol:
        p = self.p
        costs = [
            float(self.K.route_cost(r, len(r), int(deps[i]), p.D, p.th, p.tt, p.tc))
            for i, r in enumerate(routes)
        ]
        loads = [float(p.tq[r].sum()) for r in routes]
        total = math.fsum(costs)
        feas = all(q <= self.Q + 1e-9 for q in loads) and all(
            c <= self.Lmax * (1 + 1e-12) + 1e-9 for c in costs
        )
        obj = total if self.mode == 0 else max(costs, default=0.0) + self.eps * total
        return _Sol([r.copy() for r in routes], total, obj, feas, costs, loads)

    def _arrays(
        self, routes: list[np.ndarray], deps: np.ndarray, extra: int = 0
    ) -> tuple[np.ndarray, ...]:
        """The route table; it grows past ``maxr`` x ``maxl`` when a solution needs it."""
        self.maxr = max(self.maxr, len(routes) + (1 if self.mode == 0 else 0))
        longest = max((len(r) for r in routes), default=0) + extra
        self.maxl = max(self.maxl, longest + 1)
        rt = np.zeros((self.maxr, self.maxl), dtype=np.int64)
        rl = np.zeros(self.maxr, dtype=np.int64)
        dep = np.full(self.maxr, self.dep0, dtype=np.int64)
        for i, r in enumerate(routes):
            rt[i, : len(r)] = r
            rl[i] = len(r)
            dep[i] = deps[i]
        return rt, rl, dep

    def _ls(
        self, routes: list[np.ndarray], deps: np.ndarray, lam: float, mu: float,
        can_open: bool = True,
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Local search; ``can_open=False`` keeps the route count from growing (mode 0)."""
        rt, rl, dep = self._arrays(routes, deps)
        order = self.rng.permutation(self.m).astype(np.int64)
        nr = self.K.local_search(
            (rt, rl, dep),
            len(routes),
            self.maxr,
            self.mode == 0 and can_open,
            self.inst,
            self._obj(lam, mu),
            order,
            self.neigh,
            self.sym,
        )
        out = [rt[i, : rl[i]].copy() for i in range(nr)]
        return out, dep[:nr].copy()

    def _insert(
        self, routes: list[np.ndarray], deps: np.ndarray, tasks: np.ndarray, lam: float, mu: float,
        can_open: bool = True,
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Cheapest insertion of ``tasks`` (edge ids); ``can_open`` as for :meth:`_ls`."""
        rt, rl, dep = self._arrays(routes, deps, extra=len(tasks))
        nr = self.K.insert_tasks(
            (rt, rl, dep),
            len(routes),
            self.maxr,
            self.mode == 0 and can_open,
            tasks.astype(np.int64),
            self.inst,
            self._obj(lam, mu),
        )
        return [rt[i, : rl[i]].copy() for i in range(nr)], dep[:nr].copy()

    def _improve(self, routes: list[np.ndarray], deps: np.ndarray) -> tuple[_Sol, bool]:
        routes, deps = self._ls(routes, deps, self.lam, self.mu)
        s = self._eval(routes, deps)
        first_feasible = s.feasible
        mult = 10.0
        while not s.feasible and mult <= 1000.0:
            routes, deps = self._ls(routes, deps, self.lam * mult, self.mu * mult)
            s = self._eval(routes, deps)
            mult *= 10.0
        return s, first_feasible

    # -- memetic (mode 0, single depot)
    def _random_giant(self) -> np.ndarray:
        if self.rng.random() < 0.5:
            return self._nearest_giant()
        perm = self.rng.permutation(self.m)
        flip = self.rng.integers(0, 2, self.m)
        g = 2 * perm + flip
        bad = ~self.p.allowed[g]
        g[bad] ^= 1
        return g.astype(np.int64)

    def _nearest_giant(self) -> np.ndarray:
        """Randomised nearest-neighbour tour: from the depot, one of the 3 closest free tasks."""
        p = self.p
        free = p.allowed.copy()
        at = self.dep0
        out = np.empty(self.m, dtype=np.int64)
        for k in range(self.m):
            d = np.where(free, p.D[at, p.th], np.inf)
            cand = np.argpartition(d, min(2, len(d) - 1))[:3]
            cand = cand[np.isfinite(d[cand])]
            t = int(cand[self.rng.integers(0, len(cand))])
            out[k] = t
            free[t] = free[t ^ 1] = False
            at = int(p.tt[t])
        return out

    def _split(self, giant: np.ndarray) -> list[np.ndarray]:
        cuts = self.K.split(giant, self.dep0, self.inst, self._obj(self.lam, self.mu))
        return [giant[cuts[i] : cuts[i + 1]].copy() for i in range(len(cuts) - 1)]

    def _ox(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        n = len(a)
        i, j = sorted(self.rng.integers(0, n, 2).tolist())
        child = np.empty(n, dtype=np.int64)
        used = np.zeros(self.m, dtype=bool)
        child[i : j + 1] = a[i : j + 1]
        used[a[i : j + 1] >> 1] = True
        fill = [t for t in np.r_[b[j + 1 :], b[: j + 1]] if not used[t >> 1]]
        pos = list(range(j + 1, n)) + list(range(0, i))
        child[pos] = fill
        return child

    def memetic(
        self,
        time_limit_s: float,
        iterations: int | None,
        initial: Sequence[list[np.ndarray]] = (),
        popsize: int = 25,
        target_cost: float | None = None,
    ) -> tuple[_Sol, dict[str, Any]]:
        """Memetic search; ``initial`` solutions join the first population as they are
        (feasible ones), so the best returned is never worse than them. It stops early
        once a feasible plan costs at most ``target_cost``."""
        t0 = time.perf_counter()
        deadline = t0 + time_limit_s
        deps1 = np.full(self.m + 1, self.dep0, dtype=np.int64)
        pop: list[_Sol] = [s for s in (self._eval(r, deps1) for r in initial) if s.feasible]
        best: _Sol | None = None
        it = 0
        tries = 0
        while len(pop) < popsize and tries < 4 * popsize:
            tries += 1
            s, _ = self._improve(self._split(self._random_giant()), deps1)
            if s.feasible and all(abs(s.cost - x.cost) > 1e-6 for x in pop):
                pop.append(s)
            if time.perf_counter() > deadline and pop:
                break
        if not pop:
            s, _ = self._improve(self._split(self._random_giant()), deps1)
            pop.append(s)
        pop.sort(key=lambda x: (not x.feasible, x.obj))
        best = pop[0]
        since = 0
        feas_hist: list[bool] = []
        restarts = 0
        while True:
            if iterations is not None and it >= iterations:
                break
            if time.perf_counter() > deadline:
                break
            if _reached(best, target_cost):
                break
            it += 1
            a = self._tournament(pop)
            b = self._tournament(pop)
            ga = np.concatenate(a.routes)
            gb = np.concatenate(b.routes)
            child_g = self._ox(ga, gb) if len(ga) > 1 else ga.copy()
            s, ff = self._improve(self._split(child_g), deps1)
            feas_hist.append(ff)
            if len(feas_hist) >= 100:
                frac = sum(feas_hist) / len(feas_hist)
                if frac < 0.2:
                    self.lam *= 1.3
                elif frac > 0.5:
                    self.lam = max(1e-3, self.lam * 0.8)
                feas_hist.clear()
            if s.feasible and all(abs(s.cost - x.cost) > 1e-6 for x in pop):
                worst = len(pop) // 2 + int(self.rng.integers(0, len(pop) - len(pop) // 2))
                if s.obj < pop[worst].obj:
                    pop[worst] = s
                    pop.sort(key=lambda x: (not x.feasible, x.obj))
            if s.feasible and (not best.feasible or s.obj < best.obj - 1e-9):
                best = s
                since = 0
            else:
                since += 1
            if since > 1500 + 10 * self.m:
                restarts += 1
                since = 0
                keep = pop[:3]
                pop = list(keep)
                tries = 0
                while len(pop) < popsize and tries < 4 * popsize:
                    tries += 1
                    if time.perf_counter() > deadline:
                        break
                    s, _ = self._improve(self._split(self._random_giant()), deps1)
                    if s.feasible and all(abs(s.cost - x.cost) > 1e-6 for x in pop):
                        pop.append(s)
                pop.sort(key=lambda x: (not x.feasible, x.obj))
        info = {
            "iterations": it,
            "restarts": restarts,
            "seconds": time.perf_counter() - t0,
        }
        return best, info

    def _tournament(self, pop: list[_Sol]) -> _Sol:
        i, j = self.rng.integers(0, len(pop), 2)
        return pop[min(int(i), int(j))]

    # -- iterated ruin and recreate (mode 1, or several depots)
    def ils(
        self,
        deps: np.ndarray,
        time_limit_s: float,
        iterations: int | None,
        initial: _Sol | None = None,
        target_cost: float | None = None,
        *,
        max_ruin: int | None = None,
        worse: float = 0.005,
    ) -> tuple[_Sol, dict[str, Any]]:
        """Iterated ruin and recreate: remove random or neighbouring streets, reinsert
        them at their cheapest places, local search; descend, sometimes accepting a
        plan up to ``worse`` (a fraction) dearer. Each step removes 2 to ``max_ruin``
        streets (default a quarter of them). From ``initial`` when given (mode 0:
        ``deps`` then holds the depot for any number of routes), else from a random
        insertion into ``len(deps)`` routes. Stops early once a feasible plan costs
        ``target_cost``. Returns the best plan and ``info``: ``iterations``,
        ``seconds``, ``depots`` and ``current``, the plan the walk ended on."""
        t0 = time.perf_counter()
        deadline = t0 + time_limit_s
        if initial is None:
            empty = [np.zeros(0, dtype=np.int64) for _ in range(len(deps))]
            routes, d = self._insert(empty, deps, self.rng.permutation(self.m), self.lam, self.mu)
            cur, _ = self._improve(routes, d)
            cur_d = d
        else:
            cur, cur_d = initial, deps
        best, best_d = cur, cur_d
        it = 0
        while True:
            if iterations is not None and it >= iterations:
                break
            if time.perf_counter() > deadline:
                break
            if _reached(best, target_cost):
                break
            it += 1
            most = max(3, int(0.25 * self.m)) if max_ruin is None else max(3, max_ruin)
            q = int(self.rng.integers(2, most + 1))
            q = min(q, self.m)
            if self.rng.random() < 0.5:
                rem = self.rng.choice(self.m, size=q, replace=False)
            else:
                seed_e = int(self.rng.integers(0, self.m))
                rem = np.r_[seed_e, self.neigh[seed_e, : q - 1]]
            mask = np.zeros(self.m, dtype=bool)
            mask[rem] = True
            kept = [r[~mask[r >> 1]] for r in cur.routes]
            routes, d = self._insert(kept, cur_d, self.rng.permutation(rem), self.lam, self.mu)
            if self.mode == 0:  # one depot: the local search may open routes beyond len(d)
                d = deps
            s, _ = self._improve(routes, d)
            if s.feasible and (
                s.obj < cur.obj - 1e-9
                or (worse > 0 and s.obj <= cur.obj * (1 + worse) and self.rng.random() < 0.2)
            ):
                # mostly descend, sometimes accept a slightly worse plan to move on
                cur, cur_d = s, d
            elif not cur.feasible and s.obj < cur.obj:
                cur, cur_d = s, d
            if (s.feasible and (not best.feasible or s.obj < best.obj - 1e-9)) or (
                not best.feasible and s.obj < best.obj
            ):
                best, best_d = s, d
        # "current": the plan the walk ended on (may cost more than "best")
        info = {"iterations": it, "seconds": time.perf_counter() - t0, "depots": best_d,
                "current": cur}
        return best, info


# ---------------------------------------------------------------------------
# public solvers


@dataclass(frozen=True)
class CarpSolution:
    """Routes of a CARP instance.

    Attributes
    ----------
    cost : float
        Total cost (service plus deadhead), instance units, no val constant.
    routes : list of list of (u, v)
        Served edges of each route in order, each in the direction driven;
        deadheading between them follows shortest paths.
    loads : list of float
        Demand served by each route.
    route_costs : list of float
        Cost of each route.
    feasible : bool
        Whether every route fits the capacity.
    route_edges : list of list of int
        Position in ``instance.required`` of each served edge.
    info : dict
        Iterations, restarts, seconds, seed.
    """

    cost: float
    routes: list[list[tuple[int, int]]]
    loads: list[float]
    route_costs: list[float]
    feasible: bool
    route_edges: list[list[int]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_plan(self, instance: CarpInstance) -> RoutePlan:
        """Expand to closed walks on ``instance.graph()`` (weight ``"cost"``)."""
        G = instance.graph()
        required: list[EdgeId] = [(u, v, i) for i, (u, v, _, _) in enumerate(instance.required)]
        served: list[list[EdgeId]] = [
            [(u, v, i) for (u, v), i in zip(r, idx, strict=True)]
            for r, idx in zip(self.routes, self.route_edges, strict=True)
        ]
        demand: dict[EdgeId, float] = {
            (u, v, i): q for i, (u, v, _, q) in enumerate(instance.required)
        }
        return _expand(G, "cost", instance.depot, served, required, demand)


def _expand(
    G: nx.Graph,
    weight: str,
    depot: Hashable | Sequence[Hashable],
    routes: list[list[EdgeId]],
    required: list[EdgeId],
    demand: Mapping[EdgeId, float] | None,
    oneway: str | None = None,
    objective: str = "total",
    info: dict[str, Any] | None = None,
) -> RoutePlan:
    """Join served traversals with cheapest deadhead paths into closed walks."""
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    best: dict[tuple[int, int], tuple[float, EdgeId]] = {}
    wmap: dict[EdgeId, float] = {}
    directed = G.is_directed()
    for u, v, k, d in iter_edges(G):  # one pass: the cheapest arcs and every arc's weight
        w = edge_weight(u, v, k, d, weight)
        wmap[(u, v, k)] = w
        fwd = [(index[u], index[v], (u, v, k))]
        if not directed or (oneway is not None and not d.get(oneway)):
            fwd.append((index[v], index[u], (v, u, k)))
            wmap[(v, u, k)] = w
        for a, b, eid in fwd:
            if a != b and ((a, b) not in best or w < best[(a, b)][0]):
                best[(a, b)] = (w, eid)
    rows = [a for a, _ in best]
    cols = [b for _, b in best]
    ws = [best[x][0] for x in best]
    adj = sp.csr_matrix((ws, (rows, cols)), shape=(len(nodes), len(nodes)))
    deps = list(depot) if isinstance(depot, list | tuple) else [depot] * len(routes)
    srcs = sorted({index[x] for x in deps} | {index[e[1]] for r in routes for e in r})
    _, pred = dijkstra(adj, directed=True, indices=srcs, return_predecessors=True)
    row = {s: i for i, s in enumerate(srcs)}

    def path(a: int, b: int) -> list[EdgeId]:
        out = []
        cur = b
        pr = pred[row[a]]
        while cur != a:
            p = int(pr[cur])
            if p < 0:
                msg = f"no path from {nodes[a]!r} to {nodes[b]!r}"
                raise UnreachableError(msg)
            out.append(best[(p, cur)][1])
            cur = p
        return out[::-1]

    dem = demand or {}
    out_routes = []
    for ri, r in enumerate(routes):
        dnode = deps[ri]
        edges: list[EdgeId] = []
        served: list[bool] = []
        at = index[dnode]
        load = 0.0
        for e in r:
            for x in path(at, index[e[0]]):
                edges.append(x)
                served.append(False)
            edges.append(e)
            served.append(True)
            load += float(dem.get(e, dem.get((e[1], e[0], e[2]), 0.0)))
            at = index[e[1]]
        if r:
            for x in path(at, index[dnode]):
                edges.append(x)
                served.append(False)
        ws_ = [wmap[x] for x in edges]
        out_routes.append(
            Route(
                start=dnode,
                edges=tuple(edges),
                served=tuple(served),
                cost=math.fsum(ws_),
                deadhead_cost=math.fsum(w for w, s in zip(ws_, served, strict=True) if not s),
                load=load,
            )
        )
    return RoutePlan(
        routes=tuple(out_routes), weight=weight, objective=objective, info=dict(info or {})
    )


def _reached(s: _Sol, target_cost: float | None) -> bool:
    """Whether ``s`` is a feasible plan costing at most ``target_cost`` (instance units);
    never when no target is set. The one stopping rule of every search here."""
    return target_cost is not None and s.feasible and s.cost <= target_cost


#: Instances with more required edges than this (and at most
#: :data:`~urbangrid.routing.core.carp_decompose.DECOMPOSE_ABOVE`) spend the second half
#: of the search in ruin and recreate from the memetic search's best plan.
RECREATE_ABOVE = 300


def _memetic_then_recreate(
    search: _Search, time_limit_s: float, iterations: int | None, target_cost: float | None
) -> tuple[_Sol, dict[str, Any]]:
    """Half the budget (time, or ``iterations``) memetic search, the other half iterated
    ruin and recreate from its best plan.

    On EGL-G (347-375 streets) the memetic search alone stalls: egl-g2-B stays 1.46 %
    above the best-known cost from 60 s to 600 s (1.10 %), while 60 s of ruin and recreate
    after 60 s of memetic search reach 0.52 % (load 3.9). Its population converges; the
    ruin-and-recreate moves (up to a quarter of the streets at once, and plans up to
    0.5 % dearer accepted) leave that basin.
    """
    t0 = time.perf_counter()
    first = None if iterations is None else iterations // 2
    sol, info = search.memetic(time_limit_s / 2, first, target_cost=target_cost)
    if _reached(sol, target_cost):
        return sol, info
    left = max(0.0, time_limit_s - (time.perf_counter() - t0))
    rest = None if iterations is None else iterations - info["iterations"]
    deps = np.full(search.m + 1, search.dep0, dtype=np.int64)
    best, more = search.ils(deps, left, rest, initial=sol, target_cost=target_cost)
    info["recreate_iterations"] = more["iterations"]
    info["iterations"] += more["iterations"]
    info["seconds"] = time.perf_counter() - t0
    return best, info


def _instance_problem(instance: CarpInstance) -> _Problem:
    """The search arrays of a CARPLIB instance (checked: every edge reachable, every
    demand within the capacity)."""
    n = instance.vertices + 1
    rows: list[int] = []
    cols: list[int] = []
    ws: list[float] = []
    for u, v, c in [(r[0], r[1], r[2]) for r in instance.required] + instance.nonrequired:
        rows += [u, v]
        cols += [v, u]
        ws += [c, c]
    best: dict[tuple[int, int], float] = {}
    for a, b, w in zip(rows, cols, ws, strict=True):
        if (a, b) not in best or w < best[(a, b)]:
            best[(a, b)] = w
    adj = sp.csr_matrix(
        (list(best.values()), ([a for a, _ in best], [b for _, b in best])), shape=(n, n)
    )
    req = instance.required
    prob = _tasks_problem(
        n,
        adj,
        False,
        np.array([r[0] for r in req], dtype=np.int64),
        np.array([r[1] for r in req], dtype=np.int64),
        np.array([r[2] for r in req], dtype=np.float64),
        np.array([r[3] for r in req], dtype=np.float64),
        np.ones(len(req), dtype=bool),
        np.array([instance.depot], dtype=np.int64),
        keep_pred=False,
    )
    _check_reach(prob, [(r[0], r[1]) for r in req])
    if any(r[3] > instance.capacity for r in req):
        msg = f"{instance.name}: a required edge's demand exceeds the capacity"
        raise InfeasibleRouteError(msg)
    return prob


def solve(
    instance: CarpInstance,
    *,
    time_limit_s: float = 60.0,
    seed: int = 0,
    iterations: int | None = None,
    target_cost: float | None = None,
) -> CarpSolution:
    """Solve a CARPLIB instance: minimise total cost under the vehicle capacity.

    Parameters
    ----------
    instance : CarpInstance
        From :func:`read_instance`.
    time_limit_s : float
        Seconds of search (the kernels are compiled at install: no warm-up).
    seed : int
        Random seed; with ``iterations`` set the result is deterministic.
    iterations : int, optional
        Number of offspring to generate (above
        :data:`~urbangrid.routing.core.carp_decompose.DECOMPOSE_ABOVE` required edges:
        route groups to re-solve); default unlimited (until ``time_limit_s``).
    target_cost : float, optional
        Stop as soon as a feasible plan costs at most this (instance units). The search
        does not otherwise look at it, so up to that moment it runs exactly as without
        it: a benchmark can time how long the search takes to come within 1 % of a
        best-known cost without changing the search it times.

    Returns
    -------
    CarpSolution
        The number of routes is not capped by ``instance.vehicles``, as in the
        benchmark convention.
    """
    prob = _instance_problem(instance)
    search = _Search(prob, capacity=instance.capacity, route_limit=math.inf, mode=0, k=1, seed=seed)
    from urbangrid.routing.core import carp_decompose as dec  # it builds on this module

    if prob.m > dec.DECOMPOSE_ABOVE:
        sol, info = dec.decomposed_search(search, time_limit_s, iterations,
                                          target_cost=target_cost)
    elif prob.m > RECREATE_ABOVE:
        sol, info = _memetic_then_recreate(search, time_limit_s, iterations, target_cost)
    else:
        sol, info = search.memetic(time_limit_s, iterations, target_cost=target_cost)
    info["seed"] = seed
    info["reached_target"] = _reached(sol, target_cost)
    nodes = prob.rel_nodes
    routes = [
        [(int(nodes[prob.th[t]]), int(nodes[prob.tt[t]])) for t in r.tolist()] for r in sol.routes
    ]
    return CarpSolution(
        cost=sol.cost,
        routes=routes,
        loads=sol.loads,
        route_costs=sol.costs,
        feasible=sol.feasible,
        route_edges=[[t >> 1 for t in r.tolist()] for r in sol.routes],
        info=info,
    )


def _graph_problem(
    G: nx.Graph,
    required: Iterable[tuple[Any, ...]] | None,
    weight: str,
    depots: list[Hashable],
    demand: str | None,
    oneway: str | None,
) -> tuple[_Problem, list[EdgeId], dict[EdgeId, float]]:
    for depot in depots:
        check_node(G, depot, "depot")
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    directed = G.is_directed()
    best: dict[tuple[int, int], float] = {}
    edata: dict[EdgeId, dict[str, Any]] = {}
    eindex: dict[EdgeId, int] = {}  # edge_index(G), read in the same pass
    for i, (u, v, k, d) in enumerate(iter_edges(G)):
        w = edge_weight(u, v, k, d, weight)
        edata[(u, v, k)] = d
        eindex[(u, v, k)] = i
        if not directed:
            eindex.setdefault((v, u, k), i)
        pairs = [(index[u], index[v])]
        if not directed or (oneway is not None and not d.get(oneway)):
            pairs.append((index[v], index[u]))
        for a, b in pairs:
            if a != b and ((a, b) not in best or w < best[(a, b)]):
                best[(a, b)] = w
    adj = sp.csr_matrix(
        (list(best.values()), ([a for a, _ in best], [b for _, b in best])),
        shape=(len(nodes), len(nodes)),
    )
    if required is None:
        req_ids = list(edata)
        if not req_ids:
            msg = "no required edges"
            raise RoutingError(msg)
    else:
        ids = list(edata)  # iter_edges order, as edge_index counts
        req_ids = [ids[i] for i in required_edges(G, required, eindex)]
    dem = _demands(req_ids, edata, demand)
    two_way = np.array(
        [(not directed) or (oneway is not None and not edata[e].get(oneway)) for e in req_ids],
        dtype=bool,
    )
    prob = _tasks_problem(
        len(nodes),
        adj,
        True,
        np.array([index[e[0]] for e in req_ids], dtype=np.int64),
        np.array([index[e[1]] for e in req_ids], dtype=np.int64),
        np.array([edge_weight(*e, edata[e], weight) for e in req_ids], dtype=np.float64),
        np.array([dem[e] for e in req_ids], dtype=np.float64),
        two_way,
        np.array([index[d] for d in depots], dtype=np.int64),
        keep_pred=False,
    )
    _check_reach(prob, req_ids)
    return prob, req_ids, dem


def _demands(
    req_ids: list[EdgeId], edata: dict[EdgeId, dict[str, Any]], demand: str | None
) -> dict[EdgeId, float]:
    """Demand of each required edge from its ``demand`` attribute (0 without one)."""
    dem: dict[EdgeId, float] = {}
    for e in req_ids:
        if demand is None:
            dem[e] = 0.0
            continue
        val = edata[e].get(demand)
        try:
            q = float(val)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            msg = f"required edge {e!r} has no numeric {demand!r} demand: {val!r}"
            raise RoutingError(msg) from None
        if not math.isfinite(q) or q < 0:
            msg = f"required edge {e!r} has {demand!r} = {val!r}; demands must be >= 0"
            raise RoutingError(msg)
        dem[e] = q
    return dem


def _routes_to_ids(
    prob: _Problem, sol: _Sol, req_ids: list[EdgeId], G: nx.Graph
) -> list[list[EdgeId]]:
    out = []
    for r in sol.routes:
        seq = []
        for t in r.tolist():
            u, v, k = req_ids[t >> 1]
            seq.append((u, v, k) if t % 2 == 0 else (v, u, k))
        out.append(seq)
    return out


def collector_routes(
    G: nx.Graph,
    *,
    depot: Hashable | None = None,
    depots: Sequence[Hashable] | None = None,
    k: int | None = None,
    required: Iterable[tuple[Any, ...]] | None = None,
    weight: str = "weight",
    objective: str = "total",
    demand: str | None = None,
    capacity: float | None = None,
    route_limit: float | None = None,
    oneway: str | None = None,
    time_limit_s: float = 30.0,
    seed: int = 0,
    iterations: int | None = None,
) -> RoutePlan:
    """Split required streets among collectors' closed routes.

    Parameters
    ----------
    G : networkx graph
        Street graph. Undirected edges may be served in either direction; on a
        directed graph arcs are served forwards only, unless ``oneway`` names the
        attribute marking one-way arcs (then the others are two-way).
    depot : node, optional
        Common start and end of every route.
    depots : sequence of node, optional
        One start node per collector (min-max only); fixes ``k``.
    k : int, optional
        Number of collectors for ``objective="max"``.
    required : iterable of (u, v) or (u, v, key), optional
        Streets to serve; default every edge.
    weight : str
        Edge cost attribute (metres or seconds).
    objective : {"total", "max"}
        Minimise the sum of route costs (CARP) or the longest route (min-max).
    demand : str, optional
        Edge attribute holding each street's demand (e.g. bins); needs ``capacity``.
    capacity : float, optional
        Largest demand per route.
    route_limit : float, optional
        Largest cost per route (a shift, in the weight's unit).
    oneway : str, optional
        Attribute marking one-way arcs on a directed graph.
    time_limit_s : float
        Seconds of search.
    seed : int
        Random seed; with ``iterations`` the result is deterministic.
    iterations : int, optional
        Search budget (offspring or ruin-and-recreate steps).

    Returns
    -------
    RoutePlan
        Closed walks with serving flags and per-route loads; check them with
        :func:`~urbangrid.routing.core.plan.check_plan` (``serve_once=True``).

    Raises
    ------
    UnreachableError
        When a required street cannot be served from a depot and back.
    InfeasibleRouteError
        When no plan meeting ``capacity`` and ``route_limit`` was found.

    See Also
    --------
    min_collectors : the fewest collectors meeting a route limit.
    solve : the same search on a CARPLIB benchmark instance.
    """
    if objective not in ("total", "max"):
        msg = f"objective must be 'total' or 'max', not {objective!r}"
        raise RoutingError(msg)
    if depots is not None:
        deps = list(depots)
        if not deps:
            msg = "depots is empty"
            raise RoutingError(msg)
        if k is not None and k != len(deps):
            msg = f"k={k} but {len(deps)} depots were given"
            raise RoutingError(msg)
        k = len(deps)
        if objective != "max":
            msg = "per-collector depots need objective='max'"
            raise RoutingError(msg)
    else:
        if depot is None:
            msg = "give a depot (or per-collector depots)"
            raise RoutingError(msg)
        deps = [depot]
    if objective == "max" and (k is None or k < 1):
        msg = "objective='max' needs k >= 1 collectors"
        raise RoutingError(msg)
    if demand is not None and capacity is None:
        msg = "a demand attribute needs a capacity"
        raise RoutingError(msg)
    if capacity is not None and not capacity > 0:
        msg = f"capacity must be > 0, not {capacity!r}"
        raise RoutingError(msg)
    if route_limit is not None and not route_limit > 0:
        msg = f"route_limit must be > 0, not {route_limit!r}"
        raise RoutingError(msg)
    prob, req_ids, dem = _graph_problem(G, required, weight, deps, demand, oneway)
    Q = math.inf if capacity is None else float(capacity)
    for e in req_ids:
        if dem[e] > Q:
            msg = f"required edge {e!r} has demand {dem[e]} above the capacity {Q}"
            raise InfeasibleRouteError(msg)
    L = math.inf if route_limit is None else float(route_limit)
    mode = 0 if objective == "total" else 1
    search = _Search(prob, capacity=Q, route_limit=L, mode=mode, k=k or 1, seed=seed)
    if mode == 0:
        sol, info = search.memetic(time_limit_s, iterations)
        route_deps: list[Hashable] = [deps[0]] * len(sol.routes)
    else:
        assert k is not None
        dep_idx = np.array(
            [prob.depots[i if len(deps) > 1 else 0] for i in range(k)], dtype=np.int64
        )
        sol, info = search.ils(dep_idx, time_limit_s, iterations)
        nodes_full = list(G.nodes)
        dmap = {int(prob.depots[i]): d for i, d in enumerate(deps)}
        route_deps = [
            dmap.get(int(x), nodes_full[int(prob.rel_nodes[x])]) for x in info.pop("depots")
        ]
        while len(sol.routes) < k:
            sol.routes.append(np.zeros(0, dtype=np.int64))
    if not sol.feasible:
        msg = (
            "no plan found within the capacity / route limit "
            f"(best has loads {max(sol.loads, default=0):.6g}, "
            f"longest route {max(sol.costs, default=0):.6g}); allow more collectors or time"
        )
        raise InfeasibleRouteError(msg)
    info["seed"] = seed
    served = _routes_to_ids(prob, sol, req_ids, G)
    plan = _expand(
        G, weight, route_deps, served, req_ids, dem, oneway=oneway, objective=objective, info=info
    )
    if mode == 1:
        plan = replace(plan, lower_bound=_minmax_bound(prob, k or 1))
    return plan


def _minmax_bound(prob: _Problem, k: int) -> float:
    """Longest route >= the dearest single street served alone, and >= service / k."""
    D, th, tt, tc = prob.D, prob.th, prob.tt, prob.tc
    deps = np.unique(prob.depots)
    alone = np.full(2 * prob.m, np.inf)
    for d in deps:
        alone = np.minimum(alone, D[d, th] + tc + D[tt, d])
    alone[~prob.allowed] = np.inf
    per_edge = np.minimum(alone[0::2], alone[1::2])
    return float(max(per_edge.max(initial=0.0), tc[0::2].sum() / k))


def min_collectors(
    G: nx.Graph,
    *,
    depot: Hashable,
    route_limit: float,
    required: Iterable[tuple[Any, ...]] | None = None,
    weight: str = "weight",
    oneway: str | None = None,
    time_limit_s: float = 30.0,
    seed: int = 0,
    iterations: int | None = None,
) -> RoutePlan:
    """Fewest collectors from ``depot`` whose routes each cost at most ``route_limit``.

    A total-cost search under the route limit gives an upper bound ``k``; then
    min-max searches with ``k - 1, k - 2, …`` collectors run while one stays
    within the limit and time is left (``time_limit_s`` covers the whole call). The
    lower bound ``max(1, ceil(Σ required cost / limit))`` stops the descent early.

    Returns
    -------
    RoutePlan
        The plan with the fewest routes found; ``info["k_lower_bound"]`` gives
        the bound, and ``optimal`` is True when the two meet.

    Raises
    ------
    InfeasibleRouteError
        When a single street cannot be served within the limit.
    """
    deadline = time.perf_counter() + time_limit_s
    req = None if required is None else list(required)
    common: dict[str, Any] = {
        "depot": depot,
        "required": req,
        "weight": weight,
        "oneway": oneway,
        "seed": seed,
        "iterations": iterations,
    }
    plan = collector_routes(
        G, objective="total", route_limit=route_limit, time_limit_s=time_limit_s / 2, **common
    )
    routes = [r for r in plan.routes if r.edges]
    service = math.fsum(r.service_cost for r in routes)
    k_lb = max(1, math.ceil(service / route_limit - 1e-9))
    best = RoutePlan(routes=tuple(routes), weight=weight, info=dict(plan.info))
    k = len(routes)
    while k - 1 >= k_lb:
        left = deadline - time.perf_counter()
        if left <= 0 and iterations is None:
            break
        try:
            cand = collector_routes(
                G,
                objective="max",
                k=k - 1,
                route_limit=route_limit,
                time_limit_s=max(0.1, min(time_limit_s / 4, left)),
                **common,
            )
        except InfeasibleRouteError:
            break
        if cand.max_route_cost > route_limit * (1 + 1e-12):
            break
        best = RoutePlan(
            routes=tuple(r for r in cand.routes if r.edges), weight=weight, info=dict(cand.info)
        )
        k = len(best.routes)
    info = dict(best.info)
    info["k_lower_bound"] = k_lb
    return RoutePlan(
        routes=best.routes,
        weight=weight,
        optimal=len(best.routes) == k_lb,
        objective="total",
        info=info,
    )
