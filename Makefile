# dist2: `make run` runs the main job, `make test` passes the tests. Both install
# what is missing first (`make setup`, Debian packages only).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DIST2 := $(BUILD)/dist2
PACKAGES := cmake ninja-build g++ libtorch-dev libopenblas0-pthread libcli11-dev libyaml-cpp-dev \
            libfmt-dev libsqlite3-dev sqlite3 catch2 zlib1g-dev nlohmann-json3-dev libgloo-dev dataset-fashion-mnist chromium \
            slurmctld slurmd slurm-client munge
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Fuzzing: one target per tests/fuzz/fuzz_NAME.cpp, seeded from tests/fuzz/corpus/NAME/.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.cpp,%,$(wildcard tests/fuzz/fuzz_*.cpp))
# The fuzz build needs no LibTorch: dist2base's libraries, clang and libFuzzer.
FUZZ_PACKAGES := cmake ninja-build g++ libyaml-cpp-dev libfmt-dev zlib1g-dev nlohmann-json3-dev clang libclang-rt-14-dev
FUZZ_CXX ?= clang++
# `make test` runs each fuzz target this long when clang with libFuzzer is there.
# FUZZ_SMOKE: auto (skip, saying so, without clang), require (fail without it), off.
FUZZ_SMOKE ?= auto
FUZZ_SMOKE_SECONDS ?= 4

.PHONY: all setup fuzz-setup bench-setup configure build test test-slow fuzz fuzz-build fuzz-smoke run reproduce clean gpu-deps gpu-check

all: build

# Installs only the packages that are missing; apt-get update runs once, and
# only when something is missing.
setup:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all packages present"; fi

# Only the fuzz targets need clang and libFuzzer (`make fuzz` installs them).
fuzz-setup:
	@$(MAKE) --no-print-directory setup PACKAGES="$(FUZZ_PACKAGES)"

# Only the Python peer of `dist2 bench` (kernels/bench/*.py) needs Debian's PyTorch.
bench-setup:
	@$(MAKE) --no-print-directory setup PACKAGES="python3-torch"

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

# The Catch2 suite, then every fuzz target for a few seconds (fuzz-smoke).
test: build
	ctest --test-dir $(BUILD) --output-on-failure
	@$(MAKE) --no-print-directory fuzz-smoke

test-slow: setup
	cmake -S . -B $(BUILD) -G Ninja -DDIST2_SLOW_TESTS=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -L slow

# The fuzz build: dist2base and the fuzz targets, with clang and the sanitizers
# (no LibTorch). Needs clang and libclang-rt-14-dev (`make fuzz-setup`).
fuzz-build:
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) \
	  -DDIST2_FUZZ=ON -DDIST2_PCH=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) --target fuzz_targets -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS; the corpus grows in $(FUZZ_BUILD)/corpus.
fuzz: fuzz-setup
	@$(MAKE) --no-print-directory fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus $(FUZZ_TARGETS)

# Part of `make test`: where clang can link a libFuzzer program, builds the fuzz
# targets and runs each for FUZZ_SMOKE_SECONDS from its seeds (new inputs are
# thrown away); elsewhere one line says that it was skipped. It installs nothing.
FUZZ_PROBE := extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }
fuzz-smoke:
	@if [ "$(FUZZ_SMOKE)" = off ]; then echo "fuzz-smoke: skipped (FUZZ_SMOKE=off)"; exit 0; fi; \
	mkdir -p $(FUZZ_BUILD); \
	if ! echo '$(FUZZ_PROBE)' | $(FUZZ_CXX) -x c++ - -fsanitize=fuzzer,address,undefined \
	     -o $(FUZZ_BUILD)/probe >/dev/null 2>&1; then \
	  why="$(FUZZ_CXX) cannot link a libFuzzer program (make fuzz-setup installs clang and libclang-rt-14-dev)"; \
	  if [ "$(FUZZ_SMOKE)" = require ]; then echo "fuzz-smoke: FAILED (FUZZ_SMOKE=require): $$why"; exit 1; fi; \
	  echo "fuzz-smoke: skipped: $$why"; exit 0; \
	fi; \
	echo "fuzz-smoke: building the fuzz targets in $(FUZZ_BUILD) (log: $(FUZZ_BUILD)/build.log)"; \
	$(MAKE) --no-print-directory fuzz-build > $(FUZZ_BUILD)/build.log 2>&1 || { cat $(FUZZ_BUILD)/build.log; exit 1; }; \
	rm -rf $(FUZZ_BUILD)/smoke; \
	tests/fuzz/run.sh --brief $(FUZZ_BUILD) $(FUZZ_SMOKE_SECONDS) $(FUZZ_BUILD)/smoke $(FUZZ_TARGETS)

# The main job: Table 11 (meta linear regression: sft, vocab, dist over the
# training-set axis) at the quick profile, then its report. Runs go to
# ./dist2-runs; a second `make run` reuses the finished ones.
run: build
	$(DIST2) target --metric sq --range 0:9 --target 5 --sigma 1
	$(DIST2) sweep experiments/table11_regression.yaml --profile quick -j 2 --worker-threads 1
	$(DIST2) report table11 --profile quick

# The whole replication: every experiment file at $(PROFILE) with two workers, then
# each report's Markdown/SVG files and one page, index.html. Finished trials are
# skipped, so an interrupted `make reproduce` resumes where it stopped. A profile
# other than default writes under results/$(PROFILE)/, never over the committed tables.
PROFILE ?= default
EXPERIMENTS ?= $(sort $(wildcard experiments/*.yaml))
RESULTS := $(if $(filter default,$(PROFILE)),results,results/$(PROFILE))
reproduce: build
	@for f in $(EXPERIMENTS); do \
	  echo "== $$f ($(PROFILE))"; \
	  $(DIST2) sweep $$f --profile $(PROFILE) -j 2 --worker-threads 1 || exit 1; \
	done
	$(DIST2) report all --profile $(PROFILE) --out $(RESULTS)
	$(DIST2) report all --profile $(PROFILE) --format html --out $(RESULTS)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)

# CUDA check on a GPU machine with pip PyTorch: `make gpu-deps` where the Debian
# archive is reachable (the libraries such a machine lacks, into .gpu-deps/),
# then `make gpu-check OUT=dir` there: build with CUDA, all tests, the loss
# benchmark; logs and JSON into OUT.
GPU_DEPS := libyaml-cpp-dev libyaml-cpp0.7 libfmt-dev libfmt9 libcli11-dev catch2 libsqlite3-dev libsqlite3-0 \
            nlohmann-json3-dev zlib1g-dev
OUT ?= out/gpu-check

gpu-deps:
	mkdir -p .gpu-deps && cd .gpu-deps && apt-get download $(GPU_DEPS)

gpu-check:
	kernels/cuda/gpu_check.sh $(OUT)
