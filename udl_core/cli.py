"""`udl inspect | batch | train | predict | export | check | gui` — the command line over udl_core.

The commands live beside this module (`cli_data`, `cli_train`, `cli_check`) and share their
options through `cli_args`; other packages add commands through the `udl.commands` entry points.

Every command turns a `UDLError` into one `error:` line on stderr and exit code 2;
nothing else about bad input ever reaches the user as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from udl_core.cli_args import (add_distributed_arguments, add_loader_arguments, add_memory_budget_argument,
                               loader_from_args)
from udl_core.errors import ConfigError, UDLError
from udl_core.terminal import printable, printable_streams

# the shared options and loader live in cli_args (the commands import them from there); they stay
# importable from here for scripts that built on them
__all__ = ["COMMANDS_GROUP", "add_loader_arguments", "add_memory_budget_argument", "build_parser",
           "loader_from_args", "main"]

COMMANDS_GROUP = "udl.commands"
"""Entry points that add `udl` subcommands: each names a `register(subparsers)` callable. The
desktop app registers `udl gui` this way (pyproject.toml), so this package never names it."""


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        import importlib

        command: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), name)
        return command(args)

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
    train.add_argument("--suspects", type=int, metavar="N",
                       help="also find likely label errors (5-fold, about 5 runs' time) and list the first N")
    add_distributed_arguments(train)
    train.set_defaults(run=_lazy("udl_core.cli_train", "run_train"))

    predict = sub.add_parser("predict", help="predictions from saved weights for a file of the same schema")
    predict.add_argument("weights", metavar="WEIGHTS.safetensors")
    predict.add_argument("path")
    predict.add_argument("--json", action="store_true")
    add_memory_budget_argument(predict)
    predict.set_defaults(run=_lazy("udl_core.cli_train", "run_predict"))

    export = sub.add_parser("export", help="the processed tensors (x, y, feature names, split, source rows)")
    add_loader_arguments(export)
    export.add_argument("--out", required=True, metavar="FILE.npz|FILE.parquet")
    export.add_argument("--using", metavar="WEIGHTS.safetensors",
                        help="apply this saved model's preprocessing to PATH (a file of the same schema)")
    export.set_defaults(run=_lazy("udl_core.cli_export", "run_export"))

    check = sub.add_parser("check", help="pipeline checks: leakage, scaling, labels, determinism, ...")
    add_loader_arguments(check)
    check.add_argument("--json", action="store_true")
    add_distributed_arguments(check)
    check.set_defaults(run=_lazy("udl_core.cli_check", "run_check"))

    for command in sorted(entry_points(group=COMMANDS_GROUP), key=lambda ep: ep.name):
        command.load()(sub)
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
