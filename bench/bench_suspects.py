"""Likely label errors: precision and recall of the suspects against planted label flips, and the cost
of the k-fold against ordinary runs of the same settings.

scikit-learn's digits, wine and breast cancer are used where scikit-learn is installed; otherwise three
datasets of the same shapes are made here: digits rendered from PIL's built-in font (1,797 rows of 8x8
pictures, 16 grey levels, shifted, scaled, rotated and noisy), and wine-like (178 x 13, 3 classes) and
breast-cancer-like (569 x 30, 2 classes) tables of correlated Gaussian classes. 5% of the labels are
flipped to another class with a fixed seed. Each dataset goes through `UnifiedDataLoader` (a CSV) and
`find_suspects` with the run's settings; the top-k suspects (k = the number flipped) are scored, and all
of them. With cleanlab installed (a bench-only extra, never a dependency) its `find_label_issues` gets
the same out-of-sample probabilities. The k-fold's time is compared with 5 ordinary runs
(alternated, best of 2 each).

    python -m bench.bench_suspects
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from udl_core.events import TrainConfig, run_job

FLIP_SHARE = 0.05
SEED = 0
CONFIG = TrainConfig(epochs=30, learning_rate=3e-3, device="cpu", seed=SEED)
BATCH = 32
REPEATS = 2


def sklearn_sets() -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    try:
        from sklearn import datasets
    except ImportError:
        return None
    return {name: (np.asarray(d.data, np.float64), np.asarray(d.target)) for name, d in
            (("digits", datasets.load_digits()), ("wine", datasets.load_wine()),
             ("breast_cancer", datasets.load_breast_cancer()))}


def rendered_digits(n: int = 1797, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8x8 digits with 16 grey levels, from PIL's default font, each one moved, sized and turned."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = np.random.default_rng(seed)
    font = ImageFont.load_default()
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = np.zeros((n, 64))
    for i, digit in enumerate(y):
        left, top, right, bottom = font.getbbox(str(digit))
        glyph = Image.new("L", (right - left + 2, bottom - top + 2), 0)
        ImageDraw.Draw(glyph).text((1 - left, 1 - top), str(digit), fill=255, font=font)
        side = int(rng.integers(12, 16))          # the glyph's height on a 16 x 16 canvas
        glyph = glyph.resize((max(4, side * glyph.width // glyph.height), side), Image.Resampling.BILINEAR)
        glyph = glyph.rotate(float(rng.normal(0, 8)), resample=Image.Resampling.BILINEAR, expand=True)
        canvas = Image.new("L", (16, 16), 0)
        canvas.paste(glyph, ((16 - glyph.width) // 2 + int(rng.integers(-1, 2)),
                             (16 - glyph.height) // 2 + int(rng.integers(-1, 2))))
        small = np.asarray(canvas.filter(ImageFilter.GaussianBlur(0.6)).resize((8, 8), Image.Resampling.BOX),
                           np.float64)
        small = small / max(small.max(), 1.0) * 16 + rng.normal(0, 1.0, (8, 8))
        x[i] = np.clip(np.round(small), 0, 16).reshape(-1)
    return x, y


def gaussian_classes(n: int, dim: int, classes: int, separation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian classes (a shared random covariance), sized like a UCI table."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(0, 1, (dim, dim)) / np.sqrt(dim)
    centers = rng.normal(0, separation, (classes, dim))
    y = np.arange(n) % classes
    rng.shuffle(y)
    x = centers[y] + rng.normal(0, 1, (n, dim)) @ mix.T * 1.5
    return x, y


def made_sets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"digits (rendered)": rendered_digits(), "wine-like": gaussian_classes(178, 13, 3, 1.0, 1),
            "breast-cancer-like": gaussian_classes(569, 30, 2, 0.35, 2)}


def flip(y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    classes = int(y.max()) + 1
    flipped = np.sort(rng.choice(len(y), int(round(len(y) * share)), replace=False))
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, classes, len(flipped))) % classes
    return noisy, flipped


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    header = ",".join(f"f{j}" for j in range(x.shape[1])) + ",label"
    lines = [",".join(f"{v:.6g}" for v in row) + f",c{c}" for row, c in zip(x, y)]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")
    return path


def scores(found: np.ndarray, flipped: np.ndarray) -> tuple[float, float]:
    hits = len(np.intersect1d(found, flipped))
    return hits / max(len(found), 1), hits / max(len(flipped), 1)


def one(name: str, x: np.ndarray, y: np.ndarray, folder: Path) -> None:
    from udl_core.loader import UnifiedDataLoader
    from udl_core.training import train
    from udl_core.training.suspects import labelled_rows, out_of_sample, rank_label_issues

    noisy, flipped = flip(y, FLIP_SHARE, SEED)
    loader = UnifiedDataLoader(str(write_csv(folder / f"{name.split()[0]}.csv", x, noisy)), label="label",
                               batch_size=BATCH, seed=SEED).load()
    xs, ys, rows = labelled_rows(loader, None, SEED)
    five_runs = kfold = float("inf")
    for _ in range(REPEATS):   # alternated, best of each: a busy machine slows both sides alike
        start = time.perf_counter()
        for _ in range(5):
            run_job(train(loader, CONFIG))
        five_runs = min(five_runs, time.perf_counter() - start)
        start = time.perf_counter()
        oos = run_job(out_of_sample(xs, ys, loader.num_classes, CONFIG, BATCH))
        kfold = min(kfold, time.perf_counter() - start)
    order, _ = rank_label_issues(oos.probabilities, ys)
    found = rows[order]
    k = len(flipped)
    top_p, top_r = scores(found[:k], flipped)
    all_p, all_r = scores(found, flipped)
    print(f"   {name:20} {len(y):5,} rows x {x.shape[1]:3} features, {k:3} flipped: top-k precision {top_p:.2f} "
          f"recall {top_r:.2f}; all {len(found):3} suspects precision {all_p:.2f} recall {all_r:.2f}; "
          f"k-fold {kfold:.2f} s = {kfold / five_runs:.2f} x 5 runs ({five_runs:.2f} s)", flush=True)
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return
    issues = find_label_issues(ys, oos.probabilities, return_indices_ranked_by="self_confidence")
    c_top_p, _ = scores(rows[issues][:k], flipped)
    c_all_p, c_all_r = scores(rows[issues], flipped)
    print(f"   {'':20} cleanlab: top-k precision {c_top_p:.2f}; all {len(issues)} precision {c_all_p:.2f} "
          f"recall {c_all_r:.2f}", flush=True)


def main() -> None:
    sets = sklearn_sets()
    if sets is None:
        print("   scikit-learn is not installed: datasets of the same shapes made here (see the module doc)")
        sets = made_sets()
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        print("   cleanlab is not installed: no comparison")
    print(f"   settings: {CONFIG.model} {CONFIG.hidden}, {CONFIG.epochs} epochs, lr {CONFIG.learning_rate:g}, "
          f"batch {BATCH}, {FLIP_SHARE:.0%} of labels flipped (seed {SEED}), 5 folds")
    with tempfile.TemporaryDirectory(prefix="udl-bench-suspects-") as tmp:
        for name, (x, y) in sets.items():
            one(name, x, y, Path(tmp))


if __name__ == "__main__":
    main()
