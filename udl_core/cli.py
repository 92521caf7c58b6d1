"""`udl inspect | batch | train | predict | check | gui` — the command line over udl_core.

Every command turns a `UDLError` into one `error:` line on stderr and exit code 2;
nothing else about bad input ever reaches the user as a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from udl_core.errors import ConfigError, UDLError
from udl_core.terminal import printable, printable_streams

__all__ = ["add_loader_arguments", "add_memory_budget_argument", "build_parser", "loader_from_args", "main"]


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


def loader_from_args(args: argparse.Namespace, **overrides):
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


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)

    return run


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one `error:` line (and exit 2) like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="udl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = sub.add_parser("inspect", help="schema, label, task and a load estimate")
    add_loader_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="one JSON object")
    inspect.set_defaults(run=_lazy("udl_core.cli_data", "run_inspect"))

    batch = sub.add_parser("batch", help="one batch, raw rows and processed tensors")
    add_loader_arguments(batch)
    batch.add_argument("--index", type=int, default=0)
    batch.add_argument("--split", choices=("train", "val"), default="train")
    batch.add_argument("--json", action="store_true")
    batch.add_argument("--health", action="store_true",
                       help="also the epoch's data health: NaN/inf, feature mean and std, a sorted-data warning")
    batch.set_defaults(run=_lazy("udl_core.cli_data", "run_batch"))

    train = sub.add_parser("train", help="smoke-train a small MLX model on the batches")
    add_loader_arguments(train)
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--device", choices=("auto", "gpu", "cpu"), default="auto")
    train.add_argument("--model", choices=("mlp", "linear"), default="mlp")
    train.add_argument("--save", metavar="WEIGHTS.safetensors")
    train.add_argument("--export-script", metavar="FILE.py")
    train.add_argument("--json", action="store_true", help="JSON Lines, one event a line")
    train.set_defaults(run=_lazy("udl_core.training.cli_train", "run_train"))

    predict = sub.add_parser("predict", help="predictions from saved weights for a file of the same schema")
    predict.add_argument("weights", metavar="WEIGHTS.safetensors")
    predict.add_argument("path")
    predict.add_argument("--json", action="store_true")
    add_memory_budget_argument(predict)
    predict.set_defaults(run=_lazy("udl_core.training.cli_train", "run_predict"))

    check = sub.add_parser("check", help="pipeline checks: leakage, scaling, labels, determinism, ...")
    add_loader_arguments(check)
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=_lazy("udl_core.training.cli_check", "run_check"))

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.add_argument("path", nargs="?")
    gui.set_defaults(run=_lazy("udl_gui.main", "run_from_cli"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with printable_streams():  # names and paths from files never drive the terminal
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UDLError as exc:
        # A DatasetError names its file already; a bad option is about this dataset too.
        where = getattr(args, "path", None)
        prefix = f"{where}: " if where and isinstance(exc, ConfigError) else ""
        if prefix and str(exc).startswith(prefix):
            prefix = ""  # the message names the file already
        print(f"error: {printable(prefix + str(exc))}", file=sys.stderr)  # one line, always
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, MemoryError) as exc:
        where = getattr(args, "path", "")
        print(f"error: {printable(f'{where}: {exc}')}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
