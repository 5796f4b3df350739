# Debros: the two commands are `make run` and `make test`. Everything else is a step of those.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# ctest runs test binaries in parallel; each test starts and stops what it needs.
CTEST_FLAGS ?= --output-on-failure -j $(JOBS)

.PHONY: deps configure build test test-slow run bench format clean

deps:
	@scripts/install-deps.sh

configure:
	@test -f $(BUILD_DIR)/build.ninja || cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# deps + build + every test (benchmarks run at their quick size as smoke tests).
test: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD_DIR) && ctest $(CTEST_FLAGS) -LE slow

# The slow tests (tagged [.slow]): larger crash loops and scale runs. Not part of CI.
test-slow: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD_DIR) && ctest $(CTEST_FLAGS) -L slow

# deps + build + a node in the foreground on the embedded default (data in ./data).
# Extra node options: make run ARGS="--no-auth --http 0.0.0.0:7700"
run: deps
	@$(MAKE) --no-print-directory build
	@scripts/run-node.sh $(ARGS)

# deps + build + the benchmarks at full size (JSON lines on stdout).
bench: deps
	@$(MAKE) --no-print-directory build
	@scripts/run-benchmarks.sh

format:
	@clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	@rm -rf $(BUILD_DIR)
