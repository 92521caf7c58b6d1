"""Build UDL's bad-input corpus into a folder: `python tests/corpus/make_corpus.py OUT`.

Every case is a record: its name, a function that writes its files into an empty folder,
the dataset argument and extra CLI arguments, and what UDL must answer:

    error       exit 2, exactly one stderr line, starting `error:`, that names the file
    quarantine  exit 0; the loader skips the bad records and reports them (`loader.quarantine`)
    ok          exit 0: odd but legitimate input
    handled     either of the above (exit 0, or exit 2 with one clean `error:` line): the
                input is a judgement call, but a traceback or a hang never is

Nothing here is downloaded and nothing is committed as a binary blob: the files are made
at test time, deterministically (seeded), into a temporary folder.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

import bombs   # beside this file, as type_cases
from type_cases import type_cases   # beside this file: on the path as a script and in the corpus tests

__all__ = ["CASES", "PICKLE_SENTINEL", "Case", "build", "build_all", "corpus_files", "good_csv_text"]

# An unpickled payload in the corpus would create this file beside the case's data.
PICKLE_SENTINEL = "UNPICKLED_PAYLOAD_RAN"


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], None]          # writes the case's files into an empty folder
    target: str                           # the dataset argument, relative to the case folder
    args: tuple[str, ...] = ()            # extra CLI arguments; "{dir}" is the case folder
    expect: str | Mapping[str, str] = "error"   # one for every command, or per command
    raises: tuple[str, ...] = ("UDLError",)     # acceptable udl_core.errors classes (API level)
    mentions: tuple[str, ...] | None = None     # the error line names one of these (default: target)
    commands: tuple[str, ...] = ("inspect", "batch")
    hazard: bool = False                  # could hang or blow up: run it only in a subprocess
    note: str = ""
    skip_if: Callable[[], str | None] = field(default=lambda: None)

    def expect_for(self, command: str) -> str:
        if isinstance(self.expect, str):
            return self.expect
        return self.expect[command]

    def argv(self, command: str, folder: Path) -> list[str]:
        path = str(folder / self.name / self.target)
        extra = [a.replace("{dir}", str(folder / self.name)) for a in self.args]
        if command == "train":
            extra += ["--epochs", "1"]
        return [command, path, *extra]

    def names(self) -> tuple[str, ...]:
        return self.mentions if self.mentions is not None else (Path(self.target).name,)


# ---------------------------------------------------------------- helpers


def good_csv_text(rows: int = 120, seed: int = 0, label: str = "label") -> str:
    """A small clean classification CSV: two numbers, a category, a label."""
    rng = random.Random(seed)
    lines = [f"x1,x2,colour,{label}"]
    for _ in range(rows):
        cls = rng.choice(("cat", "dog"))
        shift = 2.0 if cls == "dog" else 0.0
        lines.append(f"{rng.gauss(shift, 1):.3f},{rng.gauss(-shift, 1):.3f},{rng.choice(('red', 'blue'))},{cls}")
    return "\n".join(lines) + "\n"


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)


def _png(seed: int, size: int = 8) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header that claims `width` x `height` 1-bit pixels (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _image_folder(root: Path, per_class: int = 6, classes: tuple[str, ...] = ("cats", "dogs")) -> None:
    for c, name in enumerate(classes):
        for i in range(per_class):
            _write(root / name / f"{i:03d}.png", _png(seed=100 * c + i))


class _Payload:
    """Pickles to `open(sentinel, "w")`: unpickling it creates the sentinel file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def _pickle_array(folder: Path) -> np.ndarray:
    arr = np.empty(4, dtype=object)
    for i in range(4):
        arr[i] = _Payload(folder / PICKLE_SENTINEL)
    return arr


def _zip64(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A zip archive written by hand: (name, data, declared uncompressed size) per member.

    Every member carries a zip64 extra field, so its declared size may be anything; the
    declared size is what `zipfile.ZipInfo.file_size` reports before a byte is inflated.
    """
    out = bytearray()
    central = bytearray()
    for name, data, declared in entries:
        packed = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = packed.compress(data) + packed.flush()
        crc = zlib.crc32(data)
        encoded = name.encode()
        extra = struct.pack("<HHQQ", 1, 16, declared, len(body))
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0x21, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(extra)) + encoded + extra + body
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 8, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(extra), 0, 0, 0, 0o644 << 16,
                               offset) + encoded + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + end)


def _npz_bomb(path: Path) -> None:
    """An NPZ whose member `x.npy` declares 12.8 GB uncompressed (40000 x 40000 float64) but holds 1 KiB.

    A reader that honours an expansion limit refuses it from the zip directory alone.
    """
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (40_000, 40_000)})
    x = header.getvalue() + b"\x00" * 1024
    y = _npy_bytes(np.zeros(40_000, dtype=np.int64))
    _write(path, _zip64([("x.npy", x, 40_000 * 40_000 * 8 + len(header.getvalue())), ("y.npy", y, len(y))]))


def _json_head() -> bytes:
    """70 kB of JSON records (what a sniff reads looks like JSON), the start of an endless array."""
    return ("[" + ",".join(json.dumps({"a": i, "label": i % 2}) for i in range(3000)) + ",").encode() + b" " * 20_000


def _make_sparse_labels(folder: Path) -> None:
    np.save(folder / "X.npy", np.zeros((4, 2)))
    bombs.sparse_file(folder / "y.txt", 1 << 30, b"1\n0\n1\n0\n")


def _npy_bytes(arr: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, arr, allow_pickle=arr.dtype.hasobject)
    return out.getvalue()


def _not_root_reason() -> str | None:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "running as root, where chmod 000 does not stop reads"
    return None


# ---------------------------------------------------------------- builders


def _csv(text: str, name: str = "data.csv") -> Callable[[Path], None]:
    return lambda folder: _write(folder / name, text)


def _bytes(data: bytes, name: str) -> Callable[[Path], None]:
    return lambda folder: _write(folder / name, data)


def _garbage(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _ragged(bad: int, total: int) -> str:
    rng = random.Random(3)
    bad_rows = set(rng.sample(range(total), bad))
    lines = ["a,b,label"]
    for i in range(total):
        if i in bad_rows:
            lines.append(f"{i},{i * 2},x,y,z")
        else:
            lines.append(f"{i},{rng.random():.3f},{'yes' if i % 2 else 'no'}")
    return "\n".join(lines) + "\n"


def _make_parquet_truncated(folder: Path) -> None:
    table = pa.table({"a": np.arange(2000, dtype=np.int64), "b": np.linspace(0, 1, 2000), "label": ["p", "q"] * 1000})
    out = io.BytesIO()
    pq.write_table(table, out)
    data = out.getvalue()
    _write(folder / "data.parquet", data[: len(data) * 6 // 10])


def _make_parquet_empty(folder: Path) -> None:
    schema = pa.schema([("a", pa.int64()), ("b", pa.float64()), ("label", pa.string())])
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(schema.empty_table(), folder / "data.parquet")


def _make_arrow_truncated(folder: Path) -> None:
    table = pa.table({"a": np.arange(5000, dtype=np.int64), "b": np.linspace(0, 1, 5000), "label": ["p", "q"] * 2500})
    out = io.BytesIO()
    feather.write_feather(table, out, compression="uncompressed")
    data = out.getvalue()
    _write(folder / "data.arrow", data[: len(data) // 2])


def _make_arrow_bad_offsets(folder: Path) -> None:
    """A well-formed Arrow file whose string column's offsets point past its data: pyarrow reads
    it without complaint, and the first compute kernel over it reads wild memory."""
    n = 40
    offsets = np.arange(n + 1, dtype=np.int32) * 2
    offsets[10] = 100_000
    strings = pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"ab" * n))
    table = pa.table({"x": np.arange(n, dtype=np.float64), "s": strings, "label": ["p", "q"] * (n // 2)})
    folder.mkdir(parents=True, exist_ok=True)
    with pa.ipc.new_file(str(folder / "data.arrow"), table.schema) as out:
        out.write_table(table)


def _make_npz_pickle(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "data.npz", x=_pickle_array(folder), y=np.arange(4))


def _make_npy_pickle(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "data.npy", _pickle_array(folder), allow_pickle=True)


def _make_npy_object(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.array([{"a": 1}, [1, 2], "three", None], dtype=object)
    np.save(folder / "data.npy", arr, allow_pickle=True)


def _make_npy_truncated(folder: Path) -> None:
    data = _npy_bytes(np.random.default_rng(0).normal(size=(1000, 16)).astype(np.float32))
    _write(folder / "data.npy", data[: 128 + (len(data) - 128) // 2])


def _make_npz_missing_keys(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    np.savez(folder / "data.npz", alpha=rng.normal(size=(50, 4)), beta=rng.normal(size=(50, 4)))


def _make_npz_lengths(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    np.savez(folder / "data.npz", x=rng.normal(size=(50, 4)), y=rng.integers(0, 2, 40))


def _make_pair_mismatch(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    np.save(folder / "X.npy", rng.normal(size=(20, 3)).astype(np.float32))
    np.save(folder / "y.npy", rng.integers(0, 2, 15))


def _make_pair_ok_features(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "X.npy", np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32))


def _make_npy_strings(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "data.npy", np.array([["a", "b"], ["c", "d"], ["e", "f"]]))


def _make_images_empty(folder: Path) -> None:
    _write(folder / "imgs" / "cats" / "README.txt", "no pictures here\n")
    (folder / "imgs" / "dogs").mkdir(parents=True)


def _make_images_none_decode(folder: Path) -> None:
    for c in ("cats", "dogs"):
        for i in range(3):
            _write(folder / "imgs" / c / f"{i}.png", _garbage(10 * i + len(c), 300))


def _make_images_one_bad(folder: Path) -> None:
    _image_folder(folder / "imgs", per_class=10)
    _write(folder / "imgs" / "cats" / "broken.png", _png(seed=999)[:40])


def _make_images_zero_png(folder: Path) -> None:
    _write(folder / "imgs" / "cats" / "empty.png", b"")


def _make_images_symlink_loop(folder: Path) -> None:
    _image_folder(folder / "imgs", per_class=6)
    os.symlink("..", folder / "imgs" / "dogs" / "loop")
    os.symlink(".", folder / "imgs" / "self")


def _make_images_link_outside(folder: Path) -> None:
    _image_folder(folder / "imgs", per_class=6)
    _image_folder(folder / "elsewhere", per_class=6, classes=("birds",))
    os.symlink(os.path.join("..", "elsewhere", "birds"), folder / "imgs" / "birds")
    os.symlink(os.path.join("..", "..", "elsewhere", "birds", "000.png"), folder / "imgs" / "cats" / "far.png")


def _make_images_only_outside_links(folder: Path) -> None:
    _image_folder(folder / "elsewhere", per_class=6)
    (folder / "imgs").mkdir()
    for name in ("cats", "dogs"):
        os.symlink(os.path.join("..", "elsewhere", name), folder / "imgs" / name)


def _make_wide_csv(folder: Path) -> None:
    rng = np.random.default_rng(31)
    columns, rows = 2_000, 30
    values = rng.normal(size=(rows, columns)).round(3)
    lines = [",".join([*(f"x{j}" for j in range(columns)), "label"])]
    lines += [",".join([*map(str, row), str(i % 2)]) for i, row in enumerate(values.tolist())]
    _write(folder / "wide.csv", "\n".join(lines) + "\n")


def _make_images_bomb(folder: Path) -> None:
    _write(folder / "imgs" / "cats" / "bomb.png", _png_claiming(40_000, 40_000))


def _make_images_unreadable(folder: Path) -> None:
    _image_folder(folder / "imgs", per_class=4)
    os.chmod(folder / "imgs", 0)


def _make_fifo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "data.csv")


def _make_fifo_image(folder: Path) -> None:
    _image_folder(folder / "imgs", per_class=5)
    os.mkfifo(folder / "imgs" / "cats" / "pipe.png")


def _make_fifo_labels(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "X.npy", np.random.default_rng(4).normal(size=(20, 3)).astype(np.float32))
    os.mkfifo(folder / "y.npy")


def _make_outputs_onto_inputs(folder: Path) -> None:
    """A good dataset beside outputs that must not be written: a FIFO, a link, the data itself."""
    folder.mkdir(parents=True, exist_ok=True)
    header, *lines = good_csv_text(60).splitlines()
    rows = [dict(zip(header.split(","), line.split(","))) for line in lines]
    (folder / "data.json").write_text(json.dumps(rows), encoding="utf-8")
    (folder / "data.csv").write_text(good_csv_text(60), encoding="utf-8")
    (folder / "elsewhere.py").write_text("# not UDL's\n", encoding="utf-8")
    os.mkfifo(folder / "pipe.py")
    os.symlink("elsewhere.py", folder / "link.py")


def _make_undecodable_name(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # A Latin-1 name on a UTF-8 file system: Python sees the byte 0xff as the surrogate U+DCFF.
    with open(os.fsencode(folder) + b"/caf\xff.csv", "wb") as out:
        out.write(good_csv_text().encode())


def _make_flat_images(folder: Path) -> None:
    for i in range(4):
        _write(folder / "imgs" / f"{i}.png", _png(seed=i))


def _make_one_class_images(folder: Path) -> None:
    _image_folder(folder / "imgs", per_class=6, classes=("cats",))


def _make_csv_folder(folder: Path) -> None:
    _write(folder / "csvs" / "a.csv", good_csv_text(seed=1))
    _write(folder / "csvs" / "b.csv", good_csv_text(seed=2))


def _make_xlsx(folder: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as book:   # fixed member times: the corpus is byte-identical
        book.writestr(zipfile.ZipInfo("[Content_Types].xml", (2024, 1, 1, 0, 0, 0)), "<Types/>")
        book.writestr(zipfile.ZipInfo("xl/workbook.xml", (2024, 1, 1, 0, 0, 0)), "<workbook/>")
    _write(folder / "book.xlsx", buf.getvalue())


def _make_nested_parquet(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"tags": [[1, 2], [3], None] * 20, "point": [{"x": 1}, {"x": 2}, None] * 20,
                      "empty": pa.nulls(60, pa.float64()), "size": np.arange(60, dtype=np.float64),
                      "label": ["p", "q", "p"] * 20})
    pq.write_table(table, folder / "data.parquet")


def _make_uint64_ids(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(13)
    ids = rng.integers(0, 2**63, 60, dtype=np.uint64) * np.uint64(2)   # 64-bit hashes, past 2**53
    table = pa.table({"id": pa.array(ids, pa.uint64()), "x": rng.normal(size=60), "label": ["p", "q"] * 30})
    pq.write_table(table, folder / "data.parquet")


def _make_arrow_stream(folder: Path) -> None:
    import pyarrow.ipc as ipc

    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"a": np.arange(60, dtype=np.float64), "b": np.arange(60) % 7, "label": ["p", "q"] * 30})
    with ipc.new_stream(str(folder / "data.arrow"), table.schema) as out:
        out.write_table(table)


def _make_infinities(folder: Path) -> None:
    lines = ["a,b,label"]
    for i in range(100):
        lines.append(f"{'inf' if i % 7 == 0 else i},{'-inf' if i % 5 == 0 else i * 0.5},{'x' if i % 2 else 'y'}")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_npz_arrays(x: np.ndarray) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "data.npz", x=x, y=np.arange(len(x)) % 2)

    return make


def _no_dev_zero() -> str | None:
    return None if os.path.exists("/dev/zero") else "no /dev/zero here"


def _make_wide(rows: int) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        header = ",".join(f"c{i}" for i in range(10_000))
        body = "".join(",".join(str((i + r) % 7) for i in range(10_000)) + "\n" for r in range(rows))
        _write(folder / "data.csv", header + "\n" + body)

    return make


def _make_long_field(folder: Path) -> None:
    lines = ["x1,notes,label"]
    for i in range(50):
        notes = "z" * 10_000_000 if i == 3 else f"row {i}"
        lines.append(f"{i * 0.5},{notes},{'a' if i % 2 else 'b'}")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_utf16_junk(folder: Path) -> None:
    rng = random.Random(16)
    text = "".join(chr(rng.choice([rng.randint(0x20, 0xD7FF), rng.randint(0xE000, 0xFFFD), 0]))
                   for _ in range(3000))
    _write(folder / "data.csv", text.encode("utf-16"))


def _make_utf16_excel(folder: Path) -> None:
    # What Excel's "Unicode Text" export writes: UTF-16 LE with a BOM, tab separated, CRLF.
    lines = ["länge\tbreite\tart"]
    rng = random.Random(5)
    for i in range(60):
        art = "Größe" if i % 2 else "Kleine"
        lines.append(f"{rng.gauss(5, 1):.2f}\t{rng.gauss(2, 1):.2f}\t{art}")
    _write(folder / "data.txt", ("\r\n".join(lines) + "\r\n").encode("utf-16"))


def _make_latin1(folder: Path) -> None:
    lines = ["ville,température,catégorie"]
    rng = random.Random(6)
    for i in range(80):
        lines.append(f"{rng.choice(['Besançon', 'Orléans', 'Nîmes'])},{rng.gauss(12, 5):.1f},{'été' if i % 2 else 'hiver'}")
    _write(folder / "data.csv", ("\n".join(lines) + "\n").encode("latin-1"))


def _make_mixed_types(folder: Path) -> None:
    lines = ["size,weight,label"]
    rng = random.Random(7)
    for i in range(100):
        size = rng.choice(["large", "n/a", "12,5"]) if i % 9 == 0 else f"{rng.gauss(10, 2):.2f}"
        if "," in size:
            size = f'"{size}"'
        lines.append(f"{size},{rng.gauss(70, 5):.1f},{'x' if i % 2 else 'o'}")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_distinct_labels(folder: Path) -> None:
    lines = ["a,b,name"]
    rng = random.Random(8)
    for i in range(200):
        lines.append(f"{rng.random():.4f},{rng.random():.4f},item_{i:04d}")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_nul_field(folder: Path) -> None:
    text = good_csv_text(rows=100, seed=9)
    lines = text.splitlines()
    lines[50] = lines[50].replace("red", "r\x00ed").replace("blue", "bl\x00ue")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_label_missing(folder: Path) -> None:
    lines = ["a,b,label"]
    for i in range(60):
        lines.append(f"{i},{i * 0.1:.1f},{'' if i % 2 else 'NA'}")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_one_class(folder: Path) -> None:
    lines = ["a,b,label"]
    rng = random.Random(10)
    for _ in range(80):
        lines.append(f"{rng.random():.3f},{rng.random():.3f},cat")
    _write(folder / "data.csv", "\n".join(lines) + "\n")


def _make_single_column(folder: Path) -> None:
    _write(folder / "data.csv", "value\n" + "".join(f"{i * 1.5}\n" for i in range(50)))


def _make_jsonl_broken(folder: Path) -> None:
    _write(folder / "data.jsonl", "".join(f'{{"a": {i}, "b": [1, 2,\n' for i in range(40)))


def _make_jsonl_few_broken(folder: Path) -> None:
    rng = random.Random(11)
    lines = []
    for i in range(200):
        if i in (17, 99):
            lines.append('{"a": 1, "b": ')
        else:
            lines.append(json.dumps({"a": rng.random(), "b": rng.random(), "label": rng.choice("xy")}))
    _write(folder / "data.jsonl", "\n".join(lines) + "\n")


CASES: tuple[Case, ...] = (
    # -- every bad input the loader issue names
    Case("missing_path", lambda folder: None, "does_not_exist.csv",
         raises=("DatasetError",), commands=("inspect", "batch", "train", "check")),
    Case("empty_file", _bytes(b"", "data.csv"), "data.csv", raises=("EmptyDatasetError",),
         commands=("inspect", "batch", "train")),
    Case("header_only_csv", _csv("a,b,label\n"), "data.csv", raises=("EmptyDatasetError",)),
    Case("whitespace_only_csv", _csv("\n\n   \n\t\n"), "data.csv", raises=("EmptyDatasetError", "UnsupportedFormatError")),
    Case("binary_garbage_csv", _bytes(_garbage(1, 8192), "data.csv"), "data.csv",
         raises=("UnsupportedFormatError", "CorruptFileError"), commands=("inspect", "batch", "train", "check")),
    Case("truncated_parquet", _make_parquet_truncated, "data.parquet", raises=("CorruptFileError",)),
    Case("npz_pickle_payload", _make_npz_pickle, "data.npz", raises=("UnsafeInputError",),
         commands=("inspect", "batch", "train", "check")),
    Case("ragged_over_threshold", _csv(_ragged(bad=60, total=100)), "data.csv", raises=("CorruptFileError",)),
    Case("ragged_few_rows", _csv(_ragged(bad=3, total=200)), "data.csv", expect="quarantine",
         commands=("inspect", "batch", "train")),
    Case("unknown_label", _csv(good_csv_text()), "data.csv", args=("--label", "no_such_column"),
         raises=("SchemaError",), mentions=("no_such_column",), commands=("inspect", "batch", "check")),
    Case("label_all_missing", _make_label_missing, "data.csv", raises=("SchemaError", "EmptyDatasetError")),
    Case("image_folder_no_images", _make_images_empty, "imgs", raises=("EmptyDatasetError",)),
    Case("images_none_decode", _make_images_none_decode, "imgs", raises=("CorruptFileError",)),
    Case("images_one_bad_among_good", _make_images_one_bad, "imgs", expect="quarantine"),
    Case("npz_lengths_differ", _make_npz_lengths, "data.npz", raises=("SchemaError", "CorruptFileError")),
    Case("pair_lengths_differ", _make_pair_mismatch, "X.npy", args=("--labels", "{dir}/y.npy"),
         raises=("SchemaError", "CorruptFileError"), mentions=("X.npy", "y.npy")),
    Case("labels_file_missing", _make_pair_ok_features, "X.npy", args=("--labels", "{dir}/nothere.npy"),
         raises=("DatasetError",), mentions=("nothere.npy",)),
    Case("batch_index_out_of_range", _csv(good_csv_text()), "data.csv", args=("--index", "9999"),
         raises=("ConfigError",), mentions=("9999",), commands=("batch",)),
    Case("batch_size_zero", _csv(good_csv_text()), "data.csv", args=("--batch-size", "0"),
         raises=("ConfigError",), mentions=("batch",), commands=("inspect", "batch", "train")),
    Case("batch_size_negative", _csv(good_csv_text()), "data.csv", args=("--batch-size", "-4"),
         raises=("ConfigError",), mentions=("batch",), commands=("batch", "train")),
    Case("val_fraction_out_of_range", _csv(good_csv_text()), "data.csv", args=("--val-fraction", "1.5"),
         raises=("ConfigError",), mentions=("1.5",), commands=("batch", "train")),
    # -- the hardening issue's own cases
    Case("csv_nul_byte", _make_nul_field, "data.csv", expect="handled",
         note="a NUL inside one text field of one row: quarantine the row, keep the byte, or refuse"),
    Case("wide_header_only", _make_wide(rows=0), "data.csv", raises=("EmptyDatasetError",)),
    Case("wide_one_row", _make_wide(rows=1), "data.csv", expect="handled",
         note="10,000 columns and one row: too few rows to split is a fair error"),
    Case("single_column", _make_single_column, "data.csv", raises=("SchemaError",),
         note="the only column is the label: no features"),
    Case("label_one_class", _make_one_class, "data.csv", expect={"inspect": "handled", "batch": "handled", "train": "error"},
         raises=("SchemaError", "TrainingError"), commands=("inspect", "train")),
    Case("mixed_types_column", _make_mixed_types, "data.csv", expect="ok", commands=("inspect", "batch", "train")),
    Case("long_field_10mb", _make_long_field, "data.csv", expect="ok",
         note="a valid file: a field longer than pyarrow's block gets bigger blocks"),
    Case("npz_3d_features", _make_npz_arrays(np.random.default_rng(12).normal(size=(40, 4, 4))), "data.npz",
         expect="ok", commands=("inspect", "batch", "train"), note="N x 4 x 4 features, like MNIST's N x 28 x 28"),
    Case("npz_zero_width_features", _make_npz_arrays(np.zeros((40, 0))), "data.npz", raises=("SchemaError",)),
    Case("npz_complex_features", _make_npz_arrays(np.ones((40, 3)) + 1j), "data.npz"),
    Case("npz_missing_keys", _make_npz_missing_keys, "data.npz", raises=("SchemaError",)),
    Case("images_symlink_loop", _make_images_symlink_loop, "imgs", expect="ok", hazard=True,
         note="a link to the parent folder and one to itself: must not hang or count images twice"),
    Case("images_link_outside", _make_images_link_outside, "imgs", expect="ok", hazard=True,
         note="a class folder and an image linking out of the dataset folder: left out with a note"),
    Case("images_only_outside_links", _make_images_only_outside_links, "imgs", hazard=True,
         raises=("EmptyDatasetError",), note="every class folder links out of the dataset folder"),
    Case("wide_csv", _make_wide_csv, "wide.csv", expect="ok",
         note="30 rows x 2,000 columns: the cost is linear in the columns (it was quadratic)"),
    Case("images_zero_byte_png", _make_images_zero_png, "imgs", raises=("CorruptFileError", "EmptyDatasetError")),
    Case("images_unreadable_dir", _make_images_unreadable, "imgs", raises=("DatasetError",),
         skip_if=_not_root_reason),
    Case("fifo_named_csv", _make_fifo, "data.csv", hazard=True, raises=("DatasetError",),
         note="a named pipe: opening it for reading blocks forever; fails as root too"),
    Case("fifo_in_image_folder", _make_fifo_image, "imgs", hazard=True, expect="handled",
         mentions=("imgs", "pipe.png"), note="a named pipe called pipe.png among good images: skip it or refuse"),
    Case("fifo_labels_file", _make_fifo_labels, "X.npy", args=("--labels", "{dir}/y.npy"), hazard=True,
         raises=("DatasetError",), mentions=("y.npy",)),
    Case("symlink_to_dev_zero", lambda folder: os.symlink("/dev/zero", folder / "data.csv"), "data.csv",
         raises=("DatasetError",), hazard=True, skip_if=_no_dev_zero,
         note="a link to an endless device: reading it would never end"),
    Case("utf16_junk", _make_utf16_junk, "data.csv"),
    Case("utf16_excel_export", _make_utf16_excel, "data.txt", expect="ok",
         note="Excel's Unicode Text export: UTF-16 LE, BOM, tabs, CRLF"),
    Case("latin1_csv", _make_latin1, "data.csv", expect="ok"),
    Case("json_scalar", _csv('"just a string"\n', "data.json"), "data.json"),
    Case("json_list_of_numbers", _csv("[1, 2, [3, 4], 5]\n", "data.json"), "data.json"),
    Case("json_deeply_nested", _csv("[" * 100_000 + "]" * 100_000 + "\n", "data.json"), "data.json",
         raises=("CorruptFileError", "UnsupportedFormatError", "UnsafeInputError"), hazard=True,
         note="100,000 nested lists: Python's json module raises RecursionError"),
    Case("jsonl_deeply_nested", _csv(('{"a": ' + "[" * 100_000 + "]" * 100_000 + ', "label": 1}\n') * 3,
                                     "data.jsonl"), "data.jsonl",
         raises=("CorruptFileError", "UnsupportedFormatError", "UnsafeInputError"), hazard=True,
         note="native JSON parsers recurse on nesting: a stack overflow would kill the process"),
    Case("json_huge_integer", _csv('[{"a": ' + "9" * 5000 + ', "label": 1}, {"a": 2, "label": 0}]\n', "data.json"),
         "data.json", expect="handled"),
    Case("jsonl_empty_key", _csv("".join(f'{{"": [{i}], "a": {i}, "label": {i % 2}}}\n' for i in range(40)),
                                 "data.jsonl"), "data.jsonl", expect="handled",
         note="a key that is the empty string, holding lists (found by fuzzing)"),
    Case("jsonl_every_line_broken", _make_jsonl_broken, "data.jsonl", raises=("CorruptFileError",)),
    Case("jsonl_two_lines_broken", _make_jsonl_few_broken, "data.jsonl", expect="quarantine"),
    Case("parquet_zero_rows", _make_parquet_empty, "data.parquet", raises=("EmptyDatasetError",)),
    Case("arrow_truncated", _make_arrow_truncated, "data.arrow", raises=("CorruptFileError",)),
    Case("arrow_damaged_offsets", _make_arrow_bad_offsets, "data.arrow", raises=("CorruptFileError",), hazard=True,
         note="unvalidated IPC buffers segfaulted the schema's first compute kernel"),
    Case("npy_object_dtype", _make_npy_object, "data.npy", raises=("UnsafeInputError",)),
    Case("npy_pickle_payload", _make_npy_pickle, "data.npy", raises=("UnsafeInputError",)),
    Case("npy_truncated", _make_npy_truncated, "data.npy", raises=("CorruptFileError",)),
    Case("npy_strings", _make_npy_strings, "data.npy", expect="handled",
         note="a unicode array: no pickle, but not numbers either"),
    Case("npz_zip_bomb", lambda folder: _npz_bomb(folder / "data.npz"), "data.npz",
         raises=("UnsafeInputError",), hazard=True),
    # -- memory budget (issue 9): bombs small on disk, refused or streamed under --memory-budget 4M
    *(Case(f"npz_{method}_member_lies", lambda folder, m=method: bombs.npz_bomb(folder / "data.npz", m, 16 << 20),
           "data.npz", args=("--memory-budget", "4M"), raises=("CorruptFileError", "UnsafeInputError"), hazard=True,
           note="16 MiB of zeros declared as 9 kB: zipfile expands a bzip2/LZMA chunk whole")
      for method in ("bz2", "lzma")),
    *(Case(f"arrow_{codec}_{kind}_bomb", lambda folder, c=codec, k=kind: bombs.arrow_bomb(
              folder / "data.arrow", c, 16 << 20, stream=k == "stream"),
           "data.arrow", args=("--memory-budget", "4M"), raises=("MemoryBudgetError",), hazard=True,
           note="IPC body compression: one batch expands to 16 MiB from a few kB")
      for codec, kind in (("zstd", "file"), ("lz4", "stream"))),
    Case("parquet_zstd_bomb", lambda folder: bombs.parquet_bomb(folder / "data.parquet", 16 << 20), "data.parquet",
         args=("--memory-budget", "4M"), expect="ok", hazard=True,
         note="16 MiB decoded from one zstd row group: over the budget it is streamed to disk"),
    Case("csv_gz_tail_bomb", lambda folder: bombs.csv_gz_bomb(folder / "data.csv.gz", 16 << 20, 1 << 20),
         "data.csv.gz", args=("--memory-budget", "4M"), expect="ok", hazard=True,
         note="the first MB looks small, the tail packs 1000:1: counted as read, then streamed"),
    Case("csv_zst_long_text", lambda folder: bombs.csv_zst_text(folder / "data.csv.zst", 16 << 20), "data.csv.zst",
         args=("--memory-budget", "4M"), expect="ok", hazard=True,
         note="the estimate reads a prefix of the text, never the whole stream"),
    Case("json_sparse_1gb", lambda folder: bombs.sparse_file(folder / "data.json", 1 << 30, _json_head()), "data.json",
         args=("--memory-budget", "64M"), raises=("MemoryBudgetError",), hazard=True,
         note="1 GiB that costs nothing on disk; JSON is read whole, so it is refused before the read"),
    Case("labels_txt_sparse_1gb", _make_sparse_labels, "X.npy", args=("--labels", "{dir}/y.txt", "--memory-budget", "64M"),
         raises=("MemoryBudgetError",), mentions=("y.txt",), hazard=True),
    Case("image_decompression_bomb", _make_images_bomb, "imgs", raises=("UnsafeInputError",)),
    Case("distinct_string_labels", _make_distinct_labels, "data.csv", args=("--label", "name"),
         expect="handled", commands=("inspect", "train"),
         note="every label distinct: not an error to inspect, but UDL should say so"),
    Case("gzip_named_csv", _bytes(gzip.compress(good_csv_text().encode(), mtime=0), "data.csv"), "data.csv",
         expect="handled"),
    Case("csv_named_parquet", _csv(good_csv_text(), "data.parquet"), "data.parquet", expect="ok",
         note="the reader is picked by content, not by extension"),
    Case("undecodable_file_name", _make_undecodable_name, "caf\udcff.csv", expect="ok",
         commands=("inspect", "batch", "train"), note="a file named in Latin-1 on a UTF-8 system"),
    Case("broken_symlink", lambda folder: os.symlink("nowhere.csv", folder / "data.csv"), "data.csv",
         raises=("DatasetError",)),
    Case("xlsx_workbook", _make_xlsx, "book.xlsx", raises=("UnsupportedFormatError",)),
    Case("folder_of_csvs", _make_csv_folder, "csvs", raises=("DatasetError",)),
    Case("images_without_class_folders", _make_flat_images, "imgs", raises=("DatasetError",)),
    Case("images_one_class", _make_one_class_images, "imgs",
         expect={"inspect": "handled", "train": "error"}, commands=("inspect", "train"),
         raises=("SchemaError", "ConfigError", "TrainingError")),
    Case("parquet_nested_and_null_columns", _make_nested_parquet, "data.parquet", expect="handled",
         commands=("inspect", "batch", "train")),
    Case("parquet_uint64_ids", _make_uint64_ids, "data.parquet", expect="ok",
         note="a valid file: 64-bit hash ids past 2**53 are not damage"),
    Case("arrow_stream_format", _make_arrow_stream, "data.arrow", expect="ok"),
    Case("csv_infinities", _make_infinities, "data.csv", expect="ok", commands=("inspect", "batch", "train"),
         note="inf and -inf in numeric columns: imputed or clipped, never NaN batches"),
    Case("diverging_lr", _csv(good_csv_text()), "data.csv", args=("--lr", "1e30"), commands=("train",),
         raises=("DivergedError", "ConfigError"), mentions=("",),
         note="a run that diverges must end with a message"),
    # -- outputs that would replace an input, a FIFO or a link (issue 9): refused before the load
    Case("save_description_onto_input", _make_outputs_onto_inputs, "data.json",
         args=("--save", "{dir}/data.safetensors"), commands=("train",), raises=("ConfigError",)),
    Case("export_script_onto_input", _make_outputs_onto_inputs, "data.csv",
         args=("--export-script", "{dir}/data.csv"), commands=("train",), raises=("ConfigError",)),
    Case("export_script_onto_fifo", _make_outputs_onto_inputs, "data.csv",
         args=("--export-script", "{dir}/pipe.py"), commands=("train",), raises=("ConfigError",),
         mentions=("pipe.py",), hazard=True),
    Case("export_script_onto_link", _make_outputs_onto_inputs, "data.csv",
         args=("--export-script", "{dir}/link.py"), commands=("train",), raises=("ConfigError",),
         mentions=("link.py",)),
)
CASES += type_cases(Case)   # every Arrow and NumPy type (tests/corpus/type_cases.py)


def build(case: Case, folder: Path) -> Path:
    """Write `case` into `folder/case.name/`; returns the dataset path."""
    root = folder / case.name
    root.mkdir(parents=True, exist_ok=True)
    case.make(root)
    return root / case.target


def build_all(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {case.name: build(case, folder) for case in CASES}


def corpus_files(folder: Path) -> list[Path]:
    """Every file (not folder, not link) the corpus wrote under `folder`."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: make_corpus.py OUT_FOLDER", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for name, path in build_all(out).items():
        print(f"{name:32s} {path}")
    print(f"{len(CASES)} cases, {len(corpus_files(out))} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
