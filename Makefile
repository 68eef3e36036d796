# Two commands for a newcomer: `make run` opens the app, `make test` runs every test.
# Both create .venv and install the project into it on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint cli eval eval-dups bench screenshots fuzz clean bundle

$(STAMP): pyproject.toml setup.py hashcore/search/_kernels.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hashlens

cli: $(STAMP)
	$(VENV)/bin/hashcore --help

# Two test processes (pytest-xdist), each test file whole in one of them; TEST_WORKERS=1 runs one.
TEST_WORKERS ?= 2
test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check hashcore app tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy hashcore

# Fashion-MNIST evaluation (issues 4 and 5): features once (cached in .cache/), then every method
# (the issue's protocol: 224-px features, ~25-45 min once on 2 cores; then ~40 min of training)
eval: $(STAMP)
	test -f .cache/fmnist_features_224.npz || $(PY) bench/eval_features.py --size 224 --threads 2
	$(PY) -m bench.evaluate --size 224 --bits 16 32 48 64 --out docs
	$(PY) bench/eval_tags.py eval --size 224 --learn-steps 400 --out docs/results_tags.json --results-json docs/results.json
	test -f /usr/share/wordnet/index.noun || { echo "the real-photo tag benchmark needs WordNet: sudo apt-get install wordnet-base"; exit 1; }
	$(PY) -m bench.eval_tags_real
	$(PY) -m bench.eval_dups

# Near-duplicates on real photos (issue 14): the held-out photo pool and library-made edits,
# HashLens against pHash and backbone cosine in the same run; writes docs/results_dups.{md,json}
eval-dups: $(STAMP)
	$(PY) -m bench.eval_dups

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

screenshots: $(STAMP)
	$(PY) scripts/screenshots.py --out screenshots

# Hypothesis fuzzing of the decode path and the store; FUZZ_EXAMPLES sets the effort
FUZZ_EXAMPLES ?= 20000
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -m fuzz tests/fuzz -p no:cacheprovider

# A self-contained folder, not part of `make test`: dist/hashlens/hashlens (the window) and
# dist/hashlens/hashcore (the command line), with the models, samples and Python inside.
# PyInstaller goes into .venv on first use; the build takes 10+ minutes and several GB of disk.
bundle: $(STAMP)
	$(PY) -m PyInstaller --version >/dev/null 2>&1 || $(PY) -m pip install --quiet 'pyinstaller>=6.10'
	$(PY) -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/hashlens.spec

# benchmarks against faiss / imagehash, measured in the same run; writes bench/RESULTS.{md,json}
bench: $(STAMP)
	$(PY) -m bench.run_all $(BENCH_ARGS)
