"""UDL's benchmarks: each `bench_*.py` module has a `main()` that prints its own ratio lines.

Every figure is a ratio against a baseline run in the same process, never a
timed assertion. `python -m bench` runs them all; `python -m bench.bench_loader --rows N`
runs one.
"""
