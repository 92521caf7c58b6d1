"""Readers, one module per family of files, behind one registry (see registry.py)."""

from udl_core.formats.registry import (
    ReaderSpec,
    find_reader,
    load_table,
    read_table,
    readers,
    register_reader,
)

# Each import registers its readers.
from udl_core.formats import delimited, jsonfmt, columnar, arrays, images  # noqa: E402,F401  isort: skip

__all__ = ["ReaderSpec", "find_reader", "load_table", "read_table", "readers", "register_reader"]
