"""Types of the compiled binary COPY row interleaver (``_copy.pyx``)."""

import numpy as np
from numpy.typing import NDArray

def row_offsets(
    lengths: NDArray[np.int64],
    prefix: NDArray[np.int64],
    srid: NDArray[np.int64],
    offsets: NDArray[np.int64],
) -> int: ...
def interleave(
    blob: NDArray[np.uint8],
    starts: NDArray[np.int64],
    lengths: NDArray[np.int64],
    prefix: NDArray[np.int64],
    srid: NDArray[np.int64],
    offsets: NDArray[np.int64],
    out: NDArray[np.uint8],
) -> None: ...
