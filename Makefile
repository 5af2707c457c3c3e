# Two commands: `make run` (everything up to a serving bot) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'
	$(BIN)/python -m locales.compile
	touch $(STAMP)

# The web simulator is for local use; `make run SIMULATOR_ENABLED=false` serves without it.
SIMULATOR_ENABLED ?= true

run: $(STAMP)
	$(BIN)/khaacho migrate
	$(BIN)/khaacho demo
	SIMULATOR_ENABLED=$(SIMULATOR_ENABLED) $(BIN)/khaacho serve --host 127.0.0.1 --port 8080

test: $(STAMP)
	$(BIN)/python -m locales.compile
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot dialogs catalog ledger locales web
	$(BIN)/python -m ledger.migration_lint

clean:
	rm -rf $(VENV) var build *.egg-info
