"""`udl check`: the table, the JSON object, and the exit status (0 clean, 1 a check failed, 2 bad input)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from checks_support import three_classes, write_csv
from udl_core.cli import main
from udl_core.training.checks import CheckResult
from udl_core.cli_check import format_table

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "resources" / "samples" / "sample.csv")


def test_json_is_one_object_and_exit_zero_on_clean_data(capsys):
    assert main(["check", SAMPLE, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    payload = json.loads(out)
    assert payload["path"] == SAMPLE
    assert len(payload["checks"]) == 19
    for check in payload["checks"]:
        assert set(check) == {"name", "status", "reason", "hint"}
        assert check["status"] in ("pass", "warn", "fail")
    assert payload["summary"]["fail"] == 0


def test_table_lists_every_check_and_a_summary(capsys):
    assert main(["check", SAMPLE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["STATUS", "CHECK", "REASON"]
    assert any(line.startswith("PASS    input_dependence") for line in lines)
    assert lines[-1].startswith(f"{SAMPLE}: 19 passed, 0 warned, 0 failed in ")


def test_a_failing_check_exits_one_and_names_the_problem(tmp_path, capsys):
    cols = three_classes(n=300, seed=3)
    cols["species"] = np.random.default_rng(0).permutation(cols["species"])
    path = write_csv(tmp_path / "shuffled.csv", cols)
    assert main(["check", str(path), "--json", "--seed", "1"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["input_dependence"]["status"] == "fail"
    assert "label" in checks["input_dependence"]["hint"]


def test_loader_options_reach_the_loader(tmp_path, capsys):
    cols = three_classes(n=150, seed=4)
    cols["id"] = np.arange(150)
    path = write_csv(tmp_path / "with_id.csv", cols)
    assert main(["check", str(path), "--label", "species", "--ignore", "id", "--batch-size", "16", "--json"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert "8 batches" in checks["batches.coverage"]["reason"]   # 120 training rows / 16


def test_bad_input_exits_two_with_one_error_line(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b,label\n", encoding="utf-8")
    for argv, named in (([str(missing)], "nope.csv"), ([str(empty)], "empty.csv"),
                        ([SAMPLE, "--label", "nope"], "'nope'")):
        assert main(["check", *argv]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0]


def test_console_entry_point_runs_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "udl_core", "check", SAMPLE, "--json"], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert json.loads(proc.stdout)["summary"]["fail"] == 0


def test_format_table_wraps_reasons_and_shows_hints_only_when_not_passing():
    results = [CheckResult("a.long_name", "pass", "fine " * 30, "never shown"),
               CheckResult("b", "fail", "broken.", "fix it.")]
    text = format_table(results, width=80)
    lines = text.splitlines()
    assert "never shown" not in text
    assert lines[-1].strip() == "hint: fix it."
    assert all(len(line) <= 80 for line in lines)
    assert lines[2].startswith(" " * 21) and lines[1].startswith("PASS    a.long_name  Fine")
