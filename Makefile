# Two entry points a new user needs: `make pipeline` (install + whole DVC pipeline) and `make test`.
# uv is installed from PyPI when missing; everything else comes from uv.lock.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

.PHONY: setup pipeline lint test test-fast bench report ui server

setup:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv \
	  || python3 -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen --compile-bytecode  # .pyc once at install: PYTHONDONTWRITEBYTECODE=1 would otherwise recompile TF (20 s -> 6 s), MLflow (7.6 s -> 2 s) in every run

pipeline: setup
	$(UV) run dvc repro

lint: setup
	$(UV) run ruff check src tests pipelines benchmarks

test: setup
	$(UV) run pytest

test-fast: setup
	$(UV) run pytest -m "not integration"

# About 25 min on 2 quiet cores (each step prints its estimate); run it on an otherwise idle machine.
bench: setup
	$(UV) run python -m scratchbench.bench mlp
	$(UV) run taskset -c 0 python benchmarks/gather_cost.py
	$(UV) run python -m scratchbench.bench cnn --engine-commit c0fa2bc~1
	$(UV) run python benchmarks/conv2_engines.py
	$(UV) run python -m scratchbench.bench scaling
	$(UV) run python -m scratchbench.bench readme

report: setup
	$(UV) run python -m scratchbench.report

ui: setup
	@echo "open http://127.0.0.1:5000/#/experiments?workflowType=machine_learning (the runs, metrics and charts view)"
	$(UV) run mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

# The team's tracking server: PostgreSQL (127.0.0.1:$(PG_PORT), data in $(SERVER_DIR)/pg) + `mlflow server`
# with proxied artifacts ($(SERVER_DIR)/artifacts). `make server HOST=0.0.0.0` to serve compute nodes.
SERVER_DIR ?= $(CURDIR)/.mlflow-server
HOST ?= 127.0.0.1
PORT ?= 5000
PG_PORT ?= 5433
server: setup
	$(UV) run python -m scratchbench.tracking.server --dir $(SERVER_DIR) --host $(HOST) --port $(PORT) --pg-port $(PG_PORT)
