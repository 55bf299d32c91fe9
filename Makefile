# Moisson: two commands on a fresh machine (Python 3.11, pip, make, git):
#   make demo   set up the environment from uv.lock and run the pipeline on the bundled demo data and demo portal
#   make test   set up the environment and run the tests
SHELL := /bin/bash
DATA_DIR ?= data
SOURCES ?= demo/sources.yaml
DEMO_SOURCES ?= demo/sources-with-portals.yaml
HOST ?= 127.0.0.1
PORT ?= 3000
PYTHON ?= python3.11
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)

.PHONY: setup demo run test ui bench bench-quality bench-filters clean

setup: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: every `moisson run` and every extraction worker imports dagster, trafilatura and friends;
# from compiled bytecode that takes a third of the time, and some machines never write a bytecode cache
$(VENV)/.synced: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --all-groups --compile-bytecode
	touch $@

# the demo also harvests the demo portal, served on a free 127.0.0.1 port for the run and stopped after it
demo: setup
	$(VENV)/bin/python demo/run_demo.py --sources $(DEMO_SOURCES) --data-dir $(DATA_DIR)

run: setup
	$(VENV)/bin/moisson run --sources $(SOURCES) --data-dir $(DATA_DIR)

test: setup
	$(VENV)/bin/pytest

# the Dagster UI (`dg dev`: webserver and daemon) on what `make demo` ran: its sources file, with the demo portal
# running as for `make demo` (127.0.0.1, MOISSON_DEMO_PORTAL), and its data directory; Ctrl-C stops the UI, the runs
# it started, then the portal. Your own sources: make ui SOURCES=my-sources.yaml DATA_DIR=my-data
UI_SOURCES = $(if $(filter command% environment%,$(origin SOURCES)),$(SOURCES),$(DEMO_SOURCES))
ui: setup
	$(VENV)/bin/python demo/run_demo.py --ui --sources $(UI_SOURCES) --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

bench: setup
	$(VENV)/bin/python bench/pipeline.py $(BENCH_ARGS)

bench-quality: setup
	$(VENV)/bin/python bench/quality.py $(BENCH_ARGS)
	$(VENV)/bin/python bench/filters.py $(BENCH_ARGS)

# the quality filter per language: good text falsely rejected and junk caught, per-language vs global thresholds
bench-filters: setup
	$(VENV)/bin/python bench/filters.py $(BENCH_ARGS)

clean:
	rm -rf $(DATA_DIR)
