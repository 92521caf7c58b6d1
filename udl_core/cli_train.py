"""`udl train` and `udl predict`: TRAIN_MODEL switched on, from the command line.

Human mode prints a progress line per epoch and a final line (notices and warnings go to
stderr) and the evaluation's short table; `--json` prints JSON Lines: `epoch` events, `notice`
events, one `evaluation` event, then one `done` event.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from udl_core import cli_args
from udl_core.distributed import World
from udl_core.errors import ConfigError
from udl_core.events import EpochMetrics, Evaluation, Notice, TrainConfig, run_job
from udl_core.outputs import RunInputs, check_output, check_writable_folder
from udl_core.terminal import printable
from udl_core.blas import blas_status
from udl_core.training.devices import resolve_device
from udl_core.training.trainer import TrainResult, train

__all__ = ["format_epoch", "loader_kwargs_from_args", "run_predict", "run_train"]


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: those become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _emit(event: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(_clean(event)) + "\n")
    out.flush()


def _num(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def format_epoch(m: EpochMetrics) -> str:
    """"epoch 2/5  train_loss 0.4132  val_loss 0.4410  val_accuracy 0.913  12,400 samples/s"."""
    parts = [f"epoch {m.epoch}/{m.epochs}", f"train_loss {_num(m.train_loss)}", f"val_loss {_num(m.val_loss)}"]
    if m.task == "regression":
        parts += [f"val_r2 {_num(m.val_r2, 3)}", f"val_mse {_num(m.val_mse)}"]
    elif m.val_accuracy is not None:
        parts.append(f"val_accuracy {m.val_accuracy:.3f}")
    parts.append(f"{m.samples_per_s:,.0f} samples/s")
    return "  ".join(p for p in parts if p)


def loader_kwargs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The `UnifiedDataLoader` keyword arguments the shared CLI options stand for (cli.loader_from_args)."""
    kwargs: dict[str, Any] = dict(
        label=args.label, labels=args.labels, task=args.task, ignore=tuple(args.ignore),
        categorical=tuple(args.categorical), numeric=tuple(args.numeric), batch_size=args.batch_size,
        seed=args.seed, val_fraction=args.val_fraction, max_bad_fraction=args.max_bad_fraction,
    )
    if args.missing is not None:
        kwargs["missing_values"] = tuple(args.missing)
    if getattr(args, "memory_budget", None):
        kwargs["memory_budget"] = args.memory_budget   # the export script keeps the run's budget
    return kwargs


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before the (possibly long) load and run, not after: bad numbers, and outputs that
    would replace an input, a link, a device or a FIFO, or that cannot be written."""
    from udl_core.training.saving import sidecar_path

    if args.epochs < 1:
        raise ConfigError(f"--epochs must be at least 1, not {args.epochs}")
    if getattr(args, "suspects", None) is not None and args.suspects < 1:
        raise ConfigError(f"--suspects must be at least 1, not {args.suspects}")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise ConfigError(f"--lr must be a positive number, not {args.lr}")
    inputs = RunInputs.of(args.path, args.labels)
    written: list[Path] = []
    if args.save:
        written.append(check_output(args.save, inputs, suffix=".safetensors", what="--save"))
        written.append(check_output(sidecar_path(args.save), inputs, what="--save's description"))
    if args.export_script:
        written.append(check_output(args.export_script, inputs, suffix=".py", what="--export-script"))
    for path in written:
        check_writable_folder(path)


def run_train(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    _check_outputs(args)
    resolve_device(args.device)  # a GPU asked for where none exists fails before the load
    world = cli_args.world_from_args(args)
    if world.distributed and getattr(args, "suspects", None):
        raise ConfigError("--suspects trains k folds on one process; leave it out with --distributed")
    if not world.main:   # only the first process prints, plots and saves; the others' errors still show
        out = io.StringIO()
    elif args.distributed and not world.distributed:
        _notice(Notice("--distributed: not started by mlx.launch (or a group of one process): training as a "
                       "single process"), args.json, out, err)
    loader = cli_args.loader_from_args(args, **_world_options(args, world))  # by the module: tests replace it
    config = TrainConfig(epochs=args.epochs, learning_rate=args.lr, model=args.model, device=args.device,
                         seed=args.seed, report_every=50)
    if not world.main:
        err = io.StringIO()
    for warning in getattr(loader, "warnings", None) or ():
        _notice(Notice(str(warning), "warning"), args.json, out, err)

    held: list[Evaluation] = []   # printed after the run (and the suspects), before `done`

    def on_event(event: object) -> None:
        if isinstance(event, Evaluation):
            held.append(event)
        elif isinstance(event, Notice):
            _notice(event, args.json, out, err)
        elif isinstance(event, EpochMetrics):
            if args.json:
                _emit(event.to_dict(), out)
            else:
                print(format_epoch(event), file=out, flush=True)
                for warning in event.warnings:
                    print(f"warning: epoch {event.epoch}: {warning}", file=err)

    with _StopOnInterrupt(err) as interrupted:
        result: TrainResult = run_job(train(loader, config, should_stop=interrupted, world=world), on_event)
        if getattr(args, "suspects", None) and not interrupted():
            held[:] = [_with_suspects(loader, config, result, held, args.suspects, interrupted, on_event)]

    saved: list[str] = []
    if not world.main:
        return 0
    if args.save:
        from udl_core.training.saving import save_model

        saved = [str(p) for p in save_model(result, loader, args.save)]
    if args.export_script:
        from udl_core.training.export import write_script

        write_script(args.export_script, args.path, loader_kwargs_from_args(args), config, device=result.device,
                     distributed=world.distributed, shard=bool(getattr(args, "shard", False)))
        saved.append(str(args.export_script))

    final = result.final
    if held:
        _print_evaluation(held[-1], args.json, out)
    if args.json:
        done_event: dict[str, Any] = {"event": "done", "device": result.device, "seconds": result.seconds,
                                      "samples_per_s": result.samples_per_s, "epochs": len(result.epochs),
                                      "steps": int(len(result.step_losses)), "task": result.task,
                                      "model": result.spec.kind, "stopped": result.stopped, "saved": saved,
                                      "processes": world.size}
        if result.device == "cpu":
            done_event["blas"] = blas_status()
        _emit(done_event, out)
    else:
        summary = (f"{'stopped' if result.stopped else 'done'} in {_seconds(result.seconds)} on {result.device}: "
                   f"{result.samples_per_s:,.0f} samples/s")
        if world.distributed:
            summary += f" across {world.size} processes"
        if final is not None and final.val_accuracy is not None:
            summary += f", val_accuracy {final.val_accuracy:.3f}"
        elif final is not None and final.val_r2 is not None:
            summary += f", val_r2 {_num(final.val_r2, 3)}"
        print(summary, file=out)
        for path in saved:
            print(f"wrote {path}", file=out)
    return 0


def _world_options(args: argparse.Namespace, world: World) -> dict[str, Any]:
    """The loader's options for this process's place in a distributed run (none for one process)."""
    return {"world": world, "shard": bool(getattr(args, "shard", False))} if world.distributed else {}


def _with_suspects(loader: Any, config: TrainConfig, result: TrainResult, held: list[Evaluation], limit: int,
                   interrupted: Callable[[], bool], on_event: Callable[[object], None]) -> Evaluation:
    """The run's evaluation with the `limit` likely label errors of the k-fold (docs/training.md)."""
    evaluation = held[-1] if held else Evaluation(task=result.task, rows=0, classes=result.classes or ())
    if result.task != "classification":
        on_event(Notice("--suspects is for classification; the evaluation lists a regression's outliers"))
        return evaluation
    from udl_core.training.suspects import find_suspects

    config = dataclasses.replace(config, device=result.device)   # the fallback was told once already
    suspects = run_job(find_suspects(loader, config, limit=limit, run_seconds=result.seconds,
                                     should_stop=interrupted), on_event)
    return dataclasses.replace(evaluation, suspects=suspects)


def _print_evaluation(evaluation: Evaluation, as_json: bool, out: TextIO) -> None:
    if as_json:
        _emit(evaluation.to_dict(), out)
    else:
        from udl_core.cli_evaluation import format_evaluation

        print("\n".join(format_evaluation(evaluation)), file=out)


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 10 else f"{seconds:.2g} s" if seconds >= 0.01 else "under 0.01 s"


class _StopOnInterrupt:
    """The first Ctrl-C asks the run to stop after the current step (it then ends cleanly, saves
    and reports what it has); a second one interrupts at once. Only the main thread gets signals."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._requested = False
        self._previous: Any = None

    def __call__(self) -> bool:
        return self._requested

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True
        print("stopping after this step (Ctrl-C again to abort)", file=self._err, flush=True)

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _notice(event: Notice, as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        _emit({"event": "notice", "level": event.level, "message": event.message}, out)
    else:
        print(f"{'warning' if event.level == 'warning' else 'note'}: {event.message}", file=err)


def run_predict(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from udl_core.training.saving import load_model, predict_file

    out = out or sys.stdout
    saved = load_model(args.weights)
    # Warnings go to stderr in both modes: stdout holds one prediction a line.
    predictions = run_job(predict_file(saved, args.path, getattr(args, "memory_budget", None)),
                          lambda event: _notice(event, False, out, sys.stderr) if isinstance(event, Notice) else None)
    for p in predictions:
        if args.json:
            _emit(p.to_dict(), out)   # json.dumps escapes control characters
        elif p.probability is not None:
            out.write(f"{p.row}\t{printable(str(p.value))}\t{p.probability:.4f}\n")
        else:
            out.write(f"{p.row}\t{p.value:.6g}\n")
    out.flush()
    return 0
