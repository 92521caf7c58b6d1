"""Shared by the corpus tests: import the corpus builder, run the CLI, judge its answer."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "corpus"))
import make_corpus  # noqa: E402

sys.path.pop(0)

CASES = make_corpus.CASES
SAMPLE = ROOT / "resources" / "samples" / "sample.csv"


@dataclass(frozen=True)
class Answer:
    code: int
    out: str
    err: str
    where: str   # "in-process" or "subprocess"


def run_in_process(argv: list[str]) -> Answer:
    """`udl ARGV` in this process; an exception that escapes `main` is re-raised (it is the bug)."""
    from udl_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        # As on the command line: a warning is printed, not raised (and then counts as output).
        warnings.simplefilter("default")
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return Answer(int(code), out.getvalue(), err.getvalue(), "in-process")


def cli_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "udl_core", *argv]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONWARNINGS", None)
    return env


def run_subprocess(argv: list[str], timeout: float = 90) -> Answer:
    try:
        done = subprocess.run(cli_command(argv), capture_output=True, text=True, errors="backslashreplace", cwd=ROOT,
                              env=cli_env(), timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return Answer(-9, str(exc.stdout or ""), f"HANG: no answer in {timeout} s: {' '.join(argv)}", "subprocess")
    return Answer(done.returncode, done.stdout, done.stderr, "subprocess")


def judge(case, command: str, answer: Answer) -> None:
    """Assert that `answer` is what `case` expects from `udl COMMAND`."""
    expect = case.expect_for(command)
    context = f"{case.name}: udl {command} ({answer.where}) -> exit {answer.code}\nstdout: {answer.out[-2000:]}\nstderr: {answer.err[-3000:]}"
    assert "Traceback" not in answer.err and "Traceback" not in answer.out, context
    assert not answer.err.startswith("HANG"), context
    if expect == "handled":
        assert answer.code in (0, 2), context
        if answer.code == 2:
            _judge_error_line(case, answer, context)
        return
    if expect == "error":
        assert answer.code == 2, context
        _judge_error_line(case, answer, context)
        return
    assert answer.code == 0, context
    assert not any(line.startswith("error:") for line in answer.err.splitlines()), context


def _judge_error_line(case, answer: Answer, context: str) -> None:
    """One `error:` line, the last; any other stderr line is a `note:` or `warning:` before it."""
    lines = [line for line in answer.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, "not exactly one `error:` line\n" + context
    assert lines[-1] is errors[0] or lines[-1] == errors[0], "the `error:` line is not the last\n" + context
    others = [line for line in lines[:-1] if not line.startswith(("note:", "warning:"))]
    assert not others, f"stray stderr lines {others}\n" + context
    assert len(errors[0]) > len("error: ") + 5, context
    where = errors[0][len("error: "):].split(": ", 1)[0]
    assert not errors[0].startswith(f"error: {where}: {where}:"), "the file is named twice\n" + context
    assert any(name in errors[0] for name in case.names()), f"the error line names none of {case.names()}\n" + context
