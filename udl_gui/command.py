"""`udl gui [PATH]`: the desktop app as a `udl` subcommand.

Registered through the `udl.commands` entry points (pyproject.toml), which `udl_core.cli` reads,
so the core never names this package. Importing this module imports no Qt: the window's modules
load only when the command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add `gui` to `udl`'s subcommands (`subparsers` is what `add_subparsers()` returned)."""
    gui: argparse.ArgumentParser = subparsers.add_parser("gui", help="open the desktop app")
    gui.add_argument("path", nargs="?", help="a dataset to open")
    gui.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from udl_gui.main import run_from_cli

    return run_from_cli(args)
