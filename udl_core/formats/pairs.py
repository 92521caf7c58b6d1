"""Features in one file, labels in another: `X.npy` + `y.npy`, `features.csv` + `labels.csv`, ...

`attach_labels` joins a labels file onto a features Table (the registry calls it when
`ReadOptions.labels_path` is set). The labels file may be anything the registry reads, or
a `.txt` with one label per line. Tabular features get the labels as one more, last column;
array features get `Table.labels`. Text labels for arrays become int32 class indices with
`class_names` (sorted), so array labels are always numbers.

A folder holding such a pair directly (x.npy / X.npy / features.npy / data.npy beside
y.npy / labels.npy / label.npy / target.npy, or the same stems with another extension a
reader knows) is a dataset in itself; its reader wins over the image-folder reader.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from udl_core.errors import DatasetError, SchemaError
from udl_core.formats.bounded import check_file_size
from udl_core.formats.dtypes import readable_array
from udl_core.formats.encoding import detect_encoding
from udl_core.formats.estimate import measure
from udl_core.formats.registry import read_table, readers, register_labels, register_reader, register_sizer
from udl_core.formats.sampling import Sized
from udl_core.table import ReadOptions, Table

__all__ = [
    "FEATURE_NAMES",
    "LABEL_NAMES",
    "as_label_vector",
    "attach_labels",
    "find_pair",
    "join_labels",
    "read_pair_folder",
]

FEATURE_NAMES = ("x", "features", "data")
LABEL_NAMES = ("y", "labels", "label", "target")
_LABEL_COLUMN_NAMES = ("label", "labels", "target", "class", "y")


@register_labels
def attach_labels(table: Table, labels_path: str | Path, options: ReadOptions) -> Table:
    """`table` with the labels read from `labels_path` joined on, row by row."""
    labels_path = Path(labels_path)
    values, name = _read_labels(labels_path, options)
    if len(values) != table.num_rows:
        raise SchemaError(
            table.source,
            f"features have {table.num_rows} rows but {labels_path.name} has {len(values)} "
            f"(labels file {labels_path})",
        )
    joined = join_labels(table, values, name)
    joined.notes.append(f"labels from {labels_path.name}")
    if table.labels is not None:
        joined.notes.append(f"labels from {labels_path.name} replace those in {table.name}")
    return joined


def as_label_vector(labels: np.ndarray, path: Path, what: str = "the labels") -> np.ndarray:
    """[N] labels from [N], [N, 1], or one-hot [N, K]; anything else is a SchemaError."""
    labels, _ = readable_array(labels)   # byte-swapped or float16 labels have no arrow kernels
    if labels.dtype.names or labels.dtype.kind not in "biufUS":
        raise SchemaError(path, f"{what} have dtype {labels.dtype}; expected numbers or text")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 2 and labels.dtype.kind in "biuf" and len(labels):
        dense = np.asarray(labels)
        if np.isin(dense, (0, 1)).all() and (dense.sum(axis=1) == 1).all():
            indices: np.ndarray = dense.argmax(axis=1).astype(np.int32)  # one-hot rows -> class indices
            return indices
    if labels.ndim != 1:
        raise SchemaError(
            path, f"{what} have shape {labels.shape}; expected one value per row ([N], [N, 1] or one-hot)"
        )
    return labels


def join_labels(table: Table, values: np.ndarray | pa.ChunkedArray | pa.Array, name: str | None) -> Table:
    """A copy of `table` with `values` [N] as its labels: a last column, or `Table.labels`."""
    if table.columns is not None:
        column = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else _arrow_labels(values)
        label = _free_name(table.columns.column_names, name)
        columns = table.columns.append_column(label, column)
        return dataclasses.replace(table, columns=columns, label_name=label, notes=list(table.notes))
    labels, class_names = _numpy_labels(values, table.source)
    return dataclasses.replace(
        table, labels=labels, label_name=name or "label", class_names=class_names, notes=list(table.notes)
    )


def _free_name(taken: list[str], name: str | None) -> str:
    name = name or "label"
    if name not in taken:
        return name
    base = "label" if "label" not in taken else name + "_label"
    candidate, i = base, 2
    while candidate in taken:
        candidate, i = f"{base}_{i}", i + 1
    return candidate


def _arrow_labels(values: np.ndarray) -> pa.Array:
    if values.dtype.kind == "S":
        return pa.array([v.decode("utf-8", "replace") for v in values.tolist()], pa.string())
    if values.dtype.kind == "U":
        return pa.array(values.tolist(), pa.string())
    return pa.array(np.ascontiguousarray(values))


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind))


def _numpy_labels(
    values: np.ndarray | pa.Array | pa.ChunkedArray, source: str
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Labels for array features: numbers as they are, text as int32 indices + class names."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_dictionary(values.type):
            values = values.cast(pa.string())
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            if values.null_count:
                raise SchemaError(source, f"{values.null_count} labels are missing")
            values = np.asarray(values.to_pylist(), dtype=str)
        elif _is_number(values.type):
            if values.null_count:
                values = pc.cast(values, pa.float64())  # missing numbers -> NaN
            values = values.to_numpy(zero_copy_only=False)
        else:
            raise SchemaError(
                source, f"labels of type {values.type} cannot be used; expected numbers or text"
            )
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8", "replace")
    if values.dtype.kind == "U":
        class_names, indices = np.unique(values, return_inverse=True)
        return indices.astype(np.int32), tuple(str(c) for c in class_names)
    return values, None


def _read_labels(path: Path, options: ReadOptions) -> tuple[np.ndarray | pa.ChunkedArray, str | None]:
    if path.suffix.lower() == ".txt":
        return _read_text_labels(path, options)
    labels = read_table(path, dataclasses.replace(options, labels_path=None))
    if labels.is_tabular:
        column, name = _one_column(labels)
        # A 1-D text array's column is named "value" by its reader: not a name worth keeping.
        return column, None if labels.format in ("npy", "npz") and name == "value" else name
    if labels.labels is not None:
        # An NPZ with features and labels (or a class folder): its labels are what was meant.
        if labels.class_names:
            return np.asarray(labels.class_names)[labels.labels], labels.label_name
        return labels.labels, labels.label_name
    assert labels.features is not None
    return as_label_vector(labels.features, path), None


def _one_column(labels: Table) -> tuple[pa.ChunkedArray, str]:
    assert labels.columns is not None
    names = labels.columns.column_names
    if len(names) == 1:
        return labels.columns.column(0), names[0]
    named = [n for n in names if n.lower() in _LABEL_COLUMN_NAMES]
    if len(named) == 1:
        return labels.columns.column(named[0]), named[0]
    shown = ", ".join(names[:8])
    raise SchemaError(labels.source, f"a labels file must hold one column; this one has {len(names)} ({shown})")


def _read_text_labels(path: Path, options: ReadOptions) -> tuple[np.ndarray | pa.ChunkedArray, str | None]:
    """One label per line: numbers when every line is one, text otherwise.

    A first line that is text above lines that are all numbers is a header (the name).
    A line holding a tab or comma means the file is really a table: the registry reads it.
    """
    if not path.exists():
        raise DatasetError(path, "no such file or folder")
    if not path.is_file():
        raise DatasetError(path, "is not a regular file (a pipe, socket or device)")
    check_file_size(path, options, "a .txt labels file is read whole into memory", 12)   # measured: 10x
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(path, f"cannot be read ({exc.strerror or exc})") from None
    encoding = detect_encoding(raw, complete=True)
    if encoding is None:
        raise SchemaError(path, "is not text; a .txt labels file holds one label per line")
    lines = [line.strip() for line in raw[len(encoding.bom):].decode(encoding.codec, "replace").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if any("\t" in line or "," in line for line in lines):
        return _one_column(read_table(path, dataclasses.replace(options, labels_path=None)))
    name = None
    numbers = _numbers(lines)
    if numbers is None and len(lines) > 1 and _numbers(lines[1:]) is not None and lines[0]:
        name, lines = lines[0], lines[1:]
        numbers = _numbers(lines)
    if numbers is not None:
        return numbers, name
    if not all(lines):
        raise SchemaError(path, f"line {lines.index('') + 1} holds no label")
    return np.array(lines, dtype=str), name


def _numbers(lines: list[str]) -> np.ndarray | None:
    try:
        return np.array(lines, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    try:
        values = np.array([s or "nan" for s in lines], dtype=np.float64)
    except ValueError:
        return None
    return None if np.isnan(values).all() else values


# --- a folder holding the pair ---------------------------------------------------------------


def _known_extensions() -> set[str]:
    return {ext for spec in readers() if not spec.folders for ext in spec.extensions}


def find_pair(folder: str | Path) -> tuple[Path, Path] | None:
    """(features, labels) files directly in `folder`, or None when it holds no such pair."""
    folder = Path(folder)
    known = _known_extensions() | {".txt"}
    features: dict[int, Path] = {}
    labels: dict[int, Path] = {}
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_file():
                continue
            stem, ext = os.path.splitext(entry.name)
            if ext.lower() not in known:
                continue
            if stem.lower() in FEATURE_NAMES and ext.lower() != ".txt":
                features.setdefault(FEATURE_NAMES.index(stem.lower()), Path(entry.path))
            elif stem.lower() in LABEL_NAMES:
                labels.setdefault(LABEL_NAMES.index(stem.lower()), Path(entry.path))
    if not features or not labels:
        return None
    return features[min(features)], labels[min(labels)]


def _pair_in(folder: Path) -> tuple[Path, Path]:
    pair = find_pair(folder)
    if pair is None:
        raise SchemaError(folder, "holds no features file (x, features, data) beside a labels file (y, labels, ...)")
    return pair


def _sniff_pair_folder(path: Path, head: bytes) -> bool:
    return find_pair(path) is not None


@register_reader("pair", sniff=_sniff_pair_folder, priority=40, folders=True,
                 description="a folder of features + labels files")
def read_pair_folder(path: Path, options: ReadOptions) -> Table:
    """X.npy + y.npy (or features.csv + labels.csv, ...) in one folder, joined row by row."""
    path = Path(path)
    features_path, labels_path = _pair_in(path)
    table = read_table(features_path, dataclasses.replace(options, labels_path=None))
    table = attach_labels(table, labels_path, options)
    return dataclasses.replace(table, source=str(path), format="pair")


@register_sizer("pair")
def _size_pair_folder(path: Path, options: ReadOptions) -> Sized:
    features_path, _ = _pair_in(Path(path))
    sized = measure(features_path, dataclasses.replace(options, labels_path=None))
    # the features file's sample holds no label column: its width is counted without one
    return dataclasses.replace(sized, reading_bytes=0, labelled=False)
