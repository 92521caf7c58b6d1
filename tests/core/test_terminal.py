"""Names, classes and paths from a file are shown, never obeyed by the terminal."""

from __future__ import annotations

import io

from udl_core.cli import main
from udl_core.terminal import PrintableWriter, printable

ESC = "\x1b[2J\x1b[31m"


def test_printable_escapes_control_and_keeps_what_is_asked():
    assert printable("plain") == "plain"
    assert printable(f"a{ESC}b") == "a\\x1b[2J\\x1b[31mb"
    assert printable("a\tb\nc\rd", keep="\n\t") == "a\tb\nc\\rd"
    out = io.StringIO()
    assert PrintableWriter(out).write("x\x1by\n") == 4
    assert out.getvalue() == "x\\x1by\n"


def test_inspect_shows_an_escape_in_a_column_name_as_text(tmp_path, capsys):
    path = tmp_path / "evil.csv"
    rows = "\n".join(f"{i},{i % 3},{'ab'[i % 2]}" for i in range(40))
    path.write_text(f"x{ESC},y\u202e,label\n{rows}\n", encoding="utf-8")
    before = path.read_bytes()
    assert main(["inspect", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\u202e" not in out + err
    assert "x\\x1b[2J" in out
    assert path.read_bytes() == before


def test_an_error_line_stays_one_line_whatever_the_path_holds(tmp_path, capsys):
    missing = tmp_path / f"gone\n{ESC}error: fake.csv"
    assert main(["inspect", str(missing)]) == 2
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "\x1b" not in err
