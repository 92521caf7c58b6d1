"""A saved model is one unit, and `udl predict` trusts nothing in its description (issue 9, defects 2 and 5).

Weights and description are written to temp files and renamed; the description records the
weights' sha256, so a pair from two saves is refused (exit 2), never used. Every malformed field
of the description is a CorruptFileError naming the sidecar and the field; class names are
printed escaped; paths in the description are ignored.
"""

from __future__ import annotations

import builtins
import copy
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpus_support import SAMPLE, run_in_process
from udl_core.errors import CorruptFileError, UDLError
from udl_core.events import run_job
from udl_core.training.description import MAX_DESCRIPTION_BYTES
from udl_core.training.saving import load_model, predict_file


def _train(folder: Path, *extra: str, data: Path = SAMPLE) -> Path:
    weights = folder / "m.safetensors"
    answer = run_in_process(["train", str(data), "--epochs", "1", "--device", "cpu", "--save", str(weights), *extra])
    assert answer.code == 0, answer.err
    return weights


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    return _train(tmp_path_factory.mktemp("model"))


def _predict(weights: Path, data: Path = SAMPLE) -> tuple[int, str, str]:
    answer = run_in_process(["predict", str(weights), str(data), "--json"])
    return answer.code, answer.out, answer.err


def _copy(saved: Path, folder: Path) -> Path:
    for path in (saved, saved.with_suffix(".json")):
        shutil.copy2(path, folder / path.name)
    return folder / saved.name


# -- defect 2: weights and description are one unit ------------------------------------------------
def test_a_failed_description_write_never_leaves_new_weights_beside_the_old_description(tmp_path, monkeypatch):
    weights = _train(tmp_path)
    code, before, _ = _predict(weights)
    assert code == 0
    real_open = builtins.open

    def full_disk_for_json(file, mode="r", *args, **kwargs):
        if "w" in str(mode) and str(file).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_disk_for_json)
    answer = run_in_process(["train", str(SAMPLE), "--epochs", "2", "--device", "cpu", "--seed", "7",
                             "--save", str(weights)])
    monkeypatch.undo()
    assert answer.code == 2 and answer.err.splitlines()[-1].startswith("error:"), answer.err   # after warnings
    code, after, err = _predict(weights)
    # Either the old model, whole, or a refusal: never new weights read with the old description.
    assert (code == 0 and after == before) or (code == 2 and "m.safetensors" in err), (code, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


def test_weights_from_another_save_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _train(tmp_path / "a")
    second = _train(tmp_path / "b", "--seed", "9")
    shutil.copy2(second, first)   # what an interruption between the two renames leaves
    code, out, err = _predict(first)
    assert code == 2 and out == "", err
    assert err.startswith("error:") and "m.safetensors" in err and "sha256" in err and len(err.splitlines()) == 1
    with pytest.raises(CorruptFileError, match="interrupted"):
        load_model(first)


def test_an_interruption_between_the_renames_is_detected(tmp_path, monkeypatch):
    weights = _train(tmp_path)
    calls = []
    real_replace = os.replace

    def second_rename_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    answer = run_in_process(["train", str(SAMPLE), "--epochs", "1", "--device", "cpu", "--seed", "4",
                             "--save", str(weights)])
    monkeypatch.undo()
    assert answer.code == 2 and len(calls) == 2
    code, _, err = _predict(weights)
    assert code == 2 and "m.safetensors" in err and "sha256" in err


def test_a_description_without_a_checksum_is_refused(saved, tmp_path):
    weights = _copy(saved, tmp_path)
    meta = json.loads(weights.with_suffix(".json").read_text())
    del meta["weights_sha256"]
    meta["format_version"] = 1
    weights.with_suffix(".json").write_text(json.dumps(meta))
    code, _, err = _predict(weights)
    assert code == 2 and "m.json" in err and "format_version" in err


# -- defect 5: the description is checked before use ------------------------------------------------
def _set(meta: dict, dotted: str, value: object) -> None:
    keys = dotted.split(".")
    node = meta
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()

# field -> replacement; the error line must name the field (its last part).
MALFORMED = {
    "preprocessor": _DELETE,
    "model.in_dim": 1e308,
    "model.out_dim": "3",
    "model.hidden": [64, -1],
    "model.kind": "transformer",
    "preprocessor.steps": {"kind": "numeric"},
    "classes": ["only one"],
    "target_std": "1",
    "read_options": ["not", "an", "object"],
    "read_options.missing_values": 5,
    "read_options.image_size": [0, 10],
    "read_options.max_bad_fraction": "lots",
    "preprocessor.steps.1.mean": "0.5",
    "preprocessor.steps.1.std": 0,
    "preprocessor.steps.0.categories": "abc",
    "preprocessor.steps.6.mode": [1],
    "preprocessor.steps.0.kind": "quantum",
    "preprocessor.steps.0.column": ["a"],
    "preprocessor.layout": "voxels",
    "preprocessor.task": "regression",
    "weights_sha256": "not hex",
    "task": 3,
    "format_version": 99,
}


@pytest.mark.parametrize("field", list(MALFORMED))
def test_a_malformed_field_is_an_error_naming_it(saved, tmp_path, field):
    weights = _copy(saved, tmp_path)
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    _set(meta, field, MALFORMED[field])
    sidecar.write_text(json.dumps(meta))
    before = sidecar.read_bytes()
    code, out, err = _predict(weights)
    assert code == 2 and out == "", err
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "m.json" in err and field.split(".")[-1] in err, err
    assert sidecar.read_bytes() == before


@pytest.mark.parametrize("text", [
    '{"model": {"in_dim": 1e999}}',
    "[" * 100_000 + "]" * 100_000,
    '{"training": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"model": NaN}',
    "[1, 2, 3]",
    "\xff\xfe not utf-8",
    "",
], ids=["inf", "deep", "deep-inside", "nan", "list", "bytes", "empty"])
def test_an_unparseable_description_is_an_error(saved, tmp_path, text):
    weights = _copy(saved, tmp_path)
    weights.with_suffix(".json").write_bytes(text.encode("utf-8", "surrogateescape") if text.isascii()
                                             else text.encode("latin-1"))
    code, _, err = _predict(weights)
    assert code == 2 and "m.json" in err and "Traceback" not in err, err


def test_a_huge_description_is_refused_before_parsing(saved, tmp_path):
    weights = _copy(saved, tmp_path)
    with open(weights.with_suffix(".json"), "r+b") as handle:
        handle.truncate(MAX_DESCRIPTION_BYTES + 1)   # sparse: no disk used
    code, _, err = _predict(weights)
    assert code == 2 and "m.json" in err and "bytes" in err, err


def test_class_names_are_printed_escaped(saved, tmp_path):
    weights = _copy(saved, tmp_path)
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["classes"] = ["\x1b[2J\x1b[31mred\x07", "tab\there", "line\nbreak"][:len(meta["classes"])]
    meta["preprocessor"]["classes"] = meta["classes"]
    sidecar.write_text(json.dumps(meta))
    answer = run_in_process(["predict", str(weights), str(SAMPLE)])
    assert answer.code == 0, answer.err
    assert "\x1b" not in answer.out and "\x07" not in answer.out
    assert all(line.count("\t") == 2 for line in answer.out.splitlines())
    assert "\\x1b[31mred" in answer.out or "tab\\there" in answer.out or "line\\nbreak" in answer.out
    as_json = run_in_process(["predict", str(weights), str(SAMPLE), "--json"])
    assert as_json.code == 0 and "\x1b" not in as_json.out


def test_paths_in_the_description_are_ignored(saved, tmp_path):
    weights = _copy(saved, tmp_path)
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["read_options"]["labels_path"] = str(tmp_path / "no-such-labels.npy")
    meta["source"] = "/etc/shadow"
    sidecar.write_text(json.dumps(meta))
    code, out, err = _predict(weights)
    assert code == 0, err
    assert "no-such-labels" not in err and out.count("\n") > 100


@pytest.mark.parametrize("encoding", ["\x00", "no-such-codec", "base64"])
def test_an_encoding_python_cannot_decode_with_is_a_bad_field(saved, tmp_path, encoding):
    """A NUL in the name made codecs raise a bare ValueError deep in the read (found by the fuzz)."""
    weights = _copy(saved, tmp_path)
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["read_options"]["encoding"] = encoding
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match=r"m\.json.*read_options\.encoding.*not a text encoding"):
        load_model(weights)


# -- fuzz: mutate a valid description, anything but a UDLError is a bug ----------------------------
def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node[:4]):
            out += _paths(value, (*prefix, i))
    return out


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def fuzz_base(saved) -> dict:
    return json.loads(saved.with_suffix(".json").read_text())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_descriptions_fail_only_with_udl_errors(saved, fuzz_base, tmp_path_factory, data):
    meta = copy.deepcopy(fuzz_base)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(meta)[1:]))
        node = meta
        try:
            for key in path[:-1]:
                node = node[key]
            if data.draw(st.booleans()) and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = data.draw(_JSON)
        except (KeyError, IndexError, TypeError):
            continue   # an earlier mutation changed the shape
    folder = tmp_path_factory.mktemp("fuzz")
    weights = _copy(saved, folder)
    weights.with_suffix(".json").write_text(json.dumps(meta))
    try:
        model = load_model(weights)
        run_job(predict_file(model, SAMPLE))
    except UDLError:
        pass


_ONE_WIDE = {
    "numeric": {"kind": "numeric", "median": 0.0, "mean": 0.0, "std": 1.0},
    "bool": {"kind": "bool", "mode": 1.0},
    "categorical": {"kind": "categorical", "categories": ["x"], "other": False, "missing": False},
    "datetime": {"kind": "datetime", "parts": {"hour": {"median": 0.0, "mean": 0.0, "std": 1.0}}},
}


@pytest.mark.parametrize("kind", list(_ONE_WIDE))
@pytest.mark.parametrize("column", ["island", "bill_length_mm", "tagged"])
def test_a_step_of_another_kind_over_a_column_is_a_schema_error(saved, fuzz_base, tmp_path, kind, column):
    """Well-formed, but fitted on another type of column: what a file with a changed column does too."""
    meta = copy.deepcopy(fuzz_base)
    steps = meta["preprocessor"]["steps"]
    at = next(i for i, step in enumerate(steps) if step["kind"] in ("numeric", "bool"))
    steps[at] = {"column": column, **_ONE_WIDE[kind]}
    weights = _copy(saved, tmp_path)
    weights.with_suffix(".json").write_text(json.dumps(meta))
    try:
        run_job(predict_file(load_model(weights), SAMPLE))
    except UDLError:
        pass


def test_a_model_too_big_to_build_is_refused_before_it_is_built(saved, tmp_path):
    weights = _copy(saved, tmp_path)
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    meta["model"]["hidden"] = [1 << 24, 1 << 24]
    sidecar.write_text(json.dumps(meta))
    code, _, err = _predict(weights)
    assert code == 2 and "m.json" in err and "parameters" in err, err


@pytest.mark.parametrize(("field", "value"), [("target_std", 0), ("target_mean", "12"), ("target_std", 1e39),
                                              ("model.out_dim", 2)])
def test_a_regression_model_needs_finite_target_statistics(tmp_path, field, value):
    from test_training_e2e import write_regression_csv

    data = write_regression_csv(tmp_path / "prices.csv", n=80)
    weights = _train(tmp_path, data=data)
    sidecar = weights.with_suffix(".json")
    meta = json.loads(sidecar.read_text())
    _set(meta, field, value)
    sidecar.write_text(json.dumps(meta))
    code, _, err = _predict(weights, data)
    assert code == 2 and "m.json" in err and field.split(".")[-1] in err, err


def test_a_file_size_limit_during_the_save_keeps_the_old_pair(tmp_path):
    """`ulimit -f` as in the issue: the small linear weights fit, the description does not."""
    import resource
    import subprocess
    import sys
    import textwrap

    from corpus_support import ROOT, cli_env

    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1 << 20:
        pytest.skip("the file size limit is already low")
    weights = _train(tmp_path, "--model", "linear")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert len(before["m.safetensors"]) < 1024 < len(before["m.json"])
    code, predictions, _ = _predict(weights)
    assert code == 0
    limited = textwrap.dedent("""
        import resource, sys, tempfile
        from udl_core.cli import main
        import udl_core.training.saving
        tempfile.gettempdir()
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        sys.exit(main(sys.argv[1:]))
    """)
    done = subprocess.run([sys.executable, "-c", limited, "train", str(SAMPLE), "--epochs", "2", "--seed", "5",
                           "--device", "cpu", "--model", "linear", "--save", str(weights)],
                          capture_output=True, text=True, cwd=ROOT, env=cli_env(), timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error:") and "m.safetensors" in done.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert _predict(weights)[:2] == (0, predictions)


def test_a_column_past_float32_range_saves_and_predicts(tmp_path):
    """The preprocessing statistics are float64: a column of values near 1e41 has a median that
    no float32 holds, and the model UDL saved must still be one its own predict accepts."""
    data = tmp_path / "huge.csv"
    rows = [f"{(5 + (i % 7) / 7) * 1e41:.6e},{(i * 37 % 100) / 100:.2f},{i % 2}" for i in range(120)]
    data.write_text("big,small,label\n" + "\n".join(rows) + "\n")
    weights = _train(tmp_path, data=data)
    code, out, err = _predict(weights, data)
    assert code == 0, err
    assert len(out.splitlines()) == 120
