"""Crash-safe writes: a writer killed (SIGKILL) midway leaves the old file whole and loadable.

The kill lands at a known moment: the writer process announces "MIDWAY" once it has written
part of its output, and blocks; the test then kills it. Where UDL writes straight into the
target, the target is torn and the test fails.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from corpus_support import ROOT, SAMPLE, cli_env, run_in_process

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _run_until_midway(code: str, *args: str, timeout: float = 120) -> str:
    """Start `python -c code args`, wait for its "MIDWAY <path>" line, SIGKILL it; returns <path>."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env=cli_env())
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("MIDWAY"):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
                return line.split(" ", 1)[1].strip()
        proc.wait(timeout=timeout)
        pytest.fail(f"the writer ended (exit {proc.returncode}) before it got midway:\n"
                    + "".join(seen) + proc.stderr.read())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


ATOMIC_WRITER = textwrap.dedent("""
    import sys, time
    from udl_core.atomic import atomic_write
    with atomic_write(sys.argv[1], "wb") as out:
        chunk = b"n" * (1 << 20)
        for i in range(400):               # up to 400 MiB: never reached
            out.write(chunk)
            if i == 8:
                out.flush()
                print("MIDWAY", out.name, flush=True)
                time.sleep(60)
""")


def test_killed_atomic_write_leaves_old_file(tmp_path):
    target = tmp_path / "settings.json"
    old = json.dumps({"recent": ["a.csv"], "epochs": 3}).encode()
    target.write_bytes(old)
    tmp = _run_until_midway(ATOMIC_WRITER, str(target))
    assert Path(tmp) != target
    assert Path(tmp).parent == target.parent
    assert target.read_bytes() == old
    assert json.loads(target.read_text())["epochs"] == 3


# Replaces MLX's writer with one that tears: it writes part of a file under whatever name the
# saver passes, announces it, and blocks until killed.
TORN_SAVE = textwrap.dedent("""
    import sys, time
    import mlx.core as mx

    def torn_save(path, arrays, *args, **kwargs):
        with open(path, "wb") as out:
            out.write(b"\\x00" * 4096)
            out.flush()
        print("MIDWAY", path, flush=True)
        time.sleep(60)

    mx.save_safetensors = torn_save
    from udl_core.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_killed_train_save_leaves_old_weights_loadable(tmp_path):
    weights = tmp_path / "model.safetensors"
    first = run_in_process(["train", str(SAMPLE), "--epochs", "1", "--device", "cpu", "--save", str(weights)])
    assert first.code == 0, first.err
    files = sorted(p.name for p in tmp_path.iterdir())
    before = {name: (tmp_path / name).read_bytes() for name in files}

    written = _run_until_midway(TORN_SAVE, "train", str(SAMPLE), "--epochs", "1", "--device", "cpu",
                                "--seed", "3", "--save", str(weights))
    assert Path(written).resolve() != weights.resolve(), "the weights were written in place, not to a temp file"
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data, f"{name} changed under a killed save"

    import mlx.core as mx

    params = mx.load(str(weights))
    assert params and all(v.size for v in params.values())
    answer = run_in_process(["predict", str(weights), str(SAMPLE), "--json"])
    assert answer.code == 0, answer.err


def test_failed_save_leaves_no_temp_files(tmp_path, monkeypatch):
    """A save that raises (disk full, say) keeps the old weights and leaves no temp file."""
    import mlx.core as mx

    weights = tmp_path / "model.safetensors"
    assert run_in_process(["train", str(SAMPLE), "--epochs", "1", "--device", "cpu", "--save", str(weights)]).code == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full_disk(path, *args, **kwargs):
        Path(path).write_bytes(b"\x00" * 100)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mx, "save_safetensors", full_disk)
    answer = run_in_process(["train", str(SAMPLE), "--epochs", "1", "--device", "cpu", "--save", str(weights)])
    assert answer.code == 2, answer.err
    assert answer.err.strip().splitlines()[-1].startswith("error:"), answer.err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


WRITERS = ("udl_core", "udl_gui")


def test_writers_go_through_a_temp_file():
    """Every place UDL opens a file for writing, or saves with a library, goes via a temp file."""
    offenders = []
    for folder in WRITERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "atomic.py":
                continue
            try:
                source = path.read_text()
            except FileNotFoundError:   # removed by someone else's edit since the listing
                continue
            tree = ast.parse(source, str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = ast.unparse(node.func)
                mode = None
                if name in ("open", "io.open") and len(node.args) > 1:
                    mode = node.args[1]
                for kw in node.keywords:
                    if kw.arg == "mode" and name in ("open", "io.open"):
                        mode = kw.value
                writes = isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax")
                library = name.endswith(("save_safetensors", "save_weights", ".write_text", ".write_bytes",
                                         "np.save", "np.savez", "write_table", "write_feather"))
                if not (writes or library):
                    continue
                # Fine when the same function also renames a temp file into place or uses atomic_*.
                func = _enclosing_function(tree, node)
                body = ast.unparse(func) if func is not None else source
                if not any(word in body for word in ("atomic_path", "atomic_write", "os.replace", "tmp")):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == [], f"writes without a temp file and rename: {offenders}"


def _enclosing_function(tree: ast.AST, target: ast.AST):
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.lineno <= target.lineno <= (node.end_lineno or node.lineno):
                if best is None or node.lineno >= best.lineno:
                    best = node
    return best
