"""Text and binary columns kept as Arrow buffers for bulk writes.

pandas keeps string columns in Apache Arrow when pyarrow is installed: one
UTF-8 byte buffer and an offset per value. Turning 316,851 of them into Python
``str`` objects (``to_numpy``) and back into bytes for ``COPY`` costs about
40 ms a column; :class:`ArrowText` hands the buffers to the binary ``COPY``
encoder as they are and makes Python strings only where something asks for
them (upsert comparisons, SQLite parameters, error messages).
:class:`ArrowBytes` does the same for WKB: the WKB a file reader hands over,
or a layer of points whose WKB is written straight into one buffer (see
:func:`urbangrid.store.base.wkb_column`), instead of 316,851 ``bytes`` objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ArrowBytes", "ArrowText", "arrow_text", "fixed_width_array"]


class _ArrowColumn:
    """An Arrow array behaving as a read-only sequence of Python values / None."""

    def __init__(self, array: Any) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self.array))
            if step == 1:
                return type(self)(self.array.slice(start, stop - start))
            key = np.arange(start, stop, step)
        if isinstance(key, np.ndarray | list):
            import pyarrow as pa

            return type(self)(self.array.take(pa.array(np.asarray(key, dtype=np.int64))))
        return self.array[int(key)].as_py()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def tolist(self) -> list[Any]:
        """Python values, None for missing."""
        out: list[Any] = self.array.to_pylist()
        return out

    def isnull(self) -> np.ndarray:
        """Missing values as a boolean array."""
        out: np.ndarray = self.array.is_null().to_numpy(zero_copy_only=False)
        return out

    def buffers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(data, starts, lengths)``: the bytes, each value's start and length.

        ``data`` is the Arrow buffer itself (no copy); ``lengths`` is -1 for
        missing values.
        """
        arr = self.array
        bufs = arr.buffers()
        large = str(arr.type) in ("large_string", "large_utf8", "large_binary")
        width = np.int64 if large else np.int32
        offsets = np.frombuffer(bufs[1], width)[arr.offset : arr.offset + len(arr) + 1]
        offsets = offsets.astype(np.int64)
        data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
        # Only this slice's bytes: a slice of a big array shares its whole buffer.
        data = data[offsets[0] : offsets[-1]]
        lengths = np.diff(offsets)
        if arr.null_count:
            lengths[self.isnull()] = -1
        return data, offsets[:-1] - offsets[0], lengths


class ArrowText(_ArrowColumn):
    """An Arrow string array behaving as a read-only sequence of ``str`` / None."""

    def utf8(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(data, starts, lengths)`` of the UTF-8 bytes (see :meth:`buffers`)."""
        return self.buffers()


class ArrowBytes(_ArrowColumn):
    """An Arrow binary array (WKB) behaving as a read-only sequence of ``bytes`` / None."""

    @classmethod
    def fixed(cls, data: np.ndarray, width: int) -> ArrowBytes:
        """Values of `width` bytes each, back to back in `data` (uint8)."""
        return cls(fixed_width_array(data, width))


def fixed_width_array(data: np.ndarray, width: int, *, text: bool = False) -> Any:
    """A pyarrow binary (or, with `text`, UTF-8 string) array over `data`, `width` bytes a value.

    `data` (uint8, values back to back) becomes the array's buffer as it is:
    no Python object per value.
    """
    import pyarrow as pa

    n = len(data) // width
    large = len(data) >= 2**31 - 1  # 32-bit offsets reach 2 GiB
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64 if large else np.int32)
    if text:
        kind = pa.large_string() if large else pa.string()
    else:
        kind = pa.large_binary() if large else pa.binary()
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    return pa.Array.from_buffers(kind, n, buffers)


def arrow_text(values: pd.Series) -> ArrowText | None:
    """`values` as ArrowText when pandas holds them in Arrow, else None.

    Only plain pandas string columns qualify: their values are ``str`` or
    missing, exactly what :func:`urbangrid.store.base.canonical` makes of
    text.
    """
    if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
        return None
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - the storage above needs it
        return None
    arr = pa.array(values.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return ArrowText(arr)
