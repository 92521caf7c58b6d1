"""Image folders and symbolic links (issue 9): links that leave the dataset folder are left
out, so a class folder linking to `/` never walks the file system; links inside still work."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from udl_core.errors import EmptyDatasetError
from udl_core.formats import images
from udl_core.pipeline import estimate
from udl_core.formats.registry import read_table


def _save(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 8, 3), value, np.uint8)).save(path)


def _dataset(root: Path) -> Path:
    data = root / "data"
    for i in range(3):
        _save(data / "a" / f"{i}.png", 10 * i)
        _save(data / "b" / f"{i}.png", 100 + 10 * i)
    return data


@pytest.fixture
def walks_inside(monkeypatch):
    """Fails a test the moment the reader walks a folder outside the dataset (before it does)."""
    walk = os.walk

    def guarded(top, *args, **kwargs):
        real = os.path.realpath(top)
        if not any(real == d or real.startswith(d + os.sep) for d in guarded.datasets):
            pytest.fail(f"walked {top} ({real}), outside the dataset folder")
        return walk(top, *args, **kwargs)

    guarded.datasets = []
    monkeypatch.setattr(images.os, "walk", guarded)
    return guarded.datasets


def test_class_folder_linking_to_the_root_of_the_file_system_is_not_walked(tmp_path, walks_inside):
    data = _dataset(tmp_path)
    walks_inside.append(os.path.realpath(data))
    os.symlink("/", data / "everything")   # only resolved, never walked: the guard fails the test first
    table = read_table(data)
    assert table.class_names == ("a", "b")
    assert table.num_rows == 6
    assert any("everything is a link that leaves the dataset folder" in note for note in table.notes)
    assert estimate(data).rows == 6   # the estimate scans the same way


def test_class_folder_linking_outside_is_left_out(tmp_path, walks_inside):
    data = _dataset(tmp_path)
    walks_inside.append(os.path.realpath(data))
    _save(tmp_path / "elsewhere" / "c" / "0.png")
    os.symlink(tmp_path / "elsewhere" / "c", data / "c")
    os.symlink(tmp_path, data / "parent")   # the dataset's parent: leaves the folder too
    table = read_table(data)
    assert table.class_names == ("a", "b")
    notes = " ".join(table.notes)
    assert "c is a link that leaves the dataset folder" in notes
    assert "parent is a link that leaves the dataset folder" in notes


def test_image_linking_outside_is_left_out_with_a_note(tmp_path):
    data = _dataset(tmp_path)
    _save(tmp_path / "secret.png", 255)
    os.symlink(tmp_path / "secret.png", data / "a" / "secret.png")
    table = read_table(data)
    assert table.num_rows == 6
    assert any("1 image link(s) in a leave the dataset folder" in note and "secret.png" in note
               for note in table.notes)


def test_only_links_leaving_the_folder_is_an_empty_dataset(tmp_path):
    _dataset(tmp_path / "pool")
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(tmp_path / "pool" / "data" / "a", data / "a")
    os.symlink(tmp_path / "pool" / "data" / "b", data / "b")
    with pytest.raises(EmptyDatasetError, match="leave the dataset folder") as caught:
        read_table(data)
    assert str(data) in str(caught.value)


def test_links_inside_the_dataset_still_work(tmp_path):
    data = _dataset(tmp_path)
    _save(data / "a" / "deep" / "0.png", 50)
    os.symlink(os.path.join("..", "a", "0.png"), data / "b" / "linked.png")   # an image linked inside
    os.symlink(os.path.join("a", "deep"), data / "c")                          # a class folder linked inside
    table = read_table(data)
    assert table.class_names == ("a", "b", "c")
    assert np.bincount(table.labels).tolist() == [4, 4, 1]


def test_dataset_reached_through_a_link_reads_its_own_links(tmp_path):
    data = _dataset(tmp_path)
    os.symlink("a", data / "a_again")
    os.symlink(data, tmp_path / "alias")
    table = read_table(tmp_path / "alias")
    assert table.class_names == ("a", "b")
    assert any("a_again links to a class already read" in note for note in table.notes)


def test_link_loops_end(tmp_path):
    data = _dataset(tmp_path)
    os.symlink("loop2", data / "loop1")
    os.symlink("loop1", data / "loop2")
    os.symlink("selfish", data / "selfish")
    os.symlink(os.path.join("..", "b"), data / "a" / "to_b")
    os.symlink(".", data / "b" / "here")
    table = read_table(data)
    assert table.class_names == ("a", "b")
    assert table.num_rows == 6
