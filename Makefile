# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates .venv on first use and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/chainrule demo

test: $(BIN)/.installed
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests examples benchmarks

bench: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/run.py

# The site, every example executed, into site/ (open site/index.html). -W: a warning fails it.
docs: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[docs]'
	$(BIN)/python -m sphinx -W --keep-going -b html docs site

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info docs/jupyter_execute
