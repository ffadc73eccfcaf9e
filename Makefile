# Entry points for a fresh machine: `make demo`, `make test`, `make docs`, `make notebook`.
# Each creates .venv on first use and installs into it only what it needs, once: a stamp
# file per set (.venv/.demo, .test, .docs, .notebook, .bench) remembers what is installed
# and is redone when pyproject.toml changes. A larger set stamps the smaller ones it holds,
# so `make demo` after `make test` installs nothing and `make test` after `make demo` adds
# only the rest.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q
# Options for `make notebook`, e.g. JUPYTER_ARGS=--no-browser (JupyterLab refuses to run as
# root without --allow-root: a container's root gets it)
JUPYTER_ARGS ?=
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: demo test lint bench docs notebook clean

# One step at a time, whatever -j says: two pips writing .venv at once can break it, and
# `make -j2 demo test` would start the tests while the demo's set is still installing.
.NOTPARALLEL:

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# The demo: the core (NumPy), tqdm and matplotlib; numba only where it installs as a
# wheel (it compiles the training step; without it the same math runs in NumPy).
# --no-compile: Python writes the bytecode of what it imports on first use; compiling every
# module up front (numba's and NumPy's own tests among them) would add ~65 MB.
$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(PIP) --no-compile -e '.[progress,plot]'
	@$(PIP) --no-compile --only-binary=:all: 'numba>=0.59' > $(VENV)/numba-install.log 2>&1 \
		&& echo "numba installed: training uses its compiled kernels" \
		|| echo "numba not installed (no wheel for this machine, or no network; see $(VENV)/numba-install.log): the same training runs in NumPy (to try again: rm .venv/.demo && make demo)"
	touch $@

# Everything the tests need (which holds the demo's and the site's sets).
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.demo $(VENV)/.docs

# What the site needs (which holds the demo's set).
$(VENV)/.docs: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[docs]'
	touch $@ $(VENV)/.demo

$(VENV)/.notebook: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[notebook]'
	touch $@

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(PIP) -e '.[bench]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(BIN)/chainrule demo
	@echo
	@echo "chainrule is installed in .venv. Use it with"
	@echo "    . .venv/bin/activate      (then: chainrule --help, chainrule train ..., python)"
	@echo "or without activating:  .venv/bin/chainrule --help"

test: $(VENV)/.test
	$(BIN)/ruff check src tests examples benchmarks docs
	$(BIN)/python -m pytest

lint: $(VENV)/.test
	$(BIN)/ruff check src tests examples benchmarks docs

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py

# The site, every example executed, into site/ (open site/index.html). -W: a warning fails it.
docs: $(VENV)/.docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs site

# The seed's backpropagation, by hand, in JupyterLab (from .venv).
notebook: $(VENV)/.notebook
	$(BIN)/jupyter lab $(ROOT_ARGS) $(JUPYTER_ARGS) examples/backprop_by_hand.ipynb

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info jupyter_execute .jupyter_cache
