"""Coordinate reference systems: EPSG/WKT/PROJ through pyproj, plus GCJ-02 and BD-09.

Chinese map services publish coordinates in two datums pyproj does not know:

* ``"GCJ-02"`` (国测局坐标, "Mars" coordinates): Amap/高德, Tencent, DataV, Apple and
  Google maps in mainland China. Longitude/latitude in degrees, WGS84 shifted by a
  published obfuscation of roughly 100-700 m.
* ``"BD-09"`` (百度坐标, Baidu ``bd09ll``): GCJ-02 with a second, Baidu-specific shift.
  Longitude/latitude in degrees. Baidu's Mercator metres (``bd09mc``) are not supported.

Everything else (WGS84 ``4326``, CGCS2000 ``4490`` and its Gauss-Krüger zones
``4491``-``4554``, UTM, local systems given as WKT or PROJ strings) goes through
:mod:`pyproj` with ``always_xy=True``, so ``x`` is always easting or longitude and ``y``
northing or latitude, whatever the axis order of the CRS definition.

Accuracy
--------
The forward formulas (WGS84 → GCJ-02, GCJ-02 → BD-09) are the published ones and are
reproduced to the last bit of double precision. Their inverses have no closed form: they
are solved by fixed-point iteration until the forward image of the answer is within
``1e-9`` degrees (about 0.1 mm) of the input, checked by the tests on round trips across
China; the documented bound is ``< 1e-7`` degrees. Against real data, the Amap district
polygons converted by a third party to WGS84 and the DataV GCJ-02 polygons of the same
districts (different vintages) agree to a median centroid offset of about 14 m after
conversion, against about 560 m before it.

GCJ-02 is only applied inside the rectangle the published algorithm uses for
"China" (longitude 72.004-137.8347, latitude 0.8293-55.8271); points outside it pass
through unchanged, as in the published algorithm. The rectangle includes parts of
neighbouring countries, and points within a few hundred metres of its edges can map
across it; neither matters for Chinese city data. BD-09 has no such rectangle: Baidu
applies its shift everywhere, so the GCJ-02 ↔ BD-09 step does too.

CGCS2000 (``4490``) and WGS84 (``4326``) differ by a few centimetres; pyproj treats
them as identical, and so does this module. GCJ-02 and BD-09 are defined on WGS84.
"""

from __future__ import annotations

import functools
import math
from typing import TypeAlias

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray
from pyproj.exceptions import CRSError as _PyprojCRSError

from urbangrid.errors import CoordinateError, CRSError, CRSMismatchError

__all__ = [
    "BD09",
    "GCJ02",
    "CRSLike",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_xy",
    "crs_equal",
    "crs_to_string",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_gcj02_area",
    "is_geographic",
    "normalize_crs",
    "transform_xy",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

GCJ02 = "GCJ-02"
"""Name of the GCJ-02 (国测局) longitude/latitude CRS, degrees."""

BD09 = "BD-09"
"""Name of the Baidu BD-09 (``bd09ll``) longitude/latitude CRS, degrees."""

CRSLike: TypeAlias = str | int | pyproj.CRS
"""Anything :func:`normalize_crs` accepts: ``"GCJ-02"``, ``"BD-09"``, an EPSG code,
``"EPSG:4547"``, WKT, a PROJ string or a :class:`pyproj.CRS`."""

_NAMED = {
    "gcj-02": GCJ02,
    "gcj02": GCJ02,
    "gcj_02": GCJ02,
    "mars": GCJ02,
    "bd-09": BD09,
    "bd09": BD09,
    "bd_09": BD09,
    "bd09ll": BD09,
    "bd-09ll": BD09,
}
_UNSUPPORTED = {"bd09mc", "bd-09mc", "bd09_mc"}

# Krasovsky 1940 ellipsoid, as in the published GCJ-02 algorithm.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_XPI = math.pi * 3000.0 / 180.0

_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30

_WGS84 = pyproj.CRS.from_epsg(4326)


# --------------------------------------------------------------------------- CRS handling


def normalize_crs(crs: CRSLike) -> str | pyproj.CRS:
    """Turn a CRS given in any accepted form into ``"GCJ-02"``, ``"BD-09"`` or a pyproj CRS.

    Parameters
    ----------
    crs : str, int or pyproj.CRS
        ``"GCJ-02"`` or ``"BD-09"`` (case-insensitive; ``"gcj02"``, ``"bd09"``,
        ``"bd09ll"`` also accepted), an EPSG code (``4326``, ``"EPSG:4547"``), WKT, a
        PROJ string, or a :class:`pyproj.CRS`.

    Returns
    -------
    str or pyproj.CRS
        :data:`GCJ02`, :data:`BD09`, or the pyproj CRS.

    Raises
    ------
    CRSError
        ``crs`` is ``None``, Baidu Mercator (``bd09mc``), or not understood by pyproj.

    Examples
    --------
    >>> normalize_crs("gcj02")
    'GCJ-02'
    >>> normalize_crs(4490).name
    'China Geodetic Coordinate System 2000'
    """
    if isinstance(crs, pyproj.CRS):
        return crs
    if crs is None:
        raise CRSError("crs is None: say which CRS the coordinates are in (e.g. 'EPSG:4326')")
    if isinstance(crs, str):
        key = crs.strip().lower()
        if key in _NAMED:
            return _NAMED[key]
        if key in _UNSUPPORTED:
            raise CRSError(
                f"crs {crs!r} (Baidu Mercator metres) is not supported; convert to BD-09 "
                "longitude/latitude ('BD-09') first"
            )
    if isinstance(crs, bool) or not isinstance(crs, str | int | np.integer):
        raise CRSError(f"crs must be a str, int or pyproj.CRS, not {type(crs).__name__}")
    return _pyproj_crs(crs if isinstance(crs, str) else int(crs))


@functools.lru_cache(maxsize=256)
def _pyproj_crs(crs: str | int) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(crs)
    except _PyprojCRSError as exc:
        raise CRSError(f"crs {crs!r} is not a CRS pyproj understands: {exc}") from None


def crs_to_string(crs: CRSLike) -> str:
    """Write a CRS as a string that :func:`normalize_crs` reads back to the same CRS.

    Parameters
    ----------
    crs : str, int or pyproj.CRS
        Any CRS :func:`normalize_crs` accepts.

    Returns
    -------
    str
        ``"GCJ-02"``, ``"BD-09"``, ``"EPSG:<code>"`` when the CRS is exactly an EPSG
        definition, otherwise its WKT2.

    Examples
    --------
    >>> crs_to_string(4326)
    'EPSG:4326'
    >>> crs_to_string("bd09")
    'BD-09'
    """
    norm = normalize_crs(crs)
    if isinstance(norm, str):
        return norm
    auth = norm.to_authority(min_confidence=100)
    if auth is not None:
        return f"{auth[0]}:{auth[1]}"
    return str(norm.to_wkt())


def crs_equal(a: CRSLike, b: CRSLike) -> bool:
    """Whether two CRS specifications name the same CRS.

    Parameters
    ----------
    a, b : str, int or pyproj.CRS
        Any CRS :func:`normalize_crs` accepts.

    Returns
    -------
    bool

    Examples
    --------
    >>> crs_equal("EPSG:4326", 4326), crs_equal("GCJ-02", 4326)
    (True, False)
    """
    na, nb = normalize_crs(a), normalize_crs(b)
    if isinstance(na, str) or isinstance(nb, str):
        return isinstance(na, str) and isinstance(nb, str) and na == nb
    return bool(na == nb)


def is_geographic(crs: CRSLike) -> bool:
    """Whether coordinates in ``crs`` are longitude/latitude degrees (GCJ-02 and BD-09 are).

    Parameters
    ----------
    crs : str, int or pyproj.CRS
        Any CRS :func:`normalize_crs` accepts.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_geographic("BD-09"), is_geographic(4547)
    (True, False)
    """
    norm = normalize_crs(crs)
    return True if isinstance(norm, str) else bool(norm.is_geographic)


# pyproj CRS objects hash and compare through their WKT, which costs a millisecond;
# these caches key on the definition string instead.
_TRANSFORMERS: dict[tuple[str, str], pyproj.Transformer] = {}
_FACTS: dict[str, tuple[bool, bool, str, tuple[float, float, float, float] | None]] = {}


def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    key = (src.srs, dst.srs)
    tf = _TRANSFORMERS.get(key)
    if tf is None:
        tf = pyproj.Transformer.from_crs(src, dst, always_xy=True)
        if len(_TRANSFORMERS) < 256:
            _TRANSFORMERS[key] = tf
    return tf


_SAME: dict[tuple[str, str], bool] = {}


def _same_pyproj(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    """CRS equality, cached by definition strings ("4326" and "EPSG:4326" are equal)."""
    key = (a.srs, b.srs)
    same = _SAME.get(key)
    if same is None:
        same = a.srs == b.srs or bool(a == b)
        if len(_SAME) < 1024:
            _SAME[key] = same
    return same


def _facts(crs: pyproj.CRS) -> tuple[bool, bool, str, tuple[float, float, float, float] | None]:
    """(is_geographic, area is China, label, projected bounds of the area of use)."""
    facts = _FACTS.get(crs.srs)
    if facts is None:
        facts = (
            bool(crs.is_geographic),
            _area_is_china(crs),
            str(crs.name or "the CRS"),
            _projected_bounds(crs),
        )
        _FACTS[crs.srs] = facts
    return facts


def _projected_bounds(crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    """Bounds of the CRS's area of use in its own units, or None when it has none."""
    area = crs.area_of_use
    if area is None or not crs.is_projected:
        return None
    try:
        bounds = _transformer(_WGS84, crs).transform_bounds(*area.bounds, densify_pts=21)
    except Exception:  # any PROJ failure only means the check cannot be made
        return None
    if not all(math.isfinite(v) for v in bounds):
        return None
    return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))


# --------------------------------------------------------------------------- input checks


def _as_xy(x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    try:
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CoordinateError(f"coordinates must be numbers: {exc}") from None
    if xa.shape != ya.shape:
        raise CoordinateError(
            f"x and y have different shapes: {xa.shape} and {ya.shape}; pass one y per x"
        )
    return xa, ya


def _finite_range(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[float, float, float, float] | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    xs, ys = x[ok], y[ok]
    return float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())


def _in_china_range(lo_x: float, hi_x: float, lo_y: float, hi_y: float) -> bool:
    return (
        _CHINA_LON[0] <= lo_x
        and hi_x <= _CHINA_LON[1]
        and _CHINA_LAT[0] <= lo_y
        and hi_y <= _CHINA_LAT[1]
    )


def check_xy(x: ArrayLike, y: ArrayLike, *, crs: CRSLike) -> None:
    """Raise when coordinates obviously do not belong to the CRS they are said to be in.

    Only cases that cannot be right are reported; NaN and infinite values are ignored.

    * Degrees CRS (WGS84, CGCS2000, GCJ-02, BD-09), but a longitude beyond ±180 or a
      latitude beyond ±90: the values are metres of a projected CRS.
    * GCJ-02 or BD-09, or a geographic CRS whose area of use is China (e.g. 4490): every
      point lies outside China but would lie inside with ``x`` and ``y`` swapped.
    * Projected CRS, every point within ±180, ±90, and that box lies outside the CRS's
      area of use (as for Gauss-Krüger and UTM zones): the values are degrees.

    Parameters
    ----------
    x, y : array_like of float
        Coordinates, in ``crs`` (easting/northing or longitude/latitude, x first).
    crs : str, int or pyproj.CRS
        The CRS the caller says the coordinates are in.

    Raises
    ------
    CRSMismatchError
        The coordinates do not fit ``crs``; the message says what they look like.
    CoordinateError
        ``x`` and ``y`` have different shapes or are not numeric.

    Examples
    --------
    >>> check_xy([116.4], [39.9], crs=4326)
    >>> check_xy([39.9], [116.4], crs="GCJ-02")
    Traceback (most recent call last):
    ...
    urbangrid.errors.CRSMismatchError: ...swapped...
    """
    xa, ya = _as_xy(x, y)
    norm = normalize_crs(crs)
    rng = _finite_range(xa, ya)
    if rng is None:
        return
    lo_x, hi_x, lo_y, hi_y = rng
    if isinstance(norm, str):
        geographic, china_only, label, bounds = True, True, norm, None
    else:
        geographic, china_only, label, bounds = _facts(norm)
    if geographic:
        if (
            max(abs(lo_y), abs(hi_y)) > 90.0
            and max(abs(lo_y), abs(hi_y)) <= 180.0
            and max(abs(lo_x), abs(hi_x)) <= 90.0
        ):
            raise CRSMismatchError(
                f"coordinates said to be {label} have y (latitude) up to {hi_y:.6g} but x "
                f"within ±90: longitude and latitude look swapped; pass x=longitude, "
                "y=latitude"
            )
        if max(abs(lo_x), abs(hi_x)) > 180.0 or max(abs(lo_y), abs(hi_y)) > 90.0:
            raise CRSMismatchError(
                f"coordinates are said to be degrees ({label}) but reach x {lo_x:.6g}..{hi_x:.6g},"
                f" y {lo_y:.6g}..{hi_y:.6g}: they look like metres of a projected CRS; pass "
                "that CRS (e.g. crs='EPSG:4547' for CGCS2000 / 3-degree Gauss-Kruger CM 114E)"
            )
        if (
            china_only
            and not _overlaps_china(lo_x, hi_x, lo_y, hi_y)
            and _in_china_range(lo_y, hi_y, lo_x, hi_x)
        ):
            raise CRSMismatchError(
                f"coordinates said to be {label} lie outside China as (lon, lat) but inside it "
                "as (lat, lon): longitude and latitude look swapped; pass x=longitude, "
                "y=latitude"
            )
        return
    if (
        bounds is not None
        and max(abs(lo_x), abs(hi_x)) <= 180.0
        and max(abs(lo_y), abs(hi_y)) <= 90.0
    ):
        bx0, by0, bx1, by1 = bounds
        if bx1 < -180.0 or bx0 > 180.0 or by1 < -90.0 or by0 > 90.0:
            raise CRSMismatchError(
                f"coordinates are said to be in {label} (metres) but all lie within ±180, ±90 "
                f"(x {lo_x:.6g}..{hi_x:.6g}, y {lo_y:.6g}..{hi_y:.6g}), far outside the area "
                f"of that CRS (x {bx0:.0f}..{bx1:.0f}, y {by0:.0f}..{by1:.0f}): they look like "
                "longitude/latitude degrees; pass crs='EPSG:4326' (or 'GCJ-02'/'BD-09')"
            )


def _overlaps_china(lo_x: float, hi_x: float, lo_y: float, hi_y: float) -> bool:
    return not (
        hi_x < _CHINA_LON[0] or lo_x > _CHINA_LON[1] or hi_y < _CHINA_LAT[0] or lo_y > _CHINA_LAT[1]
    )


def _area_is_china(crs: pyproj.CRS) -> bool:
    area = crs.area_of_use
    if area is None:
        return False
    west, south, east, north = area.bounds
    return bool(west >= 70.0 and east <= 140.0 and south >= 0.0 and north <= 56.0)


# --------------------------------------------------------------------------- GCJ-02 / BD-09


def in_gcj02_area(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Whether points lie in the rectangle where the published GCJ-02 shift applies.

    Parameters
    ----------
    lon, lat : array_like of float
        Longitude and latitude in degrees (WGS84 or GCJ-02: the rectangle is coarse).

    Returns
    -------
    numpy.ndarray of bool
        False outside longitude 72.004-137.8347 / latitude 0.8293-55.8271 and for NaN.

    Examples
    --------
    >>> in_gcj02_area([116.4, -71.06], [39.9, 42.36]).tolist()
    [True, False]
    """
    x, y = _as_xy(lon, lat)
    return (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])


def _gcj_offset_scalar(lon: float, lat: float) -> tuple[float, float]:
    """The shift of one point with ``math``: a live single fix costs microseconds, not
    the tens of microseconds of NumPy's per-call overhead on one-element arrays."""
    if not (_CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]):
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
    magic = 1.0 - _GCJ_EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * math.cos(radlat) * pi)
    return dlon, dlat


def _gcj_offset(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The published GCJ-02 shift (degrees) at WGS84 points, zero outside the rectangle."""
    if lon.size == 1:
        dx, dy = _gcj_offset_scalar(float(lon.flat[0]), float(lat.flat[0]))
        return np.full(lon.shape, dx), np.full(lat.shape, dy)
    pi = math.pi
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = np.sin(radlat)
    magic = 1.0 - _GCJ_EE * magic * magic
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * np.cos(radlat) * pi)
    inside = in_gcj02_area(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Shift WGS84 longitude/latitude to GCJ-02 with the published algorithm.

    Parameters
    ----------
    lon, lat : array_like of float
        WGS84 (EPSG:4326) longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        GCJ-02 longitude and latitude, degrees. Points outside the GCJ-02 rectangle
        (:func:`in_gcj02_area`) are returned unchanged; NaN stays NaN.

    See Also
    --------
    transform_xy : the same conversion between any two supported CRS.
    gcj02_to_wgs84 : the inverse, solved iteratively.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02([116.391], [39.907])
    >>> round(float(lon[0]), 6), round(float(lat[0]), 6)
    (116.397241, 39.908401)
    """
    x, y = _as_xy(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    return x + dlon, y + dlat


def _solve_inverse(
    forward: object,
    tx: NDArray[np.float64],
    ty: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Fixed-point iteration x <- x - (forward(x) - target) until within tolerance.

    Both shifts vary by far less than their own size across their own size (the
    Jacobian of the shift is ~1e-3 or smaller), so the iteration contracts fast: three
    or four rounds reach 1e-12 degrees.
    """
    shape = x.shape
    x = x.reshape(-1).copy()
    y = y.reshape(-1).copy()
    tx = tx.reshape(-1)
    ty = ty.reshape(-1)
    active = np.flatnonzero(np.isfinite(tx) & np.isfinite(ty))
    for _ in range(_INVERSE_MAX_ITER):
        if active.size == 0:
            break
        fx, fy = forward(x[active], y[active])  # type: ignore[operator]
        ex = fx - tx[active]
        ey = fy - ty[active]
        x[active] -= ex
        y[active] -= ey
        # Iterate past the documented tolerance: each round costs little and the
        # contraction is so strong that one more round gains several digits.
        step = np.maximum(np.abs(ex), np.abs(ey))
        active = active[step > _INVERSE_TOL_DEG * 0.01]
    return x.reshape(shape), y.reshape(shape)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Invert the GCJ-02 shift: GCJ-02 longitude/latitude to WGS84.

    The inverse is solved by fixed-point iteration, so that shifting the answer with
    :func:`wgs84_to_gcj02` gives back the input to within 1e-9 degrees (about 0.1 mm);
    the usual one-step formula is only good to about 1e-6 degrees (0.1 m).

    Parameters
    ----------
    lon, lat : array_like of float
        GCJ-02 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        WGS84 (EPSG:4326) longitude and latitude, degrees. Points outside the GCJ-02
        rectangle are returned unchanged; NaN stays NaN.

    See Also
    --------
    wgs84_to_gcj02 : the forward shift this inverts.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84([116.397241], [39.908401])
    >>> round(float(lon[0]), 5), round(float(lat[0]), 5)
    (116.391, 39.907)
    """
    x, y = _as_xy(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    wx, wy = _solve_inverse(wgs84_to_gcj02, x, y, x - dlon, y - dlat)
    outside = ~in_gcj02_area(x, y)
    wx[outside] = x[outside]
    wy[outside] = y[outside]
    return wx, wy


def gcj02_to_bd09(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Shift GCJ-02 longitude/latitude to Baidu BD-09 with the published formula.

    Parameters
    ----------
    lon, lat : array_like of float
        GCJ-02 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        BD-09 longitude and latitude, degrees (about +0.0065, +0.006 from GCJ-02).

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09([116.397241], [39.908401])
    >>> round(float(lon[0]), 5), round(float(lat[0]), 5)
    (116.40361, 39.91474)
    """
    x, y = _as_xy(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_XPI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Invert the BD-09 shift: Baidu BD-09 longitude/latitude to GCJ-02.

    Starts from the usual closed-form approximation (good to about 1e-6 degrees) and
    refines it by fixed-point iteration to within 1e-9 degrees of an exact inverse of
    :func:`gcj02_to_bd09`.

    Parameters
    ----------
    lon, lat : array_like of float
        BD-09 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        GCJ-02 longitude and latitude, degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_gcj02([116.403614], [39.914744])
    >>> round(float(lon[0]), 5), round(float(lat[0]), 5)
    (116.39724, 39.9084)
    """
    bx, by = _as_xy(lon, lat)
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_XPI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_XPI)
    return _solve_inverse(gcj02_to_bd09, bx, by, z * np.cos(theta), z * np.sin(theta))


def wgs84_to_bd09(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 longitude/latitude to Baidu BD-09 (through GCJ-02).

    Parameters
    ----------
    lon, lat : array_like of float
        WGS84 (EPSG:4326) longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        BD-09 longitude and latitude, degrees.

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09([116.391], [39.907])
    >>> round(float(lon[0]), 4), round(float(lat[0]), 4)
    (116.4036, 39.9147)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Baidu BD-09 longitude/latitude to WGS84 (through GCJ-02, both steps iterative).

    Parameters
    ----------
    lon, lat : array_like of float
        BD-09 longitude and latitude, degrees.

    Returns
    -------
    lon, lat : numpy.ndarray of float64
        WGS84 (EPSG:4326) longitude and latitude, degrees.

    Examples
    --------
    >>> lon, lat = bd09_to_wgs84([116.403614], [39.914744])
    >>> round(float(lon[0]), 5), round(float(lat[0]), 5)
    (116.391, 39.907)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# --------------------------------------------------------------------------- any to any


def transform_xy(
    x: ArrayLike,
    y: ArrayLike,
    *,
    crs: CRSLike,
    to_crs: CRSLike,
    check: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Transform coordinate arrays from one supported CRS to another.

    pyproj handles pairs of pyproj CRS directly. When GCJ-02 or BD-09 is on either
    side, the path goes through WGS84 longitude/latitude (EPSG:4326), on which both are
    defined.

    Parameters
    ----------
    x, y : array_like of float
        Coordinates in ``crs``: easting/northing (metres or the CRS's unit) or
        longitude/latitude (degrees), ``x`` first whatever the CRS's axis order.
    crs : str, int or pyproj.CRS
        CRS of the input (see :func:`normalize_crs`).
    to_crs : str, int or pyproj.CRS
        CRS of the output.
    check : bool, default True
        Run :func:`check_xy` on the input first, so that metres given as degrees,
        degrees given as metres, and swapped longitude/latitude raise instead of giving
        silently wrong results.

    Returns
    -------
    x, y : numpy.ndarray of float64
        Coordinates in ``to_crs``, same shape as the input. NaN gives NaN.

    Raises
    ------
    CRSError
        A CRS is not understood, or pyproj cannot transform between them.
    CRSMismatchError
        With ``check=True``, the input does not fit ``crs``.
    CoordinateError
        ``x`` and ``y`` differ in shape.

    See Also
    --------
    check_xy : the plausibility checks applied to the input.
    urbangrid.spatial.index.GridIndex.locate_many : takes ``crs=`` and calls this.

    Examples
    --------
    >>> x, y = transform_xy([116.397241], [39.908401], crs="GCJ-02", to_crs="BD-09")
    >>> round(float(x[0]), 5), round(float(y[0]), 5)
    (116.40361, 39.91474)
    >>> x, y = transform_xy([114.0], [22.5], crs=4326, to_crs=4547)
    >>> round(float(x[0])), round(float(y[0]))
    (500000, 2489167)
    """
    xa, ya = _as_xy(x, y)
    src = normalize_crs(crs)
    dst = normalize_crs(to_crs)
    if check:
        check_xy(xa, ya, crs=src)
    # Compare names only as strings: pyproj's CRS.__eq__ would try to parse "GCJ-02".
    src_name = src if isinstance(src, str) else None
    dst_name = dst if isinstance(dst, str) else None
    if isinstance(src, pyproj.CRS) and isinstance(dst, pyproj.CRS):
        return _pyproj_transform(xa, ya, src, dst)
    if src_name is not None and src_name == dst_name:
        return xa.copy(), ya.copy()
    if src_name == GCJ02 and dst_name == BD09:
        return gcj02_to_bd09(xa, ya)
    if src_name == BD09 and dst_name == GCJ02:
        return bd09_to_gcj02(xa, ya)
    if src_name == GCJ02:
        lon, lat = gcj02_to_wgs84(xa, ya)
    elif src_name == BD09:
        lon, lat = bd09_to_wgs84(xa, ya)
    else:
        assert isinstance(src, pyproj.CRS)
        lon, lat = _pyproj_transform(xa, ya, src, _WGS84)
    if dst_name == GCJ02:
        return wgs84_to_gcj02(lon, lat)
    if dst_name == BD09:
        return wgs84_to_bd09(lon, lat)
    assert isinstance(dst, pyproj.CRS)
    return _pyproj_transform(lon, lat, _WGS84, dst)


def _pyproj_transform(
    x: NDArray[np.float64], y: NDArray[np.float64], src: pyproj.CRS, dst: pyproj.CRS
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if _same_pyproj(src, dst):
        return x.copy(), y.copy()
    try:
        tx, ty = _transformer(src, dst).transform(x, y, errcheck=False)
    except _PyprojCRSError as exc:
        raise CRSError(f"cannot transform from {src.name!r} to {dst.name!r}: {exc}") from None
    tx = np.asarray(tx, dtype=np.float64).reshape(x.shape)
    ty = np.asarray(ty, dtype=np.float64).reshape(y.shape)
    # PROJ reports points it cannot transform as inf; callers treat NaN as "no point".
    tx[~np.isfinite(tx)] = np.nan
    ty[~np.isfinite(ty)] = np.nan
    return tx, ty
