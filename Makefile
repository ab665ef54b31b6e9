# dist2: `make run` runs the main job, `make test` passes the tests. Both install
# what is missing first (`make setup`, Debian packages only).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DIST2 := $(BUILD)/dist2
PACKAGES := cmake ninja-build g++ libtorch-dev libopenblas0-pthread libcli11-dev libyaml-cpp-dev \
            libfmt-dev libsqlite3-dev sqlite3 catch2 zlib1g-dev dataset-fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := experiment overrides json text
FUZZ_PACKAGES := clang libclang-rt-14-dev

.PHONY: all setup fuzz-setup configure build test test-slow fuzz run clean gpu-deps gpu-check

all: build

# Installs only the packages that are missing; apt-get update runs once, and
# only when something is missing.
setup:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all packages present"; fi

# Only `make fuzz` needs clang and libFuzzer.
fuzz-setup: setup
	@$(MAKE) --no-print-directory setup PACKAGES="$(FUZZ_PACKAGES)"

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: $(BUILD)/build.ninja

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure

test-slow: setup
	cmake -S . -B $(BUILD) -G Ninja -DDIST2_SLOW_TESTS=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -L slow

# Each libFuzzer target for FUZZ_SECONDS, starting from tests/fuzz/corpus/<target>;
# new inputs go to $(FUZZ_BUILD)/corpus/<target>, crashes to $(FUZZ_BUILD)/crashes/.
fuzz: fuzz-setup
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
	  -DDIST2_FUZZ=ON -DDIST2_CUDA=OFF -DDIST2_PCH=OFF -DBUILD_TESTING=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) --target fuzz_targets -j $(JOBS)
	@mkdir -p $(FUZZ_BUILD)/crashes
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done


# The main job: Table 11 (meta linear regression: sft, vocab, dist over the
# training-set axis) at the quick profile, then its report. Runs go to
# ./dist2-runs; a second `make run` reuses the finished ones.
run: build
	$(DIST2) target --metric sq --range 0:9 --target 5 --sigma 1
	$(DIST2) sweep experiments/table11_regression.yaml --profile quick -j 2 --worker-threads 1
	$(DIST2) report table11 --profile quick

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)

# CUDA check on a GPU machine with pip PyTorch: `make gpu-deps` where the Debian
# archive is reachable (the libraries such a machine lacks, into .gpu-deps/),
# then `make gpu-check OUT=dir` there: build with CUDA, all tests, the loss
# benchmark; logs and JSON into OUT.
GPU_DEPS := libyaml-cpp-dev libyaml-cpp0.7 libfmt-dev libfmt9 libcli11-dev catch2 libsqlite3-dev libsqlite3-0
OUT ?= out/gpu-check

gpu-deps:
	mkdir -p .gpu-deps && cd .gpu-deps && apt-get download $(GPU_DEPS)

gpu-check:
	kernels/cuda/gpu_check.sh $(OUT)
