# Everything a fresh clone needs: `make demo` and `make test` create the virtualenv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_HOME := $(CURDIR)/.sinch-groups-demo

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## demo: sync every sample file into the embedded emulator, then export, diff and list the groups
demo: $(STAMP)
	SINCH_GROUPS_HOME=$(DEMO_HOME) bash scripts/demo.sh

## test: the whole suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: every benchmark in bench/ (about 15 minutes on 2 cores; see bench/README.md)
bench: $(STAMP)
	$(BIN)/python bench/normalize.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/emulator.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) sinch-groups-runs
