"""Types of the compiled GCJ-02/BD-09 formulas (``_kernels.pyx`` over ``_gcj.h``)."""

import numpy as np
from numpy.typing import NDArray

GCJ_A: float
GCJ_EE: float
BD_XPI: float
CHINA_LON_MIN: float
CHINA_LON_MAX: float
CHINA_LAT_MIN: float
CHINA_LAT_MAX: float
INVERSE_STEP_DEG: float
INVERSE_MAX_ITER: int
WGS84_TO_GCJ02: int
GCJ02_TO_WGS84: int
GCJ02_TO_BD09: int
BD09_TO_GCJ02: int
WGS84_TO_BD09: int
BD09_TO_WGS84: int
NO_SHIFT: int
ROUTE_OPS: dict[str, int]

def in_gcj02_area(lon: float, lat: float) -> bool: ...
def gcj_offset(lon: float, lat: float) -> tuple[float, float]: ...
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
def tmerc_forward(
    params: tuple[float, float, float, float, float, float],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def map_points(
    op: int,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    threads: int | None = None,
    tmerc: tuple[float, float, float, float, float, float] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...

class PointRoute:
    def __init__(self, op: int, tmerc: tuple[float, float, float, float, float, float]) -> None: ...
    def apply(self, lon: float, lat: float) -> tuple[float, float]: ...
