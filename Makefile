# The two commands of the README: `make demo` and `make test`. Both set up everything they
# need on a fresh machine (virtualenv, Python packages, Neo4j jars) and are idempotent.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.linksyn-installed

.PHONY: demo test setup test-deps stack bench-deps check clean-data

demo: setup
	LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/linksyn demo

# Two workers (pytest-xdist), each a whole test file at a time, the long files first
# (conftest.py): one after the other, the tests kept the 2 cores 67% busy (a test often
# waits on one process at a time); two files at once keep them 92% busy, and the suite
# takes a quarter to a third less (README, "Tests and demo"). A file's tests stay in one
# worker, in order, with its module fixtures started once; every worker starts its own
# Neo4j, LLM and Postgres servers, and nothing else is shared (free ports, their own temp
# and in-memory dirs, their own survivors check). The tests marked `alone` (the stack's,
# whose backfill starts 25 run processes) run afterwards, by themselves. Both parts always
# run; either failing fails (a part that PYTEST_ARGS leaves without tests, exit 5, does
# not). PYTEST_ARGS adds options to both, e.g. -x or -k NAME.
PYTEST := LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/python -m pytest
test: setup test-deps
	status=0; \
	$(PYTEST) -n 2 --dist loadfile --no-loadscope-reorder -m "not alone" $(PYTEST_ARGS) || \
	  { code=$$?; [ $$code = 5 ] || status=$$code; }; \
	$(PYTEST) -m alone $(PYTEST_ARGS) || { code=$$?; [ $$code = 5 ] || status=$$code; }; \
	exit $$status

setup: $(STAMP)

# Debian packages the tests use: docker-compose validates docker-compose.yml (no engine
# needed); chromium is the browser the UI tests drive with Playwright (never a downloaded one);
# fonts-noto-cjk gives it Chinese, Japanese and Korean glyphs (the report's CMMLU items would
# otherwise show as boxes); postgresql is the server the Postgres result store's tests start
# (initdb into a temp dir, fixtures_postgres.py)
DEBIAN_TEST_PACKAGES := docker-compose chromium fonts-noto-cjk postgresql
test-deps:
	@missing=""; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "linksyn: installing$$missing from Debian"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "linksyn: could not install$$missing; the tests that need them will fail"; \
	  else echo "linksyn: missing$$missing (apt-get install$$missing); the tests that need them will fail"; fi; \
	fi

# `linksyn stack up` on a fresh machine: the set-up, and PostgreSQL from Debian (as test-deps
# installs it) for the stack's run storage, warehouse catalog and result store
stack: setup
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "linksyn: installing postgresql from Debian"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "linksyn: PostgreSQL is missing: apt-get install postgresql"; exit 2; fi; }
	LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/linksyn stack up

# llama-cpp-python compiles from source once (about 6 minutes on 2 cores); pip caches the
# wheel, so later set-ups on the same machine take seconds. On x86-64 it is built for AVX2,
# not for the building CPU: a native build uses the CPU's AMX and AVX-512 code, which crashed
# with a general protection fault in libggml-cpu on a VM that advertises AMX (2026-12-04).
ifeq ($(shell uname -m),x86_64)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
endif
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "linksyn: $(PYTHON) not found: install Python 3.11"; exit 2; }
	@command -v java >/dev/null || { echo "linksyn: java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)"; exit 2; }
	@command -v mvn >/dev/null || { echo "linksyn: mvn not found: install Maven (Debian: apt-get install maven)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# PecanPy, the baseline of benchmarks/walker.py, pins numpy < 2 (the project needs numpy 2),
# so it gets its own virtualenv; only the benchmarks use it
bench-deps: setup .venv-pecanpy/.installed .venv-warehouse/.installed
.venv-pecanpy/.installed: benchmarks/requirements-pecanpy.txt
	test -x .venv-pecanpy/bin/python || $(PYTHON) -m venv .venv-pecanpy
	.venv-pecanpy/bin/python -m pip install --quiet --upgrade pip
	.venv-pecanpy/bin/python -m pip install --quiet -r benchmarks/requirements-pecanpy.txt
	touch $@

# DuckLake and DuckDB's postgres extension, the candidates benchmarks/warehouse_writers.py sets
# against the warehouse's Parquet catalog: their PyPI builds need duckdb 1.4.4, so their own virtualenv
.venv-warehouse/.installed: benchmarks/requirements-warehouse.txt
	test -x .venv-warehouse/bin/python || $(PYTHON) -m venv .venv-warehouse
	.venv-warehouse/bin/python -m pip install --quiet --upgrade pip
	.venv-warehouse/bin/python -m pip install --quiet -r benchmarks/requirements-warehouse.txt
	touch $@

# definitions load and validate, as CI runs them
check: setup
	LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/dagster definitions validate -w workspace.yaml
	LITELLM_LOCAL_MODEL_COST_MAP=True $(BIN)/dg check defs

clean-data:
	rm -rf data
