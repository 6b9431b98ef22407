# The two set-up commands (see README.md). Both work on a fresh Debian machine
# with python3 and network access to PyPI; `make test` also needs root (or
# sudo) to install and start PostgreSQL + PostGIS from Debian packages.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The compiled kernels are built by pip install; a changed kernel source rebuilds them.
KERNELS := setup.py $(wildcard urbangrid/*/*.pyx urbangrid/*/*/*.pyx urbangrid/*/*/*.h)

$(VENV)/.installed: pyproject.toml $(KERNELS) | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(KERNELS) | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev,notebooks,scale,pbf]"
	touch $@ $(VENV)/.installed

## make demo: run the main job on bundled real data with the embedded store.
demo: $(VENV)/.installed
	$(BIN)/urbangrid demo --out out/

## make test: ruff and mypy (strict on store/ and the public API, see pyproject.toml),
## then every test, docstring example and notebook against a real PostGIS.
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy urbangrid
	bash scripts/ensure_chromium.sh
	dsn=$$(bash scripts/ensure_postgis.sh) && \
	  URBANGRID_TEST_DSN="$$dsn" $(BIN)/python -m pytest tests urbangrid --doctest-modules \
	  $$(ls notebooks/*.ipynb >/dev/null 2>&1 && echo --nbmake notebooks)

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
