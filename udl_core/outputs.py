"""Which paths a run may write: one check shared by every writer (CLI, API and window).

An output is a new path, or an existing regular file that is not one of the run's inputs (an
earlier `--save` may be replaced, atomically). Refused: symbolic links, devices, FIFOs, sockets,
folders, a path that resolves to an input (same resolved path, or same device and inode: a
hard link), and any path inside a folder dataset. Writers go through a temp file and a rename,
so without this check a rename would replace a device node or a link with a regular file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from udl_core.errors import ConfigError

__all__ = ["RunInputs", "check_output", "check_writable_folder"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class RunInputs:
    """The files and folders a run reads, resolved once."""

    paths: tuple[Path, ...] = ()
    ids: frozenset[tuple[int, int]] = frozenset()
    folders: tuple[Path, ...] = ()

    @classmethod
    def of(cls, *paths: PathLike | None) -> RunInputs:
        """The inputs among `paths` (None and paths that do not exist are skipped)."""
        resolved, ids, folders = [], set(), []
        for path in paths:
            if path is None or str(path) == "":
                continue
            try:
                real = Path(path).resolve()
                st = os.stat(real)
            except (OSError, RuntimeError, ValueError):
                continue
            resolved.append(real)
            ids.add((st.st_dev, st.st_ino))
            if stat.S_ISDIR(st.st_mode):
                folders.append(real)
        return cls(tuple(resolved), frozenset(ids), tuple(folders))

    def holds(self, real: Path, st: os.stat_result | None) -> bool:
        """True when `real` (resolved) is an input, a file or folder inside a folder input."""
        if real in self.paths or any(real == f or real.is_relative_to(f) for f in self.folders):
            return True
        if st is None:
            return False
        if (st.st_dev, st.st_ino) in self.ids:
            return True
        # A hard link from outside a folder dataset to a file inside it: only a file with more
        # than one link can be one, so the folders are walked for those alone.
        return st.st_nlink > 1 and any(_inode_in(folder, st) for folder in self.folders)


def _inode_in(folder: Path, st: os.stat_result) -> bool:
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):
                other = os.stat(os.path.join(dirpath, name), follow_symlinks=False)
                if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                    return True
    return False


def _kind(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link (UDL does not write through links)"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def check_output(path: PathLike, inputs: RunInputs | Iterable[PathLike | None] = (), *,
                 suffix: str | None = None, what: str = "output") -> Path:
    """Refuse (ConfigError naming `path`) an output that may not be written; return it as a Path.

    `inputs` is a `RunInputs` or the paths the run reads (dataset, labels file). `suffix` is the
    ending the name must have (".safetensors", ".py"); `what` names the option in messages.
    """
    path = Path(path)
    if not isinstance(inputs, RunInputs):
        inputs = RunInputs.of(*inputs)
    if suffix is not None and path.suffix != suffix:
        raise ConfigError(f"{path}: {what} needs a file name ending in {suffix}")
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    except (OSError, ValueError) as exc:   # ValueError: a NUL in the name
        raise ConfigError(f"{path}: {what} cannot be written: {getattr(exc, 'strerror', None) or exc}") from None
    if st is not None:
        kind = _kind(st.st_mode)
        if kind is not None:
            raise ConfigError(f"{path}: {what} is {kind}; name a new file or a regular file")
    parent = path.parent
    try:
        parent_st = os.stat(parent)
    except (OSError, ValueError):
        raise ConfigError(f"{path}: the folder {parent} does not exist") from None
    if not stat.S_ISDIR(parent_st.st_mode):
        raise ConfigError(f"{path}: {parent} is not a folder")
    try:
        real = path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"{path}: {what} cannot be resolved: {exc}") from None
    if inputs.holds(real, st):
        where = next((f for f in inputs.folders if real.is_relative_to(f) and real != f), None)
        reason = (f"lies inside the folder dataset {where}" if where is not None
                  else "is an input of this run")
        raise ConfigError(f"{path}: {what} {reason}; UDL never overwrites an input")
    return path


def check_writable_folder(path: PathLike, what: str = "output") -> None:
    """Create, write one byte to, and delete a temp file beside `path`: fail now, not after a run."""
    folder = Path(path).parent
    try:
        fd, probe = tempfile.mkstemp(prefix=".udl-probe-", dir=folder)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write {what} in {folder}: {exc.strerror or exc}") from None
    try:
        os.write(fd, b"\0")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write {what} in {folder}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)
