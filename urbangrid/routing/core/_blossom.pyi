"""Types of the compiled minimum-cost perfect matching (``_blossom.pyx``)."""

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]

def min_cost_perfect_matching(
    n: int, a: NDArray[np.integer], b: NDArray[np.integer], cost: NDArray[np.int64]
) -> tuple[I64, I64, I64, I64, I64, tuple[int, int]]: ...
