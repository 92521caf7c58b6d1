"""Security: nothing is ever unpickled, decompression bombs and oversized archives are refused
before they are read, and no path ever reaches a shell."""

from __future__ import annotations

import ast
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from corpus_support import ROOT, make_corpus, run_subprocess

from udl_core.errors import UnsafeInputError
from udl_core.table import ReadOptions

def sources() -> list[tuple[Path, ast.Module]]:
    """Every module of UDL, parsed (listed now: others may be adding or removing files)."""
    paths = sorted(p for folder in ("udl_core", "udl_gui") for p in (ROOT / folder).rglob("*.py"))
    parsed = []
    for path in paths + [ROOT / "app.py"]:
        try:
            parsed.append((path, ast.parse(path.read_text(), str(path))))
        except FileNotFoundError:
            continue
    return parsed


def _build(case_name: str, folder: Path) -> Path:
    case = next(c for c in make_corpus.CASES if c.name == case_name)
    return make_corpus.build(case, folder)


# ------------------------------------------------------------------ never unpickle


def test_the_pickle_payload_is_live(tmp_path):
    """Control: numpy with allow_pickle=True would run the payload and create the sentinel."""
    path = _build("npy_pickle_payload", tmp_path)
    sentinel = path.parent / make_corpus.PICKLE_SENTINEL
    np.load(path, allow_pickle=True)
    assert sentinel.exists()


@pytest.mark.parametrize("case_name", ["npy_pickle_payload", "npz_pickle_payload"])
def test_pickle_payloads_are_refused_not_run(tmp_path, case_name):
    from udl_core.formats import read_table
    from udl_core.loader import UnifiedDataLoader

    path = _build(case_name, tmp_path)
    sentinel = path.parent / make_corpus.PICKLE_SENTINEL
    with pytest.raises(UnsafeInputError, match="pickle"):
        read_table(path)
    with pytest.raises(UnsafeInputError):
        UnifiedDataLoader(path).load()
    answer = run_subprocess(["train", str(path), "--epochs", "1"])
    assert answer.code == 2 and answer.err.strip().splitlines()[-1].startswith("error:"), answer.err
    assert not sentinel.exists(), "the pickled payload ran"


def test_pickled_labels_file_is_refused(tmp_path):
    """The payload as the labels file beside good features (`--labels y.npy`)."""
    from udl_core.loader import UnifiedDataLoader

    np.save(tmp_path / "X.npy", np.zeros((4, 3), dtype=np.float32))
    np.save(tmp_path / "y.npy", make_corpus._pickle_array(tmp_path), allow_pickle=True)
    with pytest.raises(UnsafeInputError):
        UnifiedDataLoader(tmp_path / "X.npy", labels=tmp_path / "y.npy").load()
    assert not (tmp_path / make_corpus.PICKLE_SENTINEL).exists()


def test_every_np_load_refuses_pickles():
    offenders = []
    for path, tree in sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.load", "numpy.load")):
                continue
            kw = {k.arg: k.value for k in node.keywords}
            value = kw.get("allow_pickle")
            if not (isinstance(value, ast.Constant) and value.value is False):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"np.load without allow_pickle=False: {offenders}"


def test_no_unpickling_modules_are_used():
    banned = {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal"}
    offenders = []
    for path, tree in sources():
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n in banned]
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("torch.load", "pd.read_pickle"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    assert offenders == []


# ------------------------------------------------------------------ bombs


def test_pillow_limit_is_kept():
    from PIL import Image

    import udl_core.formats.images  # noqa: F401  importing the reader must not lift the limit

    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 2 * 89_478_485 * 2


def test_image_bomb_is_refused(tmp_path):
    from udl_core.formats import read_table

    path = _build("image_decompression_bomb", tmp_path)
    with pytest.raises(UnsafeInputError, match="bomb"):
        read_table(path)


def test_image_bomb_among_good_images_refuses_the_folder(tmp_path):
    from udl_core.formats import read_table

    make_corpus._image_folder(tmp_path / "imgs", per_class=5)
    (tmp_path / "imgs" / "dogs" / "zz_bomb.png").write_bytes(make_corpus._png_claiming(40_000, 40_000))
    with pytest.raises(UnsafeInputError, match="zz_bomb.png"):
        read_table(tmp_path / "imgs")


def test_crafted_npz_bomb_is_refused_from_its_directory(tmp_path, monkeypatch):
    from udl_core.formats import read_table

    path = _build("npz_zip_bomb", tmp_path)
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    with pytest.raises(UnsafeInputError):
        read_table(path)
    assert "x.npy" not in opened, "the bomb member was opened before it was refused"


def test_npz_expansion_limit_is_enforced_before_reading(tmp_path, monkeypatch):
    """An honest NPZ (ordinary compression ratio) whose members expand past a lowered limit."""
    from udl_core.formats import read_table

    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(4096, 512), dtype=np.uint8)   # 2 MiB, compresses about 4:1
    np.savez_compressed(tmp_path / "big.npz", x=x, y=np.arange(4096) % 2)
    assert read_table(tmp_path / "big.npz").num_rows == 4096   # fine under the default limit

    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open",
                        lambda self, name, *a, **k: opened.append(getattr(name, "filename", name)) or real_open(self, name, *a, **k))
    with pytest.raises(UnsafeInputError, match="limit"):
        read_table(tmp_path / "big.npz", ReadOptions(memory_budget=1 << 20))
    assert "x.npy" not in opened


# ------------------------------------------------------------------ no shell

SHELL_CALLS = {"os.system", "os.popen", "os.spawnl", "os.spawnlp", "os.execl", "os.execlp",
               "subprocess.getoutput", "subprocess.getstatusoutput", "commands.getoutput", "pty.spawn"}
SUBPROCESS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
              "subprocess.check_output"}


def test_paths_never_reach_a_shell():
    offenders = []
    for path, tree in sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            where = f"{path.relative_to(ROOT)}:{node.lineno} {name}"
            if name in SHELL_CALLS:
                offenders.append(where)
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    offenders.append(where + " shell=")
            if name in SUBPROCESS and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                offenders.append(where + " with a command string")
            if name in ("eval", "exec"):
                offenders.append(where)
    assert offenders == [], offenders


def test_a_path_with_shell_metacharacters_is_just_a_path(tmp_path):
    """A file named like a shell command is read as a file, and the command never runs."""
    folder = tmp_path / "$(touch PWNED);`touch PWNED2`"
    folder.mkdir()
    data = folder / "a b;rm -rf x|'q'.csv"
    shutil.copy(ROOT / "resources" / "samples" / "sample.csv", data)
    answer = run_subprocess(["inspect", str(data), "--json"])
    assert answer.code == 0, answer.err
    assert not (ROOT / "PWNED").exists() and not (ROOT / "PWNED2").exists()
    assert not list(tmp_path.glob("PWNED*"))
