"""NumPy arrays: `.npy` (memory-mapped, never loaded whole) and `.npz` archives.

A 2-D numeric array [N, D] becomes `Table(features=arr)` with `labels=None`: with no second
array to say otherwise, it has no label: the schema asks for `--labels` or `--label`. A 1-D
array becomes [N, 1]; 3-D and up (images N×H×W[×C]) keep their shape. Record arrays
(structured dtypes) and text arrays become tabular columns.

An `.npz` names its arrays: features from x / X / features / data, labels from y / Y /
labels / label / target (any case). Members stored uncompressed (`np.savez`) are
memory-mapped in place; compressed ones (`np.savez_compressed`, or bzip2 / LZMA) are loaded,
after their uncompressed sizes in the zip directory are checked against `npz_size_limit()`
(the memory budget) and against what deflate can physically produce; then they are read
through a bounded reader (bounded.py) that counts the bytes as they are decompressed, so a
member whose directory lies about its size is refused at the limit, never expanded past it.

Nothing is ever unpickled: object arrays are refused with `UnsafeInputError`.
"""

from __future__ import annotations

import contextlib
import math
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.lib.format as npformat
import pyarrow as pa

from udl_core.errors import (
    CorruptFileError,
    DatasetError,
    EmptyDatasetError,
    SchemaError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from udl_core.formats.bounded import BoundedReader, memory_budget, open_zip_member
from udl_core.formats.dtypes import readable_array
from udl_core.formats.pairs import FEATURE_NAMES, LABEL_NAMES, as_label_vector, join_labels
from udl_core.formats.registry import register_reader, register_sizer
from udl_core.formats.sampling import Sized
from udl_core.table import ReadOptions, Table
from udl_core.temporal import temporal_notes, utc_columns

__all__ = [
    "ArrayInfo",
    "array_info",
    "memory_budget",
    "npz_size_limit",
    "read_npy",
    "read_npz",
    "table_from_array",
]

NPY_MAGIC = b"\x93NUMPY"
# Deflate expands at most about 1032:1; a member declaring more than that is lying about its size.
DEFLATE_MAX_RATIO = 1032


def npz_size_limit(options: ReadOptions) -> int:
    """The most bytes the compressed members of one NPZ may expand to, each and together: the
    memory budget, as they are loaded into memory whole."""
    return memory_budget(options)


class ArrayInfo:
    """What an NPY header says: shape, dtype, order, and where the data starts."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, fortran: bool, offset: int) -> None:
        self.shape = shape
        self.dtype = dtype
        self.fortran = fortran
        self.offset = offset

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: a lying header cannot overflow


def _read_header(handle: BinaryIO | BoundedReader, path: Path, what: str) -> ArrayInfo:
    start = handle.tell()
    try:
        version = npformat.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(handle)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(handle)
    except Exception as exc:  # numpy's header parser and a zip stream raise many types on bad bytes
        raise CorruptFileError(path, f"{what} has no valid NPY header ({exc})") from None
    if dtype.hasobject:
        raise UnsafeInputError(
            path, f"{what} holds a pickled object array (dtype {dtype}); refused, UDL never unpickles"
        )
    if any(n < 0 for n in shape) or dtype.itemsize == 0:
        raise CorruptFileError(path, f"{what} has an impossible NPY header (shape {shape}, dtype {dtype})")
    return ArrayInfo(tuple(int(n) for n in shape), dtype, bool(fortran), handle.tell() - start)


def _sniff_npy(path: Path, head: bytes) -> bool:
    return head.startswith(NPY_MAGIC)


@register_reader("npy", ".npy", sniff=_sniff_npy, priority=10, description="a NumPy array (.npy)")
def read_npy(path: Path, options: ReadOptions) -> Table:
    """A memory-mapped `.npy`: header checked first, so a truncated file never maps."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            info = _read_header(handle, path, "the file")
        size = path.stat().st_size
        if info.offset + info.nbytes > size:
            raise CorruptFileError(
                path,
                f"is truncated: its header promises {info.shape} {info.dtype} "
                f"({info.offset + info.nbytes} bytes) but the file has {size} bytes",
            )
        arr = _map(path, info, info.offset)
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None
    table = table_from_array(path, arr, "npy")
    if isinstance(table.features, np.memmap):   # not when its bytes had to be swapped
        table.notes.append(f"{path.name} is memory-mapped (read-only), not loaded whole")
    return table


def _map(path: Path, info: ArrayInfo, offset: int) -> np.ndarray:
    if info.nbytes == 0:  # mmap cannot map zero bytes
        return np.empty(info.shape, info.dtype)
    order: Literal["C", "F"] = "F" if info.fortran else "C"
    return np.memmap(path, dtype=info.dtype, mode="r", offset=offset, shape=info.shape, order=order)


def table_from_array(path: Path, arr: np.ndarray, fmt: str) -> Table:
    """One array as a Table: numeric -> `features`; records or text -> tabular columns.
    Byte order and float16 are made readable first (formats/dtypes.py); dates in records
    outside the years 1-9999 become missing (udl_core/temporal.py)."""
    arr, notes = readable_array(arr)
    table = _table_from_array(path, arr, fmt)
    if table.is_tabular:
        table.columns, zoned, dropped = utc_columns(table.columns)
        notes += temporal_notes(zoned, dropped)
    table.notes.extend(notes)
    return table


def _table_from_array(path: Path, arr: np.ndarray, fmt: str) -> Table:
    if arr.dtype.names:
        return Table(source=str(path), format=fmt, columns=_records_to_arrow(path, arr))
    if arr.ndim == 0:
        raise SchemaError(path, f"holds a single {arr.dtype} value, not rows of data")
    kind = arr.dtype.kind
    if kind in "US":
        if arr.ndim > 2:
            raise SchemaError(path, f"holds {arr.ndim}-D text ({arr.dtype}); only 1-D or 2-D text is read")
        cols = arr.reshape(len(arr), -1)
        names = ["value"] if cols.shape[1] == 1 else [f"column_{i}" for i in range(cols.shape[1])]
        return Table(
            source=str(path), format=fmt,
            columns=pa.table({n: _text_column(cols[:, i]) for i, n in enumerate(names)}),
        )
    if kind not in "biuf":
        raise SchemaError(path, f"holds {arr.dtype} values; UDL reads numbers, booleans, text and records")
    features = arr.reshape(len(arr), 1) if arr.ndim == 1 else arr
    return Table(source=str(path), format=fmt, features=features)


def _text_column(values: np.ndarray) -> pa.Array:
    if values.dtype.kind == "S":
        return pa.array([v.decode("utf-8", "replace") for v in values.tolist()], pa.string())
    # numpy's UCS-4 text can hold code points Python cannot make into str: replace them.
    codes = np.ascontiguousarray(values).view(np.uint32)
    invalid = (codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))
    if invalid.any():
        values = np.where(invalid, 0xFFFD, codes).astype(np.uint32).view(values.dtype)
    return pa.array(values.tolist(), pa.string())


def _records_to_arrow(path: Path, arr: np.ndarray) -> pa.Table:
    """Record arrays: one arrow column per field; sub-array fields flatten to name_0, name_1, ...
    and nested records to outer.inner."""
    columns: dict[str, pa.Array] = {}

    def add(name: str, values: np.ndarray) -> None:
        if values.dtype.names:
            for field in values.dtype.names:
                add(f"{name}.{field}", values[field])
        elif values.ndim > 1:
            parts = values.reshape(len(values), -1)
            for i in range(parts.shape[1]):
                add(f"{name}_{i}", parts[:, i])
        else:
            columns[name] = _column(path, name, values)

    flat = arr.reshape(-1)
    assert arr.dtype.names is not None  # only record arrays come here
    for field in arr.dtype.names:
        add(field, flat[field])
    return pa.table(columns)


def _column(path: Path, name: str, values: np.ndarray) -> pa.Array:
    kind = values.dtype.kind
    if kind in "US":
        return _text_column(values)
    if kind == "f" and values.dtype.itemsize < 8:
        values = values.astype(np.float64)
    elif kind in "iu":
        if not (values.dtype == np.uint64 and values.size and int(values.max()) >= 1 << 63):
            values = values.astype(np.int64)   # uint64 past 2**63 stays uint64: as int64 it would wrap
    elif kind == "M":
        values = values.astype("datetime64[us]")
    elif kind not in "bfm":
        raise SchemaError(path, f"field {name!r} holds {values.dtype} values, which UDL cannot read")
    return pa.array(np.ascontiguousarray(values))


# --- NPZ -------------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader, not in its typed API


def _sniff_npz(path: Path, head: bytes) -> bool:
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return path.name.lower().endswith(".npz")  # a damaged .npz: the reader says what is wrong
    return not names or any(name.endswith(".npy") for name in names)


def _member_key(name: str) -> str:
    return name[: -len(".npy")]


def _check_sizes(path: Path, members: list[zipfile.ZipInfo], options: ReadOptions) -> None:
    """Refuse a zip bomb from its directory alone, before one byte is inflated."""
    limit = npz_size_limit(options)
    packed = [m for m in members if m.compress_type != zipfile.ZIP_STORED]
    for member in packed:
        if (member.compress_type == zipfile.ZIP_DEFLATED
                and member.file_size > DEFLATE_MAX_RATIO * member.compress_size + 4096):
            raise UnsafeInputError(
                path, f"member {member.filename} declares {member.file_size} bytes from "
                f"{member.compress_size} compressed bytes, more than deflate can expand; refused",
            )
        if member.file_size > limit:
            raise UnsafeInputError(
                path, f"member {member.filename} would expand to {member.file_size} bytes, "
                f"over the {limit}-byte limit; refused (a larger ReadOptions.memory_budget raises it)",
            )
    total = sum(m.file_size for m in packed)
    if total > limit:
        raise UnsafeInputError(
            path, f"its compressed members would expand to {total} bytes together, "
            f"over the {limit}-byte limit; refused",
        )


def _load_member(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> np.ndarray:
    """One member's array: mapped in place when stored, else decompressed, at most `limit` bytes."""
    what = f"member {member.filename}"
    if member.flag_bits & 0x1:
        raise UnsafeInputError(path, f"{what} is encrypted; refused")
    with open_zip_member(path, archive, member, limit, what) as handle:
        info = _read_header(handle, path, what)
        if info.offset + info.nbytes > member.file_size:
            raise CorruptFileError(
                path, f"{what} is truncated: its header promises {info.shape} {info.dtype} "
                f"but it holds {member.file_size} bytes",
            )
        if member.compress_type != zipfile.ZIP_STORED:
            try:
                data = handle.read(info.nbytes)
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise CorruptFileError(path, f"{what} cannot be read ({exc})") from None
            if len(data) < info.nbytes:
                raise CorruptFileError(path, f"{what} is truncated")
            order: Literal["C", "F"] = "F" if info.fortran else "C"
            return np.frombuffer(data, info.dtype, count=len(data) // max(1, info.dtype.itemsize)).reshape(
                info.shape, order=order
            )
    # Stored uncompressed: the array's bytes sit in the zip as they are, so map them there.
    with open(path, "rb") as raw:
        raw.seek(member.header_offset)
        fields = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
        start = member.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
    if start + info.offset + info.nbytes > path.stat().st_size:
        raise CorruptFileError(path, f"{what} is truncated")
    return _map(path, info, start + info.offset)


# Keras-style archives (mnist.npz: x_train, y_train, x_test, y_test) name the training arrays;
# UDL splits those itself and leaves the test arrays out, with a note.
NPZ_FEATURE_NAMES = FEATURE_NAMES + ("x_train", "train_x", "features_train")
NPZ_LABEL_NAMES = LABEL_NAMES + ("y_train", "train_y", "labels_train")


@contextlib.contextmanager
def _zip_errors(path: Path) -> Iterator[None]:
    """An archive's read errors as UDL's, each naming the file."""
    try:
        yield
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(path, f"is not a readable zip archive ({exc})") from None
    except NotImplementedError as exc:
        raise UnsupportedFormatError(path, f"uses a zip feature Python cannot read ({exc})") from None
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None


def _pick(path: Path, keys: list[str], wanted: tuple[str, ...], role: str) -> str | None:
    found = [k for k in keys if k.lower() in wanted]
    found.sort(key=lambda k: wanted.index(k.lower()))
    if len(found) > 1 and found[0].lower() == found[1].lower():
        raise SchemaError(path, f"both {found[0]!r} and {found[1]!r} could be the {role}; rename one")
    return found[0] if found else None


@register_reader("npz", ".npz", sniff=_sniff_npz, priority=10, description="NumPy arrays (.npz)")
def read_npz(path: Path, options: ReadOptions) -> Table:
    """Named arrays: features and labels by name, sizes checked before anything expands."""
    path = Path(path)
    with _zip_errors(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
            if not members:
                raise EmptyDatasetError(path, "holds no .npy arrays")
            _check_sizes(path, members, options)
            by_key = {_member_key(m.filename): m for m in members}
            keys = sorted(by_key)
            x_key: str | None
            y_key: str | None
            if len(keys) == 1:
                x_key, y_key = keys[0], None
            else:
                x_key = _pick(path, keys, NPZ_FEATURE_NAMES, "features")
                y_key = _pick(path, keys, NPZ_LABEL_NAMES, "labels")
                if x_key is None:
                    raise SchemaError(
                        path, f"holds arrays {', '.join(keys)}; name the features x, X, features or data "
                        "and the labels y, Y, labels, label or target",
                    )
            limit = npz_size_limit(options)
            features = _load_member(path, archive, by_key[x_key], limit)
            used = 0 if isinstance(features, np.memmap) else features.nbytes
            labels = _load_member(path, archive, by_key[y_key], max(limit - used, 0)) if y_key else None
    table = table_from_array(path, features, "npz")
    ignored = [k for k in keys if k not in (x_key, y_key)]
    table.notes.append(f"features from array {x_key!r}" + (f", labels from {y_key!r}" if y_key else ""))
    if ignored:
        table.notes.append(f"arrays left out: {', '.join(ignored)}")
    if labels is not None:
        vector = as_label_vector(labels, path, f"the labels {y_key!r}")
        if len(vector) != table.num_rows:
            raise SchemaError(
                path, f"features {x_key!r} have {table.num_rows} rows but labels {y_key!r} have {len(vector)}"
            )
        table = join_labels(table, vector, y_key)
    return table


# --- sizes without reading data (for estimate.py) --------------------------------------------


def array_info(path: str | Path, options: ReadOptions | None = None) -> ArrayInfo:
    """The features array's header of an `.npy` or `.npz`, read without touching its data."""
    path = Path(path)
    with _zip_errors(path):
        with open(path, "rb") as handle:
            if handle.read(len(NPY_MAGIC)) == NPY_MAGIC:
                handle.seek(0)
                return _read_header(handle, path, "the file")
        with zipfile.ZipFile(path) as archive:
            members = {_member_key(m.filename): m for m in archive.infolist() if m.filename.endswith(".npy")}
            if not members:
                raise EmptyDatasetError(path, "holds no .npy arrays")
            keys = sorted(members)
            key = keys[0] if len(keys) == 1 else _pick(path, keys, NPZ_FEATURE_NAMES, "features") or keys[0]
            what = f"member {members[key].filename}"
            with open_zip_member(path, archive, members[key], memory_budget(options), what) as handle:
                return _read_header(handle, path, what)


@register_sizer("npy")
@register_sizer("npz")
def _size_array(path: Path, options: ReadOptions) -> Sized:
    try:
        info = array_info(path, options)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptFileError(path, f"cannot read its array header ({exc})") from None
    rows = int(info.shape[0]) if info.shape else 1
    dim = int(np.prod(info.shape[1:], dtype=np.int64)) if len(info.shape) > 1 else 1
    return Sized(rows, True, info.nbytes, None, feature_dim=dim)
