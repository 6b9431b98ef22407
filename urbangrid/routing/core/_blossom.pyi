"""Types of the compiled minimum-cost perfect matching (``_blossom.pyx``)."""

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]

def min_cost_perfect_matching(
    n: int, a: NDArray[np.integer], b: NDArray[np.integer], cost: NDArray[np.int64]
) -> tuple[I64, I64, I64, I64, I64, tuple[int, int]]: ...

class Graph:
    """A street graph in CSR form, for the certified T-join's searches."""

    def __init__(
        self, indptr: NDArray[np.integer], nbr: NDArray[np.integer], w: NDArray[np.floating],
        eid: NDArray[np.integer],
    ) -> None: ...
    def knn_pairs(
        self, tnodes: NDArray[np.integer], tpos: NDArray[np.integer], k: int
    ) -> tuple[I64, I64, NDArray[np.float64]]: ...
    def flip_paths(
        self, src: NDArray[np.integer], dst: NDArray[np.integer], used: NDArray[np.uint8]
    ) -> int: ...
    def lift_all(
        self, tnodes: NDArray[np.integer], tpos: NDArray[np.integer], kparent: I64,
        kval: NDArray[np.float64], node_set: I64, owner: I64, ell: NDArray[np.float64],
    ) -> tuple[I64, NDArray[np.float64], list[int], list[int], list[float]]: ...
