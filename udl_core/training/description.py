"""The saved model's JSON description, read and checked before any of it is used.

`read_description` bounds the file's size before parsing it, then `validate_description` checks
every field `udl predict` uses against a schema (types, ranges, sizes, consistency between the
model, the classes and the preprocessing) and returns a clean copy holding those fields only.
A malformed field is a `CorruptFileError` naming the sidecar and the field, never a traceback.
Paths in the description (`source`, `read_options.labels_path`) are never used: a path counts
only when given on the command line.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any, NoReturn

from udl_core.dates import form_names, time_names
from udl_core.errors import CorruptFileError, DatasetError
from udl_core.preprocess import DATETIME_PARTS
from udl_core.training.models import DEFAULT_HIDDEN, MODEL_KINDS

__all__ = ["FORMAT_VERSION", "MAX_DESCRIPTION_BYTES", "MAX_PARAMETERS", "read_description", "validate_description"]

FORMAT_VERSION = 2                    # 2: the description records the weights' sha256

MAX_DESCRIPTION_BYTES = 256 << 20     # a 100k-column preprocessing is about 40 MB
MAX_PARAMETERS = 1 << 30              # 4 GiB of float32 weights
MAX_WIDTH = 1 << 24                   # features, classes, hidden units
MAX_LAYERS = 64
MAX_STRING = 1 << 16
_TASKS = ("classification", "regression")
_LAYOUTS = ("tabular", "array", "image")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class _Invalid(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")


def _fail(where: str, message: str) -> NoReturn:
    raise _Invalid(where, message)


def read_description(sidecar: Path) -> dict[str, Any]:
    """Parse `sidecar` (a regular file of at most MAX_DESCRIPTION_BYTES) into a JSON object."""
    try:
        with open(sidecar, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise CorruptFileError(sidecar, "the model description is not a regular file")
            if st.st_size > MAX_DESCRIPTION_BYTES:
                raise CorruptFileError(sidecar, f"the model description is {st.st_size:,} bytes, over the "
                                                f"{MAX_DESCRIPTION_BYTES:,} a UDL description can be")
            data = handle.read(MAX_DESCRIPTION_BYTES + 1)
    except OSError as exc:
        raise DatasetError(sidecar, f"cannot read the model description: {exc.strerror or exc}") from None
    if len(data) > MAX_DESCRIPTION_BYTES:
        raise CorruptFileError(sidecar, "the model description grew past its size limit while being read")
    try:
        meta = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise CorruptFileError(sidecar, "not a UDL model description: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFileError(sidecar, f"not a UDL model description: {exc}") from None
    if not isinstance(meta, dict):
        raise CorruptFileError(sidecar, f"not a UDL model description: a JSON {type(meta).__name__}, not an object")
    return meta


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def validate_description(meta: dict[str, Any], sidecar: Path) -> dict[str, Any]:
    """A checked copy of `meta`'s fields that predict uses; CorruptFileError naming the bad field."""
    try:
        return _validate(meta)
    except _Invalid as exc:
        raise CorruptFileError(sidecar, f"not a usable UDL model description: {exc}") from None


# -- leaves -------------------------------------------------------------------------------------
def _field(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        _fail(f"{where}.{key}" if where else key, "missing")
    return data[key]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(where, f"should be an object, not {_type(value)}")
    return value


def _list(value: Any, where: str, max_len: int = MAX_WIDTH) -> list[Any]:
    if not isinstance(value, list):
        _fail(where, f"should be a list, not {_type(value)}")
    if len(value) > max_len:
        _fail(where, f"has {len(value):,} items, over {max_len:,}")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(where, f"should be a whole number, not {_type(value)}")
    if not low <= value <= high:
        text = str(value)
        shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} digits)"
        _fail(where, f"{shown} is outside {low}..{high}")
    return value


def _number(value: Any, where: str, *, positive: bool = False, float32: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(where, f"should be a number, not {_type(value)}")
    try:
        number = float(value)
    except OverflowError:
        _fail(where, "is too large")
    # Feature statistics are float64 (a column of 1e41 has a median of 1e41); targets are float32.
    if not math.isfinite(number) or (float32 and abs(number) > 3.4e38):
        _fail(where, f"{value} is not a finite {'float32 ' if float32 else ''}number")
    if positive and not number > 0:
        _fail(where, f"{value} should be greater than 0")
    return number


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        _fail(where, f"should be true or false, not {_type(value)}")
    return value


def _str(value: Any, where: str, max_len: int = MAX_STRING) -> str:
    if not isinstance(value, str):
        _fail(where, f"should be a string, not {_type(value)}")
    if len(value) > max_len:
        _fail(where, f"is {len(value):,} characters long, over {max_len:,}")
    return value


def _choice(value: Any, where: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        _fail(where, f"should be one of {', '.join(choices)}, not {_short(value)}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    return [_str(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))]


def _numbers(value: Any, where: str, length: int, *, positive: bool = False) -> list[float]:
    items = _list(value, where)
    if len(items) != length:
        _fail(where, f"has {len(items)} items, {length} expected")
    return [_number(v, f"{where}[{i}]", positive=positive) for i, v in enumerate(items)]


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _type(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- the description ----------------------------------------------------------------------------
def _validate(meta: dict[str, Any]) -> dict[str, Any]:
    version = _int(_field(meta, "format_version", ""), "format_version", 1, 1 << 31)
    if version > FORMAT_VERSION:
        _fail("format_version", f"{version}: saved by a newer UDL (this one reads {FORMAT_VERSION})")
    if version < 2:
        _fail("format_version", f"{version}: saved by an older UDL without a weights checksum; "
                                "save the model again with udl train --save")
    digest = _str(_field(meta, "weights_sha256", ""), "weights_sha256", 64)
    if not _SHA256.fullmatch(digest):
        _fail("weights_sha256", "should be 64 lowercase hex digits")
    model = _model(_object(_field(meta, "model", ""), "model"))
    task = _choice(_field(meta, "task", ""), "task", _TASKS)
    if task != model["task"]:
        _fail("task", f"{task!r} differs from model.task {model['task']!r}")
    clean: dict[str, Any] = {"format_version": version, "weights_sha256": digest, "model": model, "task": task,
                             "classes": None, "target_mean": 0.0, "target_std": 1.0}
    if task == "classification":
        classes = _strings(_field(meta, "classes", ""), "classes")
        if len(classes) != model["out_dim"]:
            _fail("classes", f"has {len(classes)} names for a model with {model['out_dim']} outputs")
        clean["classes"] = classes
    elif model["out_dim"] != 1:
        _fail("model.out_dim", f"{model['out_dim']}: a regression model has 1 output")
    for key, positive in (("target_mean", False), ("target_std", True)):
        value = _field(meta, key, "") if task == "regression" else meta.get(key)
        if value is not None:
            clean[key] = _number(value, key, positive=positive, float32=True)
    clean["read_options"] = _read_options(_object(_field(meta, "read_options", ""), "read_options"))
    clean["preprocessor"] = _preprocessor(_object(_field(meta, "preprocessor", ""), "preprocessor"), model)
    return clean


def _model(data: dict[str, Any]) -> dict[str, Any]:
    kind = _choice(_field(data, "kind", "model"), "model.kind", MODEL_KINDS)
    in_dim = _int(_field(data, "in_dim", "model"), "model.in_dim", 1, MAX_WIDTH)
    out_dim = _int(_field(data, "out_dim", "model"), "model.out_dim", 1, MAX_WIDTH)
    task = _choice(_field(data, "task", "model"), "model.task", _TASKS)
    hidden = [_int(h, f"model.hidden[{i}]", 1, MAX_WIDTH)
              for i, h in enumerate(_list(data.get("hidden", []), "model.hidden", MAX_LAYERS))]
    if kind == "linear" and hidden:
        _fail("model.hidden", "a linear model has no hidden layers")
    sizes = [in_dim, *(hidden or DEFAULT_HIDDEN), out_dim] if kind == "mlp" else [in_dim, out_dim]
    parameters = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if parameters > MAX_PARAMETERS:
        _fail("model", f"{parameters:,} parameters, over the {MAX_PARAMETERS:,} UDL builds")
    return {"kind": kind, "in_dim": in_dim, "out_dim": out_dim, "task": task, "hidden": hidden}


def _read_options(data: dict[str, Any]) -> dict[str, Any]:
    """The read options that describe the data; paths and machine settings are not taken."""
    where = "read_options"
    clean: dict[str, Any] = {}
    if data.get("missing_values") is not None:
        values = _list(data["missing_values"], f"{where}.missing_values", 4096)
        clean["missing_values"] = tuple(_str(v, f"{where}.missing_values[{i}]", 1024) for i, v in enumerate(values))
    if data.get("max_bad_fraction") is not None:
        fraction = _number(data["max_bad_fraction"], f"{where}.max_bad_fraction")
        if not 0 <= fraction <= 1:
            _fail(f"{where}.max_bad_fraction", f"{fraction} is outside 0..1")
        clean["max_bad_fraction"] = fraction
    if data.get("delimiter") is not None:
        delimiter = _str(data["delimiter"], f"{where}.delimiter", 1)
        if len(delimiter) != 1 or delimiter in "\r\n\"":
            _fail(f"{where}.delimiter", f"{delimiter!r} is not a usable delimiter")
        clean["delimiter"] = delimiter
    if data.get("encoding") is not None:
        encoding = _str(data["encoding"], f"{where}.encoding", 64)
        try:
            "".encode(encoding)   # unknown or not text (base64): LookupError; a NUL in the name: ValueError
        except (LookupError, ValueError):
            _fail(f"{where}.encoding", f"{encoding!r} is not a text encoding Python knows")
        clean["encoding"] = encoding
    if data.get("header") is not None:
        clean["header"] = _bool(data["header"], f"{where}.header")
    if data.get("image_size") is not None:
        size = _list(data["image_size"], f"{where}.image_size", 2)
        if len(size) != 2:
            _fail(f"{where}.image_size", "should be [width, height]")
        clean["image_size"] = tuple(_int(v, f"{where}.image_size[{i}]", 1, 1 << 16) for i, v in enumerate(size))
    if data.get("date_formats") is not None:
        clean["date_formats"] = _date_formats(_object(data["date_formats"], f"{where}.date_formats"))
    return clean


def _date_formats(data: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Column -> the text form its dates were read in at training (None: a timestamp column)."""
    where = "read_options.date_formats"
    if len(data) > MAX_WIDTH:
        _fail(where, f"names {len(data):,} columns, over {MAX_WIDTH:,}")
    clean: dict[str, dict[str, Any] | None] = {}
    for name, form in data.items():
        at = f"{where}[{_short(name)}]"
        if form is None:
            clean[name] = None
            continue
        form = _object(form, at)
        name_of = _field(form, "form", at)
        if not isinstance(name_of, str) or name_of not in form_names():   # 42 names: too many to list
            _fail(f"{at}.form", f"{_short(name_of)} is not a date form UDL reads (e.g. 'DD/MM/YYYY', 'YYYY-MM-DD')")
        times = _list(form.get("times", []), f"{at}.times", len(time_names()))
        clean[name] = {"form": name_of,
                       "times": [_choice(t, f"{at}.times[{i}]", time_names()) for i, t in enumerate(times)]}
    return clean


def _preprocessor(data: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    where = "preprocessor"
    layout = _choice(_field(data, "layout", where), f"{where}.layout", _LAYOUTS)
    task = _choice(_field(data, "task", where), f"{where}.task", _TASKS)
    if task != model["task"]:
        _fail(f"{where}.task", f"{task!r} differs from model.task {model['task']!r}")
    label = _field(data, "label", where)
    if label is not None:
        _str(label, f"{where}.label")
    classes = _strings(_field(data, "classes", where), f"{where}.classes")
    dropped = _strings(data.get("dropped", []), f"{where}.dropped")
    label_source = data.get("label_source") or {}
    _object(label_source, f"{where}.label_source")
    for key, value in label_source.items():
        if not isinstance(value, (str, bool, type(None))):
            _fail(f"{where}.label_source.{_str(key, where, 64)}", f"should be a string or a boolean, not {_type(value)}")
    y_mean = _number(data.get("y_mean", 0.0), f"{where}.y_mean")
    y_std = _number(data.get("y_std", 1.0), f"{where}.y_std", positive=True)
    max_categories = _int(data.get("max_categories", 32), f"{where}.max_categories", 0, MAX_WIDTH)
    steps_data = _list(_field(data, "steps", where), f"{where}.steps")
    steps = [_step(_object(s, f"{where}.steps[{i}]"), f"{where}.steps[{i}]", layout)
             for i, s in enumerate(steps_data)]
    if layout != "tabular" and len(steps) != 1:
        _fail(f"{where}.steps", f"an {layout} preprocessing has exactly one step, not {len(steps)}")
    width = sum(_width(step) for step in steps)
    if width != model["in_dim"]:
        _fail(f"{where}.steps", f"give {width:,} features; model.in_dim is {model['in_dim']:,}")
    return {"steps": steps, "layout": layout, "label": label, "task": task, "classes": classes, "dropped": dropped,
            "label_source": dict(label_source), "y_mean": y_mean, "y_std": y_std, "max_categories": max_categories}


def _stats(data: dict[str, Any], where: str) -> dict[str, Any]:
    return {"median": _number(_field(data, "median", where), f"{where}.median"),
            "mean": _number(_field(data, "mean", where), f"{where}.mean"),
            "std": _number(_field(data, "std", where), f"{where}.std", positive=True),
            "constant": _bool(data.get("constant", False), f"{where}.constant")}


def _step(data: dict[str, Any], where: str, layout: str) -> dict[str, Any]:
    kinds = ("numeric", "bool", "categorical", "datetime") if layout == "tabular" else (layout,)
    kind = _choice(_field(data, "kind", where), f"{where}.kind", kinds)
    if layout == "tabular":
        base = {"column": _str(_field(data, "column", where), f"{where}.column"), "kind": kind}
        if kind == "numeric":
            return {**base, **_stats(data, where)}
        if kind == "bool":
            return {**base, "mode": _number(_field(data, "mode", where), f"{where}.mode")}
        if kind == "categorical":
            return {**base, "categories": _strings(_field(data, "categories", where), f"{where}.categories"),
                    "other": _bool(_field(data, "other", where), f"{where}.other"),
                    "missing": _bool(_field(data, "missing", where), f"{where}.missing")}
        parts = _object(_field(data, "parts", where), f"{where}.parts")
        if not parts:
            _fail(f"{where}.parts", "is empty")
        for part in parts:
            _choice(part, f"{where}.parts", DATETIME_PARTS)
        return {**base, "parts": {part: _stats(_object(stats, f"{where}.parts.{part}"), f"{where}.parts.{part}")
                                  for part, stats in parts.items()}}
    shape = [_int(v, f"{where}.shape[{i}]", 1, MAX_WIDTH)
             for i, v in enumerate(_list(_field(data, "shape", where), f"{where}.shape", 8))]
    if not shape:
        _fail(f"{where}.shape", "is empty")
    size = math.prod(shape)
    if size > MAX_WIDTH:
        _fail(f"{where}.shape", f"{shape} holds {size:,} values per row, over {MAX_WIDTH:,}")
    if kind == "image":
        channels = _int(_field(data, "channels", where), f"{where}.channels", 1, 4096)
        if size % channels:
            _fail(f"{where}.channels", f"{channels} does not divide the shape {shape}")
        return {"kind": kind, "shape": shape, "channels": channels,
                "scale": _number(_field(data, "scale", where), f"{where}.scale", positive=True),
                "mean": _numbers(_field(data, "mean", where), f"{where}.mean", channels),
                "std": _numbers(_field(data, "std", where), f"{where}.std", channels, positive=True)}
    index = [_int(v, f"{where}.index[{i}]", 0, size - 1)
             for i, v in enumerate(_list(_field(data, "index", where), f"{where}.index"))]
    return {"kind": kind, "shape": shape, "index": index,
            "median": _numbers(_field(data, "median", where), f"{where}.median", len(index)),
            "mean": _numbers(_field(data, "mean", where), f"{where}.mean", len(index)),
            "std": _numbers(_field(data, "std", where), f"{where}.std", len(index), positive=True)}


def _width(step: dict[str, Any]) -> int:
    kind = step["kind"]
    if kind in ("numeric", "bool"):
        return 1
    if kind == "categorical":
        return len(step["categories"]) + int(step["other"]) + int(step["missing"])
    if kind == "datetime":
        return len(step["parts"])
    if kind == "array":
        return len(step["index"])
    return math.prod(step["shape"])
