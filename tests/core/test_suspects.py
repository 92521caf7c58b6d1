"""Likely label errors: the confident-learning rule, the k-fold on planted label flips and on clean data,
its time limit, where each suspect lives in its source, and `udl train --suspects`."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from training_support import ArrayLoader, blobs, on_thread

from udl_core.cli import main
from udl_core.events import Notice, TrainConfig, run_job
from udl_core.loader import UnifiedDataLoader
from udl_core.row_sources import row_sources
from udl_core.training.suspects import find_suspects, rank_label_issues

CONFIG = TrainConfig(epochs=6, device="cpu", learning_rate=3e-3)


def test_the_rule_flags_rows_below_their_class_threshold_that_the_model_calls_another_class():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3],    # labelled 0: threshold (0.9 + 0.8 + 0.7 + 0.1) / 4
                      [0.1, 0.9],                            # labelled 0, predicted 1: a suspect
                      [0.2, 0.8], [0.1, 0.9], [0.45, 0.55],  # labelled 1: threshold 0.75
                      [0.6, 0.4]])                           # labelled 1, predicted 0, less sure: second
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    order, predicted = rank_label_issues(probs, labels)
    assert order.tolist() == [3, 7]        # row 6 is below its threshold but predicted as labelled
    assert predicted[3] == 1 and predicted[7] == 0


def _flipped_blobs(n=600, share=0.05, seed=3):
    x, y = blobs(n=n, classes=3, spread=0.5, seed=seed)
    flipped = np.random.default_rng(seed).choice(n, int(n * share), replace=False)
    y = y.copy()
    y[flipped] = (y[flipped] + 1) % 3
    return x, y, flipped


def _find(loader, **kwargs):
    events = []
    suspects = run_job(find_suspects(loader, CONFIG, **kwargs), events.append)
    return suspects, [e for e in events if isinstance(e, Notice)]


def test_planted_label_flips_rank_first():
    x, y, flipped = _flipped_blobs()
    loader = ArrayLoader(x, y, task="classification", classes=["a", "b", "c"])
    suspects, notices = on_thread(_find, loader, limit=100)
    top = [s.row for s in suspects[:len(flipped)]]
    assert sorted(top) == sorted(flipped.tolist())
    assert len(suspects) <= len(flipped) + 6          # and little else
    first = suspects[0]
    assert first.label == "abc"[y[first.row]] and first.predicted == "abc"[(y[first.row] - 1) % 3]
    assert first.confidence > 0.5 > first.label_confidence
    assert "5 trainings of 6 epochs" in notices[0].message and "runs of these settings" in notices[0].message


def test_clean_data_has_at_most_two_percent_suspects():
    x, y = blobs(n=600, classes=3, spread=0.5, seed=4)
    loader = ArrayLoader(x, y, task="classification", classes=["a", "b", "c"])
    suspects, _ = on_thread(_find, loader, limit=600)
    assert len(suspects) <= 0.02 * 600


def test_a_time_limit_scores_the_folds_it_finished_and_says_so():
    x, y, _ = _flipped_blobs(n=300)
    loader = ArrayLoader(x, y, task="classification", classes=["a", "b", "c"])
    suspects, notices = on_thread(_find, loader, limit=300, max_seconds=0.0)
    assert any("stopped after 1 of 5 folds" in n.message and n.level == "warning" for n in notices)
    assert len(suspects) <= 300 // 5 + 1


def test_sources_name_the_csv_line_the_image_and_the_array_index(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("# a comment line\nx,label\n1,a\n\n2,b\n\"3\",a\n4,b\n5,a\n6,b\n7,a\n8,b\n9,a\n10,b\n")
    loader = UnifiedDataLoader(str(csv), label="label", batch_size=2, val_fraction=0.25).load()
    lines = csv.read_text().splitlines()
    sources = row_sources(loader, [0, 1, 3])
    for row, source in zip([0, 1, 3], sources):
        name, line = source.split(":")
        assert name == "d.csv"
        assert lines[int(line) - 1].split(",")[0].strip('"') == str(loader.raw_rows([row])["x"][0])
    folder = tmp_path / "pics"
    for cls in ("cat", "dog"):
        (folder / cls).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(folder / cls / f"{i}.png")
    (folder / "dog" / "2.png").write_bytes(b"not a picture")
    images = UnifiedDataLoader(str(folder), batch_size=2, val_fraction=0.25).load()
    assert row_sources(images, [0, 6, 7, 8]) == ["cat/0.png", "dog/0.png", "dog/1.png", "dog/3.png"]
    np.save(tmp_path / "x.npy", np.arange(20, dtype=np.float32).reshape(10, 2))
    arrays = UnifiedDataLoader(str(tmp_path / "x.npy"), labels=_labels(tmp_path), batch_size=2).load()
    assert row_sources(arrays, [7]) == ["x.npy[7]"]


def _labels(tmp_path):
    np.save(tmp_path / "y.npy", np.arange(10) % 2)
    return str(tmp_path / "y.npy")


def test_udl_train_suspects_lists_the_flipped_rows_with_their_lines(tmp_path, capsys):
    x, y, flipped = _flipped_blobs(n=400, share=0.01, seed=5)
    lines = ["f0,f1,f2,f3,label"] + [",".join(f"{v:.4f}" for v in row) + f",{'abc'[c]}" for row, c in zip(x, y)]
    data = tmp_path / "blobs.csv"
    data.write_text("\n".join(lines) + "\n")
    code = main(["train", str(data), "--epochs", "4", "--lr", "0.003", "--device", "cpu", "--json",
                 "--suspects", "4", "--label", "label"])
    out = capsys.readouterr().out
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events[-2:]] == ["evaluation", "done"]
    assert any(e["event"] == "notice" and "likely label errors" in e["message"] for e in events)
    suspects = events[-2]["suspects"]
    assert sorted(s["row"] for s in suspects) == sorted(flipped.tolist())
    for s in suspects:
        assert s["source"] == f"blobs.csv:{s['row'] + 2}"
        assert lines[s["row"] + 1].endswith("," + s["label"]) and s["predicted"] != s["label"]
