"""Compiled kernels of :mod:`urbangrid.spatial.crs.transform`: the GCJ-02 and BD-09 formulas.

Each formula is written once, for one point with the ``math`` module, and compiled by
numba. The array functions of :mod:`urbangrid.spatial.crs.transform` run these same point
functions in a compiled loop (:func:`map_points`), and its one-point path
(:func:`urbangrid.spatial.crs.transform.point_transformer`) calls them directly, so both give the
same numbers bit for bit. Compiled, a GCJ-02 inverse costs well under a microsecond;
the same iteration in interpreted Python costs 6-10 µs (four or five evaluations of
the shift), more than the point-in-polygon lookup it feeds.

Accuracy, the GCJ-02 rectangle and the inverses are described in
:mod:`urbangrid.spatial.crs.transform`. All values are longitude/latitude in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit
from numpy.typing import NDArray

from urbangrid.spatial.crs.transform import _CHINA_LAT, _CHINA_LON

# Krasovsky 1940 ellipsoid, as in the published GCJ-02 algorithm.
GCJ_A = 6378245.0
GCJ_EE = 0.00669342162296594323
BD_XPI = math.pi * 3000.0 / 180.0

CHINA_LON_MIN, CHINA_LON_MAX = _CHINA_LON
CHINA_LAT_MIN, CHINA_LAT_MAX = _CHINA_LAT

# The inverses stop once a correction is below this (1 % of the documented 1e-9
# degrees): the shifts contract errors by ~1e-3 a round, so one round past the
# documented tolerance costs little and gains several digits.
INVERSE_STEP_DEG = 1e-11
INVERSE_MAX_ITER = 30

# Operation codes of map_points.
WGS84_TO_GCJ02, GCJ02_TO_WGS84, GCJ02_TO_BD09, BD09_TO_GCJ02, WGS84_TO_BD09, BD09_TO_WGS84 = range(
    6
)


@njit(cache=True)
def in_gcj02_area(lon: float, lat: float) -> bool:
    """Whether the point is in the rectangle of the published GCJ-02 shift (NaN: no)."""
    return CHINA_LON_MIN <= lon <= CHINA_LON_MAX and CHINA_LAT_MIN <= lat <= CHINA_LAT_MAX


@njit(cache=True)
def gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    """The published GCJ-02 shift (degrees) at a WGS84 point, zero outside the rectangle.

    Written as published, operation for operation, so the result is the published
    algorithm's to the last bit.
    """
    if not in_gcj02_area(lon, lat):
        return 0.0, 0.0
    pi = math.pi
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += common
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320.0 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += common
    dlon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = math.sin(radlat)
    magic = 1.0 - GCJ_EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (GCJ_A / sqrtmagic * math.cos(radlat) * pi)
    return dlon, dlat


@njit(cache=True)
def solve_inverse(
    forward: Callable[[float, float], tuple[float, float]],
    tx: float,
    ty: float,
    x: float,
    y: float,
) -> tuple[float, float]:
    """Fixed-point iteration ``x <- x - (forward(x) - target)`` from the guess ``x, y``.

    Both shifts vary by far less than their own size across their own size (their
    Jacobian is ~1e-3 or smaller), so each round shrinks the error about a thousandfold;
    it stops once a correction is below :data:`INVERSE_STEP_DEG`. A target that is not
    finite returns the guess.
    """
    if not (math.isfinite(tx) and math.isfinite(ty)):
        return x, y
    for _ in range(INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex = fx - tx
        ey = fy - ty
        x -= ex
        y -= ey
        if max(abs(ex), abs(ey)) <= INVERSE_STEP_DEG:
            break
    return x, y


@njit(cache=True)
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to GCJ-02; unchanged outside the rectangle, NaN stays NaN."""
    dlon, dlat = gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


@njit(cache=True)
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 to WGS84: the one-step inverse (good to ~1e-5 degrees), then iterated on
    :func:`wgs84_to_gcj02` (:func:`solve_inverse`). Points outside the rectangle, and
    NaN, are returned unchanged.
    """
    if not in_gcj02_area(lon, lat):
        return lon, lat
    dlon, dlat = gcj_offset(lon, lat)
    return solve_inverse(wgs84_to_gcj02, lon, lat, lon - dlon, lat - dlat)


@njit(cache=True)
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 to Baidu BD-09 with the published formula (applied everywhere)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * BD_XPI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * BD_XPI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


@njit(cache=True)
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 to GCJ-02: the closed-form inverse (~1e-6 degrees), then iterated on
    :func:`gcj02_to_bd09` (:func:`solve_inverse`). NaN gives NaN."""
    x = lon - 0.0065
    y = lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * BD_XPI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * BD_XPI)
    return solve_inverse(gcj02_to_bd09, lon, lat, z * math.cos(theta), z * math.sin(theta))


@njit(cache=True)
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 to BD-09 through GCJ-02 (one compiled call instead of two)."""
    gx, gy = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(gx, gy)


@njit(cache=True)
def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 to WGS84 through GCJ-02, both steps iterative."""
    gx, gy = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(gx, gy)


@njit(cache=True)
def map_points(
    op: int, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Apply one of the point functions (``op``: WGS84_TO_GCJ02 …) to 1-D arrays."""
    n = x.size
    ox = np.empty(n)
    oy = np.empty(n)
    for i in range(n):
        if op == WGS84_TO_GCJ02:
            ox[i], oy[i] = wgs84_to_gcj02(x[i], y[i])
        elif op == GCJ02_TO_WGS84:
            ox[i], oy[i] = gcj02_to_wgs84(x[i], y[i])
        elif op == GCJ02_TO_BD09:
            ox[i], oy[i] = gcj02_to_bd09(x[i], y[i])
        elif op == BD09_TO_GCJ02:
            ox[i], oy[i] = bd09_to_gcj02(x[i], y[i])
        elif op == WGS84_TO_BD09:
            ox[i], oy[i] = wgs84_to_bd09(x[i], y[i])
        else:
            ox[i], oy[i] = bd09_to_wgs84(x[i], y[i])
    return ox, oy
