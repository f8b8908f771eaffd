# The single entry point for people and CI. Every target creates .venv on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck schema-check unit soak bench clean regen sanitize sanitize-build fuzz fuzz-repro fuzz-known fuzz-corpus mutants

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The compiled accelerator is built by the editable install: rebuild when its source changes.
NATIVE := setup.py $(wildcard src/connector_sync_contracts/_engine/native/*.[ch])

# Byte-compiled as pip compiles an installed wheel: with PYTHONDONTWRITEBYTECODE
# set, an editable install would otherwise compile every module on every run.
COMPILE := $(BIN)/python -m compileall -q src/connector_sync_contracts > /dev/null

$(STAMP_RUN): pyproject.toml $(NATIVE) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(COMPILE)
	touch $@

# With a C compiler at hand, the dev install fails when the accelerator does not
# compile (setup.py, CSC_REQUIRE_NATIVE): never tests skipped or run on a stale build.
REQUIRE_NATIVE := $(shell command -v $(CC) > /dev/null 2>&1 && echo 1)

$(STAMP_DEV): pyproject.toml $(NATIVE) | $(BIN)/python
	CSC_REQUIRE_NATIVE=$(REQUIRE_NATIVE) $(BIN)/python -m pip install --quiet -e ".[dev,cloudevents,dask]"
	$(COMPILE)
	touch $@ $(STAMP_RUN)

EXAMPLE := src/connector_sync_contracts/examples/example_day.jsonl

demo: $(STAMP_RUN)
	@echo "== connector-sync replay $(EXAMPLE)"
	@$(BIN)/connector-sync replay $(EXAMPLE)
	@echo
	@echo "== connector-sync replay --format json --no-logs --connector jira-acme-cloud $(EXAMPLE)"
	@$(BIN)/connector-sync replay --format json --no-logs --connector jira-acme-cloud $(EXAMPLE)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mutation/ is checked on its own: its run.py would be a second top-level "run"
# module next to bench/run.py.
typecheck: $(STAMP_DEV)
	$(BIN)/mypy
	$(BIN)/mypy mutation

# Every generated, committed file (schemas, AsyncAPI, docs page, engine spec, goldens).
REGEN := $(BIN)/python -m connector_sync_contracts._tooling.regen

schema-check: $(STAMP_DEV)
	$(REGEN) --check

# The suite runs on every core (pytest-xdist), at most 4 workers: the scale tests
# start 2-worker Dask clusters of their own. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --maxprocesses 4

unit: $(STAMP_DEV)
	$(BIN)/python -m pytest $(PARALLEL)

test: lint typecheck schema-check unit

# Long Hypothesis runs: every property, agreement and fuzz test with its soak profile,
# then the atheris fuzzer on the sanitizer build for SOAK_FUZZ_SECONDS.
SOAK_FUZZ_SECONDS ?= 900
soak: $(STAMP_DEV)
	CSC_SOAK=1 $(BIN)/python -m pytest $(PARALLEL) -p no:cacheprovider tests/engine tests/io tests/reducing \
		tests/validation tests/models tests/interop
	$(MAKE) fuzz FUZZ_SECONDS=$(SOAK_FUZZ_SECONDS)

# ---------------------------------------------------------------- sanitizers and fuzzing
# The accelerator built with ASan + UBSan (setup.py, CSC_SANITIZE=1) and installed,
# not editable, into its own venv: the normal .venv and the source tree's .so are
# never touched. Every run reinstalls the package, so the Python code and the
# C code are the current ones. Python is not instrumented, so the ASan runtime is
# preloaded; PYTHONMALLOC=malloc gives Python's buffers ASan red zones too.
# `make fuzz CSC_SANITIZE=fuzzer` builds with clang instead, adding libFuzzer
# coverage of the C code (-fsanitize=fuzzer-no-link), in .venv-fuzz-clang.
CSC_SANITIZE ?= 1
CSC_WEAK_HASH ?=
ARCH := $(shell uname -m)
ifeq ($(CSC_SANITIZE),fuzzer)
SAN_VENV ?= .venv-fuzz-clang
SAN_CC := clang
ASAN_RUNTIME = $(shell clang -print-resource-dir)/lib/linux/libclang_rt.asan-$(ARCH).so
else
SAN_VENV ?= .venv-sanitize
SAN_CC ?= gcc
ASAN_RUNTIME = $(shell $(SAN_CC) -print-file-name=libasan.so)
endif
SAN_BIN := $(SAN_VENV)/bin
SAN_STAMP := $(SAN_VENV)/.installed-deps
PURE_ENV := CONNECTOR_SYNC_PURE_PYTHON
ASAN_BASE := detect_leaks=0:abort_on_error=1
UBSAN_OPTS := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SAN_ENV = env -u $(PURE_ENV) LD_PRELOAD=$(ASAN_RUNTIME) PYTHONMALLOC=malloc \
	ASAN_OPTIONS=$(ASAN_BASE) $(UBSAN_OPTS)
SANITIZE_TESTS := tests/engine tests/io tests/validation/test_agreement.py tests/reducing \
	tests/cli/test_validate.py tests/cli/test_replay.py tests/scale/test_routing_agreement.py \
	tests/scale/test_key_ties.py tests/scale/test_lines_naming.py tests/scale/test_positions.py \
	tests/models/test_results.py tests/interop/test_compiled_mapping.py \
	tests/cli/test_interop.py tests/cli/test_anomaly_listing.py tests/cli/test_located_anomalies.py

$(SAN_BIN)/python:
	$(PYTHON) -m venv $(SAN_VENV)
	$(SAN_BIN)/python -m pip install --quiet --upgrade pip

$(SAN_STAMP): pyproject.toml | $(SAN_BIN)/python
	CSC_SANITIZE=0 $(SAN_BIN)/python -m pip install --quiet "setuptools>=75,<81" ".[dev,cloudevents,fuzz]"
	touch $@

sanitize-build: $(SAN_STAMP)
	CC=$(SAN_CC) CSC_SANITIZE=$(CSC_SANITIZE) CSC_WEAK_HASH=$(CSC_WEAK_HASH) \
		$(SAN_BIN)/python -m pip install --quiet --no-deps --no-build-isolation --force-reinstall .
	$(SAN_ENV) $(SAN_BIN)/python fuzz/check_sanitized.py

# The rule suite runs every rule through every engine; under the sanitizers only
# the compiled engines' cases are worth their time (the pure-Python ones run no C).
SANITIZE_SELECT := -k "not ApiPython and not StreamPython and not LinesPython and not IncrementalPython"
sanitize: sanitize-build
	$(SAN_ENV) $(SAN_BIN)/python -m pytest $(PARALLEL) -p no:cacheprovider $(SANITIZE_SELECT) \
		$(SANITIZE_TESTS)

# Time-boxed atheris run on the sanitizer build, in libFuzzer's fork mode so a
# crash is saved (fuzz/work/gcc-crash-*) and fuzzing goes on. New inputs go to
# fuzz/work/corpus. Replay one input: make fuzz-repro INPUT=fuzz/work/crash-...
# The ASan runtime defines weak no-op coverage callbacks; preloaded alone it
# would shadow atheris's own libFuzzer and leave the fuzzer blind, so libFuzzer
# (clang's compiler-rt, from Debian's clang package) is made a shared library
# and preloaded first.
FUZZ_SECONDS ?= 600
FUZZ_FLAGS ?= -fork=1 -ignore_crashes=1
FUZZ_ARTIFACTS ?= fuzz/work/$(SAN_CC)-
FUZZER_LIB := fuzz/work/libfuzzer-$(ARCH).so
FUZZ_ENV = env -u $(PURE_ENV) PATH=$(CURDIR)/$(SAN_BIN):$$PATH \
	LD_PRELOAD=$(CURDIR)/$(FUZZER_LIB):$(ASAN_RUNTIME) PYTHONMALLOC=malloc \
	ASAN_OPTIONS=$(ASAN_BASE):verify_asan_link_order=0 $(UBSAN_OPTS):abort_on_error=1

$(FUZZER_LIB):
	@command -v clang++ >/dev/null || { echo "make fuzz needs clang's libFuzzer: apt-get install clang"; exit 2; }
	mkdir -p fuzz/work
	clang++ -shared -o $@ -Wl,--whole-archive \
		$$(clang -print-resource-dir)/lib/linux/libclang_rt.fuzzer_no_main-$(ARCH).a -Wl,--no-whole-archive

# Fork mode does not count (or exit 77 for) an input that fails while it reads the
# seed corpus, so the run fails closed on the artifacts it saved, whatever it says.
FUZZ_STAMP := fuzz/work/.fuzz-started
fuzz: sanitize-build $(FUZZER_LIB)
	mkdir -p fuzz/work/corpus
	touch $(FUZZ_STAMP)
	$(FUZZ_ENV) $(SAN_BIN)/python fuzz/fuzz_scanner.py -max_total_time=$(FUZZ_SECONDS) \
		-dict=fuzz/scanner.dict -artifact_prefix=$(FUZZ_ARTIFACTS) $(FUZZ_FLAGS) \
		fuzz/work/corpus fuzz/corpus; rc=$$?; \
	saved=$$(find $(dir $(FUZZ_ARTIFACTS)) -maxdepth 1 -name '$(notdir $(FUZZ_ARTIFACTS))*' \
		-newer $(FUZZ_STAMP) | sort); \
	if [ -n "$$saved" ]; then \
		echo "make fuzz: $$(echo "$$saved" | wc -l) input(s) failed; replay one with make fuzz-repro INPUT=..."; \
		echo "$$saved"; exit 77; fi; \
	exit $$rc

fuzz-repro: sanitize-build $(FUZZER_LIB)
	$(FUZZ_ENV) $(SAN_BIN)/python fuzz/fuzz_scanner.py $(INPUT)

# Confirm the known reports of fuzz/FINDINGS.md under the sanitizers (each one aborts).
fuzz-known: sanitize-build
	$(SAN_ENV) $(SAN_BIN)/python fuzz/known_reports.py --all

fuzz-corpus: $(STAMP_DEV)
	$(BIN)/python fuzz/make_corpus.py

bench: $(STAMP_RUN)
	$(BIN)/python bench/run.py

# Hand-made mutants of every reducer rule in every engine, each run against
# tests/reducing on a temporary copy of the tree (mutation/README.md).
# MUTANTS_FLAGS: mutant names to run only those, --jobs N, --list.
MUTANTS_FLAGS ?=
mutants: $(STAMP_DEV)
	$(BIN)/python mutation/run.py $(MUTANTS_FLAGS)

regen: $(STAMP_DEV)
	$(REGEN) --write

clean:
	rm -rf $(VENV) .venv-sanitize .venv-fuzz-clang fuzz/work build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
