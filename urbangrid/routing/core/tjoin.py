"""Certified minimum T-joins on the sparse street graph: primal, dual and checker.

A minimum T-join (the parity repair of a Chinese postman tour) is found as a minimum
perfect matching of the terminals ``T`` over a *sparse* set of candidate pairs,
never the ``|T|²`` distance table:

1. candidate pairs are the terminals whose Voronoi cells touch (one multi-source
   Dijkstra run over the street graph; a pair's length is the path through the
   boundary edge);
2. a minimum perfect matching of the terminals over those pairs, with its dual (a
   value per terminal and per nested blossom), comes from a compiled primal-dual
   blossom method (``_blossom.h``: Edmonds' method in Galil's formulation, as in
   networkx's ``max_weight_matching``, one alternating tree at a time). Costs are
   scaled by a power of two and floored to integers (:func:`_integer_costs`), so the
   dual is exact, exactly feasible for the float costs, and its value equals the
   matching's. A terminal whose dual ends below zero (the moats need ``y >= 0``) takes
   value from its partner's side (:func:`_raise_negatives`), or the shortcut pairs
   around it are added (:func:`_shortcut_pairs`). Without the compiled module, or if
   it cannot certify, the matching linear program with odd-set cuts is solved by
   HiGHS instead (``method="lp"``);
3. the dual is *lifted* to the street graph as growing "moats" (Jünger & Pulleyblank's
   geometric duals): set ``B`` becomes a chain of nested node sets, each node of the
   moat joining at its offset distance. The lifted family is a dual solution of the
   cut formulation of the T-join on the street graph::

       max Σ_S y_S   s.t.  Σ_{S : e ∈ δ(S)} y_S <= w_e  for every street edge e,
                           y_S >= 0, every S laminar and holding an odd number of T.

   Where an edge is overloaded (a shorter connection the candidate pairs missed),
   that pair is added and the program solved again (pricing).

The certificate is checked by :func:`check_t_join_certificate`, which knows nothing
of how it was made: it recomputes every set's terminal parity and every edge's load
from the laminar tree and returns the bound ``Σ y``, scaled down if any edge is
overloaded by rounding, so the bound is always valid. A join whose cost equals the
bound is optimal.

Rounding: the moats are grown on the float weights given. The checker's bound is a
valid lower bound in floating point; "optimal" means ``cost - bound <= 1e-9 × cost``
(the integer costs' unit is about 2**-48 of the longest pair, HiGHS's tolerances on
the LP path). With integer weights (e.g. whole decimetres) a bound above
``cost - 1`` proves exact optimality, which :attr:`CertifiedTJoin.exact` states.

References
----------
.. [1] J. Edmonds, E. L. Johnson. Matching, Euler tours and the Chinese postman.
   Mathematical Programming 5:88-124, 1973.
.. [2] M. Jünger, W. R. Pulleyblank. New primal and dual matching heuristics.
   Algorithmica 13:357-380, 1995 (geometric duals, moats).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components, dijkstra, reverse_cuthill_mckee

from urbangrid.errors import RoutingError

__all__ = [
    "CertifiedTJoin",
    "TJoinCertificate",
    "certified_t_join",
    "check_t_join_certificate",
]

#: relative tolerance of "cost equals bound" for float weights (HiGHS's own tolerances)
REL_TOL = 1e-9


@dataclass(frozen=True)
class TJoinCertificate:
    """A laminar family of node sets with a value each: a dual solution of the T-join.

    Sets are numbered so that a set's parent (the smallest set strictly containing
    it) has a larger number; ``set_parent[i]`` is ``-1`` for a top-level set.
    ``node_set[v]`` is the smallest set holding node ``v`` (``-1``: none); a node is
    in that set and all its ancestors.
    """

    set_parent: np.ndarray
    node_set: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class CertifiedTJoin:
    """A T-join (edge positions), its cost, the checked bound and its certificate."""

    edges: np.ndarray
    cost: float
    bound: float
    certificate: TJoinCertificate | None
    exact: bool
    info: dict[str, float]

    @property
    def optimal(self) -> bool:
        """Whether the bound meets the cost (to :data:`REL_TOL`, or exactly)."""
        return self.exact or self.cost - self.bound <= REL_TOL * max(1.0, abs(self.cost))


def check_t_join_certificate(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    w: np.ndarray,
    terminal: np.ndarray,
    cert: TJoinCertificate,
) -> float:
    """Check a T-join dual on an undirected graph and return the lower bound it proves.

    Parameters
    ----------
    n : int
        Number of nodes (``0 .. n-1``).
    tail, head, w : numpy.ndarray
        The edges and their weights (>= 0; parallel edges and loops allowed).
    terminal : numpy.ndarray of bool
        The set ``T``.
    cert : TJoinCertificate
        The laminar family and its values.

    Returns
    -------
    float
        ``Σ y_S``, scaled down by the largest overload ``load_e / w_e`` if rounding
        left any edge above its weight: a valid lower bound on every T-join's cost.

    Raises
    ------
    RoutingError
        If the family is not a forest numbered children-first, a value is negative or
        not finite, or a set with positive value holds an even number of terminals.
    """
    par = np.asarray(cert.set_parent, dtype=np.int64)
    y = np.asarray(cert.value, dtype=float)
    ns = np.asarray(cert.node_set, dtype=np.int64)
    k = len(par)
    if len(y) != k or len(ns) != n or (ns >= k).any() or (ns < -1).any():
        raise RoutingError("certificate arrays do not fit the graph")
    idx = np.arange(k)
    if ((par != -1) & (par <= idx)).any() or (par >= k).any():
        raise RoutingError("certificate sets are not numbered children-first")
    if not np.isfinite(y).all() or (y < 0).any():
        raise RoutingError("certificate values must be finite and >= 0")
    # terminals per set: each node counts in its smallest set, then flows to parents
    count = np.bincount(ns[(ns >= 0) & terminal], minlength=k).astype(np.int64)
    depth = np.zeros(k, dtype=np.int64)
    for i in range(k):
        p = par[i]
        if p >= 0:
            count[p] += count[i]
    for i in range(k - 1, -1, -1):
        p = par[i]
        if p >= 0:
            depth[i] = depth[p] + 1
    if ((count % 2 == 0) & (y > 0)).any():
        bad = int(np.flatnonzero((count % 2 == 0) & (y > 0))[0])
        msg = f"certificate set {bad} holds {int(count[bad])} terminals, an even number"
        raise RoutingError(msg)
    load = _edge_loads(par, y, depth, ns, np.asarray(tail), np.asarray(head))
    w = np.asarray(w, dtype=float)
    over = load > w
    scale = 1.0
    if over.any():
        scale = float(np.min(np.where(over, w, load)[over] / load[over]))
    return scale * math.fsum(y.tolist())


def _edge_loads(
    par: np.ndarray,
    y: np.ndarray,
    depth: np.ndarray,
    ns: np.ndarray,
    tail: np.ndarray,
    head: np.ndarray,
) -> np.ndarray:
    """Σ y over the sets holding exactly one end of each edge (via the sets' tree).

    ``up[a] + up[b] - 2 up[lca(a, b)]`` with ``up`` the sums from a set to its root;
    the lowest common set by binary lifting (vectorised, ``log2`` of the depth
    passes), a sentinel ``k`` standing for "no set".
    """
    k = len(par)
    up = np.zeros(k)  # Σ y from a set to its root, itself included
    for i in range(k - 1, -1, -1):
        up[i] = y[i] + (up[par[i]] if par[i] >= 0 else 0.0)
    ext_up = np.r_[up, 0.0]
    ext_depth = np.r_[depth, -1]
    a = np.where(ns[tail] >= 0, ns[tail], k)
    b = np.where(ns[head] >= 0, ns[head], k)
    load = ext_up[a] + ext_up[b]
    act = np.flatnonzero(a != b)
    if len(act) == 0:
        return load * 0.0
    anc = [np.r_[np.where(par >= 0, par, k), k]]
    while (1 << len(anc)) <= int(ext_depth.max(initial=0)) + 1:
        anc.append(anc[-1][anc[-1]])
    ca, cb = a[act], b[act]
    deeper = ext_depth[ca] < ext_depth[cb]
    ca, cb = np.where(deeper, cb, ca), np.where(deeper, ca, cb)
    diff = ext_depth[ca] - ext_depth[cb]
    for j, step in enumerate(anc):
        sel = ((diff >> j) & 1).astype(bool)
        ca[sel] = step[ca[sel]]
    for step in reversed(anc):
        na, nb = step[ca], step[cb]
        move = na != nb
        ca[move], cb[move] = na[move], nb[move]
    lca = np.where(ca == cb, ca, anc[0][ca])
    load[act] -= 2.0 * ext_up[lca]
    load[a == b] = 0.0
    return load


@dataclass
class _Graph:
    """A simple undirected graph in CSR form (one edge per node pair, no loops)."""

    n: int
    a: np.ndarray
    b: np.ndarray
    w: np.ndarray
    indptr: np.ndarray
    nbr: np.ndarray
    nbr_w: np.ndarray
    nbr_e: np.ndarray
    A: sp.csr_matrix
    kernel: Any  # the compiled searches (_blossom.Graph), None when not built


def _kernels() -> Any:
    """The compiled module (``_blossom.pyx``), or None in a source tree never built."""
    try:
        from urbangrid.routing.core import _blossom
    except ImportError:  # pragma: no cover - depends on the build
        return None
    return _blossom


def _simple_graph(n: int, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> _Graph:
    m = len(a)
    E = sp.csr_matrix((np.r_[np.arange(m), np.arange(m)], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    E.sort_indices()
    e = E.data.astype(np.int64)
    # scipy's Dijkstra may drop a zero weight: search on a tiny positive one instead
    tiny = 1e-9 * max(1.0, float(w.max(initial=0.0)))
    A = sp.csr_matrix((np.maximum(w[e], tiny), E.indices, E.indptr), shape=(n, n))
    mod = _kernels()
    kernel = None if mod is None else mod.Graph(E.indptr, E.indices, w[e], e)
    return _Graph(n, a, b, w, E.indptr, E.indices, w[e], e, A, kernel)


@dataclass
class _Pairs:
    """Candidate terminal pairs: terminal positions, cost, and how to rebuild the path."""

    i: list[int]
    j: list[int]
    cost: list[float]
    via: list[int]  # Voronoi boundary edge, or -1: rebuild by a point-to-point search
    seen: dict[tuple[int, int], int]

    def add(self, i: int, j: int, c: float, via: int) -> bool:
        key = (min(i, j), max(i, j))
        k = self.seen.get(key)
        if k is not None:
            if c < self.cost[k] * (1 - 1e-12):
                self.cost[k], self.via[k] = c, via
                return True
            return False
        self.seen[key] = len(self.i)
        self.i.append(key[0])
        self.j.append(key[1])
        self.cost.append(c)
        self.via.append(via)
        return True

    def merge(self, i: np.ndarray, j: np.ndarray, c: np.ndarray, via: np.ndarray) -> None:
        """Add many pairs at once (the cheapest per node pair kept); renumbers the pairs."""
        old = [np.asarray(x, dtype=np.int64) for x in (self.i, self.j, self.via)]
        ai, aj, av = np.r_[old[0], i], np.r_[old[1], j], np.r_[old[2], via]
        ac = np.r_[np.asarray(self.cost, dtype=float), c]
        lo, hi = np.minimum(ai, aj), np.maximum(ai, aj)
        order = np.lexsort((ac, hi, lo))  # stable: the earlier pair wins a tie
        first = np.ones(len(order), dtype=bool)
        first[1:] = (lo[order][1:] != lo[order][:-1]) | (hi[order][1:] != hi[order][:-1])
        pick = order[first]
        self.i, self.j = lo[pick].tolist(), hi[pick].tolist()
        self.cost, self.via = ac[pick].tolist(), av[pick].astype(np.int64).tolist()
        self.seen = dict(zip(zip(self.i, self.j, strict=True), range(len(pick)), strict=True))


def _voronoi_pairs(g: _Graph, tnodes: np.ndarray, tpos: np.ndarray) -> tuple[_Pairs, tuple]:
    """Pairs of terminals whose Voronoi cells share an edge, by one multi-source run."""
    dist, pred, src = dijkstra(
        g.A, directed=False, indices=tnodes, min_only=True, return_predecessors=True
    )
    sa, sb = src[g.a], src[g.b]
    cross = np.flatnonzero((sa != sb) & (sa >= 0) & (sb >= 0))
    length = dist[g.a[cross]] + g.w[cross] + dist[g.b[cross]]
    pairs = _Pairs([], [], [], [], {})
    pairs.merge(tpos[sa[cross]], tpos[sb[cross]], length, cross)
    return pairs, (dist, pred, src)


def _blossom_rows(
    pi: np.ndarray, pj: np.ndarray, nt: int, blossoms: list[np.ndarray]
) -> sp.csr_matrix:
    """Constraint rows: one per terminal (degree) then one per odd set (its cut)."""
    npairs = len(pi)
    cols = np.arange(npairs)
    rows = [np.r_[pi, pj]]
    cc = [np.r_[cols, cols]]
    inside = np.zeros(nt, dtype=bool)
    for r, S in enumerate(blossoms):
        inside[S] = True
        cut = np.flatnonzero(inside[pi] != inside[pj])
        rows.append(np.full(len(cut), nt + r))
        cc.append(cut)
        inside[S] = False
    R, C = np.concatenate(rows), np.concatenate(cc)
    return sp.csr_matrix((np.ones(len(R)), (R, C)), shape=(nt + len(blossoms), npairs))


class _MatchingLP:
    """The matching program over the candidate pairs, kept warm between rounds.

    With ``highspy`` the HiGHS model stays loaded: new odd-set rows and new pairs are
    added to it and the dual simplex restarts from the last basis (a few pivots per
    round). Without it, each round is solved afresh by :func:`scipy.optimize.linprog`.
    """

    def __init__(self, nt: int) -> None:
        self.nt = nt
        self.ncols = 0
        self.blossoms: list[np.ndarray] = []
        self.known: set[bytes] = set()
        self.inside = sp.csr_matrix((nt, 0))
        try:
            import highspy
        except ImportError:  # pragma: no cover - depends on the environment
            self.h = None
        else:
            self.h = highspy.Highs()
            self.h.setOptionValue("output_flag", False)
            self.h.addRows(nt, np.ones(nt), np.full(nt, np.inf), 0, [], [], [])

    def sync(self, pairs: _Pairs) -> None:
        """Add the pairs made since the last call as columns."""
        if self.h is None or self.ncols == len(pairs.i):
            self.ncols = len(pairs.i)
            return
        pi = np.asarray(pairs.i[self.ncols :])
        pj = np.asarray(pairs.j[self.ncols :])
        k = len(pi)
        rows = [np.r_[pi, pj]]
        cols = [np.r_[np.arange(k), np.arange(k)]]
        if self.blossoms:
            cut = (self.inside[pi] != self.inside[pj]).tocoo()
            rows.append(self.nt + cut.col)
            cols.append(cut.row)
        M = sp.csc_matrix(
            (np.ones(sum(len(r) for r in rows)), (np.concatenate(rows), np.concatenate(cols))),
            shape=(self.nt + len(self.blossoms), k),
        )
        cost = np.asarray(pairs.cost[self.ncols :])
        lo, hi = np.zeros(k), np.full(k, np.inf)
        self.h.addCols(k, cost, lo, hi, M.nnz, M.indptr[:-1], M.indices, M.data)
        self.ncols = len(pairs.i)

    def add_blossoms(self, pairs: _Pairs, new: list[np.ndarray]) -> None:
        if not new:
            return
        base = len(self.blossoms)
        self.blossoms.extend(new)
        cols_in = [np.full(len(S), base + r) for r, S in enumerate(new)]
        mem = sp.csr_matrix(
            (np.ones(sum(len(S) for S in new)), (np.concatenate(new), np.concatenate(cols_in))),
            shape=(self.nt, len(self.blossoms)),
        )
        self.inside = (sp.hstack([self.inside, sp.csr_matrix((self.nt, len(new)))]) + mem).tocsr()
        if self.h is None:
            return
        pi = np.asarray(pairs.i[: self.ncols])
        pj = np.asarray(pairs.j[: self.ncols])
        R = _blossom_rows(pi, pj, self.nt, new)[self.nt :]
        k = len(new)
        self.h.addRows(k, np.ones(k), np.full(k, np.inf), R.nnz, R.indptr[:-1], R.indices, R.data)

    def solve(self, pairs: _Pairs) -> tuple[np.ndarray, np.ndarray, float]:
        if self.h is None:
            pi, pj = np.asarray(pairs.i), np.asarray(pairs.j)
            A = _blossom_rows(pi, pj, self.nt, self.blossoms)
            c = np.asarray(pairs.cost)
            res = linprog(c, A_ub=-A, b_ub=-np.ones(A.shape[0]), bounds=(0, None), method="highs")
            if res.status != 0:
                msg = f"the matching program failed ({res.message})"
                raise RoutingError(msg)
            return res.x, -res.ineqlin.marginals, float(res.fun)
        self.h.run()
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value)
        dual = np.asarray(sol.row_dual)
        return x, dual, float(self.h.getInfo().objective_function_value)


def _matching_lp(
    lp: _MatchingLP, pairs: _Pairs, deadline: float, max_solves: int = 25
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Solve the matching program over the candidate pairs, adding odd-set cuts.

    Returns the pair values ``x``, the dual of every row (terminals then the odd
    sets of ``lp.blossoms``) and the optimum after at most ``max_solves`` solves
    (``x`` may then still be fractional, its dual is feasible: the caller prices
    pairs with it and comes back); None past ``deadline``.
    """
    lp.sync(pairs)
    pi, pj = np.asarray(pairs.i), np.asarray(pairs.j)
    x: np.ndarray | None = None
    for _ in range(max_solves):
        xs, dual, value = lp.solve(pairs)
        x = xs
        fresh: list[np.ndarray] = []
        for sel in (np.flatnonzero(x > 1e-9), np.flatnonzero((x > 1e-9) & (x < 1 - 1e-9))):
            for S in _odd_components(pi, pj, x, sel, lp.nt):
                key = np.sort(S).tobytes()
                if key not in lp.known:
                    lp.known.add(key)
                    fresh.append(S)
        if not fresh:
            for S in _min_odd_cuts(pi, pj, x, lp.nt):
                key = np.sort(S).tobytes()
                if key not in lp.known:
                    lp.known.add(key)
                    fresh.append(S)
        if not fresh or time.perf_counter() > deadline:
            break
        lp.add_blossoms(pairs, fresh)
        x = None  # solve again with the new cuts
    if time.perf_counter() > deadline:
        return None
    if x is None:
        x, dual, value = lp.solve(pairs)
    return x, dual, value


def _cluster_cuts(pairs: _Pairs, nt: int, cap: int) -> list[np.ndarray]:
    """Odd clusters of single-linkage merging over the pairs (a laminar family).

    Joining terminals along the candidate pairs, cheapest first, the odd clusters of
    3 to ``cap`` terminals are the typical blossoms of a geometric matching: seeding
    the program with them saves most cut rounds.
    """
    parent = list(range(nt))
    members: list[list[int]] = [[t] for t in range(nt)]

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    out: list[np.ndarray] = []
    for k in np.argsort(pairs.cost, kind="stable").tolist():
        r1, r2 = find(pairs.i[k]), find(pairs.j[k])
        if r1 == r2:
            continue
        if len(members[r1]) < len(members[r2]):
            r1, r2 = r2, r1
        parent[r2] = r1
        members[r1].extend(members[r2])
        members[r2] = []
        size = len(members[r1])
        if size % 2 == 1 and 3 <= size <= cap:
            out.append(np.asarray(sorted(members[r1]), dtype=np.int64))
    return out


def _min_odd_cuts(pi: np.ndarray, pj: np.ndarray, x: np.ndarray, nt: int) -> list[np.ndarray]:
    """Violated odd cuts of a fractional solution (Padberg & Rao: Gomory-Hu tree cuts).

    Run on each support component holding a fractional pair; a cut of the tree
    whose value is below 1 and whose side holds an odd number of terminals is a
    violated odd-set inequality, and if any exists one of these is.
    """
    sel = np.flatnonzero(x > 1e-9)
    G = sp.csr_matrix((np.ones(len(sel)), (pi[sel], pj[sel])), shape=(nt, nt))
    _, lab = connected_components(G, directed=False)
    frac = sel[x[sel] < 1 - 1e-7]
    out: list[np.ndarray] = []
    for comp in np.unique(lab[pi[frac]]).tolist():
        H = nx.Graph()
        for k in sel[lab[pi[sel]] == comp].tolist():
            u, v = int(pi[k]), int(pj[k])
            c = H[u][v]["capacity"] + x[k] if H.has_edge(u, v) else x[k]
            H.add_edge(u, v, capacity=float(c))
        if H.number_of_nodes() < 3:
            continue
        tree = nx.gomory_hu_tree(H)
        for u, v, d in list(tree.edges(data=True)):
            if d["weight"] >= 1 - 1e-7:
                continue
            tree.remove_edge(u, v)
            side = nx.node_connected_component(tree, u)
            tree.add_edge(u, v, **d)
            if len(side) % 2 == 1 and len(side) >= 3:
                out.append(np.asarray(sorted(side), dtype=np.int64))
            elif (H.number_of_nodes() - len(side)) % 2 == 1:
                rest = set(H.nodes) - side
                if len(rest) >= 3:
                    out.append(np.asarray(sorted(rest), dtype=np.int64))
    return out


def _odd_components(
    pi: np.ndarray, pj: np.ndarray, x: np.ndarray, sel: np.ndarray, nt: int
) -> list[np.ndarray]:
    """Odd components (>= 3 terminals) of the pairs ``sel`` whose cut value is < 1."""
    G = sp.csr_matrix((np.ones(len(sel)), (pi[sel], pj[sel])), shape=(nt, nt))
    ncomp, lab = connected_components(G, directed=False)
    size = np.bincount(lab, minlength=ncomp)
    cross = lab[pi] != lab[pj]
    cut = np.bincount(lab[pi[cross]], weights=x[cross], minlength=ncomp) + np.bincount(
        lab[pj[cross]], weights=x[cross], minlength=ncomp
    )
    order = np.argsort(lab, kind="stable")
    starts = np.r_[0, np.cumsum(size)]
    bad = np.flatnonzero((size % 2 == 1) & (size >= 3) & (cut < 1 - 1e-7))
    return [order[starts[c] : starts[c + 1]] for c in bad]


def _laminar_tree(
    nt: int, blossoms: list[np.ndarray], yb: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """Members, parent and value of the K-sets (terminals, then blossoms with y > 0).

    Returns None when the blossoms with a positive value cross (not laminar).
    """
    keep = [k for k in np.argsort([len(B) for B in blossoms], kind="stable") if yb[k] > 0]
    members: list[np.ndarray] = [np.array([t]) for t in range(nt)]
    parent = [-1] * nt
    top = np.arange(nt)
    for k in keep:
        B = blossoms[k]
        tops = np.unique(top[B])
        if sum(len(members[s]) for s in tops) != len(B):
            return None
        sid = len(members)
        members.append(B)
        parent.append(-1)
        for s in tops:
            parent[s] = sid
        top[B] = sid
    return members, np.asarray(parent, dtype=np.int64), np.asarray(keep, dtype=np.int64)


@dataclass
class _Lift:
    """The certificate being built, and per node: owner terminal and its distance."""

    parent: list[int]
    value: list[float]
    node_set: np.ndarray
    owner: np.ndarray
    ell: np.ndarray
    conflicts: list[tuple[int, int, float]]


def _moat(
    g: _Graph, src_nodes: np.ndarray, offset: np.ndarray, limit: float
) -> tuple[list[int], list[float], list[int]]:
    """Nodes with ``min_t d(t, v) - offset_t < limit``: node, key and source node."""
    best: dict[int, float] = {}
    heap = [(-float(o), int(s), int(s)) for s, o in zip(src_nodes, offset, strict=True)]
    heapq.heapify(heap)
    nodes: list[int] = []
    keys: list[float] = []
    srcs: list[int] = []
    indptr, nbr, nw = g.indptr, g.nbr, g.nbr_w
    while heap:
        k, v, s = heapq.heappop(heap)
        if v in best:
            continue
        best[v] = k
        nodes.append(v)
        keys.append(k)
        srcs.append(s)
        for p in range(indptr[v], indptr[v + 1]):
            u = int(nbr[p])
            nk = k + float(nw[p])
            if nk < limit and u not in best:
                heapq.heappush(heap, (nk, u, s))
    return nodes, keys, srcs


def _lift_set(
    g: _Graph,
    lift: _Lift,
    tnodes: np.ndarray,
    tpos: np.ndarray,
    B: np.ndarray,
    R: np.ndarray,
    yB: float,
    blossom: bool,
) -> tuple[int, int]:
    """Add the chain of nested node sets of one K-set; return (first, top) set ids."""
    nodes, keys, srcs = _moat(g, tnodes[B], R[B], yB)
    own = np.zeros(len(tpos), dtype=bool)
    own[B] = True
    moat = [(k, v, s) for k, v, s in zip(keys, nodes, srcs, strict=True) if k >= 0]
    first = len(lift.parent)
    prev_key = 0.0
    if blossom:
        lift.parent.append(-1)
        lift.value.append(0.0)
    for k, v, s in moat:
        if lift.parent and len(lift.parent) > first:
            lift.value[-1] = k - prev_key
            lift.parent[-1] = len(lift.parent)
        prev_key = k
        sid = len(lift.parent)
        lift.parent.append(-1)
        lift.value.append(0.0)
        dist_v = k + float(R[tpos[s]])
        if lift.node_set[v] >= 0 or (tpos[v] >= 0 and not own[tpos[v]]):
            other = int(lift.owner[v]) if lift.node_set[v] >= 0 else int(tpos[v])
            extra = float(lift.ell[v]) if lift.node_set[v] >= 0 else 0.0
            lift.conflicts.append((int(tpos[s]), other, dist_v + extra))
            continue
        lift.node_set[v] = sid
        lift.owner[v] = tpos[s]
        lift.ell[v] = dist_v
    if len(lift.parent) > first:
        lift.value[-1] = yB - prev_key
    return first, len(lift.parent) - 1


def _lift_all(
    g: _Graph,
    tnodes: np.ndarray,
    tpos: np.ndarray,
    members: list[np.ndarray],
    kparent: np.ndarray,
    kval: np.ndarray,
    voronoi: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> _Lift:
    """Lift the K-sets' dual to nested node sets (moats), children first."""
    nt = len(tnodes)
    dist, _, src = voronoi
    owner = np.where(src >= 0, tpos[np.maximum(src, 0)], -1)
    lift = _Lift([], [], np.full(g.n, -1, dtype=np.int64), owner, dist.copy(), [])
    if g.kernel is not None:
        par, val, ci, cj, cd = g.kernel.lift_all(
            tnodes, tpos, kparent, kval, lift.node_set, lift.owner, lift.ell
        )
        lift.parent, lift.value = par.tolist(), val.tolist()
        lift.conflicts = list(zip(ci, cj, cd, strict=True))
        return lift
    R = np.zeros(nt)
    first = np.full(len(members), -1, dtype=np.int64)
    top = np.full(len(members), -1, dtype=np.int64)
    for k, B in enumerate(members):
        if kval[k] <= 0 and k < nt:
            continue
        first[k], top[k] = _lift_set(g, lift, tnodes, tpos, B, R, float(kval[k]), k >= nt)
        R[B] += kval[k]
    for k in range(len(members)):
        p = int(kparent[k])
        if top[k] >= 0 and p >= 0:
            lift.parent[top[k]] = int(first[p])
    return lift


def _certificate(lift: _Lift) -> TJoinCertificate:
    return TJoinCertificate(
        np.asarray(lift.parent, dtype=np.int64),
        lift.node_set.copy(),
        np.maximum(np.asarray(lift.value, dtype=float), 0.0),
    )


def _set_depths(par: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(par), dtype=np.int64)
    for i in range(len(par) - 1, -1, -1):
        if par[i] >= 0:
            depth[i] = depth[par[i]] + 1
    return depth


def _overload_pairs(g: _Graph, lift: _Lift, cert: TJoinCertificate) -> list[tuple[int, int, float]]:
    """Candidate pairs across every edge the lifted dual overloads."""
    par = cert.set_parent
    load = _edge_loads(par, cert.value, _set_depths(par), cert.node_set, g.a, g.b)
    bad = np.flatnonzero(load > g.w * (1 + REL_TOL) + 1e-12)
    oa, ob = lift.owner[g.a[bad]], lift.owner[g.b[bad]]
    c = lift.ell[g.a[bad]] + g.w[bad] + lift.ell[g.b[bad]]
    ok = (oa != ob) & (oa >= 0) & (ob >= 0)
    return list(zip(oa[ok].tolist(), ob[ok].tolist(), c[ok].tolist(), strict=True))


def _edge_between(g: _Graph, u: int, v: int) -> int:
    lo, hi = g.indptr[u], g.indptr[u + 1]
    p = lo + int(np.searchsorted(g.nbr[lo:hi], v))
    return int(g.nbr_e[p])


def _walk(g: _Graph, pred: np.ndarray, v: int, used: np.ndarray) -> None:
    """Flip every edge on the predecessor path from ``v`` back to its root."""
    while pred[v] >= 0:
        p = int(pred[v])
        used[_edge_between(g, p, v)] ^= True
        v = p


def _join_from_pairs(
    g: _Graph,
    pairs: _Pairs,
    chosen: np.ndarray,
    tnodes: np.ndarray,
    voronoi: tuple[np.ndarray, np.ndarray, np.ndarray],
    trees: dict[int, tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """XOR of the street paths of the chosen pairs: a T-join no dearer than the pairs.

    With the compiled searches each pair's path is a shortest one (no longer than
    the pair's cost); otherwise it is rebuilt from the search that priced the pair.
    """
    if g.kernel is not None:
        flips = np.zeros(len(g.a), dtype=np.uint8)
        ti, tj = tnodes[np.asarray(pairs.i)[chosen]], tnodes[np.asarray(pairs.j)[chosen]]
        if g.kernel.flip_paths(ti, tj, flips):
            msg = "a candidate pair has no path; please report this graph"
            raise RoutingError(msg)
        return np.flatnonzero(flips)
    _, vpred, _ = voronoi
    used = np.zeros(len(g.a), dtype=bool)
    for k in chosen.tolist():
        e = pairs.via[k]
        if e <= -2:
            nodes, preds = trees[-2 - e]
            v = int(tnodes[pairs.j[k] if pairs.i[k] == -2 - e else pairs.i[k]])
            while True:
                p = int(preds[np.searchsorted(nodes, v)])
                if p < 0:
                    break
                used[_edge_between(g, p, v)] ^= True
                v = p
            continue
        if e >= 0:
            used[e] ^= True
            _walk(g, vpred, int(g.a[e]), used)
            _walk(g, vpred, int(g.b[e]), used)
            continue
        s, t = int(tnodes[pairs.i[k]]), int(tnodes[pairs.j[k]])
        limit = pairs.cost[k] * (1 + 1e-9) + 1e-9
        _, pred = dijkstra(g.A, directed=False, indices=s, limit=limit, return_predecessors=True)
        if pred[t] < 0:
            msg = "a candidate pair has no path; please report this graph"
            raise RoutingError(msg)
        _walk(g, pred, t, used)
    return np.flatnonzero(used)


def certified_t_join(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    w: np.ndarray,
    terminal: np.ndarray,
    *,
    max_rounds: int = 400,
    knn: int = 8,
    time_limit_s: float = math.inf,
    method: str = "blossom",
) -> CertifiedTJoin | None:
    """Minimum T-join of a simple undirected graph with a checked optimality certificate.

    Parameters
    ----------
    n : int
        Number of nodes.
    tail, head, w : numpy.ndarray
        Edges (one per node pair, no loops) and their weights (>= 0, any unit).
    terminal : numpy.ndarray of bool
        The set ``T``; every connected component must hold an even number.
    max_rounds : int
        Pricing rounds (candidate pairs added where the lifted dual overloads an edge).
    knn : int
        Each terminal is paired with its ``knn`` nearest terminals (exact distances)
        besides its Voronoi neighbours.
    time_limit_s : float
        Give up (return None) when the rounds run past this.
    method : {"blossom", "lp"}
        ``"blossom"``: the compiled primal-dual matching (exact integer duals), and
        the matching program only if it cannot certify; ``"lp"``: the program only.

    Returns
    -------
    CertifiedTJoin or None
        None when the candidate program stays fractional, its dual cannot be
        lifted within ``max_rounds`` or time runs out; the caller then solves
        another way.
    """
    tail, head = np.asarray(tail), np.asarray(head)
    # nodes renumbered along the streets (reverse Cuthill-McKee): neighbours get near
    # numbers, and every search and the matching touch memory in order (Wuhan's
    # component: 10 s with its nodes shuffled, 4 s renumbered)
    A = sp.csr_matrix((np.ones(len(tail)), (tail, head)), shape=(n, n))
    order = reverse_cuthill_mckee((A + A.T).tocsr(), symmetric_mode=True).astype(np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    res = _certified_t_join(
        n, rank[tail], rank[head], w, np.asarray(terminal)[order],
        (max_rounds, knn, time_limit_s, method),
    )
    if res is None or res.certificate is None:
        return res
    c = res.certificate
    cert = TJoinCertificate(c.set_parent, c.node_set[rank], c.value)
    return dataclasses.replace(res, certificate=cert)


def _certified_t_join(
    n: int,
    tail: np.ndarray,
    head: np.ndarray,
    w: np.ndarray,
    terminal: np.ndarray,
    options: tuple[int, int, float, str],
) -> CertifiedTJoin | None:
    """:func:`certified_t_join` on nodes already renumbered."""
    max_rounds, knn, time_limit_s, method = options
    deadline = time.perf_counter() + time_limit_s
    tnodes = np.flatnonzero(terminal)
    tpos = np.full(n, -1, dtype=np.int64)
    tpos[tnodes] = np.arange(len(tnodes))
    if len(tnodes) == 0:
        empty = TJoinCertificate(np.zeros(0, np.int64), np.full(n, -1, np.int64), np.zeros(0))
        return CertifiedTJoin(np.zeros(0, np.int64), 0.0, 0.0, empty, True, {"rounds": 0})
    g = _simple_graph(n, np.asarray(tail), np.asarray(head), np.asarray(w, dtype=float))
    pairs, voronoi = _voronoi_pairs(g, tnodes, tpos)
    trees = _knn_pairs(g, tnodes, tpos, knn, pairs)
    nt = len(tnodes)
    if method not in ("blossom", "lp"):
        msg = f"method must be 'blossom' or 'lp', not {method!r}"
        raise ValueError(msg)
    if method == "blossom":
        paths = (voronoi, trees)
        res = _blossom_t_join(g, terminal, tnodes, tpos, pairs, paths, max_rounds, deadline)
        if res is not None and res.optimal:
            return res
    lp = _MatchingLP(nt)
    seeds = _cluster_cuts(pairs, nt, 64)
    lp.known.update(np.sort(S).tobytes() for S in seeds)
    lp.sync(pairs)
    lp.add_blossoms(pairs, seeds)
    stuck = math.nan
    for rnd in range(1, max_rounds + 1):
        sol = _matching_lp(lp, pairs, deadline)
        if sol is None or time.perf_counter() > deadline:
            return None
        x, dual, value = sol
        fractional = bool(np.any((x > 1e-7) & (x < 1 - 1e-7)))
        unx = _uncross(nt, lp.blossoms, dual)
        tree = None if unx is None else _laminar_tree(nt, unx[0], unx[1][nt:])
        if tree is None or unx is None:
            if fractional:
                continue
            return None
        yy = unx[1]
        members, kparent, keep = tree
        # shrink by a hair so moats that touch in exact arithmetic do not overlap
        kval = np.r_[yy[:nt], yy[nt:][keep]] * (1 - 1e-10)
        lift = _lift_all(g, tnodes, tpos, members, kparent, kval, voronoi)
        cert = _certificate(lift)
        new = lift.conflicts or _overload_pairs(g, lift, cert)
        added = sum(pairs.add(i, j, c, -1) for i, j, c in new)
        if new and added:
            continue
        if fractional:
            if stuck == value:
                return None  # no cut, no pair: the program stays fractional
            stuck = value
            continue
        join = _join_from_pairs(g, pairs, np.flatnonzero(x > 0.5), tnodes, voronoi, trees)
        cost = math.fsum(g.w[join].tolist())
        bound = check_t_join_certificate(n, g.a, g.b, g.w, terminal, cert)
        exact = bool(np.all(g.w == np.round(g.w)) and bound > cost - 1 + 1e-6)
        info = {"rounds": rnd, "pairs": len(pairs.i), "blossoms": len(keep), "lp": value}
        return CertifiedTJoin(join, cost, min(bound, cost), cert, exact, info)
    return None


#: terminal duals this many units (of 1 / (2 S)) below zero are the floors' rounding
_ROUNDING_UNITS = 64


def _integer_costs(cost: np.ndarray) -> tuple[np.ndarray, float]:
    """Costs as integers ``floor(c × S)`` with ``S`` a power of two (exact scaling).

    ``S`` puts the largest cost near 2**48 (a unit of 1e-12 m for 300 m pairs), so
    the blossom's duals (a few thousand costs at most) fit in 64 bits, which the
    caller checks (dual = primal exactly); integer costs stay exact (``S >= 1``
    whenever the largest is below 2**48). Flooring keeps every integer cost at or
    below the true one, so a dual feasible for the integers is feasible for the floats.
    """
    top = float(cost.max(initial=0.0))
    scale = 1.0 if top <= 0 else 2.0 ** math.floor(math.log2(2.0**48 / top))
    return np.floor(cost * scale).astype(np.int64), scale


def _blossom_duals(
    pairs: _Pairs, nt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | np.ndarray | None:
    """Minimum perfect matching of the candidate pairs and its dual, by the compiled blossom.

    Returns the chosen pair positions, the parent of each K-set (terminals, then
    blossoms children first) and its value (metres; a terminal's may be negative),
    and the terminals whose value is negative; the unmatched terminals alone when the
    pairs hold no perfect matching; None when a dual passes 64 bits or the kernel is
    not compiled. The duals are exact for the floored integer costs
    (:func:`_integer_costs`), so exactly feasible for the float costs.
    """
    try:
        from urbangrid.routing.core._blossom import min_cost_perfect_matching
    except ImportError:  # a source tree whose extensions were never built
        return None
    pi, pj = np.asarray(pairs.i, dtype=np.int64), np.asarray(pairs.j, dtype=np.int64)
    ci, scale = _integer_costs(np.asarray(pairs.cost, dtype=float))
    mate, y2, bpar, z2, inner, _ = min_cost_perfect_matching(nt, pi, pj, ci)
    chosen = np.flatnonzero(mate[pi] == pj)
    if (mate < 0).any():
        return np.flatnonzero(mate < 0)
    if sum(y2.tolist()) + sum(z2.tolist()) != 2 * sum(ci[chosen].tolist()):
        return None  # a dual past 64 bits
    # a few units below zero: the floors of a pair and of its two halves differ
    y2[(y2 < 0) & (y2 >= -_ROUNDING_UNITS)] = 0
    if (y2 < 0).any():
        _raise_negatives(y2, z2, bpar, inner, (pi, pj, ci), mate)
    kparent = np.r_[np.where(inner >= 0, inner + nt, -1), np.where(bpar >= 0, bpar + nt, -1)]
    kval = np.r_[y2, z2].astype(float) / (2.0 * scale)
    return chosen, kparent, kval, np.flatnonzero(y2 < 0)


class _BlossomTree:
    """The blossoms' nesting, for sums of their (changing) values between terminals."""

    def __init__(self, bpar: list[int], depth: list[int], z2: np.ndarray, inner: list[int]):
        self.bpar, self.depth, self.z2, self.inner = bpar, depth, z2, inner

    def sep(self, u: int, v: int) -> int:
        """Σ z over the blossoms holding exactly one of ``u, v`` (walk up to their meet)."""
        a, b = self.inner[u], self.inner[v]
        total = 0
        while a != b:
            if b < 0 or (a >= 0 and self.depth[a] >= self.depth[b]):
                total += int(self.z2[a])
                a = self.bpar[a]
            else:
                total += int(self.z2[b])
                b = self.bpar[b]
        return total

    def sources(self, m: int, v: int) -> list[int]:
        """-1 (``m``'s own value), then the blossoms holding ``m`` but not ``v``."""
        out = [-1]
        a, b = self.inner[m], self.inner[v]
        while a != b:
            if b < 0 or (a >= 0 and self.depth[a] >= self.depth[b]):
                out.append(a)
                a = self.bpar[a]
            else:
                b = self.bpar[b]
        return out

    def holds(self, x: int, u: int) -> bool:
        """Whether blossom ``x`` (``-1``: none) holds terminal ``u``."""
        if x < 0:
            return False
        a = self.inner[u]
        while a >= 0 and self.depth[a] > self.depth[x]:
            a = self.bpar[a]
        return a == x


def _raise_negatives(
    y2: np.ndarray,
    z2: np.ndarray,
    bpar: np.ndarray,
    inner: np.ndarray,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    mate: np.ndarray,
) -> None:
    """Move value to each negative terminal from its partner's side, as far as pairs allow.

    Raising ``y_v`` by ``δ`` while lowering by ``δ`` the partner's ``y`` or a blossom
    holding the partner but not ``v`` keeps the matched pair's load, the dual's value
    and every other load that crosses the lowered set; each other pair of ``v`` needs
    ``δ`` of slack. Exact: in the blossom's integer units (twice the dual), in place.
    """
    pi, pj, ci = edges
    bp = bpar.tolist()
    depth = [0] * len(bp)
    for x in range(len(bp) - 1, -1, -1):
        depth[x] = depth[bp[x]] + 1 if bp[x] >= 0 else 0
    tree = _BlossomTree(bp, depth, z2, inner.tolist())
    ends, other, cost = np.r_[pi, pj], np.r_[pj, pi], np.r_[ci, ci]
    order = np.argsort(ends, kind="stable")
    ptr = np.searchsorted(ends[order], np.arange(len(y2) + 1))
    # a transfer can free slack for a terminal already passed: sweep until none moves
    todo = np.flatnonzero(y2 < 0).tolist()
    for _ in range(8):
        before = sum(int(y2[v]) for v in todo)
        for v in todo:
            _raise_one(v, int(mate[v]), y2, z2, tree, (order, ptr, other, cost))
        todo = [v for v in todo if y2[v] < 0]
        if not todo or sum(int(y2[v]) for v in todo) == before:
            return


def _raise_one(
    v: int, m: int, y2: np.ndarray, z2: np.ndarray, tree: _BlossomTree, adj: tuple
) -> None:
    """One terminal's transfer (see :func:`_raise_negatives`)."""
    order, ptr, other, cost = adj
    near = [(int(other[q]), int(cost[q])) for q in order[ptr[v] : ptr[v + 1]].tolist()]
    near = [(u, c) for u, c in near if u != m]
    for src in tree.sources(m, v):
        reserve = int(y2[m]) if src < 0 else int(z2[src])
        delta = min(-int(y2[v]), reserve)
        for u, c in near:
            if delta > 0 and not tree.holds(src, u):
                delta = min(delta, 2 * c - int(y2[u]) - int(y2[v]) - tree.sep(u, v))
        if delta > 0:
            y2[v] += delta
            if src < 0:
                y2[m] -= delta
            else:
                z2[src] -= delta
        if y2[v] >= 0:
            return


def _pair_up(g: _Graph, pairs: _Pairs, tnodes: np.ndarray, free: np.ndarray) -> int:
    """Pairs that complete a perfect matching: the unmatched terminals of each piece of
    the street graph, taken in node order, two by two at their exact distance.

    The candidates can lack a perfect matching when distances tie (a star's leaves all
    pick the same nearest ones). Returns how many pairs are new; 0 past 2,000
    unmatched terminals (one search each).
    """
    if len(free) > 2000:
        return 0
    _, lab = connected_components(g.A, directed=False)
    order = free[np.lexsort((tnodes[free], lab[tnodes[free]]))]
    dist = dijkstra(g.A, directed=False, indices=tnodes[order[0::2]])
    added = 0
    for r, (s, t) in enumerate(zip(order[0::2].tolist(), order[1::2].tolist(), strict=False)):
        d = float(dist[r, tnodes[t]])
        if lab[tnodes[s]] == lab[tnodes[t]] and math.isfinite(d):
            added += pairs.add(s, t, d, -1)
    return added


def _shortcut_pairs(
    pairs: _Pairs,
    neg: np.ndarray,
    kparent: np.ndarray,
    kval: np.ndarray,
    nt: int,
    *,
    tight_only: bool = True,
) -> int:
    """Pairs around terminals with a negative dual; returns how many are new or cheaper.

    A terminal ``v`` below zero is the middle of paths ``u - v - x`` of pairs tight
    under the dual whose shortcut ``u - x`` the candidates lack: with it, the blossom
    method would have closed a blossom before ``v`` went below zero. Each shortcut the
    dual violates is added at the cost of the walk through ``v`` (its path is rebuilt
    by a search). With ``tight_only=False`` (when that adds nothing) every walk
    ``u - v - x`` over two pairs of ``v`` is offered, violated or not.
    """
    k = len(kparent)
    depth = _set_depths(kparent)
    up = np.zeros(k)  # Σ value of the blossoms from a K-set up to its root, itself included
    for x in range(k - 1, nt - 1, -1):
        up[x] = kval[x] + (up[kparent[x]] if kparent[x] >= 0 else 0.0)

    def slack(u: int, v: int, c: float) -> float:
        """``c - y_u - y_v - Σ z`` over the blossoms holding exactly one of ``u, v``."""
        a, b = int(kparent[u]), int(kparent[v])
        sep = (up[a] if a >= 0 else 0.0) + (up[b] if b >= 0 else 0.0)
        while a != b and a >= 0 and b >= 0:
            if depth[a] >= depth[b]:
                a = int(kparent[a])
            else:
                b = int(kparent[b])
        if a == b and a >= 0:
            sep -= 2.0 * up[a]
        return c - kval[u] - kval[v] - sep

    negset = set(neg.tolist())
    near: dict[int, list[tuple[int, float]]] = {v: [] for v in negset}
    for i, j, c in zip(pairs.i, pairs.j, pairs.cost, strict=True):
        for v, u in ((i, j), (j, i)):
            if v in negset and (not tight_only or slack(u, v, c) <= 1e-9 * max(1.0, c)):
                near[v].append((u, c))
    added = 0
    for tight in near.values():
        for p, (u, cu) in enumerate(tight):
            for x, cx in tight[p + 1 :]:
                if not tight_only or slack(u, x, cu + cx) < -1e-9 * (cu + cx):
                    added += pairs.add(u, x, cu + cx, -1)
    return added


def _blossom_t_join(
    g: _Graph,
    terminal: np.ndarray,
    tnodes: np.ndarray,
    tpos: np.ndarray,
    pairs: _Pairs,
    paths: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], dict],
    max_rounds: int,
    deadline: float,
) -> CertifiedTJoin | None:
    """The certified T-join from the compiled blossom's matching and dual (no LP).

    Each round matches the candidate pairs, lifts the dual to moats and adds the
    pairs the moats find missing (and shortcuts around negative terminal duals),
    until the lifted dual fits every street edge. None when a round fails (the
    caller then tries the matching program).
    """
    voronoi, trees = paths
    nt = len(tnodes)
    for rnd in range(1, max_rounds + 1):
        if time.perf_counter() > deadline:
            return None
        sol = _blossom_duals(pairs, nt)
        if sol is None:
            return None
        if isinstance(sol, np.ndarray):
            if _pair_up(g, pairs, tnodes, sol):
                continue
            return None
        chosen, kparent, kval, neg = sol
        shortcuts = _shortcut_pairs(pairs, neg, kparent, kval, nt) if len(neg) else 0
        # shrink by a hair so moats that touch in exact arithmetic do not overlap (the
        # compiled lifting reads the K-sets from kparent, no member lists)
        lift = _lift_all(g, tnodes, tpos, [], kparent, kval * (1 - 1e-10), voronoi)
        cert = _certificate(lift)
        new = lift.conflicts or _overload_pairs(g, lift, cert)
        added = sum(pairs.add(i, j, c, -1) for i, j, c in new) if new else 0
        if shortcuts or added:
            continue
        if len(neg):
            # stuck: offer every walk through the negative terminals, then give up
            if _shortcut_pairs(pairs, neg, kparent, kval, nt, tight_only=False):
                continue
            return None
        join = _join_from_pairs(g, pairs, chosen, tnodes, voronoi, trees)
        cost = math.fsum(g.w[join].tolist())
        bound = check_t_join_certificate(g.n, g.a, g.b, g.w, terminal, cert)
        exact = bool(np.all(g.w == np.round(g.w)) and bound > cost - 1 + 1e-6)
        info: dict[str, float] = {"rounds": rnd, "pairs": len(pairs.i), "compiled": 1.0}
        info["blossoms"] = len(kparent) - nt
        return CertifiedTJoin(join, cost, min(bound, cost), cert, exact, info)
    return None


def _knn_pairs(
    g: _Graph, tnodes: np.ndarray, tpos: np.ndarray, k: int, pairs: _Pairs
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Add each terminal's ``k`` nearest other terminals at their exact distance.

    Returns, per terminal position, its search tree (sorted nodes, predecessor of
    each) to rebuild the paths of the pairs that end up in the join.
    """
    trees: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if g.kernel is not None:
        # compiled: the paths of the pairs chosen are found again by _join_from_pairs
        ki, kj, kd = g.kernel.knn_pairs(tnodes, tpos, k)
        pairs.merge(ki, kj, kd, np.full(len(ki), -1, dtype=np.int64))
        return trees
    indptr, nbr, nw = g.indptr, g.nbr, g.nbr_w
    for i, s in enumerate(tnodes.tolist()):
        best: dict[int, int] = {}
        heap = [(0.0, s, -1)]
        found = 0
        while heap and found < k:
            d, v, p = heapq.heappop(heap)
            if v in best:
                continue
            best[v] = p
            if v != s and tpos[v] >= 0:
                found += 1
                pairs.add(i, int(tpos[v]), d, -2 - i)
            for q in range(indptr[v], indptr[v + 1]):
                u = int(nbr[q])
                if u not in best:
                    heapq.heappush(heap, (d + float(nw[q]), u, v))
        nodes = np.fromiter(best.keys(), dtype=np.int64, count=len(best))
        preds = np.fromiter(best.values(), dtype=np.int64, count=len(best))
        order = np.argsort(nodes)
        trees[i] = (nodes[order], preds[order])
    return trees


def _uncross(
    nt: int, blossoms: list[np.ndarray], dual: np.ndarray, max_steps: int = 20_000
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """Make the odd sets with a positive value laminar, keeping the dual's value.

    Two crossing sets ``S1, S2`` each lose ``min(y1, y2)``, which goes to ``S1 ∩ S2``
    and ``S1 ∪ S2`` (when the intersection is odd) or to ``S1 \\ S2`` and ``S2 \\ S1``;
    every pair's load does not grow (the cut function is submodular and posimodular),
    so the dual stays feasible with the same value. A singleton's value goes back to
    its terminal's row.
    """
    fam = _Family(np.maximum(dual[:nt], 0.0).copy())
    for B, v in zip(blossoms, dual[nt:].tolist(), strict=True):
        if v > 1e-12:
            fam.add(frozenset(B.tolist()), v)
    # smallest sets first, each against its smallest crossing partner
    queue = [(len(S), sorted(S), S) for S in fam.y]
    heapq.heapify(queue)
    steps = 0
    while queue:
        S = heapq.heappop(queue)[2]
        other = fam.crossing(S)
        if other is None:
            continue
        steps += 1
        if steps > max_steps:
            return None
        for T in fam.uncross(S, other):
            heapq.heappush(queue, (len(T), sorted(T), T))
    out = list(fam.y)
    arrays = [np.asarray(sorted(fs), dtype=np.int64) for fs in out]
    return arrays, np.r_[fam.single, [fam.y[fs] for fs in out]]


class _Family:
    """Odd sets of terminals with positive values, indexed by member."""

    def __init__(self, single: np.ndarray) -> None:
        self.single = single
        self.y: dict[frozenset[int], float] = {}
        self.at: dict[int, set[frozenset[int]]] = {}

    def add(self, S: frozenset[int], v: float) -> None:
        if len(S) == 1:
            self.single[next(iter(S))] += v
            return
        if S not in self.y:
            self.y[S] = 0.0
            for t in S:
                self.at.setdefault(t, set()).add(S)
        self.y[S] += v

    def take(self, S: frozenset[int], v: float) -> bool:
        """Lower ``S`` by ``v``; drop it at zero. Returns whether it is still there."""
        self.y[S] -= v
        if self.y[S] > 1e-15:
            return True
        del self.y[S]
        for t in S:
            self.at[t].discard(S)
        return False

    def crossing(self, S: frozenset[int]) -> frozenset[int] | None:
        if S not in self.y:
            return None
        best: frozenset[int] | None = None
        for t in S:
            for S2 in self.at[t]:
                crosses = S2 is not S and not (S <= S2 or S2 <= S)
                if crosses and (best is None or len(S2) < len(best)):
                    best = S2
        return best

    def uncross(self, s1: frozenset[int], s2: frozenset[int]) -> list[frozenset[int]]:
        eps = min(self.y[s1], self.y[s2])
        inter = s1 & s2
        new = (inter, s1 | s2) if len(inter) % 2 == 1 else (s1 - s2, s2 - s1)
        kept = [S for S in (s1, s2) if self.take(S, eps)]
        for part in new:
            self.add(part, eps)
        return kept + [part for part in new if len(part) > 1]
