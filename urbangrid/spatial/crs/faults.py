"""Row-by-row coordinate checks (坐标核查): what is obviously wrong with each point.

The per-row form of :func:`urbangrid.spatial.crs.transform.check_xy`: a file with one bad
row gets that row named instead of the whole file diagnosed. The usual CRSs (WGS84,
GCJ-02, BD-09) are checked without importing pyproj.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["XY_FAULTS", "xy_faults"]


#: Codes :func:`xy_faults` gives a point, and what each means (0: nothing wrong).
XY_FAULTS: dict[int, str] = {
    0: "",
    1: "not a number (blank, text, NaN or infinite)",
    2: "longitude and latitude look swapped",
    3: "beyond ±180 / ±90, so not degrees: looks like metres of a projected CRS",
    4: "out of range: longitude must lie within ±180 and latitude within ±90",
    5: "within ±180, ±90, far outside the area of the projected CRS: looks like degrees",
}


def xy_faults(x: ArrayLike, y: ArrayLike, *, crs: Any) -> NDArray[np.int8]:
    """What is obviously wrong with each point, point by point (codes of :data:`XY_FAULTS`).

    The per-row form of :func:`~urbangrid.spatial.crs.transform.check_xy`: a file
    with one bad row gets that row named, not the whole file diagnosed.

    Parameters
    ----------
    x, y : array_like of float
        Coordinates in ``crs`` (longitude/latitude degrees for WGS84, CGCS2000, GCJ-02,
        BD-09; easting/northing metres for a projected CRS), x first.
    crs : str, int or pyproj.CRS
        The CRS the caller says the coordinates are in.

    Returns
    -------
    numpy.ndarray of int8
        Same length as ``x``: 0 fine; 1 NaN or infinite; 2 swapped (latitude beyond
        ±90 while longitude within ±90, or, for a CRS of China, outside China but
        inside it swapped); 3 beyond ±180/±90 by more than 1000 (metres); 4 beyond
        ±180/±90 by less; 5 degrees given for a projected CRS.

    Examples
    --------
    >>> xy_faults([116.3, 39.9, 999999.0, float("nan")],
    ...           [39.9, 116.3, 999999.0, 1.0], crs=4326).tolist()
    [0, 2, 3, 1]
    """
    xa = np.asarray(x, dtype=np.float64).reshape(-1)
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    if xa.shape != ya.shape:
        from urbangrid.errors import CoordinateError

        raise CoordinateError(f"x and y have different lengths: {xa.size} and {ya.size}")
    out = np.zeros(xa.size, dtype=np.int8)
    finite = np.isfinite(xa) & np.isfinite(ya)
    out[~finite] = 1
    geographic, china_only, bounds = _crs_facts(crs)
    ax, ay = np.abs(xa), np.abs(ya)
    degrees = finite & (ax <= 180.0) & (ay <= 90.0)
    if geographic:
        swapped = finite & (ax <= 90.0) & (ay > 90.0) & (ay <= 180.0)
        if china_only:
            in_china = _china_mask(xa, ya)
            swapped |= degrees & ~in_china & _china_mask(ya, xa)
        out[finite & ~degrees] = np.where((ax > 1000.0) | (ay > 1000.0), 3, 4)[finite & ~degrees]
        out[swapped] = 2
    elif bounds is not None:
        bx0, by0, bx1, by1 = bounds
        if bx1 < -180.0 or bx0 > 180.0 or by1 < -90.0 or by0 > 90.0:
            out[degrees] = 5
    return out


# China's extent in longitude/latitude degrees, as in transform.py's checks.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


def _china_mask(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    return (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])


# The CRSs most files come in, known without asking PROJ (importing pyproj takes 0.15 s,
# which `urbangrid locate` otherwise avoids): name -> (geographic, China only).
_KNOWN = {"EPSG:4326": (True, False), "WGS84": (True, False), "4326": (True, False),
          "GCJ-02": (True, True), "GCJ02": (True, True), "BD-09": (True, True),
          "BD09": (True, True)}  # fmt: skip


def _crs_facts(crs: Any) -> tuple[bool, bool, tuple[float, float, float, float] | None]:
    """(geographic, area of use is China, bounds of a projected CRS in its own units)."""
    known = _KNOWN.get(str(crs).strip().upper())
    if known is not None:
        return known[0], known[1], None
    from urbangrid.spatial.crs.transform import _facts, normalize_crs

    norm = normalize_crs(crs)
    if isinstance(norm, str):
        return True, True, None
    geographic, china_only, _, bounds = _facts(norm)
    return geographic, china_only, bounds
