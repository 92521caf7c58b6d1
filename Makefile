PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run lint test test-fast test-all bench install clean samples icons app app-test install-desktop uninstall-desktop

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

# the desktop app (bundle/udl.spec): dist/UDL/UDL on Linux, dist/UDL.app on macOS; PyInstaller is the `app` extra
APP_STAMP := $(VENV)/.installed-app

$(APP_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench,app]'
	touch $(APP_STAMP)

icons: $(STAMP)
	$(BIN)/python -m bundle.make_icons build/icons

app: $(APP_STAMP)
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller bundle/udl.spec

# slow (a build takes minutes): not part of `make test`
app-test: app
	$(BIN)/python -m bundle.app_test

# Linux: the menu entry, icons and MIME types for the current user ($$XDG_DATA_HOME, default ~/.local/share)
install-desktop: $(STAMP)
	$(BIN)/python -m bundle.desktop install

uninstall-desktop: $(STAMP)
	$(BIN)/python -m bundle.desktop uninstall

clean:
	rm -rf $(VENV) build dist *.egg-info
