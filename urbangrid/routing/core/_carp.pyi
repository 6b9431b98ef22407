"""Types of the compiled CARP kernels (``_carp.pyx``)."""

import numpy as np
from numpy.typing import NDArray

Inst = tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
             NDArray[np.float64], NDArray[np.bool_]]
Obj = tuple[float, float, float, float, float, int]
Routes = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]

def route_cost(seq: NDArray[np.int64], L: int, d: int, D: NDArray[np.float64],
               th: NDArray[np.int64], tt: NDArray[np.int64], tc: NDArray[np.float64]) -> float: ...
def split(giant: NDArray[np.int64], d: int, inst: Inst, obj: Obj) -> NDArray[np.int64]: ...
def local_search(routes: Routes, nr: int, maxr: int, can_open: bool, inst: Inst, obj: Obj,
                 order: NDArray[np.int64], neigh: NDArray[np.int64], sym: bool) -> int: ...
def insert_tasks(routes: Routes, nr: int, maxr: int, can_open: bool, tasks: NDArray[np.int64],
                 inst: Inst, obj: Obj) -> int: ...
