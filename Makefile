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

ui: setup
	@mkdir -p $(DATA_DIR)/dagster && cp -n dagster.yaml $(DATA_DIR)/dagster/dagster.yaml || true
	@echo "Dagster UI on http://$(HOST):$(PORT) (Ctrl-C stops webserver and daemon)"
	DAGSTER_HOME=$(abspath $(DATA_DIR))/dagster MOISSON_SOURCES=$(abspath $(SOURCES)) MOISSON_DATA_DIR=$(abspath $(DATA_DIR)) \
		$(VENV)/bin/dagster dev -h $(HOST) -p $(PORT) -m pipelines.definitions

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
