PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run lint test test-fast test-all bench install clean samples

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python app.py $(ARGS)

# lint first and fast (well under a minute): style and errors, the import contracts, the types
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# what CI runs: lint, then every test not marked slow
test: lint
	$(BIN)/python -m pytest -q -m "not slow"

# the quick loop while working: no lint, stop at the first failure
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow"

# everything, the slow tests included
test-all: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

samples: $(STAMP)
	$(BIN)/python resources/make_samples.py

clean:
	rm -rf $(VENV) build *.egg-info
