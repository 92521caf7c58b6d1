"""The options that every `udl` command reading a dataset shares, and the loader they build.

A leaf of the command line: `cli` builds the parser with it, and the commands (`cli_data`,
`cli_train`, `cli_check`) call `loader_from_args` through it, never back through `cli`.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from udl_core.errors import ConfigError

if TYPE_CHECKING:
    from udl_core.distributed import World
    from udl_core.loader import UnifiedDataLoader

__all__ = ["add_distributed_arguments", "add_loader_arguments", "add_memory_budget_argument", "loader_from_args",
           "world_from_args"]


def add_loader_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every command that reads a dataset shares."""
    parser.add_argument("path", help="a file or a folder (CSV, JSON, Parquet, Arrow, NPY/NPZ, images)")
    parser.add_argument("--label", help="the label column (default: label/target/class/y, else a guess: the "
                                        "last column that can be a label)")
    parser.add_argument("--labels", metavar="LABELFILE", help="a second file holding the labels")
    parser.add_argument("--task", choices=("auto", "classification", "regression"), default="auto")
    parser.add_argument("--ignore", action="append", default=[], metavar="COL", help="leave a column out")
    parser.add_argument("--categorical", action="append", default=[], metavar="COL",
                        help="treat a column as categorical")
    parser.add_argument("--numeric", action="append", default=[], metavar="COL",
                        help="treat a column as numeric")
    parser.add_argument("--missing", action="append", default=None, metavar="TOKEN",
                        help="a token that means a missing value (repeatable; replaces the defaults)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--max-bad-fraction", type=float, default=0.1,
                        help="share of malformed records allowed before the load fails")
    add_memory_budget_argument(parser)


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """`--distributed` and `--shard`: one of several processes started by `mlx.launch` (docs/training.md)."""
    parser.add_argument("--distributed", action="store_true",
                        help="one of several processes started by mlx.launch: each takes its piece of every batch, "
                             "gradients are averaged, only the first process prints and saves")
    parser.add_argument("--shard", action="store_true",
                        help="with --distributed: each process reads and preprocesses only its part of the rows "
                             "(Parquet, NPY, CSV); the preprocessing statistics are summed across processes")


def world_from_args(args: argparse.Namespace) -> World:
    """The processes this one runs with: `mlx.launch`'s group with --distributed, else this one alone."""
    from udl_core.distributed import LOCAL, init_world

    if getattr(args, "shard", False) and not getattr(args, "distributed", False):
        raise ConfigError("--shard splits the reading across processes: it needs --distributed")
    return init_world() if getattr(args, "distributed", False) else LOCAL


def _memory_budget(text: str) -> int:
    from udl_core.formats.bounded import parse_size

    try:
        return parse_size(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_memory_budget_argument(parser: argparse.ArgumentParser) -> None:
    """`--memory-budget SIZE`, defaulting to $UDL_MEMORY_BUDGET (a bad value in either is a usage error)."""
    from udl_core.formats.bounded import BUDGET_ENV

    parser.add_argument(
        "--memory-budget", type=_memory_budget, default=os.environ.get(BUDGET_ENV) or None, metavar="SIZE",
        help=f"most memory UDL may use for the data, e.g. 512M or 4G (default: ${BUDGET_ENV}, "
             "else a quarter of physical memory); larger CSV and Parquet files are streamed, others refused")


def loader_from_args(args: argparse.Namespace, **overrides: Any) -> UnifiedDataLoader:
    """A loaded `UnifiedDataLoader` built from the shared options."""
    from udl_core.loader import UnifiedDataLoader

    kwargs = dict(
        label=args.label,
        labels=args.labels,
        task=args.task,
        ignore=tuple(args.ignore),
        categorical=tuple(args.categorical),
        numeric=tuple(args.numeric),
        batch_size=args.batch_size,
        seed=args.seed,
        val_fraction=args.val_fraction,
        max_bad_fraction=args.max_bad_fraction,
        memory_budget=getattr(args, "memory_budget", None),
    )
    if args.missing is not None:
        kwargs["missing_values"] = tuple(args.missing)
    kwargs.update(overrides)
    return UnifiedDataLoader(args.path, **kwargs).load()
