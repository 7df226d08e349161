# The two commands of the README: `make serve` (demo on SQLite) and `make test` (lint + whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint setup setup-test chromium migrate demo worker bench

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q .
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(PY) -m pip install -q ".[test]"
	touch $@

setup: $(VENV)/.runtime

setup-test: $(VENV)/.test

migrate: setup
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py demo

## Set up, load the demo project and serve it at http://127.0.0.1:8000
serve: demo
	$(PY) manage.py runserver $(HOST):$(PORT)

## Set up, lint, and run the whole test suite (unit, API, worker, browser)
test: lint chromium
	$(PY) -m pytest $(PYTEST_ARGS)

## Ruff on everything, mypy (strict) on the Django-free modules listed in pyproject.toml
lint: setup-test
	$(PY) -m ruff check .
	$(PY) -m mypy

## Install Debian's Chromium for the browser tests when it is missing
chromium:
	@command -v $${CHROMIUM_PATH:-/usr/bin/chromium} >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else sudo apt-get install -y -q chromium >/dev/null; fi; }

## A Celery worker (for PostgreSQL + Redis deployments)
worker: setup
	$(PY) -m celery -A annotator worker --loglevel=INFO

bench: setup-test
	$(PY) -m benchmarks $(BENCH_ARGS)
