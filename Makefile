# Two commands for a newcomer: `make run` opens the app, `make test` runs every test.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint cli eval bench screenshots fuzz clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hashlens

cli: $(STAMP)
	$(VENV)/bin/hashcore --help

test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check hashcore app tests bench
	$(VENV)/bin/lint-imports

eval: $(STAMP)
	$(PY) -m hashcore.evaluate --out docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

screenshots: $(STAMP)
	$(PY) scripts/screenshots.py --out screenshots

# Hypothesis fuzzing of the decode path and the store; FUZZ_EXAMPLES sets the effort
FUZZ_EXAMPLES ?= 20000
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -m fuzz tests/fuzz -p no:cacheprovider

# benchmarks against faiss / imagehash, measured in the same run; writes bench/RESULTS.{md,json}
bench: $(STAMP)
	$(PY) -m bench.run_all $(BENCH_ARGS)
