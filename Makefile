# dist2: `make run` runs the main job, `make test` passes the tests. Both install
# what is missing first (`make setup`, Debian packages only).
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DIST2 := $(BUILD)/dist2
PACKAGES := cmake ninja-build g++ libtorch-dev libopenblas0-pthread libcli11-dev libyaml-cpp-dev \
            libfmt-dev libsqlite3-dev sqlite3 catch2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup configure build test test-slow run clean gpu-deps gpu-check

all: build

# Installs only the packages that are missing; apt-get update runs once, and
# only when something is missing.
setup:
	@missing=$$(for p in $(PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "setup: all packages present"; fi

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

# The main job: Table 11 (meta linear regression: sft, vocab, dist over the
# training-set axis) at the quick profile, then its report. Runs go to
# ./dist2-runs; a second `make run` reuses the finished ones.
run: build
	$(DIST2) target --metric sq --range 0:9 --target 5 --sigma 1
	$(DIST2) sweep experiments/table11_regression.yaml --profile quick -j 2 --worker-threads 1
	$(DIST2) report table11 --profile quick

clean:
	rm -rf $(BUILD)

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
