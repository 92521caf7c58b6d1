"""Choosing and dropping dataset files: the open dialog's filter, the paths in a drop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["file_dialog_filter", "local_paths", "split_dropped"]


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


def local_paths(mime: Any) -> list[str]:
    """The local files and folders in a drag's QMimeData (nothing for text or remote URLs)."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]
