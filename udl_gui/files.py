"""Choosing and dropping dataset files: the open dialog's filter, the paths in a drop."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["file_dialog_filter", "local_paths", "pair_dropped", "split_dropped"]

_NAME_PARTS = re.compile(r"[_\-. ]+")


def file_dialog_filter() -> str:
    """"Datasets (*.csv *.parquet ...);;CSV (*.csv);;...;;All files (*)" from the reader registry."""
    try:
        from udl_core.formats import readers

        specs = [s for s in readers() if s.extensions]
    except Exception:  # the registry is optional for the dialog: fall back to every file
        specs = []
    patterns = sorted({f"*{ext}" for spec in specs for ext in spec.extensions})
    parts = [f"Datasets ({' '.join(patterns)})"] if patterns else []
    seen: set[str] = set()
    for spec in specs:
        if spec.description in seen:
            continue
        seen.add(spec.description)
        parts.append(f"{spec.description} ({' '.join('*' + e for e in spec.extensions)})")
    parts.append("All files (*)")
    return ";;".join(parts)


def split_dropped(paths: list[str]) -> tuple[str, str | None]:
    """For two dropped files, which is the dataset and which the labels (by name)."""
    if len(paths) != 2:
        return paths[0], None

    def is_labels(p: str) -> bool:
        stem = Path(p).stem.lower()
        return stem in ("y", "labels", "label", "target", "targets") or stem.endswith(("_labels", "_y", "-labels"))

    a, b = paths
    if is_labels(a) and not is_labels(b):
        return b, a
    if is_labels(b):
        return a, b
    return a, None


def _family(path: str) -> str:
    """The reader family of `path`'s name (npy and npz are one), or its last suffix."""
    from udl_core.formats import readers   # on a drop only: the window starts without the readers

    name = next((spec.name for spec in readers() if spec.matches_extension(Path(path))), None)
    if name is None:
        return Path(path).suffix.lower()
    return "npy" if name == "npz" else name


def _stem(path: str) -> str:
    name = Path(path).name
    return name[:-len("".join(Path(name).suffixes))] if Path(name).suffixes else name


def _xy_pair(features: str, labels: str) -> bool:
    """X.* and y.* (or x/y), with the same other name parts (digits_X + digits_y, X_train +
    y_train), in one family of formats."""
    a, b = _NAME_PARTS.split(_stem(features)), _NAME_PARTS.split(_stem(labels))
    if len(a) != len(b) or _family(features) != _family(labels):
        return False
    differ = [(p, q) for p, q in zip(a, b) if p != q]
    return len(differ) == 1 and differ[0][0] in ("X", "x") and differ[0][1] in ("Y", "y")


def pair_dropped(paths: list[str]) -> tuple[str, str | None, list[str]]:
    """Several dropped files: the dataset, its labels file (an X/y pair, or two files named
    features and labels), and the files left out (named in the log)."""
    for data in paths:
        for labels in paths:
            if data != labels and _xy_pair(data, labels):
                return data, labels, [p for p in paths if p not in (data, labels)]
    if len(paths) == 2:
        data, labels = split_dropped(paths)
        if labels is not None:
            return data, labels, []
    return paths[0], None, paths[1:]


def local_paths(mime: Any) -> list[str]:
    """The local files and folders in a drag's QMimeData (nothing for text or remote URLs)."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]
