"""Save a trained model (weights + a JSON sidecar) and predict with it on a file of the same schema.

`model.safetensors` holds the weights; `model.json` beside it holds what is needed to use them:
the model's shape, the schema, the fitted preprocessing statistics, the classes or the target's
mean and standard deviation, and how the file was read. The two are one unit: both are written
to temp files first, then renamed into place, and the description records the sha256 of the
weights, so `load_model` refuses a pair from two different saves (an interrupted one) rather
than predicting with it. The description is validated field by field before use (description.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Generator
from dataclasses import dataclass, fields, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from udl_core.atomic import atomic_path
from udl_core.errors import ConfigError, CorruptFileError, DatasetError, SchemaError
from udl_core.events import Notice, Progress
from udl_core.mlx_runtime import mx, nn
from udl_core.outputs import RunInputs, check_output
from udl_core.table import ReadOptions
from udl_core.training.description import FORMAT_VERSION, read_description, validate_description
from udl_core.training.models import ModelSpec, build_model
from udl_core.training.trainer import TrainResult, predict_numpy

if TYPE_CHECKING:
    from udl_core.loader import UnifiedDataLoader

__all__ = ["FORMAT_VERSION", "Prediction", "SavedModel", "file_sha256", "load_model", "predict_file", "save_model",
           "sidecar_path"]


def _udl_version() -> str:
    try:
        return metadata.version("udl")
    except metadata.PackageNotFoundError:
        return "unknown"


def sidecar_path(weights: str | Path) -> Path:
    """`model.safetensors` -> `model.json`."""
    return Path(weights).with_suffix(".json")


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read a MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_options_dict(loader: UnifiedDataLoader) -> dict[str, Any]:
    options = getattr(loader, "read_options", None)
    if not isinstance(options, ReadOptions):
        options = ReadOptions()
    data = {f.name: getattr(options, f.name) for f in fields(ReadOptions)}
    missing = getattr(loader, "missing_values", None)
    if missing is not None:
        data["missing_values"] = list(missing)
    data["labels_path"] = None  # a file to predict on carries its own features only
    if data.get("image_size") is not None:
        data["image_size"] = list(data["image_size"])
    data["missing_values"] = list(data["missing_values"])
    return data


def save_model(result: TrainResult, loader: UnifiedDataLoader, weights: str | Path) -> tuple[Path, Path]:
    """Write `weights` (safetensors) and its JSON sidecar as one unit; return both paths.

    Neither may be an input of the run, a link, a device or a FIFO (outputs.check_output)."""
    schema, preprocessor = loader.schema, loader.preprocessor
    if schema is None or preprocessor is None:
        raise ConfigError("the loader is not loaded; call loader.load() before saving a model trained on it")
    inputs = RunInputs.of(getattr(loader, "path", None), getattr(loader, "labels_path", None))
    weights = check_output(weights, inputs, suffix=".safetensors", what="the weights file")
    sidecar = check_output(sidecar_path(weights), inputs, what="the model description")
    meta = {
        "udl_version": _udl_version(),
        "format_version": FORMAT_VERSION,
        "model": result.spec.to_dict(),
        "task": result.spec.task,
        "classes": list(result.classes) if result.classes is not None else None,
        "target_mean": result.target_mean,
        "target_std": result.target_std,
        "feature_names": list(getattr(loader, "feature_names", []) or []),
        "source": str(getattr(loader, "path", "")),
        "read_options": {**_read_options_dict(loader), "date_formats": _date_formats(preprocessor.steps)},
        "schema": schema.to_dict(),
        "preprocessor": preprocessor.to_dict(),
        "training": {
            "epochs_done": len(result.epochs),
            "learning_rate": result.config.learning_rate,
            "seed": result.config.seed,
            "device": result.device,
            "final_train_loss": _finite(result.final.train_loss) if result.final else None,
            "final_val_loss": _finite(result.final.val_loss) if result.final else None,
        },
    }
    params = dict(nn.utils.tree_flatten(result.model.parameters()))
    mx.eval(params)
    # Both written before either is renamed; the description goes into place first, so an
    # interruption between the renames leaves a new checksum beside old weights: refused on load.
    try:
        with atomic_path(weights) as weights_tmp, atomic_path(sidecar) as sidecar_tmp:
            mx.save_safetensors(str(weights_tmp), params, metadata={"udl_format_version": str(FORMAT_VERSION)})
            meta["weights_sha256"] = file_sha256(weights_tmp)
            text = json.dumps(meta, indent=2, default=_json_default)
            with open(sidecar_tmp, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
    except OSError as exc:   # a full disk, a file size limit: nothing was renamed, the old pair stands
        raise ConfigError(f"{weights}: cannot write the model: {exc.strerror or exc}; "
                          "the files there before are unchanged") from None
    return weights, sidecar


def _date_formats(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Each datetime feature's text form (None: a timestamp in the file), so that predict reads
    the new file's dates in it and detects none (an all-ambiguous 01/02/2006 is not re-decided)."""
    return {step["column"]: step.get("date_format") for step in steps if step.get("kind") == "datetime"}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


@dataclass
class SavedModel:
    """A model rebuilt from disk, with what it needs to read new data like its training data."""

    model: nn.Module
    spec: ModelSpec
    meta: dict[str, Any]

    @property
    def task(self) -> str:
        return self.spec.task

    @property
    def classes(self) -> tuple[str, ...] | None:
        classes = self.meta.get("classes")
        return tuple(classes) if classes is not None else None

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict_numpy(self.model, x, self.spec.task, float(self.meta.get("target_mean", 0.0)),
                             float(self.meta.get("target_std", 1.0)))


def load_model(weights: str | Path) -> SavedModel:
    """Rebuild the model saved at `weights` from its sidecar and load the weights (strictly).

    The sidecar is validated first (CorruptFileError naming it and the field), then the weights'
    sha256 is compared with the one it records: a torn or mixed pair is refused."""
    weights = Path(weights)
    sidecar = sidecar_path(weights)
    if not weights.is_file():
        raise DatasetError(weights, "no such weights file")
    if not sidecar.is_file():
        raise DatasetError(weights, f"the model description {sidecar.name} is missing beside it "
                                    "(udl train --save writes both)")
    raw = read_description(sidecar)
    clean = validate_description(raw, sidecar)
    try:
        digest = file_sha256(weights)
    except OSError as exc:
        raise DatasetError(weights, f"cannot read the weights: {exc.strerror or exc}") from None
    if digest != clean["weights_sha256"]:
        raise CorruptFileError(weights, f"the weights do not match their description {sidecar.name} (sha256 "
                                        "differs): the save was interrupted or one of the two files was replaced; "
                                        "save the model again")
    meta = {**raw, **clean}   # informational fields kept; every field predict uses is the checked one
    spec = ModelSpec.from_dict(clean["model"])
    model = build_model(spec)
    try:
        model.load_weights(str(weights), strict=True)
    except (ValueError, RuntimeError) as exc:
        raise CorruptFileError(weights, f"the weights do not fit the model in {sidecar.name}: {exc}") from None
    mx.eval(model.parameters())
    return SavedModel(model=model, spec=spec, meta=meta)


@dataclass(frozen=True)
class Prediction:
    """One row's prediction: a class name and its probability, or a value in the target's units."""

    row: int
    value: str | float
    probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"row": self.row, "prediction": self.value}
        if self.probability is not None:
            data["probability"] = self.probability
        return data


def predict_file(saved: SavedModel, path: str | Path, memory_budget: int | None = None
                 ) -> Generator[Progress | Notice, None, list[Prediction]]:
    """Read `path` as the model's training data was read (within this machine's `memory_budget`),
    preprocess it with the saved statistics, and predict every row."""
    x = yield from processed_file(saved, path, memory_budget)
    yield Progress("predict", 0, len(x), f"predicting {len(x)} rows")
    out = saved.predict(x)
    if saved.task == "classification":
        classes = saved.classes or tuple(str(i) for i in range(out.shape[1]))
        best = out.argmax(axis=1)
        preds = [Prediction(i, classes[int(k)], float(out[i, k])) for i, k in enumerate(best)]
    else:
        preds = [Prediction(i, float(v)) for i, v in enumerate(out)]
    yield Progress("predict", len(x), len(x))
    return preds


def processed_file(saved: SavedModel, path: str | Path, memory_budget: int | None = None
                   ) -> Generator[Progress | Notice, None, np.ndarray]:
    """`path` read as the model's training data was read and preprocessed with the saved statistics:
    x float32 [N, D] (what `predict_file` predicts from and `udl export --using` writes)."""
    from udl_core.dates import column_warnings
    from udl_core.formats import load_table
    from udl_core.preprocess import Preprocessor

    options = replace(_read_options(saved.meta.get("read_options") or {}), memory_budget=memory_budget)
    table = yield from load_table(path, options)
    if table.is_tabular and table.columns is not None:   # dates read in the saved form: values not in it
        for field in table.columns.schema:                 # are missing, and said so
            for message in column_warnings(field.name, field):
                yield Notice(message, "warning")
    preprocessor = Preprocessor.from_dict(saved.meta["preprocessor"])
    try:
        x = preprocessor.transform(table)
    except (KeyError, ValueError, TypeError, AttributeError, NotImplementedError, pa.ArrowException) as exc:
        # A column whose type differs from the one the step was fitted on (a datetime step
        # over numbers, say) fails inside pyarrow or numpy: the file does not fit the model.
        raise SchemaError(path, f"does not match the model's schema: {exc}") from None
    if x.ndim != 2 or x.shape[1] != saved.spec.in_dim:
        raise SchemaError(path, f"gives {x.shape[-1] if x.ndim else 0} features after preprocessing; "
                                f"the model expects {saved.spec.in_dim}")
    return x


def _read_options(data: dict[str, Any]) -> ReadOptions:
    """Paths (labels_path) and this machine's settings (memory_budget) never come from a description."""
    known = {f.name for f in fields(ReadOptions)} - {"labels_path", "memory_budget"}
    kwargs = {k: v for k, v in data.items() if k in known}
    if kwargs.get("missing_values") is not None:
        kwargs["missing_values"] = tuple(kwargs["missing_values"])
    if kwargs.get("image_size") is not None:
        kwargs["image_size"] = tuple(kwargs["image_size"])
    if kwargs.get("date_formats") is not None:   # absent in older descriptions: dates are detected
        kwargs["date_formats"] = tuple((name, form["form"] if form else None, tuple(form["times"]) if form else ())
                                       for name, form in kwargs["date_formats"].items())
    return ReadOptions(**kwargs)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
