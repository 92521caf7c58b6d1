"""`udl export`: the processed tensors the batches are cut from, written to .npz or .parquet.

`export_loader(loader, out)` writes a loaded dataset's rows in file order: x float32 [N, D], y (class
index or target), the feature names, each row's split ("train" / "val") and its source row index
(the batch table's row). `export_with_model(weights, path, out)` applies a saved model's preprocessing
(the pair `udl predict` reads) to another file of the same schema and writes its x the same way.
Outputs go through `outputs.check_output` (never over an input) and a temp file and a rename.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from udl_core.atomic import atomic_path
from udl_core.errors import ConfigError
from udl_core.events import Notice, Progress
from udl_core.outputs import RunInputs, check_output, check_writable_folder

__all__ = ["EXPORT_SUFFIXES", "ProcessedTensors", "check_export_path", "export_loader", "export_with_model",
           "write_tensors"]

EXPORT_SUFFIXES = (".npz", ".parquet")
_MAX_PARQUET_COLUMNS = 1024   # wider x goes into one fixed-size list column "x"


@dataclass(frozen=True)
class ProcessedTensors:
    x: np.ndarray
    y: np.ndarray | None
    feature_names: Sequence[str]
    split: np.ndarray            # "train", "val", or "new" (another file through saved preprocessing)
    rows: np.ndarray
    classes: Sequence[str] = ()
    task: str = ""


def check_export_path(out: str | Path, *inputs: str | Path | None, what: str = "--out") -> Path:
    """The output path, refused (ConfigError naming it) when its suffix is not .npz / .parquet or when
    it may not be written (an input, a link, a device, a folder dataset's inside)."""
    path = Path(out)
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise ConfigError(f"{path}: {what} needs a file name ending in .npz or .parquet")
    checked = check_output(path, RunInputs.of(*inputs), what=what)
    check_writable_folder(checked, "the export")
    return checked


def export_loader(loader: Any, out: str | Path) -> Path:
    """Write a loaded loader's processed rows (train and validation, in file order) to `out`."""
    data = loader.processed_data
    val_rows = np.asarray(loader.val_data.rows) if loader.val_data is not None else np.zeros(0, np.int64)
    rows = np.asarray(data.rows, np.int64)
    split = np.where(np.isin(rows, val_rows), "val", "train")
    classes = tuple(str(c) for c in loader.classes) if loader.task == "classification" else ()
    tensors = ProcessedTensors(np.asarray(data.x), np.asarray(data.y), list(data.feature_names), split, rows,
                               classes, str(loader.task))
    return write_tensors(tensors, out)


def export_with_model(weights: str | Path, path: str | Path, out: str | Path, memory_budget: int | None = None
                      ) -> Generator[Progress | Notice, None, Path]:
    """Read `path` as the saved model's data was read, preprocess it with the saved statistics, and
    write its x (no labels: y is left out) to `out`."""
    from udl_core.training.saving import load_model, processed_file, sidecar_path

    check_export_path(out, path, weights, sidecar_path(weights))
    saved = load_model(weights)
    x = yield from processed_file(saved, path, memory_budget)
    names = [str(n) for n in saved.meta["preprocessor"].get("feature_names") or ()]
    if len(names) != x.shape[1]:
        names = [f"f{i}" for i in range(x.shape[1])]
    tensors = ProcessedTensors(np.asarray(x, np.float32), None, names, np.full(len(x), "new"),
                               np.arange(len(x), dtype=np.int64), saved.classes or (), saved.task)
    return write_tensors(tensors, out)


def write_tensors(t: ProcessedTensors, out: str | Path) -> Path:
    """Write `t` atomically: .npz (arrays x, y, feature_names, split, rows, classes) or .parquet (a
    column per feature, or one list column "x" past 1,024 features, then y, split, row)."""
    out = Path(out)
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".npz":
            arrays: dict[str, np.ndarray] = {
                "x": np.ascontiguousarray(t.x, np.float32), "feature_names": np.asarray(list(t.feature_names), str),
                "split": np.asarray(t.split, str), "rows": np.asarray(t.rows, np.int64),
                "classes": np.asarray(list(t.classes), str)}
            if t.y is not None:
                arrays["y"] = np.asarray(t.y)
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)  # type: ignore[arg-type]  # (the stubs mistake a key for allow_pickle)
        else:
            _write_parquet(t, tmp)
    return out


def _write_parquet(t: ProcessedTensors, tmp: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    x = np.ascontiguousarray(t.x, np.float32)
    columns: dict[str, Any] = {}
    if x.shape[1] <= _MAX_PARQUET_COLUMNS:
        for j, name in enumerate(t.feature_names):
            columns[str(name)] = pa.array(x[:, j])
    else:
        columns["x"] = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])
    reserved = {"y": t.y, "split": np.asarray(t.split, str), "row": np.asarray(t.rows, np.int64)}
    for name, values in reserved.items():
        if values is None:
            continue
        key = name
        while key in columns:        # a feature of that name keeps it; ours gets underscores
            key = f"_{key}"
        columns[key] = pa.array(values)
    meta = {"feature_names": list(map(str, t.feature_names)), "classes": list(t.classes), "task": t.task}
    table = pa.table(columns).replace_schema_metadata({"udl": json.dumps(meta)})
    pq.write_table(table, tmp)
