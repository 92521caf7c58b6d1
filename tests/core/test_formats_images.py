"""The image-folder reader (udl_core/formats/images.py)."""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, features

from udl_core.errors import CorruptFileError, DatasetError, EmptyDatasetError, SchemaError, UnsafeInputError
from udl_core.events import Progress, run_job
from udl_core.formats import images  # noqa: F401  (registers the reader)
from udl_core.formats.registry import find_reader, load_table, read_table
from udl_core.table import ReadOptions


def _save(path: Path, size=(8, 6), mode="RGB", colour=None, fmt=None, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if colour is None:
        rng = np.random.default_rng(zlib.crc32(str(path).encode()))
        channels = {"L": None, "RGB": 3, "RGBA": 4}[mode]
        shape = (size[1], size[0]) if channels is None else (size[1], size[0], channels)
        image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    else:
        image = Image.new(mode, size, colour)
    image.save(path, format=fmt, **kwargs)
    return path


def _digest(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_three_classes_mixed_sizes_resized_to_the_most_common(tmp_path):
    for i in range(3):
        _save(tmp_path / "cat" / f"{i}.png", (8, 6))
        _save(tmp_path / "dog" / f"{i}.png", (8, 6))
    _save(tmp_path / "emu" / "big.png", (20, 30))
    _save(tmp_path / "emu" / "small.png", (4, 4))
    before = _digest(tmp_path)

    table = read_table(tmp_path)

    assert table.format == "images"
    assert table.features.dtype == np.uint8
    assert table.features.shape == (8, 6, 8, 3)  # N, H, W, C
    assert table.class_names == ("cat", "dog", "emu")
    assert table.label_name == "class"
    assert table.labels.dtype == np.int32
    assert table.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert any("resized to 8×6" in note for note in table.notes)
    assert _digest(tmp_path) == before


def test_pixels_survive_when_no_resize_is_needed(tmp_path):
    path = _save(tmp_path / "a" / "x.png", (5, 4))
    _save(tmp_path / "b" / "y.png", (5, 4))
    table = read_table(tmp_path)
    np.testing.assert_array_equal(table.features[0], np.asarray(Image.open(path)))


def test_large_images_are_fit_inside_64(tmp_path):
    for i in range(2):
        _save(tmp_path / "a" / f"{i}.png", (128, 96))
        _save(tmp_path / "b" / f"{i}.jpg", (128, 96), fmt="JPEG")
    table = read_table(tmp_path)
    assert table.features.shape == (4, 48, 64, 3)


def test_image_size_option_wins(tmp_path):
    _save(tmp_path / "a" / "0.png", (128, 96))
    _save(tmp_path / "b" / "0.png", (10, 10))
    table = read_table(tmp_path, ReadOptions(image_size=(16, 12)))
    assert table.features.shape == (2, 12, 16, 3)


def test_grayscale_stays_gray(tmp_path):
    _save(tmp_path / "a" / "0.png", (6, 6), mode="L", colour=40)
    _save(tmp_path / "b" / "0.png", (6, 6), mode="L", colour=200)
    table = read_table(tmp_path)
    assert table.features.shape == (2, 6, 6, 1)
    assert table.features[0].max() == 40 and table.features[1].min() == 200


def test_mixed_gray_and_colour_become_rgb(tmp_path):
    _save(tmp_path / "a" / "0.png", (4, 4), mode="L", colour=77)
    _save(tmp_path / "b" / "0.png", (4, 4), mode="RGB", colour=(1, 2, 3))
    table = read_table(tmp_path)
    assert table.features.shape == (2, 4, 4, 3)
    assert table.features[0, 0, 0].tolist() == [77, 77, 77]
    assert table.features[1, 0, 0].tolist() == [1, 2, 3]


def test_rgba_and_palette_become_rgb(tmp_path):
    _save(tmp_path / "a" / "0.png", (4, 4), mode="RGBA", colour=(10, 20, 30, 0))
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([50, 60, 70] * 256)
    (tmp_path / "b").mkdir()
    palette.save(tmp_path / "b" / "0.png", transparency=0)
    table = read_table(tmp_path)
    assert table.features.shape == (2, 4, 4, 3)
    assert table.features[0, 0, 0].tolist() == [10, 20, 30]
    assert table.features[1, 0, 0].tolist() == [50, 60, 70]


def test_16_bit_gray_keeps_its_top_bits(tmp_path):
    (tmp_path / "a").mkdir()
    Image.fromarray(np.full((4, 4), 0x8000, np.uint16)).save(tmp_path / "a" / "0.png")
    _save(tmp_path / "b" / "0.png", (4, 4), mode="L", colour=3)
    table = read_table(tmp_path)
    assert table.features.shape == (2, 4, 4, 1)
    assert table.features[0].min() == 0x80


def test_gif_webp_bmp_jpeg_decode(tmp_path):
    _save(tmp_path / "a" / "0.bmp", (6, 6), colour=(255, 0, 0))
    _save(tmp_path / "a" / "1.jpeg", (6, 6), colour=(0, 255, 0), fmt="JPEG", quality=95)
    frames = [Image.new("RGB", (6, 6), (0, 0, 255)), Image.new("RGB", (6, 6), (255, 255, 0))]
    (tmp_path / "b").mkdir()
    frames[0].save(tmp_path / "b" / "0.gif", save_all=True, append_images=frames[1:])
    if features.check("webp"):
        _save(tmp_path / "b" / "1.webp", (6, 6), colour=(0, 255, 255), lossless=True)
    table = read_table(tmp_path)
    assert table.quarantine == []
    got = [tuple(int(v) for v in table.features[i, 3, 3]) for i in range(table.num_rows)]
    assert got[0] == (255, 0, 0)
    assert all(abs(a - b) <= 3 for a, b in zip(got[1], (0, 255, 0)))
    assert got[2] == (0, 0, 255)  # the GIF's first frame
    if features.check("webp"):
        assert got[3] == (0, 255, 255)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    from PIL import ImageOps

    pixels = np.arange(4 * 8 * 3, dtype=np.uint8).reshape(4, 8, 3)  # no symmetry to hide a wrong turn
    exif = Image.Exif()
    exif[0x0112] = orientation
    (tmp_path / "a").mkdir()
    Image.fromarray(pixels).save(tmp_path / "a" / "0.png", exif=exif)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "a" / "0.png")))
    _save(tmp_path / "b" / "0.png", (upright.shape[1], upright.shape[0]))
    table = read_table(tmp_path)
    np.testing.assert_array_equal(table.features[0], upright)


def test_corrupt_and_empty_images_are_quarantined(tmp_path):
    for i in range(10):
        _save(tmp_path / "a" / f"{i}.png")
        _save(tmp_path / "b" / f"{i}.png")
    good = (tmp_path / "a" / "0.png").read_bytes()
    (tmp_path / "a" / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "b" / "empty.png").write_bytes(b"")
    (tmp_path / "b" / "notes.txt").write_text("not an image, not a candidate")

    table = read_table(tmp_path)

    assert table.num_rows == 20
    assert sorted(record.location for record in table.quarantine) == [
        os.path.join("a", "truncated.png"), os.path.join("b", "empty.png")]
    assert all(record.source == str(tmp_path) for record in table.quarantine)
    assert all(record.reason.startswith("cannot decode") for record in table.quarantine)


def test_pipes_and_broken_links_are_skipped_not_opened(tmp_path):
    for i in range(10):
        _save(tmp_path / "a" / f"{i}.png")
        _save(tmp_path / "b" / f"{i}.png")
    os.mkfifo(tmp_path / "a" / "pipe.png")  # opening it would block forever
    os.symlink(tmp_path / "nowhere.png", tmp_path / "b" / "broken.png")
    table = read_table(tmp_path, ReadOptions(max_bad_fraction=0.2))
    assert table.num_rows == 20
    reasons = {record.location: record.reason for record in table.quarantine}
    assert set(reasons) == {os.path.join("a", "pipe.png"), os.path.join("b", "broken.png")}
    assert all("not a regular file" in reason for reason in reasons.values())


def test_too_many_bad_images(tmp_path, monkeypatch):
    for i in range(3):
        _save(tmp_path / "a" / f"{i}.png")
        (tmp_path / "b").mkdir(exist_ok=True)
        (tmp_path / "b" / f"{i}.png").write_bytes(b"garbage" * 10)
    monkeypatch.setattr(images, "_decode", lambda *a: pytest.fail("decoded although headers said no"))
    with pytest.raises(CorruptFileError, match=r"3 of 6 images could not be decoded, over the 25% allowed"):
        read_table(tmp_path, ReadOptions(max_bad_fraction=0.25))


def test_too_many_truncated_images_found_while_decoding(tmp_path):
    for i in range(4):
        path = _save(tmp_path / "ab"[i % 2] / f"{i}.png", (32, 32))
        if i < 2:
            path.write_bytes(path.read_bytes()[:200])  # the header reads, the pixels do not
    with pytest.raises(CorruptFileError, match=r"2 of 4 images could not be decoded.*truncated"):
        read_table(tmp_path, ReadOptions(max_bad_fraction=0.3))


def test_all_corrupt_is_an_error(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "0.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 30)
    with pytest.raises(CorruptFileError, match="none of the 2 images"):
        read_table(tmp_path)


def test_no_images_is_empty(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "README.txt").write_text("nothing")
    with pytest.raises(EmptyDatasetError, match="no images found"):
        read_table(tmp_path)


def test_a_folder_of_data_files_points_at_them(tmp_path):
    np.save(tmp_path / "data.npy", np.ones((3, 2)))
    with pytest.raises(EmptyDatasetError, match=r"no images found.*holds data\.npy: open a file"):
        read_table(tmp_path)


def test_images_without_class_folders(tmp_path):
    _save(tmp_path / "0.png")
    _save(tmp_path / "1.png")
    with pytest.raises(SchemaError, match="one subfolder per class"):
        read_table(tmp_path)


def test_split_folders_are_not_classes(tmp_path):
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            _save(tmp_path / split / name / "0.png")
    with pytest.raises(SchemaError, match=r"split folders \(test, train\).*open one of them"):
        read_table(tmp_path)
    assert read_table(tmp_path / "train").class_names == ("cat", "dog")


def test_nested_images_count_for_their_class(tmp_path):
    _save(tmp_path / "a" / "deep" / "er" / "0.png")
    _save(tmp_path / "b" / "0.png")
    _save(tmp_path / "a" / ".hidden" / "0.png")
    table = read_table(tmp_path)
    assert table.labels.tolist() == [0, 1]


def test_symlink_loop_does_not_hang_or_double_count(tmp_path):
    for i in range(3):
        _save(tmp_path / "a" / f"{i}.png")
        _save(tmp_path / "b" / f"{i}.png")
    os.symlink("..", tmp_path / "a" / "up")
    os.symlink(".", tmp_path / "self")
    os.symlink(tmp_path / "b", tmp_path / "b_again")
    table = read_table(tmp_path)
    assert table.num_rows == 6
    assert table.class_names == ("a", "b")
    assert any("b_again links to a class already read" in note for note in table.notes)
    assert any("self links back" in note for note in table.notes)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads through chmod 000")
def test_unreadable_class_folder(tmp_path):
    _save(tmp_path / "a" / "0.png")
    _save(tmp_path / "b" / "0.png")
    os.chmod(tmp_path / "b", 0)
    try:
        with pytest.raises(DatasetError, match="b.*cannot be read"):
            read_table(tmp_path)
    finally:
        os.chmod(tmp_path / "b", 0o755)


@pytest.mark.parametrize("where", ["root", "class"])
def test_permission_denied_names_the_folder(tmp_path, monkeypatch, where):
    _save(tmp_path / "a" / "0.png")
    _save(tmp_path / "b" / "0.png")
    denied = str(tmp_path if where == "root" else tmp_path / "b")
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path) == denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(DatasetError, match=rf"{denied}: cannot be read \(Permission denied\)"):
        read_table(tmp_path)


@pytest.mark.parametrize("side", [12, 16])  # over the limit (a warning) and over twice it (an error)
def test_decompression_bomb_is_refused(tmp_path, monkeypatch, side):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    _save(tmp_path / "a" / "0.png", (8, 8))
    _save(tmp_path / "b" / "bomb.png", (side, side))
    with pytest.raises(UnsafeInputError, match=r"bomb\.png is a decompression bomb"):
        read_table(tmp_path)


def test_progress_events_and_sniffing(tmp_path):
    for i in range(300):
        _save(tmp_path / ("a" if i % 2 else "b") / f"{i:03d}.png", (4, 4))
    assert find_reader(tmp_path).name == "images"
    events = []
    table = run_job(load_table(tmp_path), events.append)
    decode = [e for e in events if isinstance(e, Progress) and e.stage == "decode"]
    assert len(decode) >= 2 and decode[-1].done == decode[-1].total == 300
    assert table.num_rows == 300


def test_pair_files_beat_the_image_reader(tmp_path):
    _save(tmp_path / "a" / "0.png")
    np.save(tmp_path / "X.npy", np.ones((2, 2)))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    assert find_reader(tmp_path).name == "pair"


def test_estimate_reads_headers_only(tmp_path, monkeypatch):
    from udl_core.pipeline import estimate

    for i in range(4):
        _save(tmp_path / "a" / f"{i}.png", (128, 96))
        _save(tmp_path / "b" / f"{i}.png", (128, 96), mode="L")
    monkeypatch.setattr(images, "_decode", lambda *a: pytest.fail("decoded an image"))
    result = estimate(tmp_path)
    assert result.rows == 8 and result.exact
    assert result.feature_dim == 48 * 64 * 3
    assert result.processed_bytes == 8 * 48 * 64 * 3 * 4


def _encoded(fmt: str) -> bytes:
    import io

    pixels = np.random.default_rng(0).integers(0, 255, (16, 12, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


_ENCODED = [(_encoded(fmt), ext) for fmt, ext in (("PNG", ".png"), ("JPEG", ".jpg"), ("GIF", ".gif"), ("BMP", ".bmp"))]


@given(
    damage=st.lists(
        st.tuples(st.integers(0, 3), st.floats(0, 1), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)),
                                                                 max_size=4)),
        min_size=4, max_size=4,
    )
)
@settings(max_examples=40, deadline=None, derandomize=True)
def test_damaged_images_are_quarantined_or_refused(damage):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for i, (source, keep, flips) in enumerate(damage):
            data, ext = _ENCODED[source]
            data = bytearray(data[: int(len(data) * keep)])
            for where, value in flips:
                if data:
                    data[min(len(data) - 1, int(where * len(data)))] = value
            (root / "ab"[i % 2]).mkdir(exist_ok=True)
            (root / "ab"[i % 2] / f"{i}{ext}").write_bytes(bytes(data))
        try:
            table = read_table(root, ReadOptions(max_bad_fraction=1.0))
        except (CorruptFileError, UnsafeInputError) as exc:
            assert str(root) in str(exc)
        else:
            assert table.num_rows + len(table.quarantine) == 4
            assert table.features.dtype == np.uint8 and table.features.ndim == 4
