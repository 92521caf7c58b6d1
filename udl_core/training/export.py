"""`udl train --export-script FILE.py`: the run as a short Python program over the public API.

The script builds the same `UnifiedDataLoader` (file, label, overrides, seed, split, batch size)
and the same `TrainConfig` (model, optimizer settings, epochs, seed, device), trains, and prints
one JSON line per epoch with the mean training loss and every step's loss, so a second run can
be compared with the first, step for step.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from udl_core.atomic import atomic_write
from udl_core.errors import ConfigError
from udl_core.outputs import RunInputs, check_output
from udl_core.blas import blas_setting
from udl_core.training.trainer import TrainConfig

__all__ = ["render_script", "write_script"]

_TEMPLATE = '''\
#!/usr/bin/env python3
"""Reproduce a UDL smoke-training run (exported by `udl train --export-script`, {when}).

Same data, split, shuffle, model, optimizer and seed on the same device give the same losses,
step for step. Prints one JSON line per epoch.{launch}
"""

import json
import os

os.environ.setdefault("UDL_BLAS", "{blas}")  # the BLAS the run used: the same additions, the same losses

from udl_core.loader import UnifiedDataLoader
from udl_core.training import EpochMetrics, StepLoss, TrainConfig, train
{world}
loader = UnifiedDataLoader(
{loader_args}
).load()

config = TrainConfig(
{config_args}
)

step_losses = []
for event in train(loader, config):
    if isinstance(event, StepLoss):
        step_losses.append(event.loss)
    elif isinstance(event, EpochMetrics){main}:
        print(json.dumps({{"epoch": event.epoch, "train_loss": event.train_loss, "val_loss": event.val_loss,
                          "step_losses": step_losses}}), flush=True)
        step_losses = []
'''


def _arguments(values: dict[str, Any]) -> str:
    return "\n".join(f"    {name}={value!r}," for name, value in values.items())


_LAUNCH = """

Run it as the original run ran, one process per rank, e.g. on this machine:
    mlx.launch -n 2 --backend ring -- python {name}
(or with --hostfile across machines: docs/training.md, "Several machines"). Only rank 0 prints."""

_WORLD = """from udl_core.distributed import init_world

world = init_world()   # this process's rank among those mlx.launch started
"""


def render_script(path: str | Path, loader_kwargs: dict[str, Any], config: TrainConfig,
                  device: str | None = None, *, distributed: bool = False, shard: bool = False,
                  name: str = "this_script.py") -> str:
    """The program's text. `device` pins the device the run actually used ("cpu" / "gpu");
    `distributed` makes it one of several processes started by `mlx.launch` (`shard`: each
    reads its part of the rows), as the run was."""
    loader_args: dict[str, Any] = {"path": str(Path(path).resolve())}
    for name, value in loader_kwargs.items():
        if value is None or value == ():
            continue  # the loader's default
        loader_args[name] = str(Path(value).resolve()) if name == "labels" else value
    settings = dataclasses.asdict(config)
    settings["report_every"] = 1  # the script records every step's loss
    if device:
        settings["device"] = device
    settings["hidden"] = tuple(settings["hidden"])
    if distributed:
        loader_args["world"] = "world"
        if shard:
            loader_args["shard"] = True
    path_line = f"    {loader_args.pop('path')!r},"
    return _TEMPLATE.format(
        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        loader_args="\n".join(filter(None, [path_line, _arguments(loader_args)])).replace("world='world'", "world=world"),
        launch=_LAUNCH.format(name=name) if distributed else "",
        world=_WORLD if distributed else "",
        main=" and world.main" if distributed else "",
        config_args=_arguments(settings),
        blas=blas_setting(),
    )


def write_script(target: str | Path, path: str | Path, loader_kwargs: dict[str, Any], config: TrainConfig,
                 device: str | None = None, *, distributed: bool = False, shard: bool = False) -> Path:
    """Write the program to `target` atomically and return its path.

    `target` ends in .py and is never the dataset, its labels file, a link, a device or a FIFO."""
    inputs = RunInputs.of(path, loader_kwargs.get("labels"))
    target = check_output(target, inputs, suffix=".py", what="the exported script")
    text = render_script(path, loader_kwargs, config, device, distributed=distributed, shard=shard,
                         name=Path(target).name)
    try:
        with atomic_write(target) as handle:
            handle.write(text)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the script: {exc.strerror or exc}") from None
    return target
