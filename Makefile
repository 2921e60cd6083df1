# Single entry point for people and CI. Every target bootstraps .venv from pyproject.toml first
# (idempotent: re-installs only when pyproject.toml changes).
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/jaxnn-nonconv
STAMP := $(VENV)/.installed
PYTHON ?= python3
# Pytest workers: 2 matches the 2-core CI machine (compilation is single-threaded). Tests go to the
# workers a module at a time (loadscope), so a module's expensive fixture (a docs page's run, a
# trained sweep, two processes) is built by one worker only, not by both.
WORKERS ?= 2
DIST := --dist loadscope

.PHONY: venv demo test test-extended test-slow lint format bench bench-gpu docs docs-outputs docs-timings clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

# The main job on a sensible default: P(some first-layer neuron is dead at init) for [1,32,1] on
# [0,2] with measured-vs-theory, then 2000 trained nets of the same setting.
demo: $(STAMP)
	$(CLI) estimate --arch 1,32,1 --init pytorch --box 0:2 --trials 1000000
	$(CLI) train --arch 1,32,1 --box 0:2 --target 'x^2' --optimizer sgd --lr 0.01 --steps 1000 --trials 2000

test: $(STAMP)
	$(PY) -m pytest -q -n $(WORKERS) $(DIST) --durations=10

# The tests left out of `make test` for time (tests/extended_tier.py names each one's fast cover);
# CI runs them after `make test`.
test-extended: $(STAMP)
	$(PY) -m pytest -q -n $(WORKERS) $(DIST) -m extended --durations=10

test-slow: $(STAMP)
	$(PY) -m pytest -q -n $(WORKERS) $(DIST) -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check jaxnn_nonconv tests benchmarks
	$(VENV)/bin/ruff format --check jaxnn_nonconv tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format jaxnn_nonconv tests benchmarks
	$(VENV)/bin/ruff check --fix jaxnn_nonconv tests benchmarks

bench: $(STAMP)
	$(CLI) bench

# The GPU benchmark in one command: the engine on 10^6 nets x 10^4 steps of [1,32,1], batch 64
# (target: under 60 s on one H100/H200), the per-trial JAX loop beside it, the machine's measured
# copy bandwidth and matmul throughput; writes runs/bench-gpu/bench.json, .png and .svg.
# Needs a CUDA build of JAX in the venv: $(PY) -m pip install -U "jax[cuda12]".
bench-gpu: $(STAMP)
	$(CLI) bench --impl engine --impl jax_loop --optimizer sgd --trials 1,1000 \
		--engine-trials 1000000 --steps 10000 --chunk-size 65536 --out runs/bench-gpu

# The outputs the docs pages show, rewritten from a fresh run of their blocks (tests/pages/pagerun.py;
# `tests/pages` checks them); SLOW=1 also runs the blocks marked slow (advise, a quick experiment).
docs-outputs: $(STAMP)
	$(PY) -m tests.pages.pagerun $(if $(SLOW),--slow)

# The durations the pages quote, measured on this machine into docs/timings.json (half an hour).
docs-timings: $(STAMP)
	$(PY) docs/timings.py

# The API site (mkdocs.yml) into site/; --strict turns a broken reference, a missing `:::` target or
# a docstring griffe cannot parse into a failure.
DOCS_STAMP := $(VENV)/.docs-installed

$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site
