# Quick start: `make run` and `make test` on a fresh machine; nothing installed by hand.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export MPLBACKEND ?= Agg

.PHONY: run demo test bench venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# run: the real world (every sub-national region, from the shipped public data);
# demo: the synthetic world, with everything the engine does on monthly grid cells.
run: $(STAMP)
	$(BIN)/riskmodel run --config configs/real.toml

demo: $(STAMP)
	$(BIN)/riskmodel run --config configs/demo.toml

# test: one pytest-xdist worker per core (TEST_WORKERS=0 runs in this process); whole files
# go to one worker, so a file's module fixtures are built once.
TEST_WORKERS ?= auto
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# bench: overwrites the committed results and the README's tables (review, then commit).
bench: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python benchmarks/kernels.py --json benchmarks/results-kernels.json
	$(BIN)/python benchmarks/pipeline.py --json benchmarks/results-pipeline.json
	$(BIN)/python benchmarks/table.py --write benchmarks/README.md

clean:
	rm -rf $(VENV) .cache runs models
