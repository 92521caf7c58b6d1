"""`python -m bench [NAME ...]`: run every bench_*.py module's main(), or only those named."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def modules(wanted: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if wanted:
        names = [n for n in names if n in wanted or n.removeprefix("bench_") in wanted]
    return names


def main(argv: list[str]) -> int:
    failed = 0
    for name in modules(argv):
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # one broken bench must not hide the others' numbers
            failed += 1
            print(f"   {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"   ({time.perf_counter() - start:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
