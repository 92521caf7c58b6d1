"""`udl export`: the processed tensors to .npz / .parquet, outputs that never replace an input, and a
saved model's preprocessing applied to a new file (`--using`)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
from test_training_e2e import write_blobs_csv

from udl_core.cli import main
from udl_core.loader import UnifiedDataLoader


def test_npz_holds_the_loaders_tensors_in_file_order_with_their_split(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv")
    out = tmp_path / "tensors.npz"
    assert main(["export", str(data), "--label", "species", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    loader = UnifiedDataLoader(str(data), label="species").load()
    saved = np.load(out, allow_pickle=False)
    assert saved["rows"].tolist() == list(range(loader.num_train + loader.num_val))
    train = np.flatnonzero(saved["split"] == "train")
    assert saved["rows"][train].tolist() == sorted(loader.train_data.rows.tolist())
    order = np.argsort(loader.train_data.rows)
    np.testing.assert_array_equal(saved["x"][train], loader.train_data.x[order])
    np.testing.assert_array_equal(saved["y"][train], loader.train_data.y[order])
    assert saved["feature_names"].tolist() == loader.feature_names
    assert saved["classes"].tolist() == list(loader.classes)


def test_parquet_has_a_column_per_feature_and_the_reserved_columns(tmp_path):
    data = write_blobs_csv(tmp_path / "species.csv")
    out = tmp_path / "tensors.parquet"
    assert main(["export", str(data), "--label", "species", "--out", str(out)]) == 0
    table = pq.read_table(out)
    meta = json.loads(table.schema.metadata[b"udl"])
    assert table.column_names == [*meta["feature_names"], "y", "split", "row"]
    assert meta["task"] == "classification" and table.num_rows == len(set(table.column("row").to_pylist()))
    assert set(table.column("split").to_pylist()) == {"train", "val"}


def test_an_output_over_an_input_or_with_another_suffix_is_an_error_line(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.arange(40, dtype=np.float32).reshape(20, 2))
    np.save(tmp_path / "y.npy", np.arange(20) % 2)
    before = (tmp_path / "x.npy").read_bytes()
    code = main(["export", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"), "--out",
                 str(tmp_path / "out.csv")])
    assert code == 2 and "ending in .npz or .parquet" in capsys.readouterr().err
    npz = tmp_path / "both.npz"
    np.savez(npz, x=np.arange(40, dtype=np.float32).reshape(20, 2), y=np.arange(20) % 2)
    kept = npz.read_bytes()
    assert main(["export", str(npz), "--out", str(npz)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "never overwrites an input" in err and len(err.splitlines()) == 1
    assert npz.read_bytes() == kept and (tmp_path / "x.npy").read_bytes() == before


def test_using_applies_the_saved_preprocessing_to_a_new_file(tmp_path, capsys):
    data = write_blobs_csv(tmp_path / "species.csv")
    weights = tmp_path / "model.safetensors"
    assert main(["train", str(data), "--label", "species", "--epochs", "1", "--device", "cpu",
                 "--save", str(weights)]) == 0
    lines = data.read_text().splitlines()
    new = tmp_path / "new.csv"
    new.write_text("\n".join(lines[:11]) + "\n")           # the header and the first 10 rows
    out = tmp_path / "new.npz"
    assert main(["export", str(new), "--using", str(weights), "--out", str(out)]) == 0
    capsys.readouterr()
    saved = np.load(out, allow_pickle=False)
    loader = UnifiedDataLoader(str(data), label="species").load()
    first = loader.processed_data
    np.testing.assert_allclose(saved["x"], first.x[:10], rtol=1e-6)   # the training statistics, not new ones
    assert "y" not in saved and set(saved["split"].tolist()) == {"new"}
    link = tmp_path / "link.npz"
    link.hardlink_to(new)                                  # the new file under an exportable name
    assert main(["export", str(new), "--using", str(weights), "--out", str(link)]) == 2
    assert "never overwrites an input" in capsys.readouterr().err
