# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled kernels of the CARP solver: route evaluation, Split, local search.

Cython, compiled when the package is installed (``setup.py``): no compiler runs at a
user's first solve, and a read-only install works.

Tasks are directed copies of required edges: task ``t`` and ``t ^ 1`` are the two
directions of one edge, driven from ``th[t]`` to ``tt[t]`` with service cost
``tc[t]`` and demand ``tq[t]``; ``allowed[t]`` is False for the wrong direction of
a one-way street. ``D`` is the deadhead cost matrix between the nodes the tasks use
(``th``/``tt`` index its rows). A solution is a set of routes ``rt[r, :rl[r]]`` of task
ids, route ``r`` starting and ending at node ``dep[r]``. The route table is
``maxr x maxl``: moves that would make a route longer than ``maxl`` tasks, or open a
route beyond ``maxr``, are not made (the caller sizes the table; see
:mod:`urbangrid.routing.core.carp`). Every other table is per task or per route, so
memory grows linearly with the number of tasks.

The objective has two modes. Mode 0 (total): the sum over routes of
``cost + lam * load excess + mu * cost excess``. Mode 1 (min-max): the largest route
cost plus, over routes, ``eps * cost`` and the same penalties.

Kernels take records (tuples), not a parameter per table:

* ``inst = (D, th, tt, tc, tq, allowed)``: the instance, read only;
* ``obj = (Q, lam, Lmax, mu, eps, mode)``: capacity, load penalty, route cost limit,
  cost penalty, min-max tie weight, objective mode;
* ``routes = (rt, rl, dep)``: the solution, changed in place.
"""
import numpy as np

from libc.math cimport INFINITY, isfinite
from libc.stdint cimport int64_t, uint8_t

ctypedef int64_t i64

cdef double _EPS = 1e-9


cdef struct Inst:
    const double *D
    i64 n
    const i64 *th
    const i64 *tt
    const double *tc
    const double *tq
    const uint8_t *allowed


cdef struct Obj:
    double Q
    double lam
    double Lmax
    double mu
    double eps
    int mode


cdef struct Sol:
    i64 *rt
    i64 maxl
    i64 *rl
    i64 *dep


cdef struct State:
    double *rc
    double *rq
    double *pre   # per edge: route cost up to and including the edge's service
    double *preq  # per edge: route load up to and including the edge
    i64 *where_r
    i64 *where_i


# ---------------------------------------------------------------------------
# record unpacking (Python level, once per call)


cdef class _Arrays:
    """Keeps the instance's and the solution's arrays alive and typed for one call."""

    cdef const double[:, ::1] D
    cdef const i64[::1] th
    cdef const i64[::1] tt
    cdef const double[::1] tc
    cdef const double[::1] tq
    cdef const uint8_t[::1] allowed
    cdef i64[:, ::1] rt
    cdef i64[::1] rl
    cdef i64[::1] dep
    cdef Inst inst
    cdef Obj obj
    cdef Sol sol

    def __init__(self, inst, obj, routes):
        D, th, tt, tc, tq, allowed = inst
        self.D = D
        self.th = th
        self.tt = tt
        self.tc = tc
        self.tq = tq
        self.allowed = np.ascontiguousarray(allowed).view(np.uint8)
        self.inst.D = &self.D[0, 0]
        self.inst.n = self.D.shape[1]
        self.inst.th = &self.th[0]
        self.inst.tt = &self.tt[0]
        self.inst.tc = &self.tc[0]
        self.inst.tq = &self.tq[0]
        self.inst.allowed = &self.allowed[0]
        Q, lam, Lmax, mu, eps, mode = obj
        self.obj.Q = Q
        self.obj.lam = lam
        self.obj.Lmax = Lmax
        self.obj.mu = mu
        self.obj.eps = eps
        self.obj.mode = mode
        if routes is not None:
            rt, rl, dep = routes
            self.rt = rt
            self.rl = rl
            self.dep = dep
            self.sol.rt = &self.rt[0, 0]
            self.sol.maxl = self.rt.shape[1]
            self.sol.rl = &self.rl[0]
            self.sol.dep = &self.dep[0]


# ---------------------------------------------------------------------------
# helpers


cdef inline double _dd(const Inst *I, i64 a, i64 b) noexcept nogil:
    return I.D[a * I.n + b]


cdef inline double _term(double c, double q, const Obj *o) noexcept nogil:
    cdef double p = 0.0
    if q > o.Q:
        p += o.lam * (q - o.Q)
    if c > o.Lmax:
        p += o.mu * (c - o.Lmax)
    if o.mode == 0:
        return c + p
    return o.eps * c + p


cdef void _refresh(i64 r, Sol *S, const Inst *I, State *st) noexcept nogil:
    cdef i64 L = S.rl[r]
    cdef i64 d = S.dep[r]
    cdef i64 *row = S.rt + r * S.maxl
    cdef double c = 0.0
    cdef double q = 0.0
    cdef i64 at = d
    cdef i64 k, t
    for k in range(L):
        t = row[k]
        c += _dd(I, at, I.th[t]) + I.tc[t]
        q += I.tq[t]
        st.pre[t >> 1] = c
        st.preq[t >> 1] = q
        at = I.tt[t]
        st.where_r[t >> 1] = r
        st.where_i[t >> 1] = k
    st.rc[r] = c + _dd(I, at, d)
    st.rq[r] = q


cdef void _top3(const double *rc, i64 nr, i64 *top) noexcept nogil:
    cdef i64 r
    cdef double c
    top[0] = -1
    top[1] = -1
    top[2] = -1
    for r in range(nr):
        c = rc[r]
        if top[0] < 0 or c > rc[top[0]]:
            top[2] = top[1]
            top[1] = top[0]
            top[0] = r
        elif top[1] < 0 or c > rc[top[1]]:
            top[2] = top[1]
            top[1] = r
        elif top[2] < 0 or c > rc[top[2]]:
            top[2] = r


cdef double _delta(const Obj *o, const double *rc, const double *rq, i64 maxr,
                   const i64 *top, i64 r1, double c1, double q1,
                   i64 r2, double c2, double q2) noexcept nogil:
    cdef double d = _term(c1, q1, o) - _term(rc[r1], rq[r1], o)
    cdef double old2c, old2q, old, new
    cdef i64 k, r
    if r2 >= 0:
        old2c = rc[r2] if r2 < maxr else 0.0
        old2q = rq[r2] if r2 < maxr else 0.0
        d += _term(c2, q2, o) - _term(old2c, old2q, o)
    if o.mode == 1:
        old = rc[top[0]] if top[0] >= 0 else 0.0
        new = c1
        if r2 >= 0 and c2 > new:
            new = c2
        for k in range(3):
            r = top[k]
            if r >= 0 and r != r1 and r != r2:
                if rc[r] > new:
                    new = rc[r]
                break
        d += new - old
    return d


# ---------------------------------------------------------------------------
# kernels


def route_cost(seq, L, d, D, th, tt, tc):
    """Cost of the closed route serving ``seq[:L]`` from node ``d`` and back."""
    cdef const i64[::1] s = seq
    cdef const double[:, ::1] DD = D
    cdef const i64[::1] h = th
    cdef const i64[::1] e = tt
    cdef const double[::1] c_ = tc
    cdef i64 n = L
    cdef i64 dep = d
    cdef i64 k, t
    cdef double c
    if n == 0:
        return 0.0
    c = DD[dep, h[s[0]]]
    for k in range(n):
        t = s[k]
        c += c_[t]
        if k + 1 < n:
            c += DD[e[t], h[s[k + 1]]]
    c += DD[e[s[n - 1]], dep]
    return c


def split(giant, d, inst, obj):
    """Optimal cut of a giant tour into depot routes (Prins' Split, soft limits).

    Returns the start index of each route in ``giant`` (ending with ``len(giant)``).
    Loads up to twice the capacity are allowed at a penalty ``lam`` per unit.
    """
    cdef _Arrays A = _Arrays(inst, obj, None)
    cdef const Inst *I = &A.inst
    cdef const Obj *o = &A.obj
    cdef const i64[::1] g = giant
    cdef i64 n = g.shape[0]
    cdef i64 dep = d
    V_ = np.full(n + 1, np.inf)
    P_ = np.zeros(n + 1, dtype=np.int64)
    cdef double[::1] V = V_
    cdef i64[::1] P = P_
    cdef i64 i, j, t, first, ncut
    cdef double load, inner, c, f
    V[0] = 0.0
    with nogil:
        for i in range(n):
            if not isfinite(V[i]):
                continue
            load = 0.0
            inner = 0.0
            first = I.th[g[i]]
            for j in range(i, n):
                t = g[j]
                if j > i:
                    inner += _dd(I, I.tt[g[j - 1]], I.th[t])
                inner += I.tc[t]
                load += I.tq[t]
                if load > 2.0 * o.Q and j > i:
                    break
                c = _dd(I, dep, first) + inner + _dd(I, I.tt[t], dep)
                f = c
                if load > o.Q:
                    f += o.lam * (load - o.Q)
                if c > o.Lmax:
                    f += o.mu * (c - o.Lmax)
                if V[i] + f < V[j + 1]:
                    V[j + 1] = V[i] + f
                    P[j + 1] = i
    cuts = [n]
    j = n
    while j > 0:
        j = P[j]
        cuts.append(j)
    return np.array(cuts[::-1], dtype=np.int64)


cdef class _Work:
    """Per-call scratch tables: per route (``maxr``) and per edge (``m``), never both."""

    cdef double[::1] rc
    cdef double[::1] rq
    cdef double[::1] pre
    cdef double[::1] preq
    cdef i64[::1] where_r
    cdef i64[::1] where_i
    cdef i64[::1] tmp
    cdef i64[::1] tmp2
    cdef i64[::1] rmod
    cdef i64[::1] etest
    cdef State st

    def __init__(self, i64 maxr, i64 maxl, i64 m):
        self.rc = np.zeros(maxr)
        self.rq = np.zeros(maxr)
        self.pre = np.zeros(max(m, 1))
        self.preq = np.zeros(max(m, 1))
        self.where_r = np.full(max(m, 1), -1, dtype=np.int64)
        self.where_i = np.full(max(m, 1), -1, dtype=np.int64)
        self.tmp = np.empty(maxl + 1, dtype=np.int64)
        self.tmp2 = np.empty(maxl + 1, dtype=np.int64)
        self.rmod = np.zeros(maxr, dtype=np.int64)
        self.etest = np.full(max(m, 1), -1, dtype=np.int64)
        self.st.rc = &self.rc[0]
        self.st.rq = &self.rq[0]
        self.st.pre = &self.pre[0]
        self.st.preq = &self.preq[0]
        self.st.where_r = &self.where_r[0]
        self.st.where_i = &self.where_i[0]


def local_search(routes, nr, maxr, can_open, inst, obj, order, neigh, sym):
    """Improve routes in place by relocate, swap, 2-opt* and 2-opt moves.

    First-improvement descent over tasks in ``order`` (edge ids); moves place a
    task next to one of its ``neigh`` nearest edges (granular neighbourhoods). With
    ``sym`` (symmetric ``D``, every task reversible) 2-opt* also reverses pieces. In mode 0
    empty routes are dropped and a task may open a new route (``can_open``);
    in mode 1 the ``nr`` routes stay, possibly empty. Returns the new route count.
    """
    cdef _Arrays A = _Arrays(inst, obj, routes)
    cdef const i64[::1] ordv = order
    cdef const i64[:, ::1] nbv = neigh
    cdef i64 m = ordv.shape[0]
    cdef i64 R = maxr
    if A.rt.shape[0] < R:
        raise ValueError("route table has fewer rows than maxr")
    cdef _Work W = _Work(R, A.sol.maxl, m)
    cdef i64 n_routes = nr
    cdef bint opener = can_open
    cdef bint symm = sym
    cdef i64 ng = nbv.shape[1]
    cdef const i64 *nbp = NULL
    if m == 0:
        return n_routes
    if ng > 0:
        nbp = &nbv[0, 0]
    with nogil:
        n_routes = _local_search(&A.sol, n_routes, R, opener, &A.inst, &A.obj, &ordv[0], m,
                                 nbp, ng, symm, &W.st, &W.tmp[0], &W.tmp2[0], &W.rmod[0],
                                 &W.etest[0])
    return n_routes


cdef i64 _local_search(Sol *S, i64 nr, i64 maxr, bint can_open, const Inst *I, const Obj *o,
                       const i64 *order, i64 m, const i64 *neigh, i64 ng, bint sym,
                       State *st, i64 *tmp, i64 *tmp2, i64 *rmod, i64 *etest) noexcept nogil:
    cdef i64 *rt = S.rt
    cdef i64 *rl = S.rl
    cdef i64 *dep = S.dep
    cdef i64 maxl = S.maxl
    cdef double *rc = st.rc
    cdef double *rq = st.rq
    cdef double *pre = st.pre
    cdef double *preq = st.preq
    cdef i64 *where_r = st.where_r
    cdef i64 *where_i = st.where_i
    cdef const i64 *th = I.th
    cdef const i64 *tt = I.tt
    cdef const double *tc = I.tc
    cdef const double *tq = I.tq
    cdef const uint8_t *allowed = I.allowed
    cdef int mode = o.mode
    cdef i64 top[3]
    cdef i64 r, oi, e, r1, i, t, L1, d1, P1, N1, since, ci, f, r2, j, oo, ob, jr, a, b, k, x
    cdef i64 L2, d2, ni, u, P2, N2, ub, tb, c1, endA1, endA2, s1, s2, last1, last2, nb1, nb2
    cdef i64 s02, at2, p, Nj, last, clock, passes
    cdef double cur, c1rem, q1rem, c1n, c2n, q1n, q2n, dl, base2, curu, bu, bt, v
    cdef double preA1, qA1, preA2, qA2, open1, open2, oint, rint, old, new
    cdef bint moved, lazy, improved
    r2 = -1
    for r in range(nr):
        _refresh(r, S, I, st)
    _top3(rc, nr, top)
    # skip re-testing a task against routes untouched since its last full scan
    # (mode 0 only: in min-max a move elsewhere can change the objective's max)
    clock = 0
    lazy = mode == 0
    improved = True
    passes = 0
    while improved and passes < 1000:
        improved = False
        passes += 1
        for oi in range(m):
            e = order[oi]
            r1 = where_r[e]
            i = where_i[e]
            t = rt[r1 * maxl + i]
            L1 = rl[r1]
            d1 = dep[r1]
            P1 = d1 if i == 0 else tt[rt[r1 * maxl + i - 1]]
            N1 = d1 if i == L1 - 1 else th[rt[r1 * maxl + i + 1]]
            cur = _dd(I, P1, th[t]) + tc[t] + _dd(I, tt[t], N1)
            c1rem = rc[r1] + _dd(I, P1, N1) - cur
            q1rem = rq[r1] - tq[t]
            moved = False
            since = etest[e]
            # ---- relocate next to a neighbour (granular), flip in place, or open a route
            for ci in range(2 * ng + 2):
                if moved:
                    break
                if ci < 2 * ng:
                    f = neigh[e * ng + (ci >> 1)]
                    r2 = where_r[f]
                    j = where_i[f] + (ci & 1)
                    if lazy and rmod[r1] <= since and rmod[r2] <= since:
                        continue
                elif ci == 2 * ng:
                    r2 = r1
                    j = i
                    if lazy and rmod[r1] <= since:
                        continue
                else:
                    if not (can_open and nr < maxr and L1 > 1):
                        continue
                    if lazy and rmod[r1] <= since:
                        continue
                    r2 = nr
                    j = 0
                for oo in range(2):
                    ob = t ^ oo
                    if not allowed[ob] or moved:
                        continue
                    if r2 == r1:
                        jr = j if j <= i else j - 1
                        if jr == i and ob == t:
                            continue
                        a = d1 if jr == 0 else tt[rt[r1 * maxl + (jr - 1 if jr - 1 < i else jr)]]
                        b = d1 if jr == L1 - 1 else th[rt[r1 * maxl + (jr if jr < i else jr + 1)]]
                        c1n = c1rem + _dd(I, a, th[ob]) + tc[ob] + _dd(I, tt[ob], b) - _dd(I, a, b)
                        dl = _delta(o, rc, rq, maxr, top, r1, c1n, rq[r1], -1, 0.0, 0.0)
                        if dl < -_EPS:
                            k = 0
                            for x in range(L1):
                                if x != i:
                                    tmp[k] = rt[r1 * maxl + x]
                                    k += 1
                            k = 0
                            for x in range(L1):
                                if x == jr:
                                    rt[r1 * maxl + x] = ob
                                else:
                                    rt[r1 * maxl + x] = tmp[k]
                                    k += 1
                            moved = True
                    else:
                        L2 = rl[r2] if r2 < nr else 0
                        if L2 >= maxl:
                            continue
                        d2 = dep[r2] if r2 < nr else dep[0]
                        q2n = (rq[r2] if r2 < nr else 0.0) + tq[t]
                        base2 = rc[r2] if r2 < nr else 0.0
                        a = d2 if j == 0 else tt[rt[r2 * maxl + j - 1]]
                        b = d2 if j == L2 else th[rt[r2 * maxl + j]]
                        c2n = base2 + _dd(I, a, th[ob]) + tc[ob] + _dd(I, tt[ob], b) - _dd(I, a, b)
                        dl = _delta(o, rc, rq, maxr, top, r1, c1rem, q1rem, r2, c2n, q2n)
                        if dl < -_EPS:
                            for x in range(L2, j, -1):
                                rt[r2 * maxl + x] = rt[r2 * maxl + x - 1]
                            rt[r2 * maxl + j] = ob
                            if r2 == nr:
                                dep[r2] = dep[0]
                                rl[r2] = 1
                                nr += 1
                            else:
                                rl[r2] = L2 + 1
                            for x in range(i, L1 - 1):
                                rt[r1 * maxl + x] = rt[r1 * maxl + x + 1]
                            rl[r1] = L1 - 1
                            _refresh(r2, S, I, st)
                            moved = True
            if not moved:
                # ---- swap with a neighbour
                for ni in range(ng):
                    f = neigh[e * ng + ni]
                    r2 = where_r[f]
                    j = where_i[f]
                    if lazy and rmod[r1] <= since and rmod[r2] <= since:
                        continue
                    if r2 == r1 and (j - i <= 1 and i - j <= 1):
                        continue
                    L2 = rl[r2]
                    d2 = dep[r2]
                    u = rt[r2 * maxl + j]
                    P2 = d2 if j == 0 else tt[rt[r2 * maxl + j - 1]]
                    N2 = d2 if j == L2 - 1 else th[rt[r2 * maxl + j + 1]]
                    curu = _dd(I, P2, th[u]) + tc[u] + _dd(I, tt[u], N2)
                    bu = INFINITY
                    ub = u
                    for oo in range(2):
                        x = u ^ oo
                        if allowed[x]:
                            v = _dd(I, P1, th[x]) + tc[x] + _dd(I, tt[x], N1)
                            if v < bu:
                                bu = v
                                ub = x
                    bt = INFINITY
                    tb = t
                    for oo in range(2):
                        x = t ^ oo
                        if allowed[x]:
                            v = _dd(I, P2, th[x]) + tc[x] + _dd(I, tt[x], N2)
                            if v < bt:
                                bt = v
                                tb = x
                    if r2 == r1:
                        c1n = rc[r1] - cur - curu + bu + bt
                        dl = _delta(o, rc, rq, maxr, top, r1, c1n, rq[r1], -1, 0.0, 0.0)
                    else:
                        c1n = rc[r1] - cur + bu
                        c2n = rc[r2] - curu + bt
                        q1n = rq[r1] - tq[t] + tq[u]
                        q2n = rq[r2] - tq[u] + tq[t]
                        dl = _delta(o, rc, rq, maxr, top, r1, c1n, q1n, r2, c2n, q2n)
                    if dl < -_EPS:
                        rt[r1 * maxl + i] = ub
                        rt[r2 * maxl + j] = tb
                        if r2 != r1:
                            _refresh(r2, S, I, st)
                        moved = True
                        break
            if not moved:
                # ---- 2-opt* between routes: r1 = A1 + B2, r2 = A2 + B1, cut so that t and
                # a neighbour f become consecutive (t then f, or f then t)
                last1 = tt[rt[r1 * maxl + L1 - 1]]
                for ci in range(2 * ng):
                    f = neigh[e * ng + (ci >> 1)]
                    r2 = where_r[f]
                    if r2 == r1:
                        continue
                    if lazy and rmod[r1] <= since and rmod[r2] <= since:
                        continue
                    if ci & 1 == 0:
                        c1 = i
                        j = where_i[f] - 1
                    else:
                        c1 = i - 1
                        j = where_i[f]
                    L2 = rl[r2]
                    d2 = dep[r2]
                    if (c1 == L1 - 1 and j == L2 - 1) or (c1 < 0 and j < 0):
                        continue
                    if c1 + 1 + (L2 - j - 1) > maxl or j + 1 + (L1 - c1 - 1) > maxl:
                        continue
                    endA1 = d1 if c1 < 0 else tt[rt[r1 * maxl + c1]]
                    preA1 = 0.0 if c1 < 0 else pre[rt[r1 * maxl + c1] >> 1]
                    qA1 = 0.0 if c1 < 0 else preq[rt[r1 * maxl + c1] >> 1]
                    endA2 = d2 if j < 0 else tt[rt[r2 * maxl + j]]
                    preA2 = 0.0 if j < 0 else pre[rt[r2 * maxl + j] >> 1]
                    qA2 = 0.0 if j < 0 else preq[rt[r2 * maxl + j] >> 1]
                    if j + 1 < L2:
                        s2 = th[rt[r2 * maxl + j + 1]]
                        open2 = pre[rt[r2 * maxl + L2 - 1] >> 1] - preA2 - _dd(I, endA2, s2)
                        last2 = tt[rt[r2 * maxl + L2 - 1]]
                        c1n = preA1 + _dd(I, endA1, s2) + open2 + _dd(I, last2, d1)
                    else:
                        c1n = preA1 + _dd(I, endA1, d1)
                    q1n = qA1 + (rq[r2] - qA2)
                    if c1 + 1 < L1:
                        s1 = th[rt[r1 * maxl + c1 + 1]]
                        open1 = pre[rt[r1 * maxl + L1 - 1] >> 1] - preA1 - _dd(I, endA1, s1)
                        c2n = preA2 + _dd(I, endA2, s1) + open1 + _dd(I, last1, d2)
                    else:
                        c2n = preA2 + _dd(I, endA2, d2)
                    q2n = qA2 + (rq[r1] - qA1)
                    dl = _delta(o, rc, rq, maxr, top, r1, c1n, q1n, r2, c2n, q2n)
                    if dl < -_EPS:
                        nb1 = L1 - c1 - 1
                        for x in range(nb1):
                            tmp[x] = rt[r1 * maxl + c1 + 1 + x]
                        nb2 = L2 - j - 1
                        for x in range(nb2):
                            tmp2[x] = rt[r2 * maxl + j + 1 + x]
                        for x in range(nb2):
                            rt[r1 * maxl + c1 + 1 + x] = tmp2[x]
                        rl[r1] = c1 + 1 + nb2
                        for x in range(nb1):
                            rt[r2 * maxl + j + 1 + x] = tmp[x]
                        rl[r2] = j + 1 + nb1
                        _refresh(r2, S, I, st)
                        moved = True
                        break
            if not moved and sym:
                # ---- 2-opt* with reversal: r1 = A1 + rev(A2), r2 = rev(B1) + B2, so that
                # t is followed by a reversed neighbour f (or reversed t by f); costs of a
                # reversed piece are unchanged on a symmetric matrix
                last1 = tt[rt[r1 * maxl + L1 - 1]]
                for ci in range(2 * ng):
                    f = neigh[e * ng + (ci >> 1)]
                    r2 = where_r[f]
                    if r2 == r1:
                        continue
                    if lazy and rmod[r1] <= since and rmod[r2] <= since:
                        continue
                    if ci & 1 == 0:
                        c1 = i
                        j = where_i[f]
                    else:
                        c1 = i - 1
                        j = where_i[f] - 1
                    L2 = rl[r2]
                    d2 = dep[r2]
                    if c1 + 1 + j + 1 > maxl or (L1 - c1 - 1) + (L2 - j - 1) > maxl:
                        continue
                    endA1 = d1 if c1 < 0 else tt[rt[r1 * maxl + c1]]
                    preA1 = 0.0 if c1 < 0 else pre[rt[r1 * maxl + c1] >> 1]
                    qA1 = 0.0 if c1 < 0 else preq[rt[r1 * maxl + c1] >> 1]
                    preA2 = 0.0 if j < 0 else pre[rt[r2 * maxl + j] >> 1]
                    qA2 = 0.0 if j < 0 else preq[rt[r2 * maxl + j] >> 1]
                    endA2 = d2 if j < 0 else tt[rt[r2 * maxl + j]]
                    s02 = th[rt[r2 * maxl]]
                    if j >= 0:
                        c1n = (preA1 + _dd(I, endA1, endA2) + (preA2 - _dd(I, d2, s02))
                               + _dd(I, s02, d1))
                    else:
                        c1n = preA1 + _dd(I, endA1, d1)
                    if c1 + 1 < L1:
                        s1 = th[rt[r1 * maxl + c1 + 1]]
                        open1 = pre[rt[r1 * maxl + L1 - 1] >> 1] - preA1 - _dd(I, endA1, s1)
                        c2n = _dd(I, d2, last1) + open1
                        at2 = s1
                    else:
                        c2n = 0.0
                        at2 = d2
                    if j + 1 < L2:
                        s2 = th[rt[r2 * maxl + j + 1]]
                        open2 = pre[rt[r2 * maxl + L2 - 1] >> 1] - preA2 - _dd(I, endA2, s2)
                        c2n += _dd(I, at2, s2) + open2 + _dd(I, tt[rt[r2 * maxl + L2 - 1]], d2)
                    elif c1 + 1 < L1:
                        c2n += _dd(I, at2, d2)
                    q1n = qA1 + qA2
                    q2n = (rq[r1] - qA1) + (rq[r2] - qA2)
                    dl = _delta(o, rc, rq, maxr, top, r1, c1n, q1n, r2, c2n, q2n)
                    if dl < -_EPS:
                        nb1 = L1 - c1 - 1
                        for x in range(nb1):
                            tmp[x] = rt[r1 * maxl + c1 + 1 + x]
                        for x in range(j + 1):
                            tmp2[x] = rt[r2 * maxl + x]
                        # r1 = A1 + rev(A2)
                        for x in range(j + 1):
                            rt[r1 * maxl + c1 + 1 + x] = tmp2[j - x] ^ 1
                        rl[r1] = c1 + 1 + j + 1
                        # r2 = rev(B1) + B2
                        nb2 = L2 - j - 1
                        for x in range(nb2):
                            tmp2[x] = rt[r2 * maxl + j + 1 + x]
                        for x in range(nb1):
                            rt[r2 * maxl + x] = tmp[nb1 - 1 - x] ^ 1
                        for x in range(nb2):
                            rt[r2 * maxl + nb1 + x] = tmp2[x]
                        rl[r2] = nb1 + nb2
                        _refresh(r2, S, I, st)
                        moved = True
                        break
            # ---- 2-opt inside the route: reverse tasks i..j
            if not moved and allowed[t ^ 1] and not (lazy and rmod[r1] <= since):
                oint = 0.0
                rint = 0.0
                for j in range(i + 1, L1):
                    u = rt[r1 * maxl + j]
                    if not allowed[u ^ 1]:
                        break
                    p = rt[r1 * maxl + j - 1]
                    oint += _dd(I, tt[p], th[u])
                    rint += _dd(I, th[u], tt[p])
                    Nj = d1 if j == L1 - 1 else th[rt[r1 * maxl + j + 1]]
                    old = _dd(I, P1, th[t]) + oint + _dd(I, tt[u], Nj)
                    new = _dd(I, P1, tt[u]) + rint + _dd(I, th[t], Nj)
                    c1n = rc[r1] + new - old
                    dl = _delta(o, rc, rq, maxr, top, r1, c1n, rq[r1], -1, 0.0, 0.0)
                    if dl < -_EPS:
                        a = i
                        b = j
                        while a < b:
                            x = rt[r1 * maxl + a]
                            rt[r1 * maxl + a] = rt[r1 * maxl + b] ^ 1
                            rt[r1 * maxl + b] = x ^ 1
                            a += 1
                            b -= 1
                        if a == b:
                            rt[r1 * maxl + a] = rt[r1 * maxl + a] ^ 1
                        moved = True
                        break
            if not moved:
                etest[e] = clock
            else:
                clock += 1
                rmod[r1] = clock
                if 0 <= r2 < maxr:
                    rmod[r2] = clock
                etest[e] = -1
                improved = True
                _refresh(r1, S, I, st)
                if mode == 0:
                    r = 0
                    while r < nr:
                        if rl[r] == 0:
                            last = nr - 1
                            if r != last:
                                for x in range(rl[last]):
                                    rt[r * maxl + x] = rt[last * maxl + x]
                                rl[r] = rl[last]
                                dep[r] = dep[last]
                                rmod[r] = clock
                                _refresh(r, S, I, st)
                            rl[last] = 0
                            rc[last] = 0.0
                            rq[last] = 0.0
                            nr -= 1
                        else:
                            r += 1
                _top3(rc, nr, top)
    return nr


def insert_tasks(routes, nr, maxr, can_open, tasks, inst, obj):
    """Insert each edge of ``tasks`` (edge ids, in order) at its cheapest place.

    Every route, position and allowed direction is tried with the objective's
    delta; in mode 0 a new route may be opened. Returns the new route count. The
    route table must have room: ``maxl`` at least the longest route plus ``len(tasks)``.
    """
    cdef _Arrays A = _Arrays(inst, obj, routes)
    cdef const i64[::1] tk = tasks
    cdef i64 R = maxr
    cdef i64 m = A.tq.shape[0] // 2
    cdef _Work W = _Work(R, A.sol.maxl, m)
    cdef Sol *S = &A.sol
    cdef const Inst *I = &A.inst
    cdef const Obj *o = &A.obj
    cdef State *st = &W.st
    cdef i64 *rt = S.rt
    cdef i64 *rl = S.rl
    cdef i64 *dep = S.dep
    cdef i64 maxl = S.maxl
    cdef double *rc = st.rc
    cdef double *rq = st.rq
    cdef i64 n = nr
    cdef bint opener = can_open
    cdef i64 top[3]
    cdef i64 br = 0
    cdef i64 k, e, bj, bo, nroutes, r2, L2, d2, oo, ob, j, a, b, x, r
    cdef double best, base2, q2n, c2n, dl
    for r in range(n):
        _refresh(r, S, I, st)
    _top3(rc, n, top)
    with nogil:
        for k in range(tk.shape[0]):
            e = tk[k]
            best = INFINITY
            br = -1
            bj = -1
            bo = -1
            nroutes = n + (1 if (opener and n < R) else 0)
            for r2 in range(nroutes):
                L2 = rl[r2] if r2 < n else 0
                if L2 >= maxl:
                    continue
                d2 = dep[r2] if r2 < n else dep[0]
                base2 = rc[r2] if r2 < n else 0.0
                q2n = (rq[r2] if r2 < n else 0.0) + I.tq[2 * e]
                for oo in range(2):
                    ob = 2 * e + oo
                    if not I.allowed[ob]:
                        continue
                    for j in range(L2 + 1):
                        a = d2 if j == 0 else I.tt[rt[r2 * maxl + j - 1]]
                        b = d2 if j == L2 else I.th[rt[r2 * maxl + j]]
                        c2n = (base2 + _dd(I, a, I.th[ob]) + I.tc[ob] + _dd(I, I.tt[ob], b)
                               - _dd(I, a, b))
                        if r2 < n:
                            dl = _delta(o, rc, rq, R, top, r2, c2n, q2n, -1, 0.0, 0.0)
                        else:
                            dl = _term(c2n, q2n, o)
                            if o.mode == 1 and top[0] >= 0 and c2n > rc[top[0]]:
                                dl += c2n - rc[top[0]]
                        if dl < best:
                            best = dl
                            br = r2
                            bj = j
                            bo = ob
            if br < 0:
                break
            if br == n:
                dep[br] = dep[0]
                rl[br] = 0
                n += 1
            L2 = rl[br]
            for x in range(L2, bj, -1):
                rt[br * maxl + x] = rt[br * maxl + x - 1]
            rt[br * maxl + bj] = bo
            rl[br] = L2 + 1
            _refresh(br, S, I, st)
            _top3(rc, n, top)
    if br < 0 and tk.shape[0] > 0:
        raise ValueError("route table too small for the inserted tasks")
    return n
