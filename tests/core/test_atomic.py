import pytest

from udl_core.atomic import atomic_path, atomic_write


def test_atomic_write_replaces_whole(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with atomic_write(target) as handle:
        handle.write("new")
        assert target.read_text() == "old"  # not visible until the rename
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    target = tmp_path / "w.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.suffix == ".safetensors"
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_atomic_write_gives_the_mode_open_would(tmp_path):
    """mkstemp's 0600 is not left on the result: a new file gets 0666 less the umask,
    a replaced file keeps its own mode."""
    import os
    import stat

    new = tmp_path / "new.txt"
    with atomic_write(new) as handle:
        handle.write("x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask
    old = tmp_path / "old.txt"
    old.write_text("a")
    old.chmod(0o640)
    with atomic_write(old) as handle:
        handle.write("b")
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and old.read_text() == "b"
