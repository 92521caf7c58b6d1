"""`make app-test`: check the built app (dist/UDL/UDL, or UDL.app's executable on macOS).

Runs its `--self-test` twice in a row, then once with PATH reduced to the app's folder and a copy of
/usr/bin without C/C++ compilers and a fresh temp folder (MLX's CPU backend compiles its kernels when
it finds a compiler, and must train without one), then measures process start to first paint of the
window, three times: on a private Xvfb with the xcb platform where Xvfb is installed, else offscreen
(it says which).
Prints the app's size. Exits 1 at the first failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["COMPILERS", "app_executable", "compiler_free_bin", "first_paint_seconds", "main"]

ROOT = Path(__file__).resolve().parent.parent
COMPILERS = ("cc", "c++", "gcc", "g++", "clang", "clang++", "cpp", "c89", "c99")
_COMPILER = re.compile(r"(^|-)(" + "|".join(re.escape(c) for c in COMPILERS) + r")(-[0-9.]+)?$")


def app_executable() -> Path:
    if sys.platform == "darwin":
        return ROOT / "dist" / "UDL.app" / "Contents" / "MacOS" / "UDL"
    return ROOT / "dist" / "UDL" / "UDL"


def _is_compiler(name: str) -> bool:
    """g++, gcc-12, x86_64-linux-gnu-g++-12, clang++-16, c99...: a C or C++ compiler driver."""
    return _COMPILER.search(name) is not None


def compiler_free_bin(folder: Path, source: Path = Path("/usr/bin")) -> Path:
    """`folder` filled with links to every program in `source` except the C/C++ compilers."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        if not _is_compiler(entry.name):
            (folder / entry.name).symlink_to(entry)
    return folder


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _self_test(exe: Path, env: dict[str, str], label: str) -> None:
    started = time.perf_counter()
    done = subprocess.run([str(exe), "--self-test"], capture_output=True, text=True, env=env, timeout=600,
                          cwd=tempfile.gettempdir())
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"app-test: self test {label} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    print(f"app-test: self test {label}: {done.stdout.strip()} [{seconds:.1f} s wall]", flush=True)


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str] | None:
    """A private X server (Xvfb -displayfd), started before the clock runs; None without Xvfb."""
    xvfb = shutil.which("Xvfb")
    if not (sys.platform.startswith("linux") and xvfb):
        return None
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    return server, f":{number}"


def first_paint_seconds(exe: Path, env: dict[str, str], runs: int = 3) -> tuple[list[float], str]:
    """Process start to the window's first paint, `runs` times, and the platform it was measured on:
    xcb on a private Xvfb on Linux where Xvfb is installed, else offscreen; cocoa on macOS."""
    xvfb = _start_xvfb()
    if xvfb is not None:
        env = {**env, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb[1]}
        platform = "xcb under Xvfb"
    elif sys.platform == "darwin":
        platform = "cocoa"
    else:
        env = {**env, "QT_QPA_PLATFORM": "offscreen"}
        platform = "offscreen (no Xvfb here)"
    times: list[float] = []
    try:
        for run in range(runs):
            started = time.perf_counter()
            process = subprocess.Popen([str(exe), "--print-first-paint", "--quit-after", "1"], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("first-paint"):
                    times.append(time.perf_counter() - started)
            _, errors = process.communicate(timeout=120)
            if len(times) < run + 1 or process.returncode != 0:
                sys.exit(f"app-test: the window did not paint ({platform}, exit {process.returncode}):\n{errors}")
    finally:
        if xvfb is not None:
            xvfb[0].terminate()
            xvfb[0].wait(timeout=30)
    return times, platform


def main() -> int:
    exe = app_executable()
    if not exe.is_file():
        sys.exit(f"app-test: {exe} is missing: run `make app` first")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "PYTHON", "VIRTUAL_ENV"))}
    _self_test(exe, env, "1 of 2")
    _self_test(exe, env, "2 of 2")
    with tempfile.TemporaryDirectory(prefix="udl-app-test-") as folder:
        bare = compiler_free_bin(Path(folder) / "bin")
        temp = Path(folder) / "tmp"   # no kernels compiled before: MLX must do without a compiler
        temp.mkdir()
        _self_test(exe, {**env, "PATH": f"{exe.parent}:{bare}", "TMPDIR": str(temp)},
                   "with no C/C++ compiler on PATH")
        if shutil.which("g++", path=f"{exe.parent}:{bare}") or shutil.which("cc", path=f"{exe.parent}:{bare}"):
            sys.exit("app-test: a compiler is still on the reduced PATH")
    times, platform = first_paint_seconds(exe, env)
    app = exe.parents[2] if sys.platform == "darwin" else exe.parent
    print(f"app-test: {app.relative_to(ROOT)} is {_size(app) / 2**20:.0f} MiB; process start to first paint "
          f"{', '.join(f'{t:.2f}' for t in times)} s ({platform}; the first run reads the files cold)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
