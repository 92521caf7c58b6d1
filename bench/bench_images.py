"""Image-folder and NPY ingest, as ratios against plain Pillow / numpy in the same process.

Images: IMAGES photos-like PNG and JPEG files (320×240, in 4 class folders) read by
`read_image_folder` (header probe, then decode + resize to 64×48 in a thread pool) against
a plain single-threaded Pillow loop that opens, converts, resizes and stacks the same
files, and against the reader with one worker. Ratio > 1: UDL is faster.

NPY: a ROWS × 64 float32 file: `read_table` (memory-mapped) then one full pass over the
rows, against `np.load` (read whole) and the same pass. Runs alternate; best of REPEATS.

    python -m bench images
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

IMAGES = int(os.environ.get("UDL_BENCH_IMAGES", 800))
ROWS = int(os.environ.get("UDL_BENCH_NPY_ROWS", 1_000_000))
REPEATS = int(os.environ.get("UDL_BENCH_REPEATS", 3))


def _make_images(root: Path) -> None:
    rng = np.random.default_rng(0)
    base = np.cumsum(rng.integers(0, 8, (240, 320, 3)), axis=1).astype(np.uint8)
    for i in range(IMAGES):
        folder = root / f"class{i % 4}"
        folder.mkdir(exist_ok=True)
        ext = "jpg" if i % 2 else "png"
        Image.fromarray(np.roll(base, 7 * i, axis=1)).save(folder / f"{i:05d}.{ext}")


def _plain_pillow(root: Path) -> np.ndarray:
    arrays = []
    for path in sorted(root.rglob("*.*")):
        with Image.open(path) as image:
            arrays.append(np.asarray(image.convert("RGB").resize((64, 48), Image.Resampling.BILINEAR)))
    return np.stack(arrays)


def _udl(root: Path, workers: int | None) -> np.ndarray:
    from udl_core.formats import images
    from udl_core.formats.registry import read_table

    real = os.cpu_count
    if workers is not None:
        images.os.cpu_count = lambda: workers
    try:
        return read_table(root).features
    finally:
        images.os.cpu_count = real


def _best(job, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - start)
    return best


def bench_images() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _make_images(root)
        assert _udl(root, None).shape == (IMAGES, 48, 64, 3)
        plain = _best(lambda: _plain_pillow(root))
        one = _best(lambda: _udl(root, 1))
        pool = _best(lambda: _udl(root, None))
        print(f"   images: {IMAGES} files 320x240 -> 64x48, {os.cpu_count()} CPUs")
        print(f"   plain Pillow loop     {IMAGES / plain:8.0f} images/s")
        print(f"   UDL, 1 worker         {IMAGES / one:8.0f} images/s   x{plain / one:.2f} vs plain")
        print(f"   UDL, thread pool      {IMAGES / pool:8.0f} images/s   x{plain / pool:.2f} vs plain, "
              f"x{one / pool:.2f} vs 1 worker")


def bench_npy() -> None:
    from udl_core.formats.registry import read_table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.npy"
        np.save(path, np.random.default_rng(0).normal(size=(ROWS, 64)).astype(np.float32))

        def opened_mapped() -> None:
            read_table(path)

        def opened_loaded() -> None:
            np.load(path)

        def pass_mapped() -> None:
            features = read_table(path).features
            for start in range(0, ROWS, 65536):
                np.asarray(features[start:start + 65536], dtype=np.float32).sum()

        def pass_loaded() -> None:
            features = np.load(path)
            for start in range(0, ROWS, 65536):
                features[start:start + 65536].sum()

        mapped, loaded = _best(opened_mapped), _best(opened_loaded)
        print(f"   npy: {ROWS} x 64 float32 ({path.stat().st_size / 1e6:.0f} MB)")
        print(f"   open: read_table (mmap) {mapped * 1e3:7.1f} ms, np.load {loaded * 1e3:7.1f} ms, "
              f"x{loaded / mapped:.0f}")
        mapped, loaded = _best(pass_mapped), _best(pass_loaded)
        print(f"   open + one pass: mmap {mapped * 1e3:7.1f} ms, np.load {loaded * 1e3:7.1f} ms, "
              f"x{loaded / mapped:.2f}")


def main() -> None:
    bench_images()
    bench_npy()


if __name__ == "__main__":
    main()
