"""Types of the compiled point-in-polygon kernels (``_pip.pyx``)."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

F_BX0: int
F_BY0: int
F_BX1: int
F_BY1: int
F_X0: int
F_Y0: int
F_INVW: int
F_INVH: int
F_IOFF: int
F_HEADER: int
I_NCOLS: int
I_NROWS: int
I_HEADER: int
FLAGS_PER_WORD: int
MAX_LINES: int

def set_num_threads(n: int) -> None: ...
def get_num_threads() -> int: ...
def default_threads() -> int: ...
def orient(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int: ...
def orient_filter(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int: ...
def line_block_len(k: int) -> int: ...
def build_pairs(
    xs: NDArray[np.float64], ys: NDArray[np.float64], ring_off: NDArray[np.int64],
    poly_ring_off: NDArray[np.int64], full: NDArray[Any], x0: float, y0: float,
    invw: float, invh: float, ncols: int, nrows: int, col_lo: NDArray[np.float64],
    col_hi: NDArray[np.float64], row_lo: NDArray[np.float64], row_hi: NDArray[np.float64],
) -> tuple[NDArray[Any], ...]: ...
def assemble(
    ncols: int, nrows: int, header: NDArray[np.float64], row_lo: NDArray[np.float64],
    xs: NDArray[np.float64], ys: NDArray[np.float64], ring_off: NDArray[np.int64],
    poly_ring_off: NDArray[np.int64], full: NDArray[Any], offs: NDArray[Any],
    bp_cell: NDArray[Any], bp_par: NDArray[Any], bp_n: NDArray[Any], cp_cell: NDArray[Any],
    pe: NDArray[Any], pe_flag: NDArray[Any],
) -> tuple[NDArray[np.float64], NDArray[np.int32]]: ...
def classify_cells(
    fl: NDArray[np.float64], ints: NDArray[np.int32], col_lo: NDArray[np.float64],
    col_hi: NDArray[np.float64], row_lo: NDArray[np.float64], row_hi: NDArray[np.float64],
) -> tuple[NDArray[np.int8], NDArray[np.int32]]: ...
def write_line_blocks(
    fl: NDArray[np.float64], ints: NDArray[np.int32], kind: NDArray[np.int8],
    answer: NDArray[np.int32], col_lo: NDArray[np.float64], col_hi: NDArray[np.float64],
    row_lo: NDArray[np.float64], row_hi: NDArray[np.float64],
) -> NDArray[np.int32]: ...
def dedupe_blocks(ints: NDArray[np.int32]) -> NDArray[np.int32]: ...
def locate_one(px: float, py: float, buf: NDArray[np.float64]) -> int: ...
def locate_serial(
    xs: NDArray[np.float64], ys: NDArray[np.float64], buf: NDArray[np.float64],
    out: NDArray[np.int64],
) -> None: ...
def locate_parallel(
    xs: NDArray[np.float64], ys: NDArray[np.float64], buf: NDArray[np.float64],
    out: NDArray[np.int64],
) -> None: ...
def locate_bucketed(
    xs: NDArray[np.float64], ys: NDArray[np.float64], buf: NDArray[np.float64],
    out: NDArray[np.int64],
) -> None: ...

class Locator:
    def __init__(self, buf: NDArray[np.float64]) -> None: ...
    def locate(self, x: float, y: float) -> int: ...
    def locate_gcj02(self, lon: float, lat: float) -> int: ...
    def locate_bd09(self, lon: float, lat: float) -> int: ...
    def locate_lonlat(self, lon: float, lat: float) -> int: ...
    def set_tmerc(self, params: tuple[float, float, float, float, float, float]) -> None: ...
