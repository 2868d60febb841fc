# Two commands on a fresh machine: `make demo` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
RC := $(BIN)/reportcard
SEED ?= 20240601
EXTRACT ?= data/extract
# The synthetic state the demo makes: state (all 561 Missouri LEAs, the default: about 8
# minutes on 2 cores, most of it protecting and auditing 5 years), central (the 46 real
# LEAs of ten central Missouri counties) or tiny (5 real districts: about 2
# minutes). `make demo PROFILE=tiny` for a quick look.
PROFILE ?= state
PORT ?= 8000
# Let Python keep the bytecode it compiles (in __pycache__/, which git ignores). This machine
# sets PYTHONDONTWRITEBYTECODE, so every process compiled polars, altair, mkdocs and the rest
# from source again in each publish, papermill kernel and test worker (importing the
# pipeline: 11.6 s, 5.5 s with the bytecode kept), and the test suite starts many of them.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup chromium extract demo publish serve test test-fast lab bench lint clean

help:
	@echo "make demo   set up, make the demo extract, compute, build, check, publish, serve :$(PORT)"
	@echo "make test   set up and run the whole test suite (what CI runs)"
	@echo "make lab    open JupyterLab on notebooks/ with the project's kernel"
	@echo "make bench  run the benchmarks (full Missouri-size state)"

# A project-local uv, pinned, then the locked environment. Nothing is installed by hand.
$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet "uv==$(UV_VERSION)"

$(BIN)/reportcard: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

setup: $(BIN)/reportcard

# Debian's chromium for the browser tests (Playwright's own browser download cannot work here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Make the extract unless one of this profile is already there.
extract: setup
	@grep -qs '"profile": "$(PROFILE)"' $(EXTRACT)/extract.json || \
	  $(RC) synth --profile $(PROFILE) --out $(EXTRACT) --seed $(SEED) --canaries 5

# The demo: make the extract if it is missing, check it, then publish through the gate
# (compute -> protect -> build -> gate -> atomic swap), verify, and serve.
demo: extract
	$(RC) validate $(EXTRACT)
	$(RC) publish --extract $(EXTRACT) --site site
	$(RC) verify site
	$(RC) serve --site site --port $(PORT)

publish: extract
	$(RC) publish --extract $(EXTRACT) --site site

serve: setup
	$(RC) serve --site site --port $(PORT)

# Whole test files to the two workers, longest first (tests/conftest.py says why); the
# slowest tests are listed at the end of the run.
PYTEST = $(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q --durations=15

test: setup chromium
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not slow"

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --no-browser \
	  $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: setup
	$(BIN)/python benchmarks/run.py

lint: setup
	$(BIN)/ruff check site_builder tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf build site
