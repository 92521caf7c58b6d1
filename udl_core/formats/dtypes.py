"""NumPy arrays as arrow, numpy and MLX kernels can take them: one byte order, no float16.

A `.npy` written on a big-endian machine (or with `>f8` on purpose) holds byte-swapped values,
which arrow refuses and MLX misreads: they are converted to this machine's byte order, which
reads them into memory (a memory map cannot swap bytes). float16 has no arrow compute kernels;
it widens to float32, exactly. Unsigned 64-bit values are kept; preprocessing makes every
feature float64, where values at or past 2**53 round to the nearest representable one, which
a note says. Complex, datetime64, timedelta64, void and object arrays are refused by the
readers with an error that names the dtype.
"""

from __future__ import annotations

import numpy as np

__all__ = ["readable_array"]

_EXACT_FLOAT64 = 1 << 53


def readable_array(arr: np.ndarray, what: str = "values") -> tuple[np.ndarray, list[str]]:
    """`arr` in native byte order with float16 widened to float32, and the notes that say so."""
    notes: list[str] = []
    dtype = arr.dtype
    if not dtype.isnative:
        arr = np.asarray(arr).astype(dtype.newbyteorder("="))   # a plain array, no longer a memmap
        order = "records" if dtype.names else dtype.str
        notes.append(f"{what} stored in the other byte order ({order}) converted to this machine's "
                     "(read into memory)")
    if arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
        arr = np.asarray(arr).astype(np.float32)
        notes.append(f"float16 {what} widened to float32 (exactly)")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) >= _EXACT_FLOAT64:
        notes.append(f"uint64 {what} at or past 2**53 become the nearest float64 as features "
                     "(they lose their last digits)")
    return arr, notes
