# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled kernels of :mod:`urbangrid.spatial.index.engine`: exact point-in-polygon.

Cython, compiled when the package is installed (``setup.py``): no compiler runs when a
user first builds or queries an index, and a read-only install works. Parallel loops
run on POSIX threads started per call (no OpenMP runtime, so forked processes are
safe); :func:`set_num_threads` sets how many.

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

import numpy as np

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.math cimport INFINITY
from libc.string cimport memcmp

cdef extern from "_gcj.h" nogil:
    ctypedef void (*ug_point_fn)(double, double, double *, double *)
    void ug_gcj02_to_wgs84(double lon, double lat, double *ox, double *oy)
    void ug_bd09_to_wgs84(double lon, double lat, double *ox, double *oy)
    void ug_no_shift(double lon, double lat, double *ox, double *oy)

cdef extern from "_tmerc.h" nogil:
    ctypedef struct ug_tmerc:
        int ready
    void ug_tmerc_init(ug_tmerc *t, double a, double f, double lon0_deg, double k0, double x0,
                       double y0)
    void ug_tmerc_fwd(const ug_tmerc *t, double lon, double lat, double *ox, double *oy)

cdef extern from "_parallel.h":
    ctypedef void (*ug_task)(void *ctx, long lo, long hi) noexcept nogil
    void ug_parallel(ug_task fn, void *ctx, long n, long chunk, int threads) nogil
    int ug_cmp_double(const void *a, const void *b) noexcept nogil
    int ug_cpus()

# Layout of the packed index. The float64 array starts with this header, then holds the
# polygon records and cell-local records; the int32 array starts with its own header,
# then one code per cell, then the candidate lists of boundary cells.
cdef enum:
    FBX0 = 0
    FBY0 = 1
    FBX1 = 2
    FBY1 = 3
    FX0 = 4
    FY0 = 5
    FINVW = 6
    FINVH = 7
    FIOFF = 8
    FHEADER = 9
    INCOLS = 0
    INROWS = 1
    IHEADER = 2
    FPW = 26  # words of 26 two-bit flip flags: 52 bits, exact in a float64
    CMAX_LINES = 2
    SAMPLE_STEPS = 8
    BLOCK = 64
    BUCKET_SHIFT = 4  # buckets of 16 x 16 cells
    CHUNK = 4096

F_BX0, F_BY0, F_BX1, F_BY1, F_X0, F_Y0, F_INVW, F_INVH, F_IOFF = range(9)
F_HEADER = 9
I_NCOLS, I_NROWS = range(2)
I_HEADER = 2
FLAGS_PER_WORD = 26
# Cells whose boundary is at most this many distinct segments get a line block: one
# orientation test per segment picks the answer (2**MAX_LINES answers per block).
MAX_LINES = 2

cdef int _threads = 1


def default_threads():
    """Cores this process may run on (its affinity mask): the default thread count."""
    return ug_cpus()


_threads = ug_cpus()


def set_num_threads(int n):
    """Threads the parallel kernels use from now on (at least 1, at most 64)."""
    global _threads
    if n < 1:
        raise ValueError(f"threads must be at least 1, not {n}")
    _threads = min(n, 64)


def get_num_threads():
    """Threads the parallel kernels use."""
    return _threads


# --------------------------------------------------------------------------- exact orientation


cdef inline void _dd_add(double hi, double lo, double yhi, double ylo,
                         double *zh, double *zl) noexcept nogil:
    """GEOS ``DD::selfAdd(yhi, ylo)``, operation for operation."""
    cdef double big_s = hi + yhi
    cdef double big_t = lo + ylo
    cdef double e = big_s - hi
    cdef double f = big_t - lo
    cdef double s = big_s - e
    cdef double t = big_t - f
    s = (yhi - e) + (hi - s)
    t = (ylo - f) + (lo - t)
    e = s + big_t
    cdef double big_h = big_s + e
    cdef double h = e + (big_s - big_h)
    e = t + h
    cdef double zhi = big_h + e
    zh[0] = zhi
    zl[0] = e + (big_h - zhi)


cdef inline void _dd_mul(double hi, double lo, double yhi, double ylo,
                         double *zh, double *zl) noexcept nogil:
    """GEOS ``DD::selfMultiply(yhi, ylo)``, operation for operation."""
    cdef double big_c = 134217729.0 * hi
    cdef double hx = big_c - hi
    cdef double c = 134217729.0 * yhi
    hx = big_c - hx
    cdef double tx = hi - hx
    cdef double hy = c - yhi
    big_c = hi * yhi
    hy = c - hy
    cdef double ty = yhi - hy
    c = ((((hx * hy - big_c) + hx * ty) + tx * hy) + tx * ty) + (hi * ylo + lo * yhi)
    cdef double zhi = big_c + c
    hx = big_c - zhi
    zh[0] = zhi
    zl[0] = c + hx


cdef int _orient_dd(double ax, double ay, double bx, double by,
                    double px, double py) noexcept nogil:
    """GEOS ``CGAlgorithmsDD::orientationIndex`` past its filter: double-double arithmetic."""
    cdef double dx1h, dx1l, dy1h, dy1l, dx2h, dx2l, dy2h, dy2l, mh, ml, nh, nl, dh, dl
    _dd_add(bx, 0.0, -ax, 0.0, &dx1h, &dx1l)
    _dd_add(by, 0.0, -ay, 0.0, &dy1h, &dy1l)
    _dd_add(px, 0.0, -bx, 0.0, &dx2h, &dx2l)
    _dd_add(py, 0.0, -by, 0.0, &dy2h, &dy2l)
    _dd_mul(dx1h, dx1l, dy2h, dy2l, &mh, &ml)
    _dd_mul(dy1h, dy1l, dx2h, dx2l, &nh, &nl)
    _dd_add(mh, ml, -nh, -nl, &dh, &dl)
    if dh > 0.0 or (dh == 0.0 and dl > 0.0):
        return 1
    if dh < 0.0 or (dh == 0.0 and dl < 0.0):
        return -1
    return 0


cdef inline int _sign(double det) noexcept nogil:
    return 1 if det > 0.0 else (-1 if det < 0.0 else 0)


cdef inline int _orient_filter(double ax, double ay, double bx, double by,
                               double px, double py) noexcept nogil:
    """GEOS's orientation filter: the sign when double precision is safe, else 2."""
    cdef double detleft = (ax - px) * (by - py)
    cdef double detright = (ay - py) * (bx - px)
    cdef double det = detleft - detright
    cdef double detsum
    if detleft > 0.0:
        if detright <= 0.0:
            return _sign(det)
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return _sign(det)
        detsum = -detleft - detright
    else:
        return _sign(det)
    cdef double errbound = 1e-15 * detsum
    if det >= errbound or -det >= errbound:
        return _sign(det)
    return 2


cdef inline int _orient(double ax, double ay, double bx, double by,
                        double px, double py) noexcept nogil:
    """+1 if p is left of a->b, -1 if right, 0 if on the line: GEOS's answer, bit for bit."""
    cdef int o = _orient_filter(ax, ay, bx, by, px, py)
    if o != 2:
        return o
    return _orient_dd(ax, ay, bx, by, px, py)


def orient(double ax, double ay, double bx, double by, double px, double py):
    """+1 if p is left of a->b, -1 if right, 0 if on the line: GEOS's answer, bit for bit."""
    return _orient(ax, ay, bx, by, px, py)


def orient_filter(double ax, double ay, double bx, double by, double px, double py):
    """GEOS's orientation filter: the sign when double precision is safe, else 2."""
    return _orient_filter(ax, ay, bx, by, px, py)


# --------------------------------------------------------------------------- build


cdef inline void _cell_span(double lo, double hi, double origin, double inv, int64_t n,
                            const double *blo, const double *bhi,
                            int64_t *a_out, int64_t *b_out) noexcept nogil:
    """First and last cell whose widened box [blo, bhi] meets [lo, hi]; (1, 0) if none."""
    cdef int64_t a = <int64_t>((lo - origin) * inv)
    a = min(max(a, 0), n - 1)
    while a > 0 and bhi[a - 1] >= lo:
        a -= 1
    while a < n - 1 and bhi[a] < lo:
        a += 1
    cdef int64_t b = <int64_t>((hi - origin) * inv)
    b = min(max(b, 0), n - 1)
    while b < n - 1 and blo[b + 1] <= hi:
        b += 1
    while b > 0 and blo[b] > hi:
        b -= 1
    if bhi[a] < lo or blo[b] > hi or b < a:
        a_out[0] = 1
        b_out[0] = 0
        return
    a_out[0] = a
    b_out[0] = b


cdef inline bint _listed(double ax, double ay, double bx, double by,
                         double xlo, double xhi, double ylo, double yhi) noexcept nogil:
    return min(ax, bx) <= xhi and max(ax, bx) >= xlo and min(ay, by) <= yhi and max(ay, by) >= ylo


cdef int _toggle_flag(const double *xs, const double *ys, int64_t s, int64_t m, int64_t t,
                      int64_t step, double xlo, double xhi, double ylo,
                      double yhi) noexcept nogil:
    """1 if, walking from edge t past unlisted horizontal edges, the next edge is unlisted."""
    cdef int64_t u = t, i
    cdef double ax, ay, bx, by
    for i in range(m):
        u = u + step
        if u < 0:
            u += m
        elif u >= m:
            u -= m
        ax = xs[s + u]
        ay = ys[s + u]
        bx = xs[s + u + 1]
        by = ys[s + u + 1]
        if _listed(ax, ay, bx, by, xlo, xhi, ylo, yhi):
            return 0
        if ay != by:
            return 1
    return 0


cdef struct Pairs:
    # input
    const double *xs
    const double *ys
    const int64_t *ring_off
    const int64_t *poly_ring_off
    const uint8_t *full
    double x0, y0, invw, invh
    int64_t ncols, nrows
    const double *col_lo
    const double *col_hi
    const double *row_lo
    const double *row_hi
    # output (write pass)
    int write
    const int64_t *offs   # (npoly + 1, 3)
    int64_t *counts       # (npoly, 3), count pass
    int64_t *bp_cell
    uint8_t *bp_par
    int64_t *bp_n
    int64_t *cp_cell
    double *pe            # (n, 4)
    uint8_t *pe_flag
    int failed


cdef inline int64_t _upper_bound(const double *a, int64_t n, double v) noexcept nogil:
    """Number of a[:n] (sorted) that are <= v (numpy searchsorted side='right')."""
    cdef int64_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int _polygon_pairs(Pairs *P, int64_t k, int64_t bp_at, int64_t cp_at, int64_t pe_at,
                        int64_t *out3) noexcept nogil:
    """Boundary cells, covered cells and listed edges of polygon k (counted, or written).

    A ``full`` polygon is small enough to be tested whole, so its boundary cells keep
    no edges. Returns -1 when out of memory.
    """
    cdef const double *xs = P.xs
    cdef const double *ys = P.ys
    cdef const int64_t *ring_off = P.ring_off
    cdef int64_t g0 = P.poly_ring_off[k], g1 = P.poly_ring_off[k + 1]
    cdef bint full = P.full[k] != 0
    cdef bint write = P.write != 0
    out3[0] = 0
    out3[1] = 0
    out3[2] = 0
    if g0 == g1:
        return 0
    cdef double bx0 = INFINITY, bx1 = -INFINITY, by0 = INFINITY, by1 = -INFINITY
    cdef int64_t nedges = 0, g, v, s, t, m, r, c, li, j
    for g in range(g0, g1):
        for v in range(ring_off[g], ring_off[g + 1]):
            bx0 = min(bx0, xs[v])
            bx1 = max(bx1, xs[v])
            by0 = min(by0, ys[v])
            by1 = max(by1, ys[v])
        nedges += ring_off[g + 1] - ring_off[g] - 1
    cdef int64_t c0, c1, r0, r1, ea, eb, fa, fb
    _cell_span(bx0, bx1, P.x0, P.invw, P.ncols, P.col_lo, P.col_hi, &c0, &c1)
    _cell_span(by0, by1, P.y0, P.invh, P.nrows, P.row_lo, P.row_hi, &r0, &r1)
    if c1 < c0 or r1 < r0:
        return 0
    cdef int64_t lw = c1 - c0 + 1, lh = r1 - r0 + 1
    cdef int64_t *count = <int64_t *>calloc(lw * lh, sizeof(int64_t))
    cdef int64_t *slot = <int64_t *>calloc(lw * lh, sizeof(int64_t))
    cdef double *xmins = <double *>malloc(max(nedges, 1) * sizeof(double))
    if count == NULL or slot == NULL or xmins == NULL:
        free(count)
        free(slot)
        free(xmins)
        return -1
    cdef double ax, ay, bx, by, yref
    for g in range(g0, g1):
        s = ring_off[g]
        for t in range(ring_off[g + 1] - s - 1):
            ax = xs[s + t]
            ay = ys[s + t]
            bx = xs[s + t + 1]
            by = ys[s + t + 1]
            _cell_span(min(ax, bx), max(ax, bx), P.x0, P.invw, P.ncols, P.col_lo, P.col_hi,
                       &ea, &eb)
            _cell_span(min(ay, by), max(ay, by), P.y0, P.invh, P.nrows, P.row_lo, P.row_hi,
                       &fa, &fb)
            for r in range(fa, fb + 1):
                for c in range(ea, eb + 1):
                    count[(r - r0) * lw + (c - c0)] += 1
    cdef int64_t nbp = 0, ncp = 0, npe = 0, right
    for r in range(r0, r1 + 1):
        yref = P.row_lo[r]
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
        qsort(xmins, m, sizeof(double), ug_cmp_double)
        for c in range(c0, c1 + 1):
            right = m - _upper_bound(xmins, m, P.col_hi[c])
            li = (r - r0) * lw + (c - c0)
            if count[li] > 0:
                if write:
                    P.bp_cell[bp_at + nbp] = r * P.ncols + c
                    P.bp_par[bp_at + nbp] = right & 1
                    P.bp_n[bp_at + nbp] = 0 if full else count[li]
                if not full:
                    slot[li] = pe_at + npe
                    npe += count[li]
                nbp += 1
            elif right & 1:
                if write:
                    P.cp_cell[cp_at + ncp] = r * P.ncols + c
                ncp += 1
    out3[0] = nbp
    out3[1] = ncp
    out3[2] = npe
    cdef int flag
    if write and not full:
        # Second pass over edges: write each listed edge into its cells, with flip flags.
        for g in range(g0, g1):
            s = ring_off[g]
            m = ring_off[g + 1] - s - 1
            for t in range(m):
                ax = xs[s + t]
                ay = ys[s + t]
                bx = xs[s + t + 1]
                by = ys[s + t + 1]
                _cell_span(min(ax, bx), max(ax, bx), P.x0, P.invw, P.ncols, P.col_lo,
                           P.col_hi, &ea, &eb)
                _cell_span(min(ay, by), max(ay, by), P.y0, P.invh, P.nrows, P.row_lo,
                           P.row_hi, &fa, &fb)
                for r in range(fa, fb + 1):
                    for c in range(ea, eb + 1):
                        li = (r - r0) * lw + (c - c0)
                        j = slot[li]
                        slot[li] += 1
                        P.pe[4 * j] = ax
                        P.pe[4 * j + 1] = ay
                        P.pe[4 * j + 2] = bx
                        P.pe[4 * j + 3] = by
                        flag = 0
                        if ax > P.col_hi[c] and P.row_lo[r] < ay <= P.row_hi[r]:
                            flag |= _toggle_flag(xs, ys, s, m, t, -1, P.col_lo[c], P.col_hi[c],
                                                 P.row_lo[r], P.row_hi[r])
                        if bx > P.col_hi[c] and P.row_lo[r] < by <= P.row_hi[r]:
                            flag |= 2 * _toggle_flag(xs, ys, s, m, t, 1, P.col_lo[c],
                                                     P.col_hi[c], P.row_lo[r], P.row_hi[r])
                        P.pe_flag[j] = flag
    free(count)
    free(slot)
    free(xmins)
    return 0


cdef void _task_pairs(void *ctx, long lo, long hi) noexcept nogil:
    cdef Pairs *P = <Pairs *>ctx
    cdef int64_t k
    cdef int64_t got[3]
    for k in range(lo, hi):
        if P.write:
            if _polygon_pairs(P, k, P.offs[3 * k], P.offs[3 * k + 1], P.offs[3 * k + 2],
                              got) < 0:
                P.failed = 1
        else:
            if _polygon_pairs(P, k, 0, 0, 0, got) < 0:
                P.failed = 1
            P.counts[3 * k] = got[0]
            P.counts[3 * k + 1] = got[1]
            P.counts[3 * k + 2] = got[2]


def build_pairs(xs, ys, ring_off, poly_ring_off, full, double x0, double y0, double invw,
                double invh, int64_t ncols, int64_t nrows, col_lo, col_hi, row_lo, row_hi):
    """All (cell, polygon) boundary pairs with their listed edges, and all covered cells.

    Returns per-polygon offsets and flat arrays, polygons in input order.
    """
    cdef const double[::1] xs_v = np.ascontiguousarray(xs, dtype=np.float64)
    cdef const double[::1] ys_v = np.ascontiguousarray(ys, dtype=np.float64)
    cdef const int64_t[::1] ro_v = np.ascontiguousarray(ring_off, dtype=np.int64)
    cdef const int64_t[::1] pro_v = np.ascontiguousarray(poly_ring_off, dtype=np.int64)
    cdef const uint8_t[::1] full_v = np.ascontiguousarray(full, dtype=np.uint8)
    cdef const double[::1] cl_v = np.ascontiguousarray(col_lo, dtype=np.float64)
    cdef const double[::1] ch_v = np.ascontiguousarray(col_hi, dtype=np.float64)
    cdef const double[::1] rl_v = np.ascontiguousarray(row_lo, dtype=np.float64)
    cdef const double[::1] rh_v = np.ascontiguousarray(row_hi, dtype=np.float64)
    cdef int64_t npoly = pro_v.shape[0] - 1
    counts = np.zeros((max(npoly, 1), 3), dtype=np.int64)
    cdef int64_t[:, ::1] counts_v = counts
    cdef Pairs P
    P.xs = &xs_v[0]
    P.ys = &ys_v[0]
    P.ring_off = &ro_v[0]
    P.poly_ring_off = &pro_v[0]
    P.full = &full_v[0] if full_v.shape[0] else NULL
    P.x0 = x0
    P.y0 = y0
    P.invw = invw
    P.invh = invh
    P.ncols = ncols
    P.nrows = nrows
    P.col_lo = &cl_v[0]
    P.col_hi = &ch_v[0]
    P.row_lo = &rl_v[0]
    P.row_hi = &rh_v[0]
    P.write = 0
    P.counts = &counts_v[0, 0]
    P.failed = 0
    with nogil:
        ug_parallel(_task_pairs, &P, npoly, 64, _threads)
    if P.failed:
        raise MemoryError("out of memory while building the grid index")
    counts = counts[:npoly]
    offs = np.zeros((npoly + 1, 3), dtype=np.int64)
    np.cumsum(counts, axis=0, out=offs[1:])
    bp_cell = np.empty(offs[npoly, 0], dtype=np.int64)
    bp_par = np.empty(offs[npoly, 0], dtype=np.uint8)
    bp_n = np.empty(offs[npoly, 0], dtype=np.int64)
    cp_cell = np.empty(offs[npoly, 1], dtype=np.int64)
    pe = np.empty((offs[npoly, 2], 4))
    pe_flag = np.empty(offs[npoly, 2], dtype=np.uint8)
    cdef const int64_t[:, ::1] offs_v = offs
    cdef int64_t[::1] bp_cell_v = bp_cell
    cdef uint8_t[::1] bp_par_v = bp_par
    cdef int64_t[::1] bp_n_v = bp_n
    cdef int64_t[::1] cp_cell_v = cp_cell
    cdef double[:, ::1] pe_v = pe
    cdef uint8_t[::1] pe_flag_v = pe_flag
    P.write = 1
    P.offs = &offs_v[0, 0]
    P.bp_cell = &bp_cell_v[0] if bp_cell.size else NULL
    P.bp_par = &bp_par_v[0] if bp_par.size else NULL
    P.bp_n = &bp_n_v[0] if bp_n.size else NULL
    P.cp_cell = &cp_cell_v[0] if cp_cell.size else NULL
    P.pe = &pe_v[0, 0] if pe.shape[0] else NULL
    P.pe_flag = &pe_flag_v[0] if pe_flag.size else NULL
    with nogil:
        ug_parallel(_task_pairs, &P, npoly, 64, _threads)
    if P.failed:
        raise MemoryError("out of memory while building the grid index")
    return offs, bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag


def assemble(int64_t ncols, int64_t nrows, header, row_lo, xs, ys, ring_off, poly_ring_off,
             full, offs, bp_cell, bp_par, bp_n, cp_cell, pe, pe_flag):
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
    cdef const double[::1] header_v = np.ascontiguousarray(header, dtype=np.float64)
    cdef const double[::1] row_lo_v = np.ascontiguousarray(row_lo, dtype=np.float64)
    cdef const double[::1] xs_v = np.ascontiguousarray(xs, dtype=np.float64)
    cdef const double[::1] ys_v = np.ascontiguousarray(ys, dtype=np.float64)
    cdef const int64_t[::1] ring_v = np.ascontiguousarray(ring_off, dtype=np.int64)
    cdef const int64_t[::1] pro_v = np.ascontiguousarray(poly_ring_off, dtype=np.int64)
    cdef const uint8_t[::1] full_v = np.ascontiguousarray(full, dtype=np.uint8)
    cdef const int64_t[:, ::1] offs_v = np.ascontiguousarray(offs, dtype=np.int64)
    cdef const int64_t[::1] bp_cell_v = np.ascontiguousarray(bp_cell, dtype=np.int64)
    cdef const uint8_t[::1] bp_par_v = np.ascontiguousarray(bp_par, dtype=np.uint8)
    cdef const int64_t[::1] bp_n_v = np.ascontiguousarray(bp_n, dtype=np.int64)
    cdef const int64_t[::1] cp_cell_v = np.ascontiguousarray(cp_cell, dtype=np.int64)
    cdef const double[:, ::1] pe_v = np.ascontiguousarray(pe, dtype=np.float64).reshape(-1, 4)
    cdef const uint8_t[::1] pe_flag_v = np.ascontiguousarray(pe_flag, dtype=np.uint8)
    cdef int64_t ncells = ncols * nrows
    cdef int64_t npoly = offs_v.shape[0] - 1
    cdef int32_t big = 2147483647
    cover_a = np.full(ncells, big, dtype=np.int32)
    cdef int32_t[::1] cover = cover_a
    cdef int64_t k, j, c, g, v, p, q, e, ne, nfw, w, b, t, d, lrec, v0, v1
    cdef int64_t word
    cdef double lo_x, hi_x, lo_y, hi_y
    for k in range(npoly):
        for j in range(offs_v[k, 1], offs_v[k + 1, 1]):
            c = cp_cell_v[j]
            if cover[c] == big:
                cover[c] = k
    per_cell_a = np.zeros(ncells, dtype=np.int64)
    cdef int64_t[::1] per_cell = per_cell_a
    used_a = np.zeros(max(npoly, 1), dtype=np.uint8)
    cdef uint8_t[::1] used = used_a
    cdef int64_t nfloat = header_v.shape[0]
    for k in range(npoly):
        for j in range(offs_v[k, 0], offs_v[k + 1, 0]):
            if k < cover[bp_cell_v[j]]:
                per_cell[bp_cell_v[j]] += 1
                if full_v[k]:
                    used[k] = 1
                else:
                    ne = bp_n_v[j]
                    nfloat += 3 + (ne + FPW - 1) // FPW + 4 * ne
    poly_rec_a = np.full(max(npoly, 1), -1, dtype=np.int64)
    cdef int64_t[::1] poly_rec = poly_rec_a
    for k in range(npoly):
        if used[k]:
            poly_rec[k] = nfloat
            nfloat += 5
            for g in range(pro_v[k], pro_v[k + 1]):
                nfloat += 1 + 2 * (ring_v[g + 1] - ring_v[g])
    # Lists start at even positions so that line blocks can hold float64 values.
    cdef int64_t nint = IHEADER + ncells + (IHEADER + ncells) % 2
    for c in range(ncells):
        if per_cell[c] > 0:
            nint += 2 + 2 * per_cell[c]
    nint += nint % 2
    fl_a = np.empty(nfloat)
    cdef double[::1] fl = fl_a
    for j in range(header_v.shape[0]):
        fl[j] = header_v[j]
    ints_a = np.empty(nint, dtype=np.int32)
    cdef int32_t[::1] ints = ints_a
    ints[INCOLS] = ncols
    ints[INROWS] = nrows
    fill_a = np.zeros(ncells, dtype=np.int64)
    cdef int64_t[::1] fill = fill_a
    cdef int64_t at = IHEADER + ncells + (IHEADER + ncells) % 2
    cdef int64_t default
    if at > IHEADER + ncells:
        ints[at - 1] = 0
    for c in range(ncells):
        default = -1 if cover[c] == big else cover[c]
        if per_cell[c] > 0:
            ints[IHEADER + c] = -2 - at
            ints[at] = per_cell[c]
            ints[at + 1] = default
            fill[c] = at + 2
            at += 2 + 2 * per_cell[c]
        else:
            ints[IHEADER + c] = default
    for k in range(npoly):
        if used[k]:
            p = poly_rec[k]
            fl[p] = pro_v[k + 1] - pro_v[k]
            v0 = ring_v[pro_v[k]]
            v1 = ring_v[pro_v[k + 1]]
            lo_x = INFINITY
            hi_x = -INFINITY
            lo_y = INFINITY
            hi_y = -INFINITY
            for v in range(v0, v1):
                lo_x = min(lo_x, xs_v[v])
                hi_x = max(hi_x, xs_v[v])
                lo_y = min(lo_y, ys_v[v])
                hi_y = max(hi_y, ys_v[v])
            fl[p + 1] = lo_x
            fl[p + 2] = hi_x
            fl[p + 3] = lo_y
            fl[p + 4] = hi_y
            p += 5
            for g in range(pro_v[k], pro_v[k + 1]):
                fl[p] = ring_v[g + 1] - ring_v[g]
                p += 1
                for v in range(ring_v[g], ring_v[g + 1]):
                    fl[p] = xs_v[v]
                    fl[p + 1] = ys_v[v]
                    p += 2
    lrec = header_v.shape[0]
    for k in range(npoly):
        e = offs_v[k, 2]
        for j in range(offs_v[k, 0], offs_v[k + 1, 0]):
            c = bp_cell_v[j]
            ne = bp_n_v[j]
            if k < cover[c]:
                q = fill[c]
                fill[c] += 2
                ints[q] = k
                if full_v[k]:
                    ints[q + 1] = poly_rec[k]
                else:
                    ints[q + 1] = -1 - lrec
                    nfw = (ne + FPW - 1) // FPW
                    fl[lrec] = row_lo_v[c // ncols]
                    fl[lrec + 1] = bp_par_v[j]
                    fl[lrec + 2] = ne
                    for w in range(nfw):
                        word = 0
                        for b in range(FPW):
                            t = w * FPW + b
                            if t < ne:
                                word |= (<int64_t>pe_flag_v[e + t]) << (2 * b)
                        fl[lrec + 3 + w] = word
                    d = lrec + 3 + nfw
                    for t in range(ne):
                        fl[d + 4 * t] = pe_v[e + t, 0]
                        fl[d + 4 * t + 1] = pe_v[e + t, 1]
                        fl[d + 4 * t + 2] = pe_v[e + t, 2]
                        fl[d + 4 * t + 3] = pe_v[e + t, 3]
                    lrec = d + 4 * ne
            e += ne
    return fl_a, ints_a


# --------------------------------------------------------------------------- query


cdef inline int _crossing(double ax, double ay, double bx, double by,
                          double px, double py) noexcept nogil:
    """GEOS ray-crossing step for one edge: 2 on the edge, 1 crossing, 0 neither."""
    cdef int o
    if ax < px and bx < px:
        return 0
    if (px == bx and py == by) or (px == ax and py == ay):
        return 2
    if ay == py and by == py:
        if min(ax, bx) <= px <= max(ax, bx):
            return 2
        return 0
    if (ay > py) != (by > py):
        o = _orient(ax, ay, bx, by, px, py)
        if o == 0:
            return 2
        if by < ay:
            o = -o
        if o > 0:
            return 1
    return 0


cdef inline bint _whole_covers(const double *fl, int64_t p, double px, double py) noexcept nogil:
    # The bounding box is exact (it holds the polygon's own coordinates): a point
    # outside it is outside the polygon, and most candidates end here.
    if px < fl[p + 1] or px > fl[p + 2] or py < fl[p + 3] or py > fl[p + 4]:
        return False
    cdef int64_t nrings = <int64_t>fl[p], nv, t, q, ri
    cdef int parity = 0, hit
    p += 5
    for ri in range(nrings):
        nv = <int64_t>fl[p]
        p += 1
        for t in range(nv - 1):
            q = p + 2 * t
            hit = _crossing(fl[q], fl[q + 1], fl[q + 2], fl[q + 3], px, py)
            if hit == 2:
                return True
            parity ^= hit
        p += 2 * nv
    return parity == 1


cdef inline bint _local_covers(const double *fl, int64_t p, double px, double py) noexcept nogil:
    cdef double yref = fl[p]
    cdef int parity = <int>fl[p + 1]
    cdef int64_t ne = <int64_t>fl[p + 2]
    cdef int64_t nfw = (ne + FPW - 1) // FPW
    cdef int64_t d = p + 3 + nfw, t, b, q, word = 0, flag
    cdef double ax, ay, bx, by
    cdef int hit
    for t in range(ne):
        b = t % FPW
        if b == 0:
            word = <int64_t>fl[p + 3 + t // FPW]
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


cdef inline int64_t _cell_code(double px, double py, const double *fl,
                               const int32_t *ints) noexcept nogil:
    """Code of the cell holding (px, py): an answer >= -1, or -2 - list start; -1 outside."""
    # NaN fails every comparison, so it is outside.
    if not (px >= fl[FBX0] and px <= fl[FBX1] and py >= fl[FBY0] and py <= fl[FBY1]):
        return -1
    cdef int64_t ncols = ints[INCOLS]
    cdef int64_t c = <int64_t>((px - fl[FX0]) * fl[FINVW])
    if c >= ncols:
        c = ncols - 1
    cdef int64_t r = <int64_t>((py - fl[FY0]) * fl[FINVH])
    if r >= ints[INROWS]:
        r = ints[INROWS] - 1
    return ints[IHEADER + r * ncols + c]


cdef int64_t _resolve(int64_t code, double px, double py, const double *fl,
                      const int32_t *ints, const double *ints_f) noexcept nogil:
    if code >= -1:
        return code
    cdef int64_t at = -2 - code
    cdef int64_t k = -ints[at], npat, h, j, i, q, rec
    cdef int o, side
    if k > 0:
        # Line block: the signs against k segments pick the answer. Only certain
        # signs may use it: on or near a line, each polygon is asked with its own
        # edge direction, as GEOS does.
        npat = 1 << k
        h = (at + 2 + npat) // 2
        j = 0
        for i in range(k):
            q = h + 4 * i
            o = _orient_filter(ints_f[q], ints_f[q + 1], ints_f[q + 2], ints_f[q + 3], px, py)
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


cdef inline int64_t _locate(double px, double py, const double *fl, const int32_t *ints,
                            const double *ints_f) noexcept nogil:
    cdef int64_t code = _cell_code(px, py, fl, ints)
    if code >= -1:
        return code
    return _resolve(code, px, py, fl, ints, ints_f)


cdef const double *_buffer(const double[::1] buf) except NULL:
    if buf.shape[0] < FHEADER:
        raise ValueError("not a GridIndex buffer")
    return &buf[0]


def locate_one(double px, double py, const double[::1] buf):
    """Position of the first polygon covering (px, py), or -1."""
    cdef const double *fl = _buffer(buf)
    cdef const int32_t *ints = <const int32_t *>(fl + <int64_t>fl[FIOFF])
    return _locate(px, py, fl, ints, fl + <int64_t>fl[FIOFF])


cdef class Locator:
    """One index buffer, queried one point at a time with the least call overhead.

    :meth:`locate` takes two floats in the index CRS. :meth:`locate_gcj02`,
    :meth:`locate_bd09` and :meth:`locate_lonlat` take longitude/latitude in degrees
    (phone coordinates, or WGS84/CGCS2000) and convert them inside the same compiled
    call: to WGS84 longitude/latitude, then, after :meth:`set_tmerc`, to the index's
    transverse Mercator (Gauss-Krüger) metres. Without :meth:`set_tmerc` the index CRS
    must be WGS84/CGCS2000 degrees (EPSG:4326, 4490).
    """

    cdef object _keep
    cdef const double *fl
    cdef const int32_t *ints
    cdef const double *ints_f
    cdef ug_tmerc tm

    def __cinit__(self, buf):
        cdef const double[::1] view = buf
        self.fl = _buffer(view)
        self._keep = buf  # the array, and so the memory the pointers read, stays alive
        self.ints_f = self.fl + <int64_t>self.fl[FIOFF]
        self.ints = <const int32_t *>self.ints_f
        self.tm.ready = 0

    def set_tmerc(self, tuple params):
        """Project the degrees of the ``locate_*`` methods to transverse Mercator metres
        of the index: ``params`` as :func:`urbangrid.spatial.crs._kernels.tmerc_forward`
        takes them (a, f, lon0, k0, x0, y0)."""
        a, f, lon0, k0, x0, y0 = params
        ug_tmerc_init(&self.tm, a, f, lon0, k0, x0, y0)

    cdef inline int64_t _from_degrees(self, ug_point_fn to_wgs84, double lon, double lat):
        cdef double x, y
        to_wgs84(lon, lat, &x, &y)
        if self.tm.ready:
            ug_tmerc_fwd(&self.tm, x, y, &x, &y)
        return _locate(x, y, self.fl, self.ints, self.ints_f)

    def locate(self, double x, double y):
        """Position of the first polygon covering (x, y) (index CRS), or -1."""
        return _locate(x, y, self.fl, self.ints, self.ints_f)

    def locate_gcj02(self, double lon, double lat):
        """:meth:`locate` of a GCJ-02 point, converted first (same call)."""
        return self._from_degrees(ug_gcj02_to_wgs84, lon, lat)

    def locate_bd09(self, double lon, double lat):
        """:meth:`locate` of a BD-09 point, converted first (same call)."""
        return self._from_degrees(ug_bd09_to_wgs84, lon, lat)

    def locate_lonlat(self, double lon, double lat):
        """:meth:`locate` of a WGS84/CGCS2000 longitude/latitude, projected first."""
        return self._from_degrees(ug_no_shift, lon, lat)


cdef struct Query:
    const double *xs
    const double *ys
    const double *fl
    const int32_t *ints
    const double *ints_f
    int64_t *out
    # locate_bucketed
    int32_t *bucket
    const int64_t *order
    const double *sx
    const double *sy
    int64_t ncols, nrows, bcols, nb


cdef inline void _locate_block(Query *Q, int64_t lo, int64_t hi, int64_t *codes) noexcept nogil:
    # Three passes over a block of points so that the memory reads of different points
    # (cell code, candidate list, first record) are independent and overlap, instead of
    # each point waiting for its own chain of cache misses.
    cdef const double *fl = Q.fl
    cdef const int32_t *ints = Q.ints
    cdef int64_t i, code, at, rec
    cdef volatile double touch = 0.0
    cdef double acc = 0.0
    for i in range(lo, hi):
        codes[i - lo] = _cell_code(Q.xs[i], Q.ys[i], fl, ints)
    for i in range(lo, hi):
        code = codes[i - lo]
        if code < -1:
            at = -2 - code
            if ints[at] > 0:
                rec = ints[at + 3]
                acc += fl[rec if rec >= 0 else -1 - rec]
            else:  # a line block: its first segment
                acc += Q.ints_f[(at + 2 + (1 << -ints[at])) // 2]
    touch = acc  # keeps the touching reads from being optimised away
    for i in range(lo, hi):
        Q.out[i] = _resolve(codes[i - lo], Q.xs[i], Q.ys[i], fl, ints, Q.ints_f)


cdef void _task_locate(void *ctx, long lo, long hi) noexcept nogil:
    cdef Query *Q = <Query *>ctx
    cdef int64_t codes[BLOCK]
    cdef int64_t b
    b = lo
    while b < hi:
        _locate_block(Q, b, min(b + BLOCK, hi), codes)
        b += BLOCK


cdef int _query(Query *Q, xs, ys, buf, out) except -1:
    cdef const double[::1] xs_v = xs
    cdef const double[::1] ys_v = ys
    cdef int64_t[::1] out_v = out
    cdef int64_t n = xs_v.shape[0]
    if ys_v.shape[0] != n or out_v.shape[0] != n:
        raise ValueError("xs, ys and out must have the same length")
    Q.fl = _buffer(buf)
    Q.ints_f = Q.fl + <int64_t>Q.fl[FIOFF]
    Q.ints = <const int32_t *>Q.ints_f
    Q.xs = &xs_v[0] if n else NULL
    Q.ys = &ys_v[0] if n else NULL
    Q.out = &out_v[0] if n else NULL
    return 0


def locate_serial(xs, ys, buf, out):
    """locate_one over arrays on one thread (small batches: no thread start-up)."""
    cdef Query Q
    _query(&Q, xs, ys, buf, out)
    cdef int64_t n = len(xs)
    with nogil:
        _task_locate(&Q, 0, n)


def locate_parallel(xs, ys, buf, out):
    """locate_one over arrays, blocks of points split across threads."""
    cdef Query Q
    _query(&Q, xs, ys, buf, out)
    cdef int64_t n = len(xs)
    with nogil:
        ug_parallel(_task_locate, &Q, n, CHUNK, _threads)


cdef void _task_bucket(void *ctx, long lo, long hi) noexcept nogil:
    cdef Query *Q = <Query *>ctx
    cdef const double *buf = Q.fl
    cdef int64_t i, c, r
    cdef double px, py
    for i in range(lo, hi):
        px = Q.xs[i]
        py = Q.ys[i]
        if px >= buf[FBX0] and px <= buf[FBX1] and py >= buf[FBY0] and py <= buf[FBY1]:
            c = min(<int64_t>((px - buf[FX0]) * buf[FINVW]), Q.ncols - 1)
            r = min(<int64_t>((py - buf[FY0]) * buf[FINVH]), Q.nrows - 1)
            Q.bucket[i] = (r >> BUCKET_SHIFT) * Q.bcols + (c >> BUCKET_SHIFT)
        else:
            Q.bucket[i] = Q.nb - 1


cdef void _task_sorted(void *ctx, long lo, long hi) noexcept nogil:
    cdef Query *Q = <Query *>ctx
    cdef int64_t j
    cdef double px, py
    for j in range(lo, hi):
        px = Q.sx[j]
        py = Q.sy[j]
        Q.out[Q.order[j]] = _locate(px, py, Q.fl, Q.ints, Q.ints_f)


def locate_bucketed(xs, ys, buf, out):
    """locate_one over large arrays, answered bucket by bucket.

    Points are first counting-sorted by blocks of 16 x 16 cells, so that the cells,
    lists and polygon records a block needs stay in cache while its points are
    answered; random points otherwise pay several cache misses each.
    """
    cdef Query Q
    _query(&Q, xs, ys, buf, out)
    cdef int64_t n = len(xs)
    Q.ncols = Q.ints[INCOLS]
    Q.nrows = Q.ints[INROWS]
    Q.bcols = (Q.ncols >> BUCKET_SHIFT) + 1
    Q.nb = Q.bcols * ((Q.nrows >> BUCKET_SHIFT) + 1) + 1
    bucket_a = np.empty(n, dtype=np.int32)
    start_a = np.zeros(Q.nb + 1, dtype=np.int64)
    order_a = np.empty(n, dtype=np.int64)
    sx_a = np.empty(n)
    sy_a = np.empty(n)
    cdef int32_t[::1] bucket = bucket_a
    cdef int64_t[::1] start = start_a
    cdef int64_t[::1] order = order_a
    cdef double[::1] sx = sx_a
    cdef double[::1] sy = sy_a
    cdef int64_t i, b, j
    if n == 0:
        return
    Q.bucket = &bucket[0]
    with nogil:
        ug_parallel(_task_bucket, &Q, n, CHUNK * 4, _threads)
        for i in range(n):
            start[bucket[i] + 1] += 1
        for b in range(Q.nb):
            start[b + 1] += start[b]
        for i in range(n):
            j = start[bucket[i]]
            start[bucket[i]] += 1
            order[j] = i
            sx[j] = Q.xs[i]
            sy[j] = Q.ys[i]
        Q.order = &order[0]
        Q.sx = &sx[0]
        Q.sy = &sy[0]
        ug_parallel(_task_sorted, &Q, n, CHUNK, _threads)


# --------------------------------------------------------------------------- line blocks


cdef inline bint _may_meet(double ax, double ay, double bx, double by,
                           double xlo, double xhi, double ylo, double yhi) noexcept nogil:
    """False only when segment a-b surely misses the box (exact: certain signs only)."""
    if min(ax, bx) > xhi or max(ax, bx) < xlo or min(ay, by) > yhi or max(ay, by) < ylo:
        return False
    cdef int s = _orient_filter(ax, ay, bx, by, xlo, ylo)
    if s != 1 and s != -1:
        return True
    # All four corners strictly on one side of the line: the (convex) box is too.
    return not (
        _orient_filter(ax, ay, bx, by, xhi, ylo) == s
        and _orient_filter(ax, ay, bx, by, xlo, yhi) == s
        and _orient_filter(ax, ay, bx, by, xhi, yhi) == s
    )


cdef inline int64_t _add_segment(double ax, double ay, double bx, double by,
                                 const double *box, double *segs, int64_t k) noexcept nogil:
    """Add a-b to segs[:k] if it may meet the box and is new; returns the new count."""
    if (ax == bx and ay == by) or not _may_meet(ax, ay, bx, by, box[0], box[1], box[2], box[3]):
        return k
    cdef int64_t j
    for j in range(min(k, CMAX_LINES)):
        if (segs[4 * j] == ax and segs[4 * j + 1] == ay and segs[4 * j + 2] == bx
                and segs[4 * j + 3] == by) or (
                segs[4 * j] == bx and segs[4 * j + 1] == by and segs[4 * j + 2] == ax
                and segs[4 * j + 3] == ay):
            return k
    if k < CMAX_LINES:
        segs[4 * k] = ax
        segs[4 * k + 1] = ay
        segs[4 * k + 2] = bx
        segs[4 * k + 3] = by
    return k + 1


cdef int64_t _cell_segments(const double *fl, const int32_t *ints, int64_t at,
                            const double *box, double *segs) noexcept nogil:
    """Distinct candidate edges of list ``at`` that may meet the box (> MAX_LINES: stop)."""
    cdef int64_t k = 0, i, rec, p, ri, nv, t, q, ne, d
    for i in range(ints[at]):
        rec = ints[at + 3 + 2 * i]
        if rec >= 0:
            p = rec + 5
            for ri in range(<int64_t>fl[rec]):
                nv = <int64_t>fl[p]
                p += 1
                for t in range(nv - 1):
                    q = p + 2 * t
                    k = _add_segment(fl[q], fl[q + 1], fl[q + 2], fl[q + 3], box, segs, k)
                    if k > CMAX_LINES:
                        return k
                p += 2 * nv
        else:
            p = -1 - rec
            ne = <int64_t>fl[p + 2]
            d = p + 3 + (ne + FPW - 1) // FPW
            for t in range(ne):
                q = d + 4 * t
                k = _add_segment(fl[q], fl[q + 1], fl[q + 2], fl[q + 3], box, segs, k)
                if k > CMAX_LINES:
                    return k
    return k


cdef inline int64_t _sign_pattern(double px, double py, const double *segs,
                                  int64_t k) noexcept nogil:
    """Bit i set when the point is surely right of line i; -1 when any sign is unsure or 0."""
    cdef int64_t j = 0, i
    cdef int o
    for i in range(k):
        o = _orient_filter(segs[4 * i], segs[4 * i + 1], segs[4 * i + 2], segs[4 * i + 3], px, py)
        if o == -1:
            j |= 1 << i
        elif o != 1:
            return -1
    return j


cdef inline double _lattice(double lo, double hi, int64_t a, int64_t steps) noexcept nogil:
    # The box edges themselves exactly; lattice points between them.
    if a == 0:
        return lo
    if a == steps:
        return hi
    return lo + (hi - lo) * ((<double>a) / (<double>steps))


cdef inline int64_t _line_block_len(int64_t k) noexcept nogil:
    return 2 + (1 << k) + 8 * k


def line_block_len(int64_t k):
    """int32 words of a line block over k segments (always even)."""
    return _line_block_len(k)


cdef struct Cells:
    const double *fl
    const int32_t *ints
    const double *ints_f
    const double *col_lo
    const double *col_hi
    const double *row_lo
    const double *row_hi
    int64_t ncols, ncells
    int8_t *kind
    int32_t *answer
    const int64_t *start
    int32_t *out
    double *out_f


cdef inline void _cell_box(Cells *C, int64_t cell, double *box) noexcept nogil:
    cdef int64_t r = cell // C.ncols
    cdef int64_t c = cell - r * C.ncols
    box[0] = C.col_lo[c]
    box[1] = C.col_hi[c]
    box[2] = C.row_lo[r]
    box[3] = C.row_hi[r]


cdef void _task_classify(void *ctx, long lo, long hi) noexcept nogil:
    cdef Cells *C = <Cells *>ctx
    cdef double segs[4 * CMAX_LINES]
    cdef double box[4]
    cdef int64_t cell, code, k
    for cell in range(lo, hi):
        code = C.ints[IHEADER + cell]
        if code >= -1:
            continue
        _cell_box(C, cell, box)
        k = _cell_segments(C.fl, C.ints, -2 - code, box, segs)
        C.kind[cell] = k
        if k == 0:
            C.answer[cell] = _resolve(code, 0.5 * (box[0] + box[1]), 0.5 * (box[2] + box[3]),
                                      C.fl, C.ints, C.ints_f)


cdef int _cells(Cells *C, fl, ints, col_lo, col_hi, row_lo, row_hi) except -1:
    cdef const double[::1] fl_v = fl
    cdef const int32_t[::1] ints_v = ints
    cdef const double[::1] cl = col_lo
    cdef const double[::1] ch = col_hi
    cdef const double[::1] rl = row_lo
    cdef const double[::1] rh = row_hi
    if ints_v.shape[0] % 2:
        raise ValueError("the int32 part of an index has an even length")
    C.fl = &fl_v[0]
    C.ints = &ints_v[0]
    C.ints_f = <const double *>C.ints
    C.col_lo = &cl[0]
    C.col_hi = &ch[0]
    C.row_lo = &rl[0]
    C.row_hi = &rh[0]
    C.ncols = C.ints[INCOLS]
    C.ncells = C.ncols * C.ints[INROWS]
    return 0


def classify_cells(fl, ints, col_lo, col_hi, row_lo, row_hi):
    """How many distinct edges may meet each boundary cell, for :func:`write_line_blocks`.

    Edges are listed in a cell by bounding box, so many boundary cells are crossed by
    no edge at all, or by one or two. For each boundary cell, the distinct candidate
    edges that may meet the cell's box ``B`` are counted (an edge surely misses ``B``
    when all four corners of ``B`` are strictly on one side of its line).

    Returns ``kind`` per cell (-1 not a boundary cell, else the count, capped at
    MAX_LINES + 1) and, where the count is 0, the answer: no polygon boundary meets
    ``B``, so one answer holds for all of it (found at its centre).
    """
    cdef Cells C
    _cells(&C, fl, ints, col_lo, col_hi, row_lo, row_hi)
    kind_a = np.full(C.ncells, -1, dtype=np.int8)
    answer_a = np.zeros(C.ncells, dtype=np.int32)
    cdef int8_t[::1] kind = kind_a
    cdef int32_t[::1] answer = answer_a
    C.kind = &kind[0]
    C.answer = &answer[0]
    with nogil:
        ug_parallel(_task_classify, &C, C.ncells, CHUNK, _threads)
    return kind_a, answer_a


cdef void _task_lines(void *ctx, long lo, long hi) noexcept nogil:
    cdef Cells *C = <Cells *>ctx
    cdef double segs[4 * CMAX_LINES]
    cdef double box[4]
    cdef int64_t ans[1 << CMAX_LINES]
    cdef int64_t cell, k, code, npat, steps, a, b, j, at, h, i, v
    cdef double qx, qy
    cdef bint done
    for cell in range(lo, hi):
        k = C.kind[cell]
        if k == 0:
            C.out[IHEADER + cell] = C.answer[cell]
            continue
        if k < 1 or k > CMAX_LINES:
            continue
        code = C.ints[IHEADER + cell]
        _cell_box(C, cell, box)
        _cell_segments(C.fl, C.ints, -2 - code, box, segs)
        npat = 1 << k
        for j in range(npat):
            ans[j] = -3
        # The corners find both sides of one line; more lines need a lattice.
        steps = 1 if k == 1 else SAMPLE_STEPS
        while True:
            for a in range(steps + 1):
                qx = _lattice(box[0], box[1], a, steps)
                for b in range(steps + 1):
                    qy = _lattice(box[2], box[3], b, steps)
                    j = _sign_pattern(qx, qy, segs, k)
                    if j >= 0 and ans[j] == -3:
                        ans[j] = _resolve(code, qx, qy, C.fl, C.ints, C.ints_f)
            done = True
            for j in range(npat):
                if ans[j] == -3:
                    done = False
            if steps == SAMPLE_STEPS or done:
                break
            steps = SAMPLE_STEPS
        at = C.start[cell]
        C.out[at] = -k
        for j in range(npat):
            C.out[at + 1 + j] = ans[j]
        C.out[at + 1 + npat] = -2 - code
        h = (at + 2 + npat) // 2
        for i in range(k):
            for v in range(4):
                C.out_f[h + 4 * i + v] = segs[4 * i + v]
        C.out[IHEADER + cell] = -2 - at


def write_line_blocks(fl, ints, kind, answer, col_lo, col_hi, row_lo, row_hi):
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
    cdef Cells C
    _cells(&C, fl, ints, col_lo, col_hi, row_lo, row_hi)
    cdef const int8_t[::1] kind_v = np.ascontiguousarray(kind, dtype=np.int8)
    cdef const int32_t[::1] answer_v = np.ascontiguousarray(answer, dtype=np.int32)
    start_a = np.zeros(C.ncells, dtype=np.int64)
    cdef int64_t[::1] start = start_a
    cdef int64_t nints = len(ints)
    cdef int64_t total = nints, cell, k
    for cell in range(C.ncells):
        k = kind_v[cell]
        start[cell] = total
        if 1 <= k <= CMAX_LINES:
            total += _line_block_len(k)
    out_a = np.empty(total, dtype=np.int32)
    out_a[:nints] = ints
    cdef int32_t[::1] out = out_a
    C.kind = <int8_t *>&kind_v[0]
    C.answer = <int32_t *>&answer_v[0]
    C.start = &start[0]
    C.out = &out[0]
    C.out_f = <double *>C.out
    with nogil:
        ug_parallel(_task_lines, &C, C.ncells, CHUNK, _threads)
    return out_a


# --------------------------------------------------------------------------- shared blocks


cdef inline int64_t _block_len(const int32_t *ints, int64_t at) noexcept nogil:
    return _line_block_len(-ints[at]) if ints[at] < 0 else 2 + 2 * <int64_t>ints[at]


cdef inline int64_t _list_of(const int32_t *ints, int64_t at) noexcept nogil:
    """Index of the list slot of the line block at ``at``."""
    return at + 1 + (1 << -ints[at])


cdef inline int64_t _hash_block(const int32_t *ints, int64_t at, int64_t n) noexcept nogil:
    cdef uint64_t h = 14695981039346656037ULL
    cdef int64_t i
    for i in range(at, at + n):
        h = (h ^ <uint64_t>(<uint32_t>ints[i])) * 1099511628211ULL
    return <int64_t>(h >> 1)


cdef inline bint _same_block(const int32_t *ints, int64_t size, int64_t a, int64_t b,
                             int64_t n) noexcept nogil:
    if a + n > size or b + n > size:
        return False
    return memcmp(ints + a, ints + b, n * sizeof(int32_t)) == 0


cdef object _canonical(const int32_t *ints, int64_t size, starts):
    """For each block start, the start of the first block with the same content."""
    cdef const int64_t[::1] st = starts
    cdef int64_t m = st.shape[0], i, j, u, v, a, b
    hashes_a = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] hashes = hashes_a
    for i in range(m):
        hashes[i] = _hash_block(ints, st[i], _block_len(ints, st[i]))
    order_a = np.argsort(hashes_a, kind="mergesort")
    cdef const int64_t[::1] order = order_a
    canon_a = starts.copy()
    cdef int64_t[::1] canon = canon_a
    i = 0
    while i < m:
        j = i
        while j + 1 < m and hashes[order[j + 1]] == hashes[order[i]]:
            j += 1
        # Within a run of equal hashes, blocks equal to an earlier one share it.
        for u in range(i + 1, j + 1):
            a = st[order[u]]
            for v in range(i, u):
                b = st[order[v]]
                if canon[order[v]] == b and _same_block(ints, size, a, b, _block_len(ints, a)):
                    canon[order[u]] = b
                    break
        i = j + 1
    return canon_a


def dedupe_blocks(ints):
    """Share identical candidate lists and line blocks between cells.

    Neighbouring cells cut by the same edge, or holding the same candidate polygons,
    get the same block; on a Voronoi layer this halves the lookup memory.
    """
    cdef const int32_t[::1] iv = ints
    cdef const int32_t *ip = &iv[0]
    cdef int64_t size = iv.shape[0]
    cdef int64_t ncols = ip[INCOLS]
    cdef int64_t ncells = ncols * ip[INROWS]
    cdef int64_t base = IHEADER + ncells + (IHEADER + ncells) % 2
    cdef int64_t nlists = 0, nlines = 0, c, code, at, i, nl, nb, slot, l_old, b_old, n, at_new
    # Pass 1: candidate lists (directly from cells, or behind line blocks).
    for c in range(ncells):
        code = ip[IHEADER + c]
        if code < -1:
            if ip[-2 - code] < 0:
                nlines += 1
            nlists += 1
    lstarts_a = np.empty(nlists, dtype=np.int64)
    bstarts_a = np.empty(nlines, dtype=np.int64)
    cdef int64_t[::1] lstarts = lstarts_a
    cdef int64_t[::1] bstarts = bstarts_a
    nl = 0
    nb = 0
    for c in range(ncells):
        code = ip[IHEADER + c]
        if code < -1:
            at = -2 - code
            if ip[at] < 0:
                bstarts[nb] = at
                nb += 1
                lstarts[nl] = ip[_list_of(ip, at)]
            else:
                lstarts[nl] = at
            nl += 1
    lcanon_a = _canonical(ip, size, lstarts_a)
    cdef const int64_t[::1] lcanon = lcanon_a
    # Maps indexed by old block start.
    canon_of_a = np.full(size, -1, dtype=np.int64)
    cdef int64_t[::1] canon_of = canon_of_a
    for i in range(nlists):
        canon_of[lstarts[i]] = lcanon[i]
    # Point line blocks at canonical lists first, so equal blocks compare equal.
    work_a = np.array(ints, dtype=np.int32, copy=True)
    cdef int32_t[::1] work = work_a
    cdef int32_t *wp = &work[0]
    for i in range(nlines):
        slot = _list_of(wp, bstarts[i])
        wp[slot] = canon_of[wp[slot]]
    bcanon_a = _canonical(wp, size, bstarts_a)
    cdef const int64_t[::1] bcanon = bcanon_a
    bcanon_of_a = np.full(size, -1, dtype=np.int64)
    cdef int64_t[::1] bcanon_of = bcanon_of_a
    for i in range(nlines):
        bcanon_of[bstarts[i]] = bcanon[i]
    # Pass 2: emit each canonical block once, in cell order (neighbours stay close).
    out_a = np.zeros(size + nlines + 2, dtype=np.int32)
    cdef int32_t[::1] out = out_a
    cdef int32_t *op = &out[0]
    for i in range(base):
        op[i] = wp[i]
    new_at_a = np.full(size, -1, dtype=np.int64)
    cdef int64_t[::1] new_at = new_at_a
    at_new = base
    for c in range(ncells):
        code = wp[IHEADER + c]
        if code >= -1:
            continue
        at = -2 - code
        if wp[at] < 0:
            l_old = wp[_list_of(wp, at)]
            b_old = bcanon_of[at]
        else:
            l_old = canon_of[at]
            b_old = -1
        if new_at[l_old] < 0:
            n = _block_len(wp, l_old)
            for i in range(n):
                op[at_new + i] = wp[l_old + i]
            new_at[l_old] = at_new
            at_new += n
        if b_old < 0:
            op[IHEADER + c] = -2 - new_at[l_old]
            continue
        if new_at[b_old] < 0:
            at_new += at_new % 2
            n = _block_len(wp, b_old)
            for i in range(n):
                op[at_new + i] = wp[b_old + i]
            op[_list_of(op, at_new)] = new_at[l_old]
            new_at[b_old] = at_new
            at_new += n
        op[IHEADER + c] = -2 - new_at[b_old]
    at_new += at_new % 2
    return out_a[:at_new].copy()
