"""Compiled kernels of the CARP solver: route evaluation, Split, local search.

Tasks are directed copies of required edges: task ``t`` and ``t ^ 1`` are the two
directions of one edge, driven from ``th[t]`` to ``tt[t]`` with service cost
``tc[t]`` and demand ``tq[t]``; ``allowed[t]`` is False for the wrong direction of
a one-way street. ``D`` is the all-pairs deadhead cost matrix. A solution is a
set of routes ``rt[r, :rl[r]]`` of task ids, route ``r`` starting and ending at
node ``dep[r]``.

The objective has two modes. Mode 0 (total): the sum over routes of
``cost + lam * load excess + mu * cost excess``. Mode 1 (min-max): the largest route
cost plus, over routes, ``eps * cost`` and the same penalties.

Kernels take records (tuples), not a parameter per table:

* ``inst = (D, th, tt, tc, tq, allowed)``: the instance, read only;
* ``obj = (Q, lam, Lmax, mu, eps, mode)``: capacity, load penalty, route cost limit,
  cost penalty, min-max tie weight, objective mode;
* ``routes = (rt, rl, dep)``: the solution, changed in place;
* ``state = (rc, rq, pre, preq, where_r, where_i)``: per route cost and load, their
  prefix sums along the route, and the route and position of each edge.
"""

# mypy: ignore-errors
# numba kernels: plain array arguments, typed by numba at compile time

from __future__ import annotations

import numba as nb
import numpy as np

_EPS = 1e-9


@nb.njit(cache=True)
def _term(c: float, q: float, obj: tuple):
    Q, lam, Lmax, mu, eps, mode = obj
    p = 0.0
    if q > Q:
        p += lam * (q - Q)
    if c > Lmax:
        p += mu * (c - Lmax)
    if mode == 0:
        return c + p
    return eps * c + p


@nb.njit(cache=True)
def route_cost(seq, L, d, D, th, tt, tc):
    if L == 0:
        return 0.0
    c = D[d, th[seq[0]]]
    for k in range(L):
        t = seq[k]
        c += tc[t]
        if k + 1 < L:
            c += D[tt[t], th[seq[k + 1]]]
    c += D[tt[seq[L - 1]], d]
    return c


@nb.njit(cache=True)
def split(giant, d, inst, obj):
    """Optimal cut of a giant tour into depot routes (Prins' Split, soft limits).

    Returns the start index of each route in ``giant`` (ending with ``len(giant)``).
    Loads up to twice the capacity are allowed at a penalty ``lam`` per unit.
    """
    D, th, tt, tc, tq, _allowed = inst
    Q, lam, Lmax, mu, _eps, _mode = obj
    n = giant.shape[0]
    V = np.full(n + 1, np.inf)
    P = np.zeros(n + 1, dtype=np.int64)
    V[0] = 0.0
    for i in range(n):
        if not np.isfinite(V[i]):
            continue
        load = 0.0
        inner = 0.0
        first = th[giant[i]]
        for j in range(i, n):
            t = giant[j]
            if j > i:
                inner += D[tt[giant[j - 1]], th[t]]
            inner += tc[t]
            load += tq[t]
            if load > 2.0 * Q and j > i:
                break
            c = D[d, first] + inner + D[tt[t], d]
            f = c
            if load > Q:
                f += lam * (load - Q)
            if c > Lmax:
                f += mu * (c - Lmax)
            if V[i] + f < V[j + 1]:
                V[j + 1] = V[i] + f
                P[j + 1] = i
    cuts = [n]
    j = n
    while j > 0:
        j = P[j]
        cuts.append(j)
    out = np.empty(len(cuts), dtype=np.int64)
    for k in range(len(cuts)):
        out[k] = cuts[len(cuts) - 1 - k]
    return out


@nb.njit(cache=True)
def _refresh(r, routes, inst, state):
    rt, rl, dep = routes
    D, th, tt, tc, tq, _allowed = inst
    rc, rq, pre, preq, where_r, where_i = state
    L = rl[r]
    d = dep[r]
    c = 0.0
    q = 0.0
    at = d
    for k in range(L):
        t = rt[r, k]
        c += D[at, th[t]] + tc[t]
        q += tq[t]
        pre[r, k] = c
        preq[r, k] = q
        at = tt[t]
        where_r[t >> 1] = r
        where_i[t >> 1] = k
    rc[r] = c + D[at, d]
    rq[r] = q


@nb.njit(cache=True)
def _top3(rc, nr):
    top = np.full(3, -1, dtype=np.int64)
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
    return top


@nb.njit(cache=True)
def _delta(obj, rc, rq, top, r1, c1, q1, r2, c2, q2):
    mode = obj[5]
    d = _term(c1, q1, obj) - _term(rc[r1], rq[r1], obj)
    if r2 >= 0:
        old2c = rc[r2] if r2 < rc.shape[0] else 0.0
        old2q = rq[r2] if r2 < rq.shape[0] else 0.0
        d += _term(c2, q2, obj) - _term(old2c, old2q, obj)
    if mode == 1:
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


@nb.njit(cache=True)
def local_search(routes, nr, maxr, can_open, inst, obj, order, neigh, sym):
    """Improve routes in place by relocate, swap, 2-opt* and 2-opt moves.

    First-improvement descent over tasks in ``order`` (edge ids); moves place a
    task next to one of its ``neigh`` nearest edges (granular neighbourhoods). With
    ``sym`` (symmetric ``D``, every task reversible) 2-opt* also reverses pieces. In mode 0
    empty routes are dropped and a task may open a new route (``can_open``);
    in mode 1 the ``nr`` routes stay, possibly empty. Returns the new route count.
    """
    rt, rl, dep = routes
    D, th, tt, tc, tq, allowed = inst
    mode = obj[5]
    m = order.shape[0]
    maxl = rt.shape[1]
    rc = np.zeros(maxr)
    rq = np.zeros(maxr)
    pre = np.zeros((maxr, maxl))
    preq = np.zeros((maxr, maxl))
    where_r = np.full(m, -1, dtype=np.int64)
    where_i = np.full(m, -1, dtype=np.int64)
    tmp = np.empty(maxl, dtype=np.int64)
    tmp2 = np.empty(maxl, dtype=np.int64)
    state = (rc, rq, pre, preq, where_r, where_i)
    for r in range(nr):
        _refresh(r, routes, inst, state)
    top = _top3(rc, nr)
    # skip re-testing a task against routes untouched since its last full scan
    # (mode 0 only: in min-max a move elsewhere can change the objective's max)
    rmod = np.zeros(maxr, dtype=np.int64)
    etest = np.full(m, -1, dtype=np.int64)
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
            t = rt[r1, i]
            L1 = rl[r1]
            d1 = dep[r1]
            P1 = d1 if i == 0 else tt[rt[r1, i - 1]]
            N1 = d1 if i == L1 - 1 else th[rt[r1, i + 1]]
            cur = D[P1, th[t]] + tc[t] + D[tt[t], N1]
            c1rem = rc[r1] + D[P1, N1] - cur
            q1rem = rq[r1] - tq[t]
            moved = False
            since = etest[e]
            # ---- relocate next to a neighbour (granular), flip in place, or open a route
            ng = neigh.shape[1]
            for ci in range(2 * ng + 2):
                if moved:
                    break
                if ci < 2 * ng:
                    f = neigh[e, ci >> 1]
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
                    o = t ^ oo
                    if not allowed[o] or moved:
                        continue
                    if r2 == r1:
                        jr = j if j <= i else j - 1
                        if jr == i and o == t:
                            continue
                        a = d1 if jr == 0 else tt[rt[r1, jr - 1 if jr - 1 < i else jr]]
                        b = d1 if jr == L1 - 1 else th[rt[r1, jr if jr < i else jr + 1]]
                        c1n = c1rem + D[a, th[o]] + tc[o] + D[tt[o], b] - D[a, b]
                        dl = _delta(obj, rc, rq, top, r1, c1n, rq[r1], -1, 0.0, 0.0)
                        if dl < -_EPS:
                            k = 0
                            for x in range(L1):
                                if x != i:
                                    tmp[k] = rt[r1, x]
                                    k += 1
                            k = 0
                            for x in range(L1):
                                if x == jr:
                                    rt[r1, x] = o
                                else:
                                    rt[r1, x] = tmp[k]
                                    k += 1
                            moved = True
                    else:
                        L2 = rl[r2] if r2 < nr else 0
                        d2 = dep[r2] if r2 < nr else dep[0]
                        q2n = (rq[r2] if r2 < nr else 0.0) + tq[t]
                        base2 = rc[r2] if r2 < nr else 0.0
                        a = d2 if j == 0 else tt[rt[r2, j - 1]]
                        b = d2 if j == L2 else th[rt[r2, j]]
                        c2n = base2 + D[a, th[o]] + tc[o] + D[tt[o], b] - D[a, b]
                        dl = _delta(obj, rc, rq, top, r1, c1rem, q1rem, r2, c2n, q2n)
                        if dl < -_EPS:
                            for x in range(L2, j, -1):
                                rt[r2, x] = rt[r2, x - 1]
                            rt[r2, j] = o
                            if r2 == nr:
                                dep[r2] = dep[0]
                                rl[r2] = 1
                                nr += 1
                            else:
                                rl[r2] = L2 + 1
                            for x in range(i, L1 - 1):
                                rt[r1, x] = rt[r1, x + 1]
                            rl[r1] = L1 - 1
                            _refresh(r2, routes, inst, state)
                            moved = True
            if not moved:
                # ---- swap with a neighbour
                for ni in range(ng):
                    f = neigh[e, ni]
                    r2 = where_r[f]
                    j = where_i[f]
                    if lazy and rmod[r1] <= since and rmod[r2] <= since:
                        continue
                    if r2 == r1 and (j - i <= 1 and i - j <= 1):
                        continue
                    L2 = rl[r2]
                    d2 = dep[r2]
                    u = rt[r2, j]
                    P2 = d2 if j == 0 else tt[rt[r2, j - 1]]
                    N2 = d2 if j == L2 - 1 else th[rt[r2, j + 1]]
                    curu = D[P2, th[u]] + tc[u] + D[tt[u], N2]
                    bu = np.inf
                    ub = u
                    for oo in range(2):
                        x = u ^ oo
                        if allowed[x]:
                            v = D[P1, th[x]] + tc[x] + D[tt[x], N1]
                            if v < bu:
                                bu = v
                                ub = x
                    bt = np.inf
                    tb = t
                    for oo in range(2):
                        x = t ^ oo
                        if allowed[x]:
                            v = D[P2, th[x]] + tc[x] + D[tt[x], N2]
                            if v < bt:
                                bt = v
                                tb = x
                    if r2 == r1:
                        c1n = rc[r1] - cur - curu + bu + bt
                        dl = _delta(obj, rc, rq, top, r1, c1n, rq[r1], -1, 0.0, 0.0)
                    else:
                        c1n = rc[r1] - cur + bu
                        c2n = rc[r2] - curu + bt
                        q1n = rq[r1] - tq[t] + tq[u]
                        q2n = rq[r2] - tq[u] + tq[t]
                        dl = _delta(obj, rc, rq, top, r1, c1n, q1n, r2, c2n, q2n)
                    if dl < -_EPS:
                        rt[r1, i] = ub
                        rt[r2, j] = tb
                        if r2 != r1:
                            _refresh(r2, routes, inst, state)
                        moved = True
                        break
            if not moved:
                # ---- 2-opt* between routes: r1 = A1 + B2, r2 = A2 + B1, cut so that t and
                # a neighbour f become consecutive (t then f, or f then t)
                last1 = tt[rt[r1, L1 - 1]]
                for ci in range(2 * ng):
                    f = neigh[e, ci >> 1]
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
                    endA1 = d1 if c1 < 0 else tt[rt[r1, c1]]
                    preA1 = 0.0 if c1 < 0 else pre[r1, c1]
                    qA1 = 0.0 if c1 < 0 else preq[r1, c1]
                    endA2 = d2 if j < 0 else tt[rt[r2, j]]
                    preA2 = 0.0 if j < 0 else pre[r2, j]
                    qA2 = 0.0 if j < 0 else preq[r2, j]
                    if j + 1 < L2:
                        s2 = th[rt[r2, j + 1]]
                        open2 = pre[r2, L2 - 1] - preA2 - D[endA2, s2]
                        last2 = tt[rt[r2, L2 - 1]]
                        c1n = preA1 + D[endA1, s2] + open2 + D[last2, d1]
                    else:
                        c1n = preA1 + D[endA1, d1]
                    q1n = qA1 + (rq[r2] - qA2)
                    if c1 + 1 < L1:
                        s1 = th[rt[r1, c1 + 1]]
                        open1 = pre[r1, L1 - 1] - preA1 - D[endA1, s1]
                        c2n = preA2 + D[endA2, s1] + open1 + D[last1, d2]
                    else:
                        c2n = preA2 + D[endA2, d2]
                    q2n = qA2 + (rq[r1] - qA1)
                    dl = _delta(obj, rc, rq, top, r1, c1n, q1n, r2, c2n, q2n)
                    if dl < -_EPS:
                        nb1 = L1 - c1 - 1
                        for x in range(nb1):
                            tmp[x] = rt[r1, c1 + 1 + x]
                        nb2 = L2 - j - 1
                        for x in range(nb2):
                            tmp2[x] = rt[r2, j + 1 + x]
                        for x in range(nb2):
                            rt[r1, c1 + 1 + x] = tmp2[x]
                        rl[r1] = c1 + 1 + nb2
                        for x in range(nb1):
                            rt[r2, j + 1 + x] = tmp[x]
                        rl[r2] = j + 1 + nb1
                        _refresh(r2, routes, inst, state)
                        moved = True
                        break
            if not moved and sym:
                # ---- 2-opt* with reversal: r1 = A1 + rev(A2), r2 = rev(B1) + B2, so that
                # t is followed by a reversed neighbour f (or reversed t by f); costs of a
                # reversed piece are unchanged on a symmetric matrix
                last1 = tt[rt[r1, L1 - 1]]
                for ci in range(2 * ng):
                    f = neigh[e, ci >> 1]
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
                    endA1 = d1 if c1 < 0 else tt[rt[r1, c1]]
                    preA1 = 0.0 if c1 < 0 else pre[r1, c1]
                    qA1 = 0.0 if c1 < 0 else preq[r1, c1]
                    preA2 = 0.0 if j < 0 else pre[r2, j]
                    qA2 = 0.0 if j < 0 else preq[r2, j]
                    endA2 = d2 if j < 0 else tt[rt[r2, j]]
                    s02 = th[rt[r2, 0]]
                    if j >= 0:
                        c1n = preA1 + D[endA1, endA2] + (preA2 - D[d2, s02]) + D[s02, d1]
                    else:
                        c1n = preA1 + D[endA1, d1]
                    if c1 + 1 < L1:
                        s1 = th[rt[r1, c1 + 1]]
                        open1 = pre[r1, L1 - 1] - preA1 - D[endA1, s1]
                        c2n = D[d2, last1] + open1
                        at2 = s1
                    else:
                        c2n = 0.0
                        at2 = d2
                    if j + 1 < L2:
                        s2 = th[rt[r2, j + 1]]
                        open2 = pre[r2, L2 - 1] - preA2 - D[endA2, s2]
                        c2n += D[at2, s2] + open2 + D[tt[rt[r2, L2 - 1]], d2]
                    elif c1 + 1 < L1:
                        c2n += D[at2, d2]
                    q1n = qA1 + qA2
                    q2n = (rq[r1] - qA1) + (rq[r2] - qA2)
                    dl = _delta(obj, rc, rq, top, r1, c1n, q1n, r2, c2n, q2n)
                    if dl < -_EPS:
                        nb1 = L1 - c1 - 1
                        for x in range(nb1):
                            tmp[x] = rt[r1, c1 + 1 + x]
                        for x in range(j + 1):
                            tmp2[x] = rt[r2, x]
                        # r1 = A1 + rev(A2)
                        for x in range(j + 1):
                            rt[r1, c1 + 1 + x] = tmp2[j - x] ^ 1
                        rl[r1] = c1 + 1 + j + 1
                        # r2 = rev(B1) + B2
                        nb2 = L2 - j - 1
                        for x in range(nb2):
                            tmp2[x] = rt[r2, j + 1 + x]
                        for x in range(nb1):
                            rt[r2, x] = tmp[nb1 - 1 - x] ^ 1
                        for x in range(nb2):
                            rt[r2, nb1 + x] = tmp2[x]
                        rl[r2] = nb1 + nb2
                        _refresh(r2, routes, inst, state)
                        moved = True
                        break
            # ---- 2-opt inside the route: reverse tasks i..j
            if not moved and allowed[t ^ 1] and not (lazy and rmod[r1] <= since):
                oint = 0.0
                rint = 0.0
                for j in range(i + 1, L1):
                    u = rt[r1, j]
                    if not allowed[u ^ 1]:
                        break
                    p = rt[r1, j - 1]
                    oint += D[tt[p], th[u]]
                    rint += D[th[u], tt[p]]
                    Nj = d1 if j == L1 - 1 else th[rt[r1, j + 1]]
                    old = D[P1, th[t]] + oint + D[tt[u], Nj]
                    new = D[P1, tt[u]] + rint + D[th[t], Nj]
                    c1n = rc[r1] + new - old
                    dl = _delta(obj, rc, rq, top, r1, c1n, rq[r1], -1, 0.0, 0.0)
                    if dl < -_EPS:
                        a = i
                        b = j
                        while a < b:
                            x = rt[r1, a]
                            rt[r1, a] = rt[r1, b] ^ 1
                            rt[r1, b] = x ^ 1
                            a += 1
                            b -= 1
                        if a == b:
                            rt[r1, a] = rt[r1, a] ^ 1
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
                _refresh(r1, routes, inst, state)
                if mode == 0:
                    r = 0
                    while r < nr:
                        if rl[r] == 0:
                            last = nr - 1
                            if r != last:
                                for x in range(rl[last]):
                                    rt[r, x] = rt[last, x]
                                rl[r] = rl[last]
                                dep[r] = dep[last]
                                rmod[r] = clock
                                _refresh(r, routes, inst, state)
                            rl[last] = 0
                            rc[last] = 0.0
                            rq[last] = 0.0
                            nr -= 1
                        else:
                            r += 1
                top = _top3(rc, nr)
    return nr


@nb.njit(cache=True)
def insert_tasks(routes, nr, maxr, can_open, tasks, inst, obj):
    """Insert each edge of ``tasks`` (edge ids, in order) at its cheapest place.

    Every route, position and allowed direction is tried with the objective's
    delta; in mode 0 a new route may be opened. Returns the new route count.
    """
    rt, rl, dep = routes
    D, th, tt, tc, tq, allowed = inst
    mode = obj[5]
    maxl = rt.shape[1]
    rc = np.zeros(maxr)
    rq = np.zeros(maxr)
    pre = np.zeros((maxr, maxl))
    preq = np.zeros((maxr, maxl))
    m = tq.shape[0] // 2
    where_r = np.full(m, -1, dtype=np.int64)
    where_i = np.full(m, -1, dtype=np.int64)
    state = (rc, rq, pre, preq, where_r, where_i)
    for r in range(nr):
        _refresh(r, routes, inst, state)
    top = _top3(rc, nr)
    for k in range(tasks.shape[0]):
        e = tasks[k]
        best = np.inf
        br = -1
        bj = -1
        bo = -1
        nroutes = nr + (1 if (can_open and nr < maxr) else 0)
        for r2 in range(nroutes):
            L2 = rl[r2] if r2 < nr else 0
            d2 = dep[r2] if r2 < nr else dep[0]
            base2 = rc[r2] if r2 < nr else 0.0
            q2n = (rq[r2] if r2 < nr else 0.0) + tq[2 * e]
            for oo in range(2):
                o = 2 * e + oo
                if not allowed[o]:
                    continue
                for j in range(L2 + 1):
                    a = d2 if j == 0 else tt[rt[r2, j - 1]]
                    b = d2 if j == L2 else th[rt[r2, j]]
                    c2n = base2 + D[a, th[o]] + tc[o] + D[tt[o], b] - D[a, b]
                    if r2 < nr:
                        dl = _delta(obj, rc, rq, top, r2, c2n, q2n, -1, 0.0, 0.0)
                    else:
                        dl = _term(c2n, q2n, obj)
                        if mode == 1 and top[0] >= 0 and c2n > rc[top[0]]:
                            dl += c2n - rc[top[0]]
                    if dl < best:
                        best = dl
                        br = r2
                        bj = j
                        bo = o
        if br == nr:
            dep[br] = dep[0]
            rl[br] = 0
            nr += 1
        L2 = rl[br]
        for x in range(L2, bj, -1):
            rt[br, x] = rt[br, x - 1]
        rt[br, bj] = bo
        rl[br] = L2 + 1
        _refresh(br, routes, inst, state)
        top = _top3(rc, nr)
    return nr
