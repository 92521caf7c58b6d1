"""A folder of images, one subfolder per class: features uint8 [N, H, W, C], labels int32.

Layout: `root/<class>/.../<image>`; class names are the sorted subfolder names (hidden ones
left out), labels their indices, `label_name` is "class". PNG, JPEG, BMP, GIF (first frame)
and WebP are decoded with Pillow.

Size rule: every image is resized, plainly (aspect ratio not kept, no padding, bilinear),
to `ReadOptions.image_size` (width, height) when given; otherwise to the most common size
among the images, scaled down to fit inside 64×64 (keeping that size's aspect ratio).
Photos are first turned upright by their EXIF orientation. Channels: C=1 when every image
is grayscale (1, L, LA, I, I;16, F), else C=3 (RGBA, P, CMYK, ... converted to RGB; alpha
dropped). The chosen size and rule are written into `Table.notes`.

Images that cannot be decoded (0 bytes, truncated, not an image) are skipped and listed in
`Table.quarantine`; more than `max_bad_fraction` of them, or none decoded, is a
`CorruptFileError`. An image over Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`)
is an `UnsafeInputError` for the whole folder.

Symbolic links are resolved and must stay inside the dataset folder: a class folder or an
image that links outside it (to `/`, a home folder, another dataset) is left out with a note,
so the scan never walks the rest of the file system; a folder whose only content lies behind
such links is an `EmptyDatasetError`. Links inside the folder work; folders below a class
folder are not followed through links, and a class folder linking back into the dataset (or
to a class already read) is left out, so loops end.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections import Counter
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from udl_core.errors import (
    ConfigError,
    CorruptFileError,
    DatasetError,
    EmptyDatasetError,
    SchemaError,
    UnsafeInputError,
)
from udl_core.events import Progress, run_job
from udl_core.formats.bounded import memory_budget
from udl_core.formats.registry import readers, register_reader, register_sizer
from udl_core.formats.sampling import Sized
from udl_core.table import BadRecord, ReadOptions, Table

__all__ = ["IMAGE_EXTENSIONS", "MAX_SIDE", "image_files", "image_shape", "read_image_folder", "target_size"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
MAX_SIDE = 64
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_EXIF_ORIENTATION = 0x0112
_TRANSPOSE = {  # EXIF orientation -> the turn that shows the image upright (as ImageOps.exif_transpose)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_TURNED = (5, 6, 7, 8)  # orientations that swap width and height
_SPLIT_NAMES = frozenset({"train", "training", "test", "testing", "val", "valid", "validation"})
_CHUNK = 128  # images decoded between progress events (and between cancel points)
T = TypeVar("T")
# One image's header (_probe): (width, height) as shown, grayscale, EXIF orientation.
_Probed = tuple[tuple[int, int], bool, int]
_Header = tuple[_Probed | None, str | None]  # (header, None) or (None, why it cannot be read)


@dataclass(frozen=True)
class _Image:
    path: str
    rel: str
    label: int


def _unreadable(error: OSError) -> DatasetError:
    return DatasetError(error.filename or "?", f"cannot be read ({error.strerror or error})")


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _is_data_file(name: str) -> bool:
    extensions = {ext for spec in readers() if not spec.folders for ext in spec.extensions}
    return name.lower().endswith(tuple(extensions))


def _is_kind(entry: os.DirEntry[str], kind: str) -> bool:
    """`entry.is_dir()` / `is_file()`, False for a link loop (ELOOP) or anything unreadable."""
    try:
        return entry.is_dir() if kind == "dir" else entry.is_file()
    except OSError:
        return False


def _inside(real: str, root_real: str) -> bool:
    """Whether resolved path `real` lies strictly below the resolved dataset folder."""
    return real != root_real and os.path.commonpath([real, root_real]) == root_real


def _scan(root: Path) -> tuple[list[str], list[_Image], list[str]]:
    """Class names, candidate images in a fixed order, and notes; raises on a bad layout."""
    notes: list[str] = []
    try:
        with os.scandir(root) as scanned:
            entries = sorted(scanned, key=lambda e: e.name)
    except OSError as exc:
        raise _unreadable(exc) from None
    root_real = os.path.realpath(root)
    outside: list[str] = []   # links that leave the dataset folder, left out
    loose = sum(1 for e in entries if _is_kind(e, "file") and _is_image(e.name))
    subdirs = [e for e in entries if not e.name.startswith(".") and _is_kind(e, "dir")]
    classes: list[str] = []
    images: list[_Image] = []
    seen: set[str] = set()
    for entry in subdirs:
        real = os.path.realpath(entry.path)
        # A link back to the dataset or to a class already read would loop or count images
        # twice; one that leaves the folder (to `/`, say) would walk the whole file system.
        if real == root_real:
            notes.append(f"subfolder {entry.name} links back into the dataset and was left out")
            continue
        if not _inside(real, root_real):
            notes.append(f"subfolder {entry.name} is a link that leaves the dataset folder (to {real}) "
                         "and was left out")
            outside.append(entry.name)
            continue
        if real in seen:
            notes.append(f"subfolder {entry.name} links to a class already read and was left out")
            continue
        seen.add(real)
        links_out = len(outside)
        found = list(_walk_class(Path(entry.path), root, root_real, len(classes), outside))
        if len(outside) > links_out:
            notes.append(f"{len(outside) - links_out} image link(s) in {entry.name} leave the dataset folder "
                         f"and were left out (first: {outside[links_out]})")
        if not found:
            notes.append(f"subfolder {entry.name} holds no images and was left out")
            continue
        classes.append(entry.name)
        images.extend(found)
    if not images:
        if loose:
            raise SchemaError(
                root, f"images must be in one subfolder per class; found {loose} directly in the folder"
            )
        message = "no images found (PNG, JPEG, BMP, GIF, WebP) in class subfolders"
        if outside:
            message += (f"; {len(outside)} link(s) that leave the dataset folder were left out "
                        f"(first: {outside[0]})")
        data_files = [e.name for e in entries if _is_kind(e, "file") and _is_data_file(e.name)]
        if data_files:
            message += f"; it holds {', '.join(data_files[:3])}: open a file, not the folder"
        raise EmptyDatasetError(root, message)
    _refuse_split_folders(root, classes, images)
    if loose:
        notes.append(f"{loose} images directly in the folder (not in a class subfolder) were left out")
    return classes, images, notes


def _refuse_split_folders(root: Path, classes: list[str], images: list[_Image]) -> None:
    """train/ and test/ holding class folders are splits, not classes: learning them is useless."""
    if not {name.lower() for name in classes} <= _SPLIT_NAMES:
        return
    if all(len(Path(item.rel).parts) >= 3 for item in images):
        raise SchemaError(
            root, f"holds split folders ({', '.join(classes)}), not class folders; "
            f"open one of them, e.g. {Path(root, classes[0])}",
        )


def _walk_class(folder: Path, root: Path, root_real: str, label: int,
                outside: list[str]) -> Generator[_Image, None, None]:
    """The images below a class folder; image links leaving the dataset go to `outside`."""
    def fail(error: OSError) -> None:
        raise _unreadable(error)

    for dirpath, dirnames, filenames in os.walk(folder, onerror=fail, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if _is_image(name):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                if os.path.islink(path) and not _inside(os.path.realpath(path), root_real):
                    outside.append(rel)
                    continue
                yield _Image(path, rel, label)


def image_files(root: Path) -> list[str]:
    """The folder's candidate images, relative to it, in the order the reader reads them."""
    return [item.rel for item in _scan(root)[1]]


def _probe(root: Path, item: _Image) -> _Probed:
    """(width, height) as shown, whether it is grayscale, and its EXIF orientation: header only.

    A decompression bomb refuses the whole folder: it is hostile input, not a damaged file.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow's remarks on odd EXIF blocks
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(item.path) as image:
                # PNG's getexif() decodes the whole image when no eXIf chunk came before the pixels.
                has_exif = image.format != "PNG" or "exif" in image.info
                orientation = int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1) if has_exif else 1
                if orientation not in _TRANSPOSE:
                    orientation = 1
                size = image.size[::-1] if orientation in _TURNED else image.size
                return size, image.mode in _GRAY_MODES, orientation
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UnsafeInputError(root, f"{item.rel} is a decompression bomb, refused ({exc})") from None


def target_size(sizes: list[tuple[int, int]], options: ReadOptions) -> tuple[int, int]:
    """The (width, height) every image is resized to (the rule in the module docstring)."""
    if options.image_size is not None:
        width, height = options.image_size
        if int(width) < 1 or int(height) < 1:
            raise ConfigError(
                f"image_size must be two positive integers (width, height), not {options.image_size}"
            )
        return int(width), int(height)
    width, height = Counter(sizes).most_common(1)[0][0]
    scale = min(1.0, MAX_SIDE / width, MAX_SIDE / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_gray(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit samples: keep the top 8 bits (Pillow's convert("L") would clip them).
        values = np.clip(np.asarray(image, dtype=np.int64), 0, 65535) >> 8
        return Image.fromarray(values.astype(np.uint8), "L")
    if image.mode == "F":
        return Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), "L")
    return image.convert("L")


def _decode(path: str, size: tuple[int, int], gray: bool, orientation: int) -> np.ndarray:
    with Image.open(path) as image:
        if image.format == "JPEG":
            # Decode big JPEGs at a reduced scale (the size before any EXIF turn).
            image.draft("L" if gray else "RGB", size[::-1] if orientation in _TURNED else size)
        if orientation != 1:
            image = image.transpose(_TRANSPOSE[orientation])  # camera photos: stored sideways
        if gray:
            image = _to_gray(image)
        elif image.mode in _GRAY_MODES:
            image = _to_gray(image).convert("RGB")
        elif image.mode != "RGB":
            if image.mode == "P" and "transparency" in image.info:
                image = image.convert("RGBA")
            image = image.convert("RGB")
        if image.size != size:
            image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[..., None] if gray else pixels


def _try(job: Callable[[], T]) -> tuple[T | None, str | None]:
    try:
        return job(), None
    except UnsafeInputError:
        raise
    except Exception as exc:  # Pillow's decoders raise many types on corrupt input
        return None, f"cannot decode: {exc or type(exc).__name__}"


def _sniff_folder(path: Path, head: bytes) -> bool:
    return True  # the folder reader of last resort: a folder without images gets a clear error


@dataclass
class _Survey:
    """Every image's header read: what decodes, at which sizes, and whether all are gray."""

    classes: list[str]
    total: int
    good: list[_Image]
    turns: list[int]
    sizes: list[tuple[int, int]]
    gray: bool
    bad: list[BadRecord]
    notes: list[str]


# The last survey's header reads, by (path, size, mtime): the estimate shown before a load and
# the load itself survey the same folder, and opening every header twice doubled that time.
_HEADERS: dict[tuple[str, int, int], _Header] = {}


def _probe_cached(root: Path, item: _Image, seen: dict[tuple[str, int, int], _Header]) -> _Header:
    """`(probed, reason)` for one image, from the last survey when the file has not changed."""
    try:
        info = os.stat(item.path)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):  # a named pipe would wait forever for a writer
        return None, "not a regular file (a pipe, socket, device or broken link)"
    key = (item.path, info.st_size, info.st_mtime_ns)
    found = _HEADERS.get(key)
    if found is None:
        found = _try(lambda: _probe(root, item))
    seen[key] = found
    return found


def _survey(root: Path) -> Generator[Progress, None, _Survey]:
    global _HEADERS
    classes, images, notes = _scan(root)
    total = len(images)
    yield Progress("scan", 0, total, f"found {total} images in {len(classes)} classes")
    survey = _Survey(classes, total, [], [], [], True, [], notes)
    seen: dict[tuple[str, int, int], _Header] = {}
    for i, item in enumerate(images, 1):
        probed, reason = _probe_cached(root, item, seen)
        if reason:
            survey.bad.append(BadRecord(str(root), item.rel, reason))
        else:
            assert probed is not None  # _try gives a reason or a header
            survey.good.append(item)
            survey.turns.append(probed[2])
            survey.sizes.append(probed[0])
            survey.gray = survey.gray and probed[1]
        if i % (_CHUNK * 4) == 0:
            yield Progress("scan", i, total, f"read {i} of {total} image headers")
    _HEADERS = seen  # only the latest folder is kept
    if not survey.good:
        _none_decoded(root, survey)
    return survey


def _none_decoded(root: Path, survey: _Survey) -> None:
    first = survey.bad[0]
    raise CorruptFileError(
        root, f"none of the {survey.total} images could be decoded; first: {first.location}: {first.reason}"
    )


def _check_bad_share(root: Path, survey: _Survey, options: ReadOptions) -> None:
    bad = survey.bad
    if bad and len(bad) / survey.total > options.max_bad_fraction:
        raise CorruptFileError(
            root, f"{len(bad)} of {survey.total} images could not be decoded, over the "
            f"{options.max_bad_fraction:.0%} allowed; first: {bad[0].location}: {bad[0].reason}",
        )


def image_shape(path: str | Path, options: ReadOptions) -> tuple[int, tuple[int, int, int]]:
    """(images, (height, width, channels)) of a folder from headers alone, nothing decoded."""
    survey = run_job(_survey(Path(path)))
    width, height = target_size(survey.sizes, options)
    return len(survey.good), (height, width, 1 if survey.gray else 3)


@register_reader("images", sniff=_sniff_folder, priority=90, folders=True,
                 description="a folder of images, one subfolder per class")
def read_image_folder(path: Path, options: ReadOptions) -> Generator[Progress, None, Table]:
    """Scan, probe every header, then decode and resize in a small thread pool."""
    root = Path(path)
    survey = yield from _survey(root)
    _check_bad_share(root, survey, options)  # before decoding anything, when headers already tell
    good, bad, gray = survey.good, survey.bad, survey.gray
    width, height = target_size(survey.sizes, options)
    channels = 1 if gray else 3
    need = len(good) * width * height * channels
    if need > memory_budget(options):
        raise DatasetError(
            root, f"{len(good)} images at {width}×{height}×{channels} need {need / 2**30:.1f} GiB, "
            f"over the memory budget of {memory_budget(options) / 2**30:.1f} GiB; choose a smaller image size",
        )
    features = np.empty((len(good), height, width, channels), np.uint8)
    labels = np.empty(len(good), np.int32)
    kept = 0
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers, thread_name_prefix="udl-images") as pool:
        for start in range(0, len(good), _CHUNK):
            chunk = good[start:start + _CHUNK]
            jobs = [
                lambda item=item, turn=turn: _decode(item.path, (width, height), gray, turn)
                for item, turn in zip(chunk, survey.turns[start:start + _CHUNK])
            ]
            for item, (pixels, reason) in zip(chunk, pool.map(_try, jobs)):
                if reason:
                    bad.append(BadRecord(str(root), item.rel, reason))
                    continue
                assert pixels is not None  # _try gives a reason or the pixels
                features[kept] = pixels
                labels[kept] = item.label
                kept += 1
            yield Progress("decode", start + len(chunk), len(good), f"decoded {kept} images")
    if kept == 0:
        _none_decoded(root, survey)
    _check_bad_share(root, survey, options)
    if kept < len(good):
        features, labels = features[:kept].copy(), labels[:kept].copy()
    rule = "as asked" if options.image_size else f"the most common size, fit inside {MAX_SIDE}×{MAX_SIDE}"
    resized = sum(1 for s in survey.sizes if s != (width, height))
    notes = [f"{kept} images in {len(survey.classes)} classes, {'grayscale' if gray else 'RGB'}; "
             f"{resized} resized to {width}×{height} ({rule}; plain resize, aspect ratio not kept)",
             *survey.notes]
    if bad:
        notes.append(f"{len(bad)} images could not be decoded and were skipped")
    return Table(
        source=str(root), format="images", features=features, labels=labels, label_name="class",
        class_names=tuple(survey.classes), quarantine=bad, notes=notes,
    )


@register_sizer("images")
def _size_image_folder(path: Path, options: ReadOptions) -> Sized:
    rows, shape = image_shape(path, options)
    dim = shape[0] * shape[1] * shape[2]
    return Sized(rows, True, rows * dim, None, feature_dim=dim)
