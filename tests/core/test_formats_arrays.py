"""NPY / NPZ readers and features + labels pairs (udl_core/formats/arrays.py, pairs.py)."""

from __future__ import annotations

import os
import pickle
import zipfile

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from udl_core.errors import CorruptFileError, DatasetError, EmptyDatasetError, SchemaError, UnsafeInputError
from udl_core.formats import arrays, pairs  # noqa: F401  (registers the readers)
from udl_core.formats.registry import find_reader, read_table
from udl_core.table import ReadOptions


def _csv_reader_landed() -> bool:
    return any(spec.name != "pair" and ".csv" in spec.extensions for spec in __import__(
        "udl_core.formats.registry", fromlist=["readers"]).readers())


# --- NPY ----------------------------------------------------------------------------------


def test_npy_2d_is_memory_mapped_without_labels(tmp_path):
    data = np.arange(30, dtype=np.float32).reshape(10, 3)
    path = tmp_path / "data.npy"
    np.save(path, data)
    before = path.read_bytes()

    table = read_table(path)

    assert table.format == "npy"
    assert isinstance(table.features, np.memmap)
    assert not table.features.flags.writeable
    np.testing.assert_array_equal(table.features, data)
    assert table.labels is None and table.columns is None
    assert table.num_rows == 10
    assert path.read_bytes() == before


def test_npy_1d_becomes_one_column(tmp_path):
    np.save(tmp_path / "v.npy", np.array([1, 2, 3], dtype=np.int64))
    table = read_table(tmp_path / "v.npy")
    assert table.features.shape == (3, 1)
    assert table.features[:, 0].tolist() == [1, 2, 3]


def test_npy_3d_keeps_its_shape(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (5, 8, 6), dtype=np.uint8)
    np.save(tmp_path / "imgs.npy", images)
    table = read_table(tmp_path / "imgs.npy")
    assert table.features.shape == (5, 8, 6)
    np.testing.assert_array_equal(table.features, images)


def test_npy_fortran_order(tmp_path):
    data = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    np.save(tmp_path / "f.npy", data)
    np.testing.assert_array_equal(read_table(tmp_path / "f.npy").features, data)


def test_structured_npy_becomes_columns(tmp_path):
    records = np.zeros(4, dtype=[("age", "i4"), ("height", "f4"), ("name", "U8"), ("xy", "f8", (2,))])
    records["age"] = [30, 41, 25, 60]
    records["height"] = [1.5, 1.75, 1.6, 1.8]
    records["name"] = ["ann", "bob", "cy", "dee"]
    records["xy"] = [[0, 1], [2, 3], [4, 5], [6, 7]]
    np.save(tmp_path / "rec.npy", records)

    table = read_table(tmp_path / "rec.npy")

    assert table.is_tabular
    assert table.columns.column_names == ["age", "height", "name", "xy_0", "xy_1"]
    assert table.columns.schema.field("age").type == pa.int64()
    assert table.columns.schema.field("height").type == pa.float64()
    assert table.columns.schema.field("name").type == pa.string()
    assert table.columns.column("name").to_pylist() == ["ann", "bob", "cy", "dee"]
    assert table.columns.column("xy_1").to_pylist() == [1.0, 3.0, 5.0, 7.0]


def test_nested_records_dates_and_unreadable_fields(tmp_path):
    nested = np.zeros(2, dtype=[("a", [("b", "i4"), ("c", "f4")]), ("when", "M8[D]")])
    nested["when"] = ["2024-01-01", "2024-02-29"]
    np.save(tmp_path / "nested.npy", nested)
    table = read_table(tmp_path / "nested.npy")
    assert table.columns.column_names == ["a.b", "a.c", "when"]
    assert pa.types.is_timestamp(table.columns.schema.field("when").type)
    np.save(tmp_path / "complex.npy", np.zeros(2, dtype=[("z", "c16"), ("v", "i4")]))
    with pytest.raises(SchemaError, match="complex.npy: field 'z' holds complex128"):
        read_table(tmp_path / "complex.npy")


def test_object_npy_is_refused_without_unpickling(tmp_path, monkeypatch):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, lambda *a, **k: pytest.fail("unpickled"))
    with pytest.raises(UnsafeInputError, match="objects.npy.*pickled object array"):
        read_table(path)


def test_truncated_npy_is_corrupt(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.ones((100, 4)))
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(CorruptFileError, match=r"cut\.npy.*truncated"):
        read_table(path)


def test_npy_header_garbage_is_corrupt(tmp_path):
    path = tmp_path / "bad.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00" + b"\xff" * 40)
    with pytest.raises(CorruptFileError, match="bad.npy"):
        read_table(path)


@pytest.mark.parametrize("shape", ["(-3, 2)", "(4611686018427387904, 4611686018427387904)"])
def test_npy_header_with_impossible_shape(tmp_path, shape):
    path = tmp_path / "odd.npy"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }" % shape
    header += " " * (118 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\x00" * 64)
    with pytest.raises(CorruptFileError, match="odd.npy"):
        read_table(path)


def test_npy_sniffed_under_another_extension(tmp_path):
    path = tmp_path / "arr.bin"
    with open(path, "wb") as handle:
        np.save(handle, np.eye(3))
    assert find_reader(path).name == "npy"


def test_complex_npy_is_a_schema_error(tmp_path):
    np.save(tmp_path / "c.npy", np.ones(3, dtype=complex))
    with pytest.raises(SchemaError, match="c.npy.*complex"):
        read_table(tmp_path / "c.npy")


# --- NPZ ----------------------------------------------------------------------------------


def test_npz_x_y(tmp_path):
    x = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    np.savez_compressed(tmp_path / "d.npz", X=x, y=y)

    table = read_table(tmp_path / "d.npz")

    assert table.format == "npz"
    np.testing.assert_array_equal(table.features, x)
    np.testing.assert_array_equal(table.labels, y)
    assert table.label_name == "y"


def test_npz_uncompressed_members_are_memory_mapped(tmp_path):
    x = np.arange(40, dtype=np.float64).reshape(10, 4)
    np.savez(tmp_path / "d.npz", features=x, labels=np.arange(10) % 2)
    table = read_table(tmp_path / "d.npz")
    assert isinstance(table.features, np.memmap)
    np.testing.assert_array_equal(table.features, x)
    assert table.labels.tolist() == [0, 1] * 5


def test_npz_names_any_case_and_extras_noted(tmp_path):
    np.savez(tmp_path / "d.npz", Features=np.ones((3, 2)), TARGET=np.array([0.5, 1.5, 2.5]), meta=np.zeros(1))
    table = read_table(tmp_path / "d.npz")
    assert table.features.shape == (3, 2)
    assert table.labels.tolist() == [0.5, 1.5, 2.5]
    assert any("meta" in note for note in table.notes)


def test_keras_style_npz_uses_the_training_arrays(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, x_train=rng.integers(0, 255, (30, 28, 28), dtype=np.uint8),
                        y_train=np.arange(30) % 10, x_test=np.zeros((5, 28, 28), np.uint8), y_test=np.zeros(5))
    table = read_table(path)
    assert table.features.shape == (30, 28, 28)
    np.testing.assert_array_equal(table.labels, np.arange(30) % 10)
    assert any("x_test" in note and "y_test" in note for note in table.notes)


def test_npz_text_labels_become_class_indices(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), y=np.array(["cat", "dog", "cat", "ant"]))
    table = read_table(tmp_path / "d.npz")
    assert table.class_names == ("ant", "cat", "dog")
    assert table.labels.dtype == np.int32
    assert table.labels.tolist() == [1, 2, 1, 0]


def test_npz_one_hot_labels_become_indices(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((3, 2)), y=np.eye(3)[[2, 0, 1]])
    assert read_table(tmp_path / "d.npz").labels.tolist() == [2, 0, 1]


def test_npz_without_arrays_is_empty(tmp_path):
    np.savez(tmp_path / "none.npz")
    with pytest.raises(EmptyDatasetError, match="none.npz.*no .npy arrays"):
        read_table(tmp_path / "none.npz")


def test_npy_with_zero_rows_is_empty(tmp_path):
    np.save(tmp_path / "z.npy", np.ones((0, 4)))
    with pytest.raises(EmptyDatasetError, match="z.npy"):
        read_table(tmp_path / "z.npy")


def test_npz_single_array_is_like_npy(tmp_path):
    np.savez_compressed(tmp_path / "one.npz", arr_0=np.ones((6, 3)))
    table = read_table(tmp_path / "one.npz")
    assert table.features.shape == (6, 3) and table.labels is None


def test_npz_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez_compressed(path, x=np.ones((2, 2)), y=np.array([object(), None], dtype=object))
    with pytest.raises(UnsafeInputError, match="obj.npz.*pickled object array.*refused"):
        read_table(path)


def test_npz_mismatched_lengths(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((10, 2)), y=np.ones(9))
    with pytest.raises(SchemaError, match=r"d\.npz.*10 rows.*9"):
        read_table(tmp_path / "d.npz")


def test_npz_unknown_names_are_listed(tmp_path):
    np.savez(tmp_path / "d.npz", alpha=np.ones(3), beta=np.ones(3))
    with pytest.raises(SchemaError, match="alpha, beta"):
        read_table(tmp_path / "d.npz")


def test_npz_zip_bomb_refused_before_inflating(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((1000, 1000)), y=np.zeros(1000))  # 8 MB of zeros, ~10 kB on disk
    assert path.stat().st_size < 100_000
    inflated = []
    monkeypatch.setattr(arrays, "_load_member", lambda *a, **k: inflated.append(1))
    with pytest.raises(UnsafeInputError, match="bomb.npz.*member x.npy.*limit"):
        read_table(path, ReadOptions(memory_budget=1_000_000))
    assert not inflated


def test_npz_members_over_limit_together(tmp_path, monkeypatch):
    path = tmp_path / "many.npz"
    np.savez_compressed(path, x=np.zeros((100, 100)), y=np.zeros(100), z=np.zeros((100, 100)))
    with pytest.raises(UnsafeInputError, match="together"):
        read_table(path, ReadOptions(memory_budget=120_000))  # each member is 80 kB, 160 kB together


def test_npz_directory_claiming_more_than_deflate_can_expand(tmp_path):
    path = tmp_path / "liar.npz"
    np.savez_compressed(path, x=np.ones((10, 2)), y=np.arange(10))
    data = bytearray(path.read_bytes())
    # Claim 4 GB uncompressed for every member, in the local headers and the central directory.
    for signature, field in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            data[at + field:at + field + 4] = (0xFFFFFF00).to_bytes(4, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeInputError, match="liar.npz.*more than deflate can expand"):
        read_table(path)


def test_npz_member_lying_about_its_shape(tmp_path):
    path = tmp_path / "lie.npz"
    buffer = np.lib.format.header_data_from_array_1_0(np.ones(4))
    buffer["shape"] = (10**12,)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w") as handle:
            np.lib.format.write_array_header_1_0(handle, buffer)
            handle.write(np.ones(4).tobytes())
    with pytest.raises(CorruptFileError, match="lie.npz.*truncated"):
        read_table(path)


def test_array_info_on_a_damaged_npz_is_corrupt(tmp_path):
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04" + b"\x00" * 20)
    assert find_reader(tmp_path / "cut.npz").name == "npz"
    with pytest.raises(CorruptFileError, match="cut.npz"):
        arrays.array_info(tmp_path / "cut.npz")
    with pytest.raises(CorruptFileError, match="cut.npz"):
        read_table(tmp_path / "cut.npz")


def test_array_info_reads_headers_only(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((7, 5), np.float32))
    np.savez_compressed(tmp_path / "b.npz", y=np.ones(9), X=np.ones((9, 2)))
    assert arrays.array_info(tmp_path / "a.npy").shape == (7, 5)
    info = arrays.array_info(tmp_path / "b.npz")
    assert info.shape == (9, 2) and info.nbytes == 9 * 2 * 8


# --- pairs --------------------------------------------------------------------------------


def test_pair_x_npy_y_npy_via_labels_path(tmp_path):
    x = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "X.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1, 1, 0]))
    table = read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "y.npy")))
    assert isinstance(table.features, np.memmap)
    assert table.labels.tolist() == [0, 1, 0, 1, 1, 0]
    assert any("y.npy" in note for note in table.notes)


def test_pair_length_mismatch_names_both_files(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((1000, 2)))
    np.save(tmp_path / "labels.npy", np.ones(999))
    with pytest.raises(SchemaError, match=r"X\.npy: features have 1000 rows but labels\.npy has 999"):
        read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "labels.npy")))


def test_pair_with_txt_labels(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((3, 2)))
    (tmp_path / "y.txt").write_text("cat\ndog\ncat\n", encoding="utf-8")
    table = read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "y.txt")))
    assert table.class_names == ("cat", "dog")
    assert table.labels.tolist() == [0, 1, 0]


def _labels_from(tmp_path, text: str, rows: int = 3, encoding: str = "utf-8"):
    np.save(tmp_path / "X.npy", np.ones((rows, 2)))
    (tmp_path / "y.txt").write_bytes(text.encode(encoding))
    return read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "y.txt")))


def test_txt_labels_numbers_missing_and_header(tmp_path):
    ints = _labels_from(tmp_path, "1\n2\n3\n")
    assert ints.labels.dtype == np.int64 and ints.labels.tolist() == [1, 2, 3]
    floats = _labels_from(tmp_path, "1.5\n\n3\n")
    assert floats.labels[0] == 1.5 and np.isnan(floats.labels[1])
    named = _labels_from(tmp_path, "score\n0.5\n1\n2\n")
    assert named.label_name == "score" and named.labels.tolist() == [0.5, 1.0, 2.0]


def test_txt_labels_utf16_and_tabular(tmp_path):
    utf16 = _labels_from(tmp_path, "\ufeffchat\nchien\nchat\n", encoding="utf-16-le")
    assert utf16.class_names == ("chat", "chien")
    table = _labels_from(tmp_path, "id\tlabel\n1\tx\n2\ty\n3\tx\n")
    assert table.class_names == ("x", "y") and table.labels.tolist() == [0, 1, 0]


def test_labels_from_an_npz_keep_their_class_names(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((3, 2)))
    np.savez(tmp_path / "labels.npz", x=np.zeros((3, 1)), y=np.array(["b", "a", "b"]))
    table = read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "labels.npz")))
    assert table.class_names == ("a", "b") and table.labels.tolist() == [1, 0, 1]


def test_txt_labels_missing_or_a_pipe(tmp_path):
    np.save(tmp_path / "X.npy", np.ones((3, 2)))
    with pytest.raises(DatasetError, match=r"nothere\.txt: no such file"):
        read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "nothere.txt")))
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(DatasetError, match=r"pipe\.txt: is not a regular file"):
        read_table(tmp_path / "X.npy", ReadOptions(labels_path=str(tmp_path / "pipe.txt")))


def test_txt_labels_with_a_hole_in_text(tmp_path):
    with pytest.raises(SchemaError, match=r"y\.txt: line 2 holds no label"):
        _labels_from(tmp_path, "cat\n\ndog\n")


def test_tabular_features_get_a_label_column_without_clash():
    from udl_core.table import Table

    features = Table("f.csv", "csv", columns=pa.table({"label": [1.0, 2.0], "b": [3, 4]}))
    joined = pairs.join_labels(features, pa.chunked_array([["u", "v"]]), "label")
    assert joined.columns.column_names == ["label", "b", "label_label"]
    assert joined.label_name == "label_label"
    assert joined.columns.column("label_label").to_pylist() == ["u", "v"]
    assert features.columns.num_columns == 2  # the input table is left as it was


def test_pair_csv_features_csv_labels(tmp_path):
    if not _csv_reader_landed():
        pytest.skip("the CSV reader has not landed yet")
    (tmp_path / "features.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    (tmp_path / "labels.csv").write_text("species\nx\ny\nx\n")
    table = read_table(tmp_path / "features.csv", ReadOptions(labels_path=str(tmp_path / "labels.csv")))
    assert table.columns.column_names == ["a", "b", "species"]
    assert table.label_name == "species"
    assert table.columns.column("species").to_pylist() == ["x", "y", "x"]


def test_folder_with_x_and_y_is_a_pair(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((5, 3)))
    np.save(tmp_path / "y.npy", np.arange(5))
    (tmp_path / "README.md").write_text("notes")
    assert find_reader(tmp_path).name == "pair"
    table = read_table(tmp_path)
    assert table.format == "pair"
    assert table.features.shape == (5, 3)
    assert table.labels.tolist() == [0, 1, 2, 3, 4]


def test_folder_with_features_and_labels_names(tmp_path):
    np.save(tmp_path / "features.npy", np.ones((4, 2)))
    np.save(tmp_path / "labels.npy", np.array([[0, 1], [1, 0], [1, 0], [0, 1]]))
    table = read_table(tmp_path)
    assert table.labels.tolist() == [1, 0, 0, 1]


def test_estimate_of_a_pair_folder(tmp_path):
    from udl_core.pipeline import estimate

    np.save(tmp_path / "X.npy", np.ones((50, 6), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(50))
    result = estimate(tmp_path)
    assert (result.rows, result.feature_dim, result.exact) == (50, 6, True)


# --- damaged files: a documented error or a table, never anything else ----------------------

def _sources() -> list[tuple[bytes, str]]:
    import io

    out = []
    for save, ext, kwargs in (
        (np.save, ".npy", {"arr": np.arange(60, dtype=np.float32).reshape(20, 3)}),
        (np.save, ".npy", {"arr": np.zeros(5, dtype=[("a", "i4"), ("b", "U3")])}),
        (np.savez, ".npz", {"x": np.ones((20, 3)), "y": np.arange(20)}),
        (np.savez_compressed, ".npz", {"x": np.ones((20, 3)), "y": np.arange(20)}),
    ):
        buffer = io.BytesIO()
        if save is np.save:
            save(buffer, kwargs["arr"])
        else:
            save(buffer, **kwargs)
        out.append((buffer.getvalue(), ext))
    return out


_SOURCES = _sources()


@given(
    source=st.integers(0, len(_SOURCES) - 1),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=6),
    keep=st.floats(0.01, 1.0),
)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_damaged_arrays_raise_documented_errors(source, flips, keep):
    import tempfile
    from pathlib import Path

    data, ext = _SOURCES[source]
    data = bytearray(data[: max(1, int(len(data) * keep))])
    for where, value in flips:
        data[int(where * len(data))] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"damaged{ext}"
        path.write_bytes(bytes(data))
        try:
            table = read_table(path)
        except DatasetError as exc:
            assert str(path) in str(exc)
        else:
            if table.features is not None:
                np.array(table.features, copy=True)  # every byte mapped and readable
        assert path.read_bytes() == bytes(data)


def test_parquet_features_with_npy_text_labels(tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": ["u", None, "w"]}), tmp_path / "data.parquet")
    np.save(tmp_path / "target.npy", np.array(["yes", "no", "yes"]))
    table = read_table(tmp_path / "data.parquet", ReadOptions(labels_path=str(tmp_path / "target.npy")))
    assert table.columns.column_names == ["a", "b", "label"]
    assert table.columns.column("label").to_pylist() == ["yes", "no", "yes"]
    assert table.label_name == "label"


def test_folder_with_features_csv_and_labels_csv(tmp_path):
    if not _csv_reader_landed():
        pytest.skip("the CSV reader has not landed yet")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "labels.csv").write_text("target\n0\n1\n")
    table = read_table(tmp_path)
    assert table.format == "pair"
    assert table.columns.column_names == ["a", "b", "target"]
    assert table.columns.column("target").to_pylist() == [0, 1]
