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
northing or latitude, whatever the axis order of the CRS definition. One exception:
longitude/latitude (GCJ-02, BD-09, or degrees on the same datum) to a transverse Mercator
(Gauss-Krüger, UTM) is computed by the compiled Krüger series (``_tmerc.h``, as PROJ's
``tmerc``), within a few nanometres of pyproj, where a check against pyproj at setup
allows it (:func:`locate_route`): arrays, single points and the index's locate call then
give the same numbers.

Accuracy
--------
The forward formulas (WGS84 → GCJ-02, GCJ-02 → BD-09) are the published ones and are
reproduced to the last bit of double precision. Their inverses have no closed form: they
are solved by Newton steps (GCJ-02, with the shift's exact derivatives) or fixed-point
iteration (BD-09) until the forward image of the answer is within
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

Arrays and single points
------------------------
The GCJ-02 and BD-09 formulas are written once, for one point, in
:mod:`urbangrid.spatial.crs._kernels` (C, compiled when the package is installed); the
array functions run them in a compiled loop. :func:`point_transformer` /
:func:`transform_point` serve live cases one point at a time (well under a microsecond
for GCJ-02 ↔ WGS84, against 20-70 µs for :func:`transform_xy` on one-element arrays)
with the same numbers, bit for bit. Nothing is compiled at run time.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from types import ModuleType
from typing import TypeAlias, cast

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray
from pyproj.exceptions import CRSError as _PyprojCRSError

from urbangrid.errors import CoordinateError, CRSError, CRSMismatchError

__all__ = [
    "BD09",
    "GCJ02",
    "CRSLike",
    "PointTransform",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_xy",
    "crs_equal",
    "crs_to_string",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_gcj02_area",
    "is_geographic",
    "locate_route",
    "normalize_crs",
    "phone_route",
    "point_transformer",
    "transform_point",
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

# The rectangle of the published GCJ-02 algorithm (also read by the compiled kernels).
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

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
# these caches key on the definition string (``crs.srs``) instead: an immutable key
# that names the CRS exactly (pyproj pickles a CRS as that string and rebuilds it
# from it, as :func:`_pyproj_crs` does here).


def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return _transformer_between(src.srs, dst.srs)


@functools.lru_cache(maxsize=256)
def _transformer_between(src_srs: str, dst_srs: str) -> pyproj.Transformer:
    """The ``always_xy`` transformer between two CRS given by definition strings."""
    return pyproj.Transformer.from_crs(_pyproj_crs(src_srs), _pyproj_crs(dst_srs), always_xy=True)


def _same_pyproj(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    """CRS equality, cached by definition strings ("4326" and "EPSG:4326" are equal)."""
    return a.srs == b.srs or _same_definition(a.srs, b.srs)


@functools.lru_cache(maxsize=1024)
def _same_definition(a_srs: str, b_srs: str) -> bool:
    return bool(_pyproj_crs(a_srs) == _pyproj_crs(b_srs))


def _facts(crs: pyproj.CRS) -> tuple[bool, bool, str, tuple[float, float, float, float] | None]:
    """(is_geographic, area is China, label, projected bounds of the area of use)."""
    return _facts_of(crs.srs)


@functools.lru_cache(maxsize=256)
def _facts_of(srs: str) -> tuple[bool, bool, str, tuple[float, float, float, float] | None]:
    crs = _pyproj_crs(srs)
    return (
        bool(crs.is_geographic),
        _area_is_china(crs),
        str(crs.name or "the CRS"),
        _projected_bounds(crs),
    )


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
    if isinstance(norm, str):
        geographic, china_only, label, bounds = True, True, norm, None
    else:
        geographic, china_only, label, bounds = _facts(norm)
    if geographic:
        _check_degrees(rng, label, china_only=china_only)
    elif bounds is not None:
        _check_metres(rng, label, bounds)


def _check_degrees(rng: tuple[float, float, float, float], label: str, *, china_only: bool) -> None:
    """:func:`check_xy` for a longitude/latitude CRS; ``rng`` is (lo_x, hi_x, lo_y, hi_y)."""
    lo_x, hi_x, lo_y, hi_y = rng
    if (
        max(abs(lo_y), abs(hi_y)) > 90.0
        and max(abs(lo_y), abs(hi_y)) <= 180.0
        and max(abs(lo_x), abs(hi_x)) <= 90.0
    ):
        raise CRSMismatchError(
            f"coordinates said to be {label} have y (latitude) up to {hi_y:.6g} but x "
            f"within ±90: longitude and latitude look swapped; give longitude first "
            "(x=, or --x for a CSV) and latitude second"
        )
    if max(abs(lo_x), abs(hi_x)) > 180.0 or max(abs(lo_y), abs(hi_y)) > 90.0:
        raise CRSMismatchError(
            f"coordinates are said to be degrees ({label}) but reach x {lo_x:.6g}..{hi_x:.6g},"
            f" y {lo_y:.6g}..{hi_y:.6g}: they look like metres of a projected CRS; give "
            "that CRS with --crs (crs=), e.g. EPSG:4547 for CGCS2000 / 3-degree Gauss-Kruger "
            "CM 114E"
        )
    if (
        china_only
        and not _overlaps_china(lo_x, hi_x, lo_y, hi_y)
        and _in_china_range(lo_y, hi_y, lo_x, hi_x)
    ):
        raise CRSMismatchError(
            f"coordinates said to be {label} lie outside China as (lon, lat) but inside it "
            "as (lat, lon): longitude and latitude look swapped; give longitude first "
            "(x=, or --x for a CSV) and latitude second"
        )


def _check_metres(
    rng: tuple[float, float, float, float],
    label: str,
    bounds: tuple[float, float, float, float],
) -> None:
    """:func:`check_xy` for a projected CRS whose area of use is ``bounds`` (its units)."""
    lo_x, hi_x, lo_y, hi_y = rng
    if max(abs(lo_x), abs(hi_x)) > 180.0 or max(abs(lo_y), abs(hi_y)) > 90.0:
        return
    bx0, by0, bx1, by1 = bounds
    if bx1 < -180.0 or bx0 > 180.0 or by1 < -90.0 or by0 > 90.0:
        raise CRSMismatchError(
            f"coordinates are said to be in {label} (metres) but all lie within ±180, ±90 "
            f"(x {lo_x:.6g}..{hi_x:.6g}, y {lo_y:.6g}..{hi_y:.6g}), far outside the area "
            f"of that CRS (x {bx0:.0f}..{bx1:.0f}, y {by0:.0f}..{by1:.0f}): they look like "
            "longitude/latitude degrees; give --crs (crs=) EPSG:4326 (or GCJ-02, BD-09)"
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


def _kernels() -> ModuleType:
    """The compiled formulas (an extension module built at install), imported on first use."""
    import urbangrid.spatial.crs._kernels as kernels

    return kernels


def _map_points(
    op: str, lon: ArrayLike, lat: ArrayLike, tmerc: TMercParams | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Run one compiled point formula over arrays of any shape (the shape is kept), then
    the transverse Mercator ``tmerc`` when given. ``op``: its name in the kernels
    (``"GCJ02_TO_WGS84"``), or a route of :func:`locate_route` (``"gcj02"``)."""
    x, y = _as_xy(lon, lat)
    k = _kernels()
    ox, oy = k.map_points(
        k.ROUTE_OPS[op] if op in k.ROUTE_OPS else getattr(k, op),
        np.ascontiguousarray(x).reshape(-1),
        np.ascontiguousarray(y).reshape(-1),
        tmerc=tmerc,
    )
    return ox.reshape(x.shape), oy.reshape(y.shape)


ArrayFormula: TypeAlias = Callable[
    [ArrayLike, ArrayLike], tuple[NDArray[np.float64], NDArray[np.float64]]
]
"""``f(lon, lat) -> (lon, lat)``: one of the GCJ-02/BD-09 formulas over arrays."""

_WGS84_LABEL = "WGS84 (EPSG:4326)"

_FORMULA_DOC = """{summary}
{notes}
Parameters
----------
lon, lat : array_like of float
    {src} longitude and latitude, degrees.

Returns
-------
lon, lat : numpy.ndarray of float64
    {dst} longitude and latitude, degrees{returned}
{see_also}
Examples
--------
>>> lon, lat = {name}([{lon}], [{lat}])
>>> round(float(lon[0]), {digits}), round(float(lat[0]), {digits})
{expected}
"""


def _array_formula(
    op: str, summary: str, src: str, dst: str, example: str, **text: str
) -> ArrayFormula:
    """The public array function running the compiled point formula ``op`` (e.g.
    ``WGS84_TO_GCJ02``), with its docstring: ``summary``, then ``text['notes']``, the
    CRS ``src`` and ``dst``, ``text['returned']`` (after "degrees") and
    ``text['see_also']``; ``example`` is "lon, lat, digits -> expected output"."""
    name = op.lower()

    def formula(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return _map_points(op, lon, lat)

    inputs, expected = example.split(" -> ")
    lon, lat, digits = inputs.split(", ")
    see_also = text.get("see_also", "")
    formula.__name__ = formula.__qualname__ = name
    formula.__doc__ = _FORMULA_DOC.format(
        summary=summary, notes=text.get("notes", ""), src=src, dst=dst, name=name, lon=lon,
        lat=lat, digits=digits, expected=expected, returned=text.get("returned", "."),
        see_also=f"\nSee Also\n--------\n{see_also}" if see_also else "",
    )  # fmt: skip
    return formula


wgs84_to_gcj02 = _array_formula(
    "WGS84_TO_GCJ02",
    "Shift WGS84 longitude/latitude to GCJ-02 with the published algorithm.",
    _WGS84_LABEL,
    "GCJ-02",
    "116.391, 39.907, 6 -> (116.397241, 39.908401)",
    returned=". Points outside the GCJ-02 rectangle\n    (:func:`in_gcj02_area`) are "
    "returned unchanged; NaN stays NaN.",
    see_also="transform_xy : the same conversion between any two supported CRS.\n"
    "gcj02_to_wgs84 : the inverse, solved iteratively.\n",
)

gcj02_to_wgs84 = _array_formula(
    "GCJ02_TO_WGS84",
    "Invert the GCJ-02 shift: GCJ-02 longitude/latitude to WGS84.",
    "GCJ-02",
    _WGS84_LABEL,
    "116.397241, 39.908401, 5 -> (116.391, 39.907)",
    notes="\nThe inverse is solved by Newton steps, so that shifting the answer with\n"
    ":func:`wgs84_to_gcj02` gives back the input to within 1e-9 degrees (about 0.1 mm);\n"
    "the usual one-step formula is only good to about 1e-6 degrees (0.1 m).\n",
    returned=". Points outside the GCJ-02\n    rectangle are returned unchanged; NaN stays NaN.",
    see_also="wgs84_to_gcj02 : the forward shift this inverts.\n",
)

gcj02_to_bd09 = _array_formula(
    "GCJ02_TO_BD09",
    "Shift GCJ-02 longitude/latitude to Baidu BD-09 with the published formula.",
    "GCJ-02",
    "BD-09",
    "116.397241, 39.908401, 5 -> (116.40361, 39.91474)",
    returned=" (about +0.0065, +0.006 from GCJ-02).",
)

bd09_to_gcj02 = _array_formula(
    "BD09_TO_GCJ02",
    "Invert the BD-09 shift: Baidu BD-09 longitude/latitude to GCJ-02.",
    "BD-09",
    "GCJ-02",
    "116.403614, 39.914744, 5 -> (116.39724, 39.9084)",
    notes="\nStarts from the usual closed-form approximation (good to about 1e-6 degrees) "
    "and\nrefines it by fixed-point iteration to within 1e-9 degrees of an exact inverse "
    "of\n:func:`gcj02_to_bd09`.\n",
)

wgs84_to_bd09 = _array_formula(
    "WGS84_TO_BD09",
    "WGS84 longitude/latitude to Baidu BD-09 (through GCJ-02).",
    _WGS84_LABEL,
    "BD-09",
    "116.391, 39.907, 4 -> (116.4036, 39.9147)",
)

bd09_to_wgs84 = _array_formula(
    "BD09_TO_WGS84",
    "Baidu BD-09 longitude/latitude to WGS84 (through GCJ-02, both steps iterative).",
    "BD-09",
    _WGS84_LABEL,
    "116.403614, 39.914744, 5 -> (116.391, 39.907)",
)


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
    urbangrid.spatial.index.engine.GridIndex.locate_many : takes ``crs=`` and calls this.

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
    route = locate_route(src, dst)
    if route is not None and route[1] is not None:  # degrees to Gauss-Krüger: compiled
        return _map_points(route[0], xa, ya, route[1])
    if isinstance(src, pyproj.CRS) and isinstance(dst, pyproj.CRS):
        return _pyproj_transform(xa, ya, src, dst)
    return _transform_named(xa, ya, src, dst)


def _transform_named(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    src: str | pyproj.CRS,
    dst: str | pyproj.CRS,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`transform_xy` when GCJ-02 or BD-09 is on a side: through WGS84 degrees."""
    # Compare names only as strings: pyproj's CRS.__eq__ would try to parse "GCJ-02".
    src_name = src if isinstance(src, str) else None
    dst_name = dst if isinstance(dst, str) else None
    if src_name is not None and src_name == dst_name:
        return x.copy(), y.copy()
    if src_name == GCJ02 and dst_name == BD09:
        return gcj02_to_bd09(x, y)
    if src_name == BD09 and dst_name == GCJ02:
        return bd09_to_gcj02(x, y)
    if src_name == GCJ02:
        lon, lat = gcj02_to_wgs84(x, y)
    elif src_name == BD09:
        lon, lat = bd09_to_wgs84(x, y)
    else:
        assert isinstance(src, pyproj.CRS)
        lon, lat = _pyproj_transform(x, y, src, _WGS84)
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


# --------------------------------------------------------------------------- one point

PointTransform: TypeAlias = Callable[[float, float], tuple[float, float]]
"""A function ``(x, y) -> (x, y)`` taking and giving one point as floats."""


def transform_point(
    x: float, y: float, *, crs: CRSLike, to_crs: CRSLike, check: bool = True
) -> tuple[float, float]:
    """Transform one point: :func:`transform_xy` for two floats, in about a microsecond.

    Parameters
    ----------
    x, y : float
        The point in ``crs``: easting/northing or longitude/latitude (degrees), x first.
    crs, to_crs : str, int or pyproj.CRS
        CRS of the point and of the answer (see :func:`normalize_crs`).
    check : bool, default True
        Raise :class:`~urbangrid.errors.CRSMismatchError` when the point obviously does
        not belong to ``crs``, as :func:`check_xy` does.

    Returns
    -------
    x, y : float
        The point in ``to_crs``; the same numbers :func:`transform_xy` gives. NaN when
        the input is NaN or pyproj cannot transform it.

    Raises
    ------
    CRSError, CRSMismatchError, CoordinateError
        As :func:`transform_xy`.

    See Also
    --------
    point_transformer : the function this calls, to keep when many single points come.

    Examples
    --------
    >>> x, y = transform_point(116.397241, 39.908401, crs="GCJ-02", to_crs=4326)
    >>> round(x, 5), round(y, 5)
    (116.391, 39.907)
    """
    return point_transformer(crs, to_crs, check=check)(x, y)


def point_transformer(crs: CRSLike, to_crs: CRSLike, *, check: bool = True) -> PointTransform:
    """A function transforming one point from ``crs`` to ``to_crs``, for live cases.

    The function takes two floats and returns two: cached pyproj transformers
    (``always_xy=True``) called on floats, the compiled GCJ-02/BD-09 formulas that the
    array functions also run (same numbers bit for bit), and nothing at all when the
    two CRS are the same, and the compiled Krüger series from degrees (GCJ-02, BD-09,
    WGS84/CGCS2000) to a Gauss-Krüger zone (:func:`locate_route`). Functions are cached
    per CRS pair, so calling this for every point is cheap; keeping the function is
    cheaper still (about 1 µs a point through pyproj, well under that from GCJ-02 to a
    Gauss-Krüger zone).

    Parameters
    ----------
    crs, to_crs : str, int or pyproj.CRS
        CRS of the input and of the output (see :func:`normalize_crs`).
    check : bool, default True
        Check each point as :func:`check_xy` does (a few comparisons; the full check
        only runs for points outside the plausible range, and raises if they are
        implausible).

    Returns
    -------
    callable
        ``f(x, y) -> (x, y)``; raises :class:`~urbangrid.errors.CoordinateError` for
        values that are not numbers.

    Raises
    ------
    CRSError
        A CRS is not understood.

    Examples
    --------
    >>> to_gk = point_transformer("EPSG:4490", "EPSG:4548")
    >>> x, y = to_gk(117.05, 22.54)
    >>> round(x), round(y)
    (505143, 2493598)
    """
    src = normalize_crs(crs)
    dst = normalize_crs(to_crs)
    return _point_transform_between(_definition(src), _definition(dst), bool(check))


def _definition(crs: str | pyproj.CRS) -> str:
    # GCJ-02 and BD-09 cannot clash with a pyproj definition string.
    return crs if isinstance(crs, str) else crs.srs


def _from_definition(definition: str) -> str | pyproj.CRS:
    return definition if definition in (GCJ02, BD09) else _pyproj_crs(definition)


@functools.lru_cache(maxsize=256)
def _point_transform_between(src: str, dst: str, check: bool) -> PointTransform:
    """:func:`point_transformer` by definition strings (hashing a pyproj.CRS hashes its WKT)."""
    return _build_point_transform(_from_definition(src), _from_definition(dst), check=check)


def _build_point_transform(
    src: str | pyproj.CRS, dst: str | pyproj.CRS, *, check: bool
) -> PointTransform:
    """Chain of point steps following :func:`transform_xy`'s route between ``src``, ``dst``."""
    route = locate_route(src, dst)
    if route is not None and route[1] is not None:  # degrees to Gauss-Krüger: compiled
        k = _kernels()
        steps = [k.PointRoute(k.ROUTE_OPS[route[0]], route[1]).apply]
    elif isinstance(src, pyproj.CRS) and isinstance(dst, pyproj.CRS):
        steps = _pyproj_point(src, dst)
    elif isinstance(src, str) and isinstance(dst, str):
        steps = [_compiled_point(name) for name in _KERNEL_ROUTES.get((src, dst), ())]
    else:
        # Through WGS84, on which GCJ-02 and BD-09 are defined.
        steps = (
            [_compiled_point(name) for name in _KERNEL_ROUTES[(src, "WGS84")]]
            if isinstance(src, str)
            else _pyproj_point(src, _WGS84)
        ) + (
            [_compiled_point(name) for name in _KERNEL_ROUTES[("WGS84", dst)]]
            if isinstance(dst, str)
            else _pyproj_point(_WGS84, dst)
        )
    run = _chain(steps)
    plausible = _plausible_box(src) if check else None
    if plausible is None:

        def unchecked(x: float, y: float) -> tuple[float, float]:
            return run(*_floats(x, y))

        return unchecked
    lo_x, hi_x, lo_y, hi_y, inside_ok = plausible

    def checked(x: float, y: float) -> tuple[float, float]:
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            x, y = _floats(x, y)  # raises CoordinateError
        # Points in the box (or outside it, for a projected CRS whose area lies far
        # from the degree ranges) cannot fail check_xy; the rest get the full check,
        # which raises or lets them pass (NaN, a Boston point in 4490).
        if (lo_x <= x <= hi_x and lo_y <= y <= hi_y) is not inside_ok:
            check_xy((x,), (y,), crs=src)
        return run(x, y)

    return checked


# Kernels of _kernels, in order, between the named CRS and WGS84 (and each other).
_KERNEL_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    (GCJ02, "WGS84"): ("gcj02_to_wgs84",),
    (BD09, "WGS84"): ("bd09_to_wgs84",),
    ("WGS84", GCJ02): ("wgs84_to_gcj02",),
    ("WGS84", BD09): ("wgs84_to_bd09",),
    (GCJ02, BD09): ("gcj02_to_bd09",),
    (BD09, GCJ02): ("bd09_to_gcj02",),
}


def _floats(x: float, y: float) -> tuple[float, float]:
    try:
        return float(x), float(y)
    except (TypeError, ValueError) as exc:
        raise CoordinateError(f"coordinates must be numbers: {exc}") from None


def _plausible_box(
    crs: str | pyproj.CRS,
) -> tuple[float, float, float, float, bool] | None:
    """``(lo_x, hi_x, lo_y, hi_y, inside_ok)``: a point passes :func:`check_xy` for sure
    when it is inside the box (``inside_ok``) or outside it (not ``inside_ok``); None
    when no point can fail."""
    if isinstance(crs, str):
        geographic, china_only, bounds = True, True, None
    else:
        geographic, china_only, _, bounds = _facts(crs)
    if geographic:
        if china_only:
            return (*_CHINA_LON, *_CHINA_LAT, True)
        return (-180.0, 180.0, -90.0, 90.0, True)
    if bounds is None:
        return None
    bx0, by0, bx1, by1 = bounds
    if bx1 < -180.0 or bx0 > 180.0 or by1 < -90.0 or by0 > 90.0:
        # check_xy's "degrees given as metres" case: only points within ±180, ±90 fail.
        return (-180.0, 180.0, -90.0, 90.0, False)
    return None


def _chain(steps: list[PointTransform]) -> PointTransform:
    if not steps:
        return lambda x, y: (x, y)
    if len(steps) == 1:
        return steps[0]
    first, rest = steps[0], _chain(steps[1:])
    return lambda x, y: rest(*first(x, y))


def _compiled_point(name: str) -> PointTransform:
    """The compiled point kernel ``name``: two floats in, a tuple out (~0.1 µs a call)."""
    return cast(PointTransform, getattr(_kernels(), name))


def phone_route(src: CRSLike, dst: CRSLike) -> str | None:
    """``"gcj02"`` or ``"bd09"`` when ``src`` is that datum and ``dst`` is WGS84 itself
    (or CGCS2000 degrees, which this module treats as WGS84), so that one compiled
    formula is the whole transform; None otherwise.

    :class:`urbangrid.spatial.index.GridIndex` then converts phone coordinates inside its
    compiled locate call. The degree-index case of :func:`locate_route`.
    """
    route = locate_route(src, dst)
    return route[0] if route is not None and route[1] is None else None


TMercParams: TypeAlias = tuple[float, float, float, float, float, float]
"""A transverse Mercator for the compiled kernels: semi-major axis (metres), flattening,
central meridian (degrees), scale on it, false easting and northing (metres)."""

# The compiled projection replaces pyproj only where they agree to this (metres) at
# every sample point; the Krüger series agrees to a few nanometres.
_TMERC_CHECK_M = 1e-5


def locate_route(src: CRSLike, dst: CRSLike) -> tuple[str, TMercParams | None] | None:
    """How a compiled locate call takes points in ``src`` for an index in ``dst``.

    ``(route, tmerc)``: ``route`` is ``"gcj02"``, ``"bd09"`` or ``"lonlat"`` (the
    formula taking ``src`` longitude/latitude to WGS84, none for ``"lonlat"``) and
    ``tmerc`` the transverse Mercator (Gauss-Krüger, UTM) taking those degrees to ``dst``
    metres, or None when ``dst`` is WGS84 degrees itself (:func:`phone_route`). Only
    where pyproj's own transform is that projection and nothing else (no datum shift,
    easting first, metres), checked against pyproj at sample points of ``dst``'s area to
    0.01 mm; None otherwise, and pyproj is called per point.

    :class:`urbangrid.spatial.index.GridIndex` then answers such points in one compiled
    call (about a quarter of a microsecond for conversion and projection together), and
    :func:`transform_xy` and :func:`point_transformer` take the same compiled route, so
    single points and arrays get the same numbers.
    """
    s, d = normalize_crs(src), normalize_crs(dst)
    if isinstance(d, str):
        return None
    if isinstance(s, str):
        route, geo = ("gcj02" if s == GCJ02 else "bd09"), _WGS84
    elif _is_degrees(s):
        route, geo = "lonlat", s
    else:
        return None
    if not _pyproj_point(geo, d):
        return None if route == "lonlat" else (route, None)
    tmerc = _tmerc_between(geo.srs, d.srs)
    return None if tmerc is None else (route, tmerc)


def _is_degrees(crs: pyproj.CRS) -> bool:
    """A 2-D longitude/latitude CRS in degrees (CGCS2000 4490, WGS84 4326, ...)."""
    axes = crs.axis_info
    return bool(crs.is_geographic) and len(axes) == 2 and all(a.unit_name == "degree" for a in axes)


@functools.lru_cache(maxsize=64)
def _tmerc_between(src_srs: str, dst_srs: str) -> TMercParams | None:
    """The compiled transverse Mercator for pyproj's ``src`` → ``dst`` (degrees to
    metres), when it agrees with pyproj at sample points of ``dst``'s area; else None."""
    dst = _pyproj_crs(dst_srs)
    params = _tmerc_params(dst)
    if params is None:
        return None
    area = dst.area_of_use
    w, so, e, n = area.bounds if area is not None else (params[2] - 3.0, 0.0, params[2] + 3.0, 60.0)
    grid_lon, grid_lat = np.meshgrid(
        np.clip(np.linspace(w, e, 9), params[2] - 79.0, params[2] + 79.0),
        np.clip(np.linspace(so, n, 9), -85.0, 85.0),
    )
    lon, lat = grid_lon.ravel(), grid_lat.ravel()
    x, y = _kernels().tmerc_forward(params, lon, lat)
    try:
        px, py = _transformer(_pyproj_crs(src_srs), dst).transform(lon, lat, errcheck=True)
    except Exception:  # any PROJ failure only means the compiled path is not taken
        return None
    err = max(float(np.abs(x - px).max()), float(np.abs(y - py).max()))
    return params if err < _TMERC_CHECK_M else None


def _tmerc_params(crs: pyproj.CRS) -> TMercParams | None:
    """The transverse Mercator of a projected CRS (EPSG method 9807, origin on the
    equator, degrees and metres), or None."""
    op = crs.coordinate_operation
    ellps = crs.ellipsoid
    if not crs.is_projected or op is None or ellps is None or str(op.method_code) != "9807":
        return None
    if ellps.inverse_flattening == 0 or any(a.unit_conversion_factor != 1.0 for a in crs.axis_info):
        return None
    units = {"degree": 1, "metre": 1, "unity": 1}
    values = {p.name: p.value for p in op.params if units.get(p.unit_name)}
    try:
        if values["Latitude of natural origin"] != 0.0:
            return None
        return (
            float(ellps.semi_major_metre),
            1.0 / float(ellps.inverse_flattening),
            float(values["Longitude of natural origin"]),
            float(values["Scale factor at natural origin"]),
            float(values["False easting"]),
            float(values["False northing"]),
        )
    except KeyError:
        return None


def _pyproj_point(src: pyproj.CRS, dst: pyproj.CRS) -> list[PointTransform]:
    """The pyproj step between two CRS as a one-point function (none when equal)."""
    if _same_pyproj(src, dst):
        return []
    transform = _transformer(src, dst).transform
    isfinite = math.isfinite
    nan = math.nan

    def step(x: float, y: float) -> tuple[float, float]:
        try:
            tx, ty = transform(x, y)
        except _PyprojCRSError as exc:
            raise CRSError(f"cannot transform from {src.name!r} to {dst.name!r}: {exc}") from None
        # As transform_xy: PROJ reports points it cannot transform as inf.
        return (tx if isfinite(tx) else nan), (ty if isfinite(ty) else nan)

    return [step]
