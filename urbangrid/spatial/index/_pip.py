"""Compiled kernels of :mod:`urbangrid.spatial.index.engine`: exact point-in-polygon.

How a point is answered
-----------------------
The polygons' bounding box is cut into a uniform grid. Each cell gets a slightly larger
box ``B`` (widened by ``eps`` on every side, far more than any rounding in computing a
point's cell). An edge is *listed* in a cell when the edge's bounding box meets ``B``.

* A cell that no polygon edge meets is inside a fixed set of polygons: the answer is
  stored (the first of them in input order, or -1). That includes cells where edges
  are listed but none crosses ``B`` (listing goes by bounding box, so a long diagonal
  edge is listed in many cells it never crosses; :func:`classify_cells`).
* A cell crossed by one or two distinct segments (most boundary cells of a
  partition) is answered by one orientation test per segment: the answer for each
  sign pattern is precomputed at a point of ``B`` with that pattern
  (:func:`write_line_blocks`). On a line, or where the filter is unsure, the
  candidate list decides, as below.
* Otherwise, for each candidate polygon (in input order, stopping at the first polygon
  that covers the whole cell), the point is tested against the polygon's listed edges
  (or the whole polygon when it is small), with the ray-crossing rule GEOS uses
  (``RayCrossingCounter``): a horizontal ray to +x, upward edges include their start
  and exclude their end, horizontal edges never count, and a point on an edge is on
  the boundary (covered).

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

Orientation signs are computed exactly as GEOS computes them (``Orientation::index``:
the same floating-point filter, then the same double-double operations), so the answer
is GEOS's bit for bit, including the rare nearly collinear cases where double-double
arithmetic is not exact (a point within ~1e-30, relative, of an edge's line). Points
exactly on an edge or vertex get orientation 0, hence "on the boundary", whenever GEOS
does, which is always for vertices and axis-aligned edges.

References
----------
.. [1] GEOS ``algorithm/RayCrossingCounter.cpp``, ``algorithm/CGAlgorithmsDD.cpp`` and
   ``math/DD.cpp`` (ported from JTS ``CGAlgorithmsDD`` and ``DD``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Layout of the packed index. The float64 array starts with this header, then holds the
# polygon records and cell-local records; the int32 array starts with its own header,
# then one code per cell, then the candidate lists of boundary cells.
F_BX0, F_BY0, F_BX1, F_BY1, F_X0, F_Y0, F_INVW, F_INVH, F_IOFF = range(9)
F_HEADER = 9
I_NCOLS, I_NROWS = range(2)
I_HEADER = 2
# Words of 26 two-bit flip flags: 52 bits, exact in a float64.
FLAGS_PER_WORD = 26

# GEOS CGAlgorithmsDD::orientationIndexFilter's DP_SAFE_EPSILON.
_GEOS_SAFE_EPSILON = 1e-15
_SPLITTER = 134217729.0  # 2**27 + 1, Dekker/Veltkamp split of a double into 26-bit halves


# --------------------------------------------------------------------------- exact orientation


@njit(cache=True, inline="always")
def _dd_add(hi: float, lo: float, yhi: float, ylo: float) -> tuple[float, float]:
    """GEOS ``DD::selfAdd(yhi, ylo)``, operation for operation."""
    big_s = hi + yhi
    big_t = lo + ylo
    e = big_s - hi
    f = big_t - lo
    s = big_s - e
    t = big_t - f
    s = (yhi - e) + (hi - s)
    t = (ylo - f) + (lo - t)
    e = s + big_t
    big_h = big_s + e
    h = e + (big_s - big_h)
    e = t + h
    zhi = big_h + e
    return zhi, e + (big_h - zhi)


@njit(cache=True, inline="always")
def _dd_mul(hi: float, lo: float, yhi: float, ylo: float) -> tuple[float, float]:
    """GEOS ``DD::selfMultiply(yhi, ylo)``, operation for operation."""
    big_c = _SPLITTER * hi
    hx = big_c - hi
    c = _SPLITTER * yhi
    hx = big_c - hx
    tx = hi - hx
    hy = c - yhi
    big_c = hi * yhi
    hy = c - hy
    ty = yhi - hy
    c = ((((hx * hy - big_c) + hx * ty) + tx * hy) + tx * ty) + (hi * ylo + lo * yhi)
    zhi = big_c + c
    hx = big_c - zhi
    return zhi, c + hx


@njit(cache=True)
def _orient_dd(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """GEOS ``CGAlgorithmsDD::orientationIndex`` past its filter: double-double arithmetic."""
    dx1h, dx1l = _dd_add(bx, 0.0, -ax, 0.0)
    dy1h, dy1l = _dd_add(by, 0.0, -ay, 0.0)
    dx2h, dx2l = _dd_add(px, 0.0, -bx, 0.0)
    dy2h, dy2l = _dd_add(py, 0.0, -by, 0.0)
    mh, ml = _dd_mul(dx1h, dx1l, dy2h, dy2l)
    nh, nl = _dd_mul(dy1h, dy1l, dx2h, dx2l)
    dh, dl = _dd_add(mh, ml, -nh, -nl)
    if dh > 0.0 or (dh == 0.0 and dl > 0.0):
        return 1
    if dh < 0.0 or (dh == 0.0 and dl < 0.0):
        return -1
    return 0


@njit(cache=True, inline="always")
def orient_filter(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """GEOS's orientation filter: the sign when double precision is safe, else 2."""
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
    errbound = _GEOS_SAFE_EPSILON * detsum
    if det >= errbound or -det >= errbound:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    return 2


@njit(cache=True, inline="always")
def orient(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """+1 if p is left of a->b, -1 if right, 0 if on the line: GEOS's answer, bit for bit."""
    o = orient_filter(ax, ay, bx, by, px, py)
    if o != 2:
        return o
    return _orient_dd(ax, ay, bx, by, px, py)


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
    full: bool,
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
    """Boundary cells, covered cells and listed edges of polygon k (counted, or written).

    A ``full`` polygon is small enough to be tested whole, so its boundary cells keep
    no edges.
    """
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
            if count[li] > 0:
                if write:
                    bp_cell[bp_at + nbp] = r * ncols + c
                    bp_par[bp_at + nbp] = right & 1
                    bp_n[bp_at + nbp] = 0 if full else count[li]
                if not full:
                    slot[li] = pe_at + npe
                    npe += count[li]
                nbp += 1
            elif right & 1:
                if write:
                    cp_cell[cp_at + ncp] = r * ncols + c
                ncp += 1
    if not write or full:
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
    full: np.ndarray,
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
            k, xs, ys, ring_off, poly_ring_off, full[k], x0, y0, invw, invh, ncols, nrows,
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
            k, xs, ys, ring_off, poly_ring_off, full[k], x0, y0, invw, invh, ncols, nrows,
            col_lo, col_hi, row_lo, row_hi, True, offs[k, 0], offs[k, 1], offs[k, 2],
            bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag,
        )  # fmt: skip
    return offs, bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag


@njit(cache=True)
def assemble(
    ncols: int,
    nrows: int,
    header: np.ndarray,
    row_lo: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    ring_off: np.ndarray,
    poly_ring_off: np.ndarray,
    full: np.ndarray,
    offs: np.ndarray,
    bp_cell: np.ndarray,
    bp_par: np.ndarray,
    bp_n: np.ndarray,
    cp_cell: np.ndarray,
    pe: np.ndarray,
    pe_flag: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pack the pairs into the two query arrays.

    ``ints``: header, one code per cell (answer >= 0, -1 outside, or ``-2 - L`` for a
    boundary cell whose candidate list starts at ``ints[L]``), then the lists: count,
    default answer (first polygon covering the cell whole, or -1), then (polygon,
    record) per candidate in input order. A record ``>= 0`` is a whole-polygon record
    at ``fl[record]``: ring count, xmin, xmax, ymin, ymax, then per ring its vertex
    count and x, y pairs. A
    record ``< 0`` is a cell-local record at ``fl[-1 - record]``: bottom line of the
    cell box, parity D, edge count, flag words, then x1, y1, x2, y2 per edge.
    """
    ncells = ncols * nrows
    npoly = offs.shape[0] - 1
    big = np.iinfo(np.int32).max
    cover = np.full(ncells, big, dtype=np.int32)
    for k in range(npoly):
        for j in range(offs[k, 1], offs[k + 1, 1]):
            c = cp_cell[j]
            if cover[c] == big:
                cover[c] = k
    per_cell = np.zeros(ncells, dtype=np.int64)
    used = np.zeros(npoly, dtype=np.bool_)
    nfloat = header.size
    for k in range(npoly):
        for j in range(offs[k, 0], offs[k + 1, 0]):
            if k < cover[bp_cell[j]]:
                per_cell[bp_cell[j]] += 1
                if full[k]:
                    used[k] = True
                else:
                    ne = bp_n[j]
                    nfloat += 3 + (ne + FLAGS_PER_WORD - 1) // FLAGS_PER_WORD + 4 * ne
    poly_rec = np.full(npoly, -1, dtype=np.int64)
    for k in range(npoly):
        if used[k]:
            poly_rec[k] = nfloat
            nfloat += 5
            for g in range(poly_ring_off[k], poly_ring_off[k + 1]):
                nfloat += 1 + 2 * (ring_off[g + 1] - ring_off[g])
    # Lists start at even positions so that line blocks can hold float64 values.
    nint = I_HEADER + ncells + (I_HEADER + ncells) % 2
    for c in range(ncells):
        if per_cell[c] > 0:
            nint += 2 + 2 * per_cell[c]
    nint += nint % 2
    fl = np.empty(nfloat)
    fl[: header.size] = header
    ints = np.empty(nint, dtype=np.int32)
    ints[I_NCOLS] = ncols
    ints[I_NROWS] = nrows
    fill = np.zeros(ncells, dtype=np.int64)
    at = I_HEADER + ncells + (I_HEADER + ncells) % 2
    if at > I_HEADER + ncells:
        ints[at - 1] = 0
    for c in range(ncells):
        default = -1 if cover[c] == big else cover[c]
        if per_cell[c] > 0:
            ints[I_HEADER + c] = -2 - at
            ints[at] = per_cell[c]
            ints[at + 1] = default
            fill[c] = at + 2
            at += 2 + 2 * per_cell[c]
        else:
            ints[I_HEADER + c] = default
    for k in range(npoly):
        if used[k]:
            p = poly_rec[k]
            fl[p] = poly_ring_off[k + 1] - poly_ring_off[k]
            v0 = ring_off[poly_ring_off[k]]
            v1 = ring_off[poly_ring_off[k + 1]]
            fl[p + 1] = xs[v0:v1].min()
            fl[p + 2] = xs[v0:v1].max()
            fl[p + 3] = ys[v0:v1].min()
            fl[p + 4] = ys[v0:v1].max()
            p += 5
            for g in range(poly_ring_off[k], poly_ring_off[k + 1]):
                fl[p] = ring_off[g + 1] - ring_off[g]
                p += 1
                for v in range(ring_off[g], ring_off[g + 1]):
                    fl[p] = xs[v]
                    fl[p + 1] = ys[v]
                    p += 2
    lrec = header.size
    for k in range(npoly):
        e = offs[k, 2]
        for j in range(offs[k, 0], offs[k + 1, 0]):
            c = bp_cell[j]
            ne = bp_n[j]
            if k < cover[c]:
                q = fill[c]
                fill[c] += 2
                ints[q] = k
                if full[k]:
                    ints[q + 1] = poly_rec[k]
                else:
                    ints[q + 1] = -1 - lrec
                    nfw = (ne + FLAGS_PER_WORD - 1) // FLAGS_PER_WORD
                    fl[lrec] = row_lo[c // ncols]
                    fl[lrec + 1] = bp_par[j]
                    fl[lrec + 2] = ne
                    for w in range(nfw):
                        word = 0
                        for b in range(FLAGS_PER_WORD):
                            t = w * FLAGS_PER_WORD + b
                            if t < ne:
                                word |= int(pe_flag[e + t]) << (2 * b)
                        fl[lrec + 3 + w] = word
                    d = lrec + 3 + nfw
                    for t in range(ne):
                        fl[d + 4 * t] = pe[e + t, 0]
                        fl[d + 4 * t + 1] = pe[e + t, 1]
                        fl[d + 4 * t + 2] = pe[e + t, 2]
                        fl[d + 4 * t + 3] = pe[e + t, 3]
                    lrec = d + 4 * ne
            e += ne
    return fl, ints


# Cells whose boundary is at most this many distinct segments get a line block: one
# orientation test per segment picks the answer (2**MAX_LINES answers per block).
MAX_LINES = 2
# Lattice steps per side of a cell box when looking for a point of each sign pattern.
_SAMPLE_STEPS = 8


@njit(cache=True, inline="always")
def _may_meet(
    ax: float, ay: float, bx: float, by: float, xlo: float, xhi: float, ylo: float, yhi: float
) -> bool:
    """False only when segment a-b surely misses the box (exact: certain signs only)."""
    if min(ax, bx) > xhi or max(ax, bx) < xlo or min(ay, by) > yhi or max(ay, by) < ylo:
        return False
    s = orient_filter(ax, ay, bx, by, xlo, ylo)
    if s != 1 and s != -1:
        return True
    # All four corners strictly on one side of the line: the (convex) box is too.
    return not (
        orient_filter(ax, ay, bx, by, xhi, ylo) == s
        and orient_filter(ax, ay, bx, by, xlo, yhi) == s
        and orient_filter(ax, ay, bx, by, xhi, yhi) == s
    )


@njit(cache=True, inline="always")
def _add_segment(
    ax: float, ay: float, bx: float, by: float, box: np.ndarray, segs: np.ndarray, k: int
) -> int:
    """Add a-b to segs[:k] if it may meet the box and is new; returns the new count."""
    if (ax == bx and ay == by) or not _may_meet(ax, ay, bx, by, box[0], box[1], box[2], box[3]):
        return k
    for j in range(min(k, MAX_LINES)):
        if (segs[j, 0] == ax and segs[j, 1] == ay and segs[j, 2] == bx and segs[j, 3] == by) or (
            segs[j, 0] == bx and segs[j, 1] == by and segs[j, 2] == ax and segs[j, 3] == ay
        ):
            return k
    if k < MAX_LINES:
        segs[k, 0] = ax
        segs[k, 1] = ay
        segs[k, 2] = bx
        segs[k, 3] = by
    return k + 1


@njit(cache=True)
def _cell_segments(
    fl: np.ndarray, ints: np.ndarray, at: int, box: np.ndarray, segs: np.ndarray
) -> int:
    """Distinct candidate edges of list ``at`` that may meet the box (> MAX_LINES: stop)."""
    k = 0
    for i in range(ints[at]):
        rec = ints[at + 3 + 2 * i]
        if rec >= 0:
            p = rec + 5
            for _ in range(int(fl[rec])):
                nv = int(fl[p])
                p += 1
                for t in range(nv - 1):
                    q = p + 2 * t
                    k = _add_segment(fl[q], fl[q + 1], fl[q + 2], fl[q + 3], box, segs, k)
                    if k > MAX_LINES:
                        return k
                p += 2 * nv
        else:
            p = -1 - rec
            ne = int(fl[p + 2])
            d = p + 3 + (ne + FLAGS_PER_WORD - 1) // FLAGS_PER_WORD
            for t in range(ne):
                q = d + 4 * t
                k = _add_segment(fl[q], fl[q + 1], fl[q + 2], fl[q + 3], box, segs, k)
                if k > MAX_LINES:
                    return k
    return k


@njit(cache=True, inline="always")
def _sign_pattern(px: float, py: float, segs: np.ndarray, k: int) -> int:
    """Bit i set when the point is surely right of line i; -1 when any sign is unsure or 0."""
    j = 0
    for i in range(k):
        o = orient_filter(segs[i, 0], segs[i, 1], segs[i, 2], segs[i, 3], px, py)
        if o == -1:
            j |= 1 << i
        elif o != 1:
            return -1
    return j


@njit(cache=True, inline="always")
def _lattice(lo: float, hi: float, a: int, steps: int) -> float:
    # The box edges themselves exactly; lattice points between them.
    if a == 0:
        return lo
    if a == steps:
        return hi
    return lo + (hi - lo) * (a / steps)


@njit(cache=True, inline="always")
def line_block_len(k: int) -> int:
    """int32 words of a line block over k segments (always even)."""
    return 2 + (1 << k) + 8 * k


@njit(cache=True)
def _cell_box(
    cell: int, ncols: int, col_lo: np.ndarray, col_hi: np.ndarray, row_lo: np.ndarray,
    row_hi: np.ndarray, box: np.ndarray,
) -> None:  # fmt: skip
    r = cell // ncols
    c = cell - r * ncols
    box[0] = col_lo[c]
    box[1] = col_hi[c]
    box[2] = row_lo[r]
    box[3] = row_hi[r]


@njit(cache=True, parallel=True)
def classify_cells(
    fl: np.ndarray,
    ints: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """How many distinct edges may meet each boundary cell, for :func:`write_line_blocks`.

    Edges are listed in a cell by bounding box, so many boundary cells are crossed by
    no edge at all, or by one or two. For each boundary cell, the distinct candidate
    edges that may meet the cell's box ``B`` are counted (an edge surely misses ``B``
    when all four corners of ``B`` are strictly on one side of its line).

    Returns ``kind`` per cell (-1 not a boundary cell, else the count, capped at
    MAX_LINES + 1) and, where the count is 0, the answer: no polygon boundary meets
    ``B``, so one answer holds for all of it (found at its centre).
    """
    ncols = ints[I_NCOLS]
    ncells = ncols * ints[I_NROWS]
    ints_f = ints.view(np.float64)
    kind = np.full(ncells, -1, dtype=np.int8)
    answer = np.zeros(ncells, dtype=np.int32)
    nchunks = (ncells + 4095) // 4096
    for ch in prange(nchunks):
        segs = np.empty((MAX_LINES, 4))
        box = np.empty(4)
        for cell in range(ch * 4096, min((ch + 1) * 4096, ncells)):
            code = ints[I_HEADER + cell]
            if code >= -1:
                continue
            _cell_box(cell, ncols, col_lo, col_hi, row_lo, row_hi, box)
            k = _cell_segments(fl, ints, -2 - code, box, segs)
            kind[cell] = k
            if k == 0:
                cx = 0.5 * (box[0] + box[1])
                cy = 0.5 * (box[2] + box[3])
                answer[cell] = _resolve(code, cx, cy, fl, ints, ints_f)
    return kind, answer


@njit(cache=True, parallel=True)
def write_line_blocks(
    fl: np.ndarray,
    ints: np.ndarray,
    kind: np.ndarray,
    answer: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
) -> np.ndarray:
    """Answer boundary cells by at most MAX_LINES orientation tests where possible.

    From :func:`classify_cells`: a cell no edge meets gets its one answer as its code,
    like a cell inside one polygon. A cell met by k <= MAX_LINES distinct segments
    gets a line block: every candidate's boundary within ``B`` lies on their k lines.
    The points of ``B`` strictly off every line fall into convex regions by their k
    signs, and no boundary passes through a region, so each sign pattern has one
    answer, found at any lattice point of ``B`` with that pattern (-3 when none was
    sampled: such points ask the list). A point on a line or with an unsure sign
    asks the list too, so answers stay exact. Other cells keep their candidate list.

    Line block layout (``ints[at]`` even): -k, then 2**k answers indexed by the sign
    pattern (bit i set: strictly right of segment i), the candidate list start, then
    x1, y1, x2, y2 per segment as float64. For k = 1 this is the layout of the
    one-edge blocks of earlier versions (-1, left, right, list), so saved indexes
    stay readable.

    Returns the new int32 array, blocks appended; lists no cell uses any more are
    dropped by :func:`dedupe_blocks`.
    """
    ncols = ints[I_NCOLS]
    ncells = ncols * ints[I_NROWS]
    ints_f = ints.view(np.float64)
    start = np.zeros(ncells, dtype=np.int64)
    total = ints.size
    for cell in range(ncells):
        k = kind[cell]
        start[cell] = total
        if 1 <= k <= MAX_LINES:
            total += line_block_len(k)
    out = np.empty(total, dtype=np.int32)
    out[: ints.size] = ints
    out_f = out.view(np.float64)
    nchunks = (ncells + 4095) // 4096
    for ch in prange(nchunks):
        segs = np.empty((MAX_LINES, 4))
        box = np.empty(4)
        ans = np.empty(1 << MAX_LINES, dtype=np.int64)
        for cell in range(ch * 4096, min((ch + 1) * 4096, ncells)):
            k = np.int64(kind[cell])
            if k == 0:
                out[I_HEADER + cell] = answer[cell]
                continue
            if k < 1 or k > MAX_LINES:
                continue
            code = ints[I_HEADER + cell]
            _cell_box(cell, ncols, col_lo, col_hi, row_lo, row_hi, box)
            _cell_segments(fl, ints, -2 - code, box, segs)
            npat = 1 << k
            ans[:npat] = -3
            # The corners find both sides of one line; more lines need a lattice.
            steps = 1 if k == 1 else _SAMPLE_STEPS
            while True:
                for a in range(steps + 1):
                    qx = _lattice(box[0], box[1], a, steps)
                    for b in range(steps + 1):
                        qy = _lattice(box[2], box[3], b, steps)
                        j = _sign_pattern(qx, qy, segs, k)  # type: ignore[arg-type]  # numba: int64 is int
                        if j >= 0 and ans[j] == -3:
                            ans[j] = _resolve(code, qx, qy, fl, ints, ints_f)
                if steps == _SAMPLE_STEPS or (ans[:npat] != -3).all():
                    break
                steps = _SAMPLE_STEPS
            at = start[cell]
            out[at] = -k
            for j in range(npat):
                out[at + 1 + j] = ans[j]
            out[at + 1 + npat] = -2 - code
            h = (at + 2 + npat) // 2
            for i in range(k):
                for v in range(4):
                    out_f[h + 4 * i + v] = segs[i, v]
            out[I_HEADER + cell] = -2 - at
    return out


# --------------------------------------------------------------------------- query


@njit(cache=True, inline="always")
def _crossing(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    """GEOS ray-crossing step for one edge: 2 on the edge, 1 crossing, 0 neither."""
    if ax < px and bx < px:
        return 0
    if (px == bx and py == by) or (px == ax and py == ay):
        return 2
    if ay == py and by == py:
        if min(ax, bx) <= px <= max(ax, bx):
            return 2
        return 0
    if (ay > py) != (by > py):
        o = orient(ax, ay, bx, by, px, py)
        if o == 0:
            return 2
        if by < ay:
            o = -o
        if o > 0:
            return 1
    return 0


@njit(cache=True, inline="always")
def _whole_covers(fl: np.ndarray, p: int, px: float, py: float) -> bool:
    # The bounding box is exact (it holds the polygon's own coordinates): a point
    # outside it is outside the polygon, and most candidates end here.
    if px < fl[p + 1] or px > fl[p + 2] or py < fl[p + 3] or py > fl[p + 4]:
        return False
    nrings = int(fl[p])
    p += 5
    parity = 0
    for _ in range(nrings):
        nv = int(fl[p])
        p += 1
        for t in range(nv - 1):
            q = p + 2 * t
            hit = _crossing(fl[q], fl[q + 1], fl[q + 2], fl[q + 3], px, py)
            if hit == 2:
                return True
            parity ^= hit
        p += 2 * nv
    return parity == 1


@njit(cache=True, inline="always")
def _local_covers(fl: np.ndarray, p: int, px: float, py: float) -> bool:
    yref = fl[p]
    parity = int(fl[p + 1])
    ne = int(fl[p + 2])
    nfw = (ne + FLAGS_PER_WORD - 1) // FLAGS_PER_WORD
    d = p + 3 + nfw
    word = 0
    for t in range(ne):
        b = t % FLAGS_PER_WORD
        if b == 0:
            word = int(fl[p + 3 + t // FLAGS_PER_WORD])
        q = d + 4 * t
        ax = fl[q]
        ay = fl[q + 1]
        bx = fl[q + 2]
        by = fl[q + 3]
        flag = (word >> (2 * b)) & 3
        if flag != 0:
            if (flag & 1) and yref < ay <= py:
                parity ^= 1
            if (flag & 2) and yref < by <= py:
                parity ^= 1
        hit = _crossing(ax, ay, bx, by, px, py)
        if hit == 2:
            return True
        parity ^= hit
    return parity == 1


@njit(cache=True, inline="always")
def _cell_code(px: float, py: float, fl: np.ndarray, ints: np.ndarray) -> int:
    """Code of the cell holding (px, py): an answer >= -1, or -2 - list start; -1 outside."""
    # NaN fails every comparison, so it is outside.
    if not (px >= fl[F_BX0] and px <= fl[F_BX1] and py >= fl[F_BY0] and py <= fl[F_BY1]):
        return -1
    ncols = ints[I_NCOLS]
    c = int((px - fl[F_X0]) * fl[F_INVW])
    if c >= ncols:
        c = ncols - 1
    r = int((py - fl[F_Y0]) * fl[F_INVH])
    if r >= ints[I_NROWS]:
        r = ints[I_NROWS] - 1
    return ints[I_HEADER + r * ncols + c]


@njit(cache=True, inline="always")
def _resolve(
    code: int, px: float, py: float, fl: np.ndarray, ints: np.ndarray, ints_f: np.ndarray
) -> int:
    if code >= -1:
        return code
    at = -2 - code
    k = -ints[at]
    if k > 0:
        # Line block: the signs against k segments pick the answer. Only certain
        # signs may use it: on or near a line, each polygon is asked with its own
        # edge direction, as GEOS does.
        npat = 1 << k
        h = (at + 2 + npat) // 2
        j = 0
        for i in range(k):
            q = h + 4 * i
            o = orient_filter(ints_f[q], ints_f[q + 1], ints_f[q + 2], ints_f[q + 3], px, py)
            if o == -1:
                j |= 1 << i
            elif o != 1:
                j = -1
                break
        if j >= 0:
            side = ints[at + 1 + j]
            if side != -3:
                return side
        at = ints[at + 1 + npat]  # on a line, unsure, or not sampled: the list decides
    for i in range(ints[at]):
        q = at + 2 + 2 * i
        rec = ints[q + 1]
        if (rec >= 0 and _whole_covers(fl, rec, px, py)) or (
            rec < 0 and _local_covers(fl, -1 - rec, px, py)
        ):
            return ints[q]
    return ints[at + 1]


@njit(cache=True, inline="always")
def _ints_of(buf: np.ndarray) -> np.ndarray:
    return buf[int(buf[F_IOFF]) :].view(np.int32)


@njit(cache=True)
def locate_one(px: float, py: float, buf: np.ndarray) -> int:
    """Position of the first polygon covering (px, py), or -1."""
    ints = _ints_of(buf)
    code = _cell_code(px, py, buf, ints)
    if code >= -1:
        return code  # most cells: no float view needed (each view costs ~15 ns a call)
    return _resolve(code, px, py, buf, ints, ints.view(np.float64))


_BLOCK = 64


@njit(cache=True, inline="always")
def _locate_block(
    xs: np.ndarray, ys: np.ndarray, lo: int, hi: int, buf: np.ndarray, ints: np.ndarray,
    ints_f: np.ndarray, out: np.ndarray, codes: np.ndarray,
) -> None:  # fmt: skip
    # Three passes over a block of points so that the memory reads of different points
    # (cell code, candidate list, first record) are independent and overlap, instead of
    # each point waiting for its own chain of cache misses.
    for i in range(lo, hi):
        codes[i - lo] = _cell_code(xs[i], ys[i], buf, ints)
    touch = 0.0
    for i in range(lo, hi):
        code = codes[i - lo]
        if code < -1:
            at = -2 - code
            if ints[at] > 0:
                rec = ints[at + 3]
                touch += buf[rec if rec >= 0 else -1 - rec]
            else:  # a line block: its first segment
                touch += ints_f[(at + 2 + (1 << -ints[at])) // 2]
    for i in range(lo, hi):
        out[i] = _resolve(codes[i - lo], xs[i], ys[i], buf, ints, ints_f)
    if touch == 1.2345e300:  # keeps the touching reads from being optimised away
        out[lo] = -3


@njit(cache=True, parallel=True)
def locate_parallel(xs: np.ndarray, ys: np.ndarray, buf: np.ndarray, out: np.ndarray) -> None:
    """locate_one over arrays, blocks of points split across threads."""
    ints = _ints_of(buf)
    ints_f = ints.view(np.float64)
    nblocks = (xs.size + _BLOCK - 1) // _BLOCK
    for b in prange(nblocks):
        codes = np.empty(_BLOCK, dtype=np.int64)
        lo = b * _BLOCK
        _locate_block(xs, ys, lo, min(lo + _BLOCK, xs.size), buf, ints, ints_f, out, codes)


@njit(cache=True)
def locate_serial(xs: np.ndarray, ys: np.ndarray, buf: np.ndarray, out: np.ndarray) -> None:
    """locate_one over arrays on one thread (small batches: no thread start-up)."""
    ints = _ints_of(buf)
    ints_f = ints.view(np.float64)
    codes = np.empty(_BLOCK, dtype=np.int64)
    for lo in range(0, xs.size, _BLOCK):
        _locate_block(xs, ys, lo, min(lo + _BLOCK, xs.size), buf, ints, ints_f, out, codes)


_BUCKET_SHIFT = 4  # buckets of 16 x 16 cells


@njit(cache=True, parallel=True)
def locate_bucketed(xs: np.ndarray, ys: np.ndarray, buf: np.ndarray, out: np.ndarray) -> None:
    """locate_one over large arrays, answered bucket by bucket.

    Points are first counting-sorted by blocks of 16 x 16 cells, so that the cells,
    lists and polygon records a block needs stay in cache while its points are
    answered; random points otherwise pay several cache misses each.
    """
    ints = _ints_of(buf)
    ints_f = ints.view(np.float64)
    n = xs.size
    ncols = ints[I_NCOLS]
    nrows = ints[I_NROWS]
    bcols = (ncols >> _BUCKET_SHIFT) + 1
    nb = bcols * ((nrows >> _BUCKET_SHIFT) + 1) + 1
    bucket = np.empty(n, dtype=np.int32)
    for i in prange(n):
        px = xs[i]
        py = ys[i]
        if px >= buf[F_BX0] and px <= buf[F_BX1] and py >= buf[F_BY0] and py <= buf[F_BY1]:
            c = min(int((px - buf[F_X0]) * buf[F_INVW]), ncols - 1)
            r = min(int((py - buf[F_Y0]) * buf[F_INVH]), nrows - 1)
            bucket[i] = (r >> _BUCKET_SHIFT) * bcols + (c >> _BUCKET_SHIFT)
        else:
            bucket[i] = nb - 1
    start = np.zeros(nb + 1, dtype=np.int64)
    for i in range(n):
        start[bucket[i] + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    order = np.empty(n, dtype=np.int64)
    sx = np.empty(n)
    sy = np.empty(n)
    for i in range(n):
        j = start[bucket[i]]
        start[bucket[i]] += 1
        order[j] = i
        sx[j] = xs[i]
        sy[j] = ys[i]
    nchunks = (n + 4095) // 4096
    for k in prange(nchunks):
        for j in range(k * 4096, min((k + 1) * 4096, n)):
            px = sx[j]
            py = sy[j]
            out[order[j]] = _resolve(_cell_code(px, py, buf, ints), px, py, buf, ints, ints_f)


@njit(cache=True)
def _block_len(ints: np.ndarray, at: int) -> int:
    return line_block_len(-ints[at]) if ints[at] < 0 else 2 + 2 * ints[at]


@njit(cache=True, inline="always")
def _list_of(ints: np.ndarray, at: int) -> int:
    """Index of the list slot of the line block at ``at``."""
    return at + 1 + (1 << -ints[at])


@njit(cache=True)
def _hash_block(ints: np.ndarray, at: int, n: int) -> np.int64:
    h = np.uint64(14695981039346656037)
    for i in range(at, at + n):
        h = (h ^ np.uint64(np.uint32(ints[i]))) * np.uint64(1099511628211)
    return np.int64(h >> np.uint64(1))


@njit(cache=True)
def _same_block(ints: np.ndarray, a: int, b: int, n: int) -> bool:
    return bool((ints[a : a + n] == ints[b : b + n]).all())


@njit(cache=True)
def _canonical(ints: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each block start, the start of the first block with the same content."""
    m = starts.size
    hashes = np.empty(m, dtype=np.int64)
    for i in range(m):
        hashes[i] = _hash_block(ints, starts[i], _block_len(ints, starts[i]))
    order = np.argsort(hashes, kind="mergesort")
    canon = starts.copy()
    i = 0
    while i < m:
        j = i
        while j + 1 < m and hashes[order[j + 1]] == hashes[order[i]]:
            j += 1
        # Within a run of equal hashes, blocks equal to an earlier one share it.
        for u in range(i + 1, j + 1):
            a = starts[order[u]]
            for v in range(i, u):
                b = starts[order[v]]
                if canon[order[v]] == b and _same_block(ints, a, b, _block_len(ints, a)):
                    canon[order[u]] = b
                    break
        i = j + 1
    return canon


@njit(cache=True)
def dedupe_blocks(ints: np.ndarray) -> np.ndarray:
    """Share identical candidate lists and line blocks between cells.

    Neighbouring cells cut by the same edge, or holding the same candidate polygons,
    get the same block; on a Voronoi layer this halves the lookup memory.
    """
    ncols = ints[I_NCOLS]
    ncells = ncols * ints[I_NROWS]
    base = I_HEADER + ncells + (I_HEADER + ncells) % 2
    # Pass 1: candidate lists (directly from cells, or behind line blocks).
    nlists = 0
    nlines = 0
    for c in range(ncells):
        code = ints[I_HEADER + c]
        if code < -1:
            if ints[-2 - code] < 0:
                nlines += 1
            nlists += 1
    lstarts = np.empty(nlists, dtype=np.int64)
    bstarts = np.empty(nlines, dtype=np.int64)
    nl = 0
    nb = 0
    for c in range(ncells):
        code = ints[I_HEADER + c]
        if code < -1:
            at = -2 - code
            if ints[at] < 0:
                bstarts[nb] = at
                nb += 1
                lstarts[nl] = ints[_list_of(ints, at)]
            else:
                lstarts[nl] = at
            nl += 1
    lcanon = _canonical(ints, lstarts)
    # Maps indexed by old block start (arrays: far faster than typed dicts here).
    canon_of = np.full(ints.size, -1, dtype=np.int64)
    for i in range(nlists):
        canon_of[lstarts[i]] = lcanon[i]
    # Point line blocks at canonical lists first, so equal blocks compare equal.
    work = ints.copy()
    for i in range(nlines):
        slot = _list_of(work, bstarts[i])
        work[slot] = canon_of[work[slot]]
    bcanon = _canonical(work, bstarts)
    bcanon_of = np.full(ints.size, -1, dtype=np.int64)
    for i in range(nlines):
        bcanon_of[bstarts[i]] = bcanon[i]
    # Pass 2: emit each canonical block once, in cell order (neighbours stay close).
    out = np.zeros(ints.size + nlines + 2, dtype=np.int32)
    out[:base] = work[:base]
    new_at = np.full(ints.size, -1, dtype=np.int64)
    at_new = base
    for c in range(ncells):
        code = work[I_HEADER + c]
        if code >= -1:
            continue
        at = -2 - code
        if work[at] < 0:
            l_old = work[_list_of(work, at)]
            b_old = bcanon_of[at]
        else:
            l_old = canon_of[at]
            b_old = -1
        if new_at[l_old] < 0:
            n = _block_len(work, l_old)
            out[at_new : at_new + n] = work[l_old : l_old + n]
            new_at[l_old] = at_new
            at_new += n
        if b_old < 0:
            out[I_HEADER + c] = -2 - new_at[l_old]
            continue
        if new_at[b_old] < 0:
            at_new += at_new % 2
            n = _block_len(work, b_old)
            out[at_new : at_new + n] = work[b_old : b_old + n]
            out[_list_of(out, at_new)] = new_at[l_old]
            new_at[b_old] = at_new
            at_new += n
        out[I_HEADER + c] = -2 - new_at[b_old]
    at_new += at_new % 2
    return out[:at_new].copy()
