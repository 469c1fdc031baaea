# The README's two commands: `make demo` (main job) and `make test`.
# Each creates or refreshes the virtual environment it needs in .venv.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.physml-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check
CONSTRAINTS := constraints.txt
OUT ?= runs/demo
JOBS ?= 2

.PHONY: venv demo test test-slow lint format bench clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml $(CONSTRAINTS) Makefile
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "physml needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c $(CONSTRAINTS) -e ".[dev]"
	# escnn declares py3nj, which needs a Fortran compiler: install it without deps (README, "escnn").
	$(PIP) install -q -c $(CONSTRAINTS) --no-deps escnn
	$(PIP) install -q -c $(CONSTRAINTS) lie-learn pymanopt autograd joblib
	touch $(STAMP)

demo: venv
	$(BIN)/physml demo --out $(OUT)

test: venv lint
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -q

test-slow: venv
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -q -m slow

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(BIN)/python benchmarks/schrodinger_step.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
