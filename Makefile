# Everything a fresh clone needs: `make demo` and `make test` create the virtualenv themselves,
# with the exact versions in uv.lock (uv itself is installed from PyPI into .tools/ first).
PYTHON     ?= python3
UV_VERSION := 0.13.9
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed-stamp
LATEST     := .venv-latest
DEMO_HOME  := $(CURDIR)/.sinch-groups-demo
# uv uses this machine's Python, never one it downloads; it compiles the bytecode at install time,
# as pip does, so that no command pays for compiling (or, under PYTHONDONTWRITEBYTECODE, pays on
# every run: about a second a process).
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1

.PHONY: install demo test lint lock test-latest bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

## install: .venv with the locked versions of everything (the package, its extras, the dev tools)
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON) --quiet
	$(BIN)/python -m compileall -q pipeline flows sinch_emulator
	touch $(STAMP)

install: $(STAMP)

## demo: sync every sample file into the embedded emulator, then export, diff and list the groups
demo: $(STAMP)
	SINCH_GROUPS_HOME=$(DEMO_HOME) bash scripts/demo.sh

## test: the whole suite (what CI runs)
test: $(STAMP)
	$(BIN)/sinch-groups --version
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## lock: re-resolve uv.lock to the newest versions pyproject.toml allows (then run `make test`)
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

## test-latest: the whole suite in a separate venv with the newest versions the bounds allow,
## ignoring uv.lock, so that an upstream release that breaks us is seen before a user sees it
test-latest: $(UV)
	rm -rf $(LATEST)
	$(UV) venv --quiet --python $(PYTHON) $(LATEST)
	$(UV) pip install --quiet --python $(LATEST)/bin/python --refresh -e '.[dev]'
	$(LATEST)/bin/sinch-groups --version
	PREFECT_HOME=$(CURDIR)/.prefect-latest $(LATEST)/bin/python -m pytest -q

## bench: every benchmark in bench/ (about 25 minutes on 2 cores; see bench/README.md)
bench: $(STAMP)
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/normalize.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/emulator.py

clean:
	rm -rf $(VENV) $(LATEST) $(TOOLS) $(DEMO_HOME) sinch-groups-runs .prefect-latest
