# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled kernels of :mod:`urbangrid.spatial.crs.transform`: the GCJ-02 and BD-09 formulas.

Each formula is written once, for one point, in C (``_gcj.h``), and compiled when the
package is installed (no compiler at run time). The array functions of
:mod:`urbangrid.spatial.crs.transform` run these same point functions in a compiled
loop (:func:`map_points`), its one-point path
(:func:`urbangrid.spatial.crs.transform.point_transformer`) calls them directly, and the
assignment index (:mod:`urbangrid.spatial.index._pip`) includes them in its locate call,
so all give the same numbers bit for bit. A GCJ-02 inverse costs well under a
microsecond; the same iteration in interpreted Python costs 6-10 µs.

Accuracy, the GCJ-02 rectangle and the inverses are described in
:mod:`urbangrid.spatial.crs.transform`. All values are longitude/latitude in degrees.
"""


import numpy as np

cdef extern from "_gcj.h" nogil:
    ctypedef void (*ug_point_fn)(double, double, double *, double *)
    double UG_GCJ_A, UG_GCJ_EE, UG_BD_XPI, UG_INVERSE_STEP_DEG
    double UG_CHINA_LON_MIN, UG_CHINA_LON_MAX, UG_CHINA_LAT_MIN, UG_CHINA_LAT_MAX
    int UG_INVERSE_MAX_ITER
    int ug_in_gcj02_area(double lon, double lat)
    void ug_gcj_offset(double lon, double lat, double *dlon, double *dlat)
    void ug_wgs84_to_gcj02(double lon, double lat, double *ox, double *oy)
    void ug_gcj02_to_wgs84(double lon, double lat, double *ox, double *oy)
    void ug_gcj02_to_bd09(double lon, double lat, double *ox, double *oy)
    void ug_bd09_to_gcj02(double lon, double lat, double *ox, double *oy)
    void ug_wgs84_to_bd09(double lon, double lat, double *ox, double *oy)
    void ug_bd09_to_wgs84(double lon, double lat, double *ox, double *oy)
    void ug_no_shift(double lon, double lat, double *ox, double *oy)
    ug_point_fn ug_op(int op)

cdef extern from "_tmerc.h" nogil:
    ctypedef struct ug_tmerc:
        pass
    void ug_tmerc_init(ug_tmerc *t, double a, double f, double lon0_deg, double k0, double x0,
                       double y0)
    void ug_tmerc_fwd(const ug_tmerc *t, double lon, double lat, double *ox, double *oy)

cdef extern from "_parallel.h":
    ctypedef void (*ug_task)(void *ctx, long lo, long hi) noexcept nogil
    void ug_parallel(ug_task fn, void *ctx, long n, long chunk, int threads) nogil
    int ug_cpus()

cdef struct MapCtx:
    ug_point_fn fn
    const ug_tmerc *tm  # then projected, or NULL
    const double *x
    const double *y
    double *ox
    double *oy


cdef void _task_map(void *ctx, long lo, long hi) noexcept nogil:
    cdef MapCtx *m = <MapCtx *>ctx
    cdef long i
    for i in range(lo, hi):
        m.fn(m.x[i], m.y[i], &m.ox[i], &m.oy[i])
    if m.tm != NULL:
        for i in range(lo, hi):
            ug_tmerc_fwd(m.tm, m.ox[i], m.oy[i], &m.ox[i], &m.oy[i])


_CPUS = ug_cpus()

GCJ_A = UG_GCJ_A
GCJ_EE = UG_GCJ_EE
BD_XPI = UG_BD_XPI
CHINA_LON_MIN = UG_CHINA_LON_MIN
CHINA_LON_MAX = UG_CHINA_LON_MAX
CHINA_LAT_MIN = UG_CHINA_LAT_MIN
CHINA_LAT_MAX = UG_CHINA_LAT_MAX
INVERSE_STEP_DEG = UG_INVERSE_STEP_DEG
INVERSE_MAX_ITER = UG_INVERSE_MAX_ITER

# Operation codes of map_points (the order of ug_op in _gcj.h); NO_SHIFT: degrees only
# to be projected.
(WGS84_TO_GCJ02, GCJ02_TO_WGS84, GCJ02_TO_BD09, BD09_TO_GCJ02, WGS84_TO_BD09, BD09_TO_WGS84,
 NO_SHIFT) = range(7)

# The formula taking the degrees of each route of transform.locate_route to WGS84.
ROUTE_OPS = {"gcj02": GCJ02_TO_WGS84, "bd09": BD09_TO_WGS84, "lonlat": NO_SHIFT}


def in_gcj02_area(double lon, double lat):
    """Whether the point is in the rectangle of the published GCJ-02 shift (NaN: no)."""
    return bool(ug_in_gcj02_area(lon, lat))


cdef inline tuple _point(ug_point_fn fn, double lon, double lat):
    """One point through one of the formulas of _gcj.h, as a tuple of two floats."""
    cdef double ox, oy
    fn(lon, lat, &ox, &oy)
    return ox, oy


def gcj_offset(double lon, double lat):
    """The published GCJ-02 shift (degrees) at a WGS84 point, zero outside the rectangle."""
    return _point(ug_gcj_offset, lon, lat)


def wgs84_to_gcj02(double lon, double lat):
    """WGS84 to GCJ-02; unchanged outside the rectangle, NaN stays NaN."""
    return _point(ug_wgs84_to_gcj02, lon, lat)


def gcj02_to_wgs84(double lon, double lat):
    """GCJ-02 to WGS84: the one-step inverse, then Newton steps on :func:`wgs84_to_gcj02`
    (its derivatives are exact and cheap), or the fixed-point iteration near 105 E and
    the rectangle's edges. Points outside the rectangle, and NaN, are returned unchanged."""
    return _point(ug_gcj02_to_wgs84, lon, lat)


def gcj02_to_bd09(double lon, double lat):
    """GCJ-02 to Baidu BD-09 with the published formula (applied everywhere)."""
    return _point(ug_gcj02_to_bd09, lon, lat)


def bd09_to_gcj02(double lon, double lat):
    """BD-09 to GCJ-02: the closed-form inverse (~1e-6 degrees), then iterated on
    :func:`gcj02_to_bd09`. NaN gives NaN."""
    return _point(ug_bd09_to_gcj02, lon, lat)


def wgs84_to_bd09(double lon, double lat):
    """WGS84 to BD-09 through GCJ-02 (one compiled call instead of two)."""
    return _point(ug_wgs84_to_bd09, lon, lat)


def bd09_to_wgs84(double lon, double lat):
    """BD-09 to WGS84 through GCJ-02, both steps iterative."""
    return _point(ug_bd09_to_wgs84, lon, lat)


def tmerc_forward(tuple params, const double[::1] lon, const double[::1] lat):
    """Transverse Mercator (Gauss-Krüger) easting/northing in metres of longitude/latitude
    arrays in degrees, by the compiled Krüger series of ``_tmerc.h`` that the index's
    locate call runs: :func:`map_points` with ``NO_SHIFT``.

    ``params``: ``(a, f, lon0, k0, x0, y0)``: semi-major axis (metres), flattening,
    central meridian (degrees), scale on it, false easting and northing (metres); the
    latitude of origin is the equator. NaN for NaN and for points more than 80 degrees
    of longitude from the central meridian.
    """
    return map_points(NO_SHIFT, lon, lat, tmerc=params)


cdef class PointRoute:
    """One point through a formula of ``_gcj.h`` (``op`` as in :func:`map_points`), then
    the transverse Mercator ``tmerc`` (as :func:`tmerc_forward` takes it): the one-point
    counterpart of ``map_points(op, ..., tmerc=tmerc)``, the same numbers."""

    cdef ug_point_fn fn
    cdef ug_tmerc tm

    def __cinit__(self, int op, tuple tmerc):
        self.fn = ug_op(op)
        _tmerc_init(&self.tm, tmerc)

    def apply(self, double lon, double lat):
        """Easting, northing (metres) of one point given in degrees."""
        cdef double x, y
        self.fn(lon, lat, &x, &y)
        ug_tmerc_fwd(&self.tm, x, y, &x, &y)
        return x, y


cdef int _tmerc_init(ug_tmerc *tm, tuple params) except -1:
    a, f, lon0, k0, x0, y0 = params
    ug_tmerc_init(tm, a, f, lon0, k0, x0, y0)
    return 0


def map_points(int op, const double[::1] x, const double[::1] y, threads=None, tuple tmerc=None):
    """Apply one of the point functions (``op``: WGS84_TO_GCJ02 …) to 1-D float64 arrays,
    then, when ``tmerc`` is given, the transverse Mercator (see :func:`tmerc_forward`).

    Returns two new arrays; runs without the GIL, on ``threads`` threads (default: every
    core this process may use) from 20,000 points on.
    """
    cdef Py_ssize_t n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x has {n} values but y has {y.shape[0]}")
    ox_arr = np.empty(n)
    oy_arr = np.empty(n)
    if n == 0:
        return ox_arr, oy_arr
    cdef double[::1] ox = ox_arr
    cdef double[::1] oy = oy_arr
    cdef MapCtx m
    cdef ug_tmerc tm
    m.fn = ug_op(op)
    m.tm = NULL
    if tmerc is not None:
        _tmerc_init(&tm, tmerc)
        m.tm = &tm
    m.x = &x[0]
    m.y = &y[0]
    m.ox = &ox[0]
    m.oy = &oy[0]
    cdef int nthreads = 1 if n < 20000 else min(64, int(threads or _CPUS))
    with nogil:
        ug_parallel(_task_map, &m, n, 8192, nthreads)
    return ox_arr, oy_arr
