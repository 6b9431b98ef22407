"""Compiled kernels of :mod:`urbangrid.spatial.index`: exact point-in-polygon on a lookup grid.

How a point is answered
-----------------------
The polygons' bounding box is cut into a uniform grid. Each cell gets a slightly larger
box ``B`` (widened by ``eps`` on every side, far more than any rounding in computing a
point's cell). An edge is *listed* in a cell when the edge's bounding box meets ``B``.

* A cell where no polygon lists an edge is inside a fixed set of polygons: the answer
  is stored (the first of them in input order, or -1).
* Otherwise, for each candidate polygon (in input order, stopping at the first polygon
  that covers the whole cell), the point is tested against the polygon's listed edges
  only, with the ray-crossing rule GEOS uses (``RayCrossingCounter``): a horizontal ray
  to +x, upward edges include their start and exclude their end, horizontal edges never
  count, and a point on an edge is on the boundary (covered).

Counting crossings only on listed edges is exact, not approximate. Write ``R(p)`` for
the GEOS crossing count from ``p`` over all edges of the polygon. Edges that are not
listed do not meet ``B``; within the row band of ``B`` each lies wholly left of ``B``
(never crossed by a ray from a point of ``B``) or wholly right of it (crossed whenever
the ray's height is in the edge's half-open y-range). The parity of the right ones at
height ``py`` is their parity at the bottom line of ``B`` (``D``, stored per cell and
polygon, computed from bounding boxes only) flipped once for each end of such an edge at
a height in ``(bottom, py]``. Those ends pair up and cancel, except where the chain of
unlisted edges meets a listed edge; the listed edge carries a flag for that end. So
``R(p) = D xor flips(p) xor (crossings of listed edges)``, all from exact comparisons
of input doubles plus one orientation sign per crossing candidate.

Orientation signs are exact: a floating-point filter (Shewchuk's ``ccwerrboundA``)
settles almost every case, and the rest are summed exactly as floating-point expansions
(Shewchuk 1997). GEOS evaluates the same sign in double-double arithmetic; the two agree
except for inputs far below any coordinate precision used in practice.

References
----------
.. [1] J. R. Shewchuk, "Adaptive precision floating-point arithmetic and fast robust
   geometric predicates", Discrete & Computational Geometry 18 (1997) 305-363.
.. [2] GEOS ``algorithm/RayCrossingCounter.cpp`` and ``algorithm/CGAlgorithmsDD.cpp``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Layout of the float header of a packed index (see pack_index in index.py).
F_BX0, F_BX1, F_BY0, F_BY1, F_X0, F_Y0, F_INVW, F_INVH = range(8)
F_HEADER = 8
# Layout of the int32 header: grid shape and section offsets into the int32 array.
I_NCOLS, I_NROWS, I_CODE, I_BCSTART, I_BCDEF, I_PPOLY, I_PPAR, I_PESTART = range(8)
I_HEADER = 8

_CCW_ERRBOUND_A = (3.0 + 16.0 * 2.0**-53) * 2.0**-53
_SPLITTER = 134217729.0  # 2**27 + 1, Dekker/Veltkamp split of a double into 26-bit halves


# --------------------------------------------------------------------------- exact orientation


@njit(cache=True, inline="always")
def _two_sum(a: float, b: float) -> tuple[float, float]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, inline="always")
def _two_prod(a: float, b: float) -> tuple[float, float]:
    p = a * b
    c = _SPLITTER * a
    ahi = c - (c - a)
    alo = a - ahi
    c = _SPLITTER * b
    bhi = c - (c - b)
    blo = b - bhi
    return p, alo * blo - (((p - ahi * bhi) - alo * bhi) - ahi * blo)


@njit(cache=True)
def _orient_exact(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """Exact sign of (a - p) x (b - p): sum the 16 product terms as one expansion."""
    d = np.empty(4)
    e = np.empty(4)
    d[0], e[0] = _two_sum(ax, -px)
    d[1], e[1] = _two_sum(by, -py)
    d[2], e[2] = _two_sum(ay, -py)
    d[3], e[3] = _two_sum(bx, -px)
    terms = np.empty(16)
    n = 0
    for sgn, i, j in ((1.0, 0, 1), (-1.0, 2, 3)):
        for u in (d[i], e[i]):
            for v in (d[j], e[j]):
                hi, lo = _two_prod(u, v)
                terms[n] = sgn * hi
                terms[n + 1] = sgn * lo
                n += 2
    expansion = np.zeros(17)
    m = 0
    for t in range(16):
        q = terms[t]
        for i in range(m):
            q, h = _two_sum(q, expansion[i])
            expansion[i] = h
        expansion[m] = q
        m += 1
    for i in range(m - 1, -1, -1):
        if expansion[i] > 0.0:
            return 1
        if expansion[i] < 0.0:
            return -1
    return 0


@njit(cache=True, inline="always")
def orient(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """+1 if p is left of a->b, -1 if right, 0 if exactly on the line (exact)."""
    detleft = (ax - px) * (by - py)
    detright = (ay - py) * (bx - px)
    det = detleft - detright
    if detleft > 0.0:
        if detright <= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = -detleft - detright
    else:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    errbound = _CCW_ERRBOUND_A * detsum
    if det >= errbound:
        return 1
    if -det >= errbound:
        return -1
    return _orient_exact(ax, ay, bx, by, px, py)


# --------------------------------------------------------------------------- build


@njit(cache=True, inline="always")
def _cell_span(
    lo: float, hi: float, origin: float, inv: float, n: int, blo: np.ndarray, bhi: np.ndarray
) -> tuple[int, int]:
    """First and last cell whose widened box [blo, bhi] meets [lo, hi]; (1, 0) if none."""
    a = int((lo - origin) * inv)
    a = min(max(a, 0), n - 1)
    while a > 0 and bhi[a - 1] >= lo:
        a -= 1
    while a < n - 1 and bhi[a] < lo:
        a += 1
    b = int((hi - origin) * inv)
    b = min(max(b, 0), n - 1)
    while b < n - 1 and blo[b + 1] <= hi:
        b += 1
    while b > 0 and blo[b] > hi:
        b -= 1
    if bhi[a] < lo or blo[b] > hi or b < a:
        return 1, 0
    return a, b


@njit(cache=True, inline="always")
def _listed(
    ax: float, ay: float, bx: float, by: float, xlo: float, xhi: float, ylo: float, yhi: float
) -> bool:
    return min(ax, bx) <= xhi and max(ax, bx) >= xlo and min(ay, by) <= yhi and max(ay, by) >= ylo


@njit(cache=True)
def _toggle_flag(
    xs: np.ndarray,
    ys: np.ndarray,
    s: int,
    m: int,
    t: int,
    step: int,
    xlo: float,
    xhi: float,
    ylo: float,
    yhi: float,
) -> int:
    """1 if, walking from edge t past unlisted horizontal edges, the next edge is unlisted."""
    u = t
    for _ in range(m):
        u = (u + step) % m
        ax = xs[s + u]
        ay = ys[s + u]
        bx = xs[s + u + 1]
        by = ys[s + u + 1]
        if _listed(ax, ay, bx, by, xlo, xhi, ylo, yhi):
            return 0
        if ay != by:
            return 1
    return 0


@njit(cache=True)
def _polygon_pairs(
    k: int,
    xs: np.ndarray,
    ys: np.ndarray,
    ring_off: np.ndarray,
    poly_ring_off: np.ndarray,
    x0: float,
    y0: float,
    invw: float,
    invh: float,
    ncols: int,
    nrows: int,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    write: bool,
    bp_at: int,
    cp_at: int,
    pe_at: int,
    bp_cell: np.ndarray,
    bp_par: np.ndarray,
    bp_n: np.ndarray,
    cp_cell: np.ndarray,
    pe: np.ndarray,
    pe_flag: np.ndarray,
) -> tuple[int, int, int]:
    """Boundary pairs, covered cells and listed edges of polygon k (counted, or written)."""
    g0 = poly_ring_off[k]
    g1 = poly_ring_off[k + 1]
    if g0 == g1:
        return 0, 0, 0
    bx0 = np.inf
    bx1 = -np.inf
    by0 = np.inf
    by1 = -np.inf
    nedges = 0
    for g in range(g0, g1):
        for v in range(ring_off[g], ring_off[g + 1]):
            bx0 = min(bx0, xs[v])
            bx1 = max(bx1, xs[v])
            by0 = min(by0, ys[v])
            by1 = max(by1, ys[v])
        nedges += ring_off[g + 1] - ring_off[g] - 1
    c0, c1 = _cell_span(bx0, bx1, x0, invw, ncols, col_lo, col_hi)
    r0, r1 = _cell_span(by0, by1, y0, invh, nrows, row_lo, row_hi)
    if c1 < c0 or r1 < r0:
        return 0, 0, 0
    lw = c1 - c0 + 1
    lh = r1 - r0 + 1
    count = np.zeros(lw * lh, dtype=np.int64)
    # Pass over edges: how many edges each local cell lists.
    for g in range(g0, g1):
        s = ring_off[g]
        for t in range(ring_off[g + 1] - s - 1):
            ax = xs[s + t]
            ay = ys[s + t]
            bx = xs[s + t + 1]
            by = ys[s + t + 1]
            ea, eb = _cell_span(min(ax, bx), max(ax, bx), x0, invw, ncols, col_lo, col_hi)
            fa, fb = _cell_span(min(ay, by), max(ay, by), y0, invh, nrows, row_lo, row_hi)
            for r in range(fa, fb + 1):
                for c in range(ea, eb + 1):
                    count[(r - r0) * lw + (c - c0)] += 1
    nbp = 0
    ncp = 0
    npe = 0
    slot = np.zeros(lw * lh, dtype=np.int64)
    xmins = np.empty(max(nedges, 1))
    for r in range(r0, r1 + 1):
        yref = row_lo[r]
        # D: parity of edges crossing the bottom line of the row's boxes (GEOS half-open
        # rule) whose bounding box starts right of the cell's box.
        m = 0
        for g in range(g0, g1):
            s = ring_off[g]
            for t in range(ring_off[g + 1] - s - 1):
                ay = ys[s + t]
                by = ys[s + t + 1]
                if min(ay, by) <= yref < max(ay, by):
                    xmins[m] = min(xs[s + t], xs[s + t + 1])
                    m += 1
        sorted_x = np.sort(xmins[:m])
        for c in range(c0, c1 + 1):
            right = m - np.searchsorted(sorted_x, col_hi[c], side="right")
            li = (r - r0) * lw + (c - c0)
            cell = r * ncols + c
            if count[li] > 0:
                if write:
                    bp_cell[bp_at + nbp] = cell
                    bp_par[bp_at + nbp] = right & 1
                    bp_n[bp_at + nbp] = count[li]
                slot[li] = pe_at + npe
                nbp += 1
                npe += count[li]
            elif right & 1:
                if write:
                    cp_cell[cp_at + ncp] = cell
                ncp += 1
    if not write:
        return nbp, ncp, npe
    # Second pass over edges: write each listed edge into its cells, with flip flags.
    for g in range(g0, g1):
        s = ring_off[g]
        m = ring_off[g + 1] - s - 1
        for t in range(m):
            ax = xs[s + t]
            ay = ys[s + t]
            bx = xs[s + t + 1]
            by = ys[s + t + 1]
            ea, eb = _cell_span(min(ax, bx), max(ax, bx), x0, invw, ncols, col_lo, col_hi)
            fa, fb = _cell_span(min(ay, by), max(ay, by), y0, invh, nrows, row_lo, row_hi)
            for r in range(fa, fb + 1):
                for c in range(ea, eb + 1):
                    li = (r - r0) * lw + (c - c0)
                    j = slot[li]
                    slot[li] += 1
                    pe[j, 0] = ax
                    pe[j, 1] = ay
                    pe[j, 2] = bx
                    pe[j, 3] = by
                    flag = 0
                    if ax > col_hi[c] and row_lo[r] < ay <= row_hi[r]:
                        flag |= _toggle_flag(
                            xs, ys, s, m, t, -1, col_lo[c], col_hi[c], row_lo[r], row_hi[r]
                        )
                    if bx > col_hi[c] and row_lo[r] < by <= row_hi[r]:
                        flag |= 2 * _toggle_flag(
                            xs, ys, s, m, t, 1, col_lo[c], col_hi[c], row_lo[r], row_hi[r]
                        )
                    pe_flag[j] = flag
    return nbp, ncp, npe


@njit(cache=True, parallel=True)
def build_pairs(
    xs: np.ndarray,
    ys: np.ndarray,
    ring_off: np.ndarray,
    poly_ring_off: np.ndarray,
    x0: float,
    y0: float,
    invw: float,
    invh: float,
    ncols: int,
    nrows: int,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """All (cell, polygon) boundary pairs with their listed edges, and all covered cells.

    Returns per-polygon offsets and flat arrays, polygons in input order.
    """
    npoly = poly_ring_off.size - 1
    counts = np.zeros((npoly, 3), dtype=np.int64)
    dummy_i = np.zeros(0, dtype=np.int64)
    dummy_u = np.zeros(0, dtype=np.uint8)
    dummy_e = np.zeros((0, 4))
    for k in prange(npoly):
        a, b, c = _polygon_pairs(
            k, xs, ys, ring_off, poly_ring_off, x0, y0, invw, invh, ncols, nrows,
            col_lo, col_hi, row_lo, row_hi, False, 0, 0, 0,
            dummy_i, dummy_u, dummy_i, dummy_i, dummy_e, dummy_u,
        )  # fmt: skip
        counts[k, 0] = a
        counts[k, 1] = b
        counts[k, 2] = c
    offs = np.zeros((npoly + 1, 3), dtype=np.int64)
    for k in range(npoly):
        for j in range(3):
            offs[k + 1, j] = offs[k, j] + counts[k, j]
    bp_cell = np.empty(offs[npoly, 0], dtype=np.int64)
    bp_par = np.empty(offs[npoly, 0], dtype=np.uint8)
    bp_n = np.empty(offs[npoly, 0], dtype=np.int64)
    cp_cell = np.empty(offs[npoly, 1], dtype=np.int64)
    pe = np.empty((offs[npoly, 2], 4))
    pe_flag = np.empty(offs[npoly, 2], dtype=np.uint8)
    for k in prange(npoly):
        _polygon_pairs(
            k, xs, ys, ring_off, poly_ring_off, x0, y0, invw, invh, ncols, nrows,
            col_lo, col_hi, row_lo, row_hi, True, offs[k, 0], offs[k, 1], offs[k, 2],
            bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag,
        )  # fmt: skip
    return offs, bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag


@njit(cache=True)
def assemble(
    ncells: int,
    offs: np.ndarray,
    bp_cell: np.ndarray,
    bp_par: np.ndarray,
    bp_n: np.ndarray,
    cp_cell: np.ndarray,
    pe: np.ndarray,
    pe_flag: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Resolve pairs into the lookup structure.

    Per cell: the first polygon (input order) covering it whole, the boundary pairs of
    earlier polygons sorted by polygon, and the cell code (answer, -1, or -2 - boundary
    cell number).
    """
    npoly = offs.shape[0] - 1
    big = np.iinfo(np.int32).max
    cover = np.full(ncells, big, dtype=np.int32)
    for k in range(npoly):
        for j in range(offs[k, 1], offs[k + 1, 1]):
            c = cp_cell[j]
            if cover[c] == big:
                cover[c] = k
    # Keep boundary pairs that can still decide: polygon before the covering one.
    per_cell = np.zeros(ncells + 1, dtype=np.int64)
    nkeep = 0
    nedge = 0
    for k in range(npoly):
        for j in range(offs[k, 0], offs[k + 1, 0]):
            if k < cover[bp_cell[j]]:
                per_cell[bp_cell[j] + 1] += 1
                nkeep += 1
                nedge += bp_n[j]
    code = np.empty(ncells, dtype=np.int32)
    nbc = 0
    for c in range(ncells):
        if per_cell[c + 1] > 0:
            code[c] = -2 - nbc
            nbc += 1
        else:
            code[c] = -1 if cover[c] == big else cover[c]
    bc_start = np.zeros(nbc + 1, dtype=np.int64)
    bc_default = np.empty(nbc, dtype=np.int32)
    b = 0
    for c in range(ncells):
        if per_cell[c + 1] > 0:
            bc_start[b + 1] = bc_start[b] + per_cell[c + 1]
            bc_default[b] = -1 if cover[c] == big else cover[c]
            b += 1
    fill = bc_start[:-1].copy()
    p_poly = np.empty(nkeep, dtype=np.int32)
    p_par = np.empty(nkeep, dtype=np.int32)
    p_n = np.empty(nkeep, dtype=np.int64)
    p_src = np.empty(nkeep, dtype=np.int64)
    for k in range(npoly):
        e = offs[k, 2]
        for j in range(offs[k, 0], offs[k + 1, 0]):
            c = bp_cell[j]
            if k < cover[c]:
                q = fill[-code[c] - 2]
                fill[-code[c] - 2] += 1
                p_poly[q] = k
                p_par[q] = bp_par[j]
                p_n[q] = bp_n[j]
                p_src[q] = e
            e += bp_n[j]
    p_estart = np.zeros(nkeep + 1, dtype=np.int64)
    for q in range(nkeep):
        p_estart[q + 1] = p_estart[q] + p_n[q]
    edges = np.empty((nedge, 4))
    flags = np.empty(nedge, dtype=np.uint8)
    for q in range(nkeep):
        d = p_estart[q]
        s = p_src[q]
        for t in range(p_n[q]):
            edges[d + t, 0] = pe[s + t, 0]
            edges[d + t, 1] = pe[s + t, 1]
            edges[d + t, 2] = pe[s + t, 2]
            edges[d + t, 3] = pe[s + t, 3]
            flags[d + t] = pe_flag[s + t]
    return code, bc_start, bc_default, p_poly, p_par, p_estart, edges, flags


# --------------------------------------------------------------------------- query


@njit(cache=True, inline="always")
def _pair_covers(
    q: int,
    px: float,
    py: float,
    yref: float,
    ints: np.ndarray,
    edges: np.ndarray,
    flags: np.ndarray,
    o_par: int,
    o_est: int,
) -> bool:
    parity = ints[o_par + q]
    for t in range(ints[o_est + q], ints[o_est + q + 1]):
        ax = edges[t, 0]
        ay = edges[t, 1]
        bx = edges[t, 2]
        by = edges[t, 3]
        fl = flags[t]
        if fl != 0:
            if (fl & 1) and yref < ay <= py:
                parity ^= 1
            if (fl & 2) and yref < by <= py:
                parity ^= 1
        if ax < px and bx < px:
            continue
        if (px == bx and py == by) or (px == ax and py == ay):
            return True
        if ay == py and by == py:
            if min(ax, bx) <= px <= max(ax, bx):
                return True
            continue
        if (ay > py) != (by > py):
            o = orient(ax, ay, bx, by, px, py)
            if o == 0:
                return True
            if by < ay:
                o = -o
            if o > 0:
                parity ^= 1
    return parity == 1


@njit(cache=True, inline="always")
def _locate(
    px: float,
    py: float,
    fl: np.ndarray,
    ints: np.ndarray,
    edges: np.ndarray,
    flags: np.ndarray,
) -> int:
    # NaN fails every comparison, so it is outside.
    if not (px >= fl[F_BX0] and px <= fl[F_BX1] and py >= fl[F_BY0] and py <= fl[F_BY1]):
        return -1
    ncols = ints[I_NCOLS]
    nrows = ints[I_NROWS]
    c = int((px - fl[F_X0]) * fl[F_INVW])
    if c >= ncols:
        c = ncols - 1
    r = int((py - fl[F_Y0]) * fl[F_INVH])
    if r >= nrows:
        r = nrows - 1
    code = ints[ints[I_CODE] + r * ncols + c]
    if code >= -1:
        return code
    b = -code - 2
    o_bcs = ints[I_BCSTART]
    o_par = ints[I_PPAR]
    o_est = ints[I_PESTART]
    yref = fl[F_HEADER + r]
    for q in range(ints[o_bcs + b], ints[o_bcs + b + 1]):
        if _pair_covers(q, px, py, yref, ints, edges, flags, o_par, o_est):
            return ints[ints[I_PPOLY] + q]
    return ints[ints[I_BCDEF] + b]


@njit(cache=True)
def locate_one(
    px: float, py: float, fl: np.ndarray, ints: np.ndarray, edges: np.ndarray, flags: np.ndarray
) -> int:
    """Position of the first polygon covering (px, py), or -1."""
    return _locate(px, py, fl, ints, edges, flags)


@njit(cache=True, parallel=True)
def locate_parallel(
    xs: np.ndarray,
    ys: np.ndarray,
    fl: np.ndarray,
    ints: np.ndarray,
    edges: np.ndarray,
    flags: np.ndarray,
    out: np.ndarray,
) -> None:
    """locate_one over arrays, points split across threads."""
    for i in prange(xs.size):
        out[i] = _locate(xs[i], ys[i], fl, ints, edges, flags)


@njit(cache=True)
def locate_serial(
    xs: np.ndarray,
    ys: np.ndarray,
    fl: np.ndarray,
    ints: np.ndarray,
    edges: np.ndarray,
    flags: np.ndarray,
    out: np.ndarray,
) -> None:
    """locate_one over arrays on one thread (small batches: no thread start-up)."""
    for i in range(xs.size):
        out[i] = _locate(xs[i], ys[i], fl, ints, edges, flags)
