# Debros: the two commands are `make run` and `make test`. Everything else is a step of those.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# ctest runs test binaries in parallel; each test starts and stops what it needs.
CTEST_FLAGS ?= --output-on-failure -j $(JOBS)

.PHONY: deps configure build test test-slow run bench format clean fuzz-build fuzz-smoke fuzz sanitize tsan

deps:
	@scripts/install-deps.sh

configure:
	@test -f $(BUILD_DIR)/build.ninja || cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# deps + build + every test (benchmarks run at their quick size as smoke tests), then each
# libFuzzer target for a bounded number of executions (fuzz-smoke).
test: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD_DIR) && ctest $(CTEST_FLAGS) -LE slow
	@$(MAKE) --no-print-directory fuzz-smoke

# The libFuzzer targets (clang, ASan + UBSan) in their own build folder. No clang is an error.
FUZZ_DIR ?= build-fuzz
FUZZ_TARGETS = debros-fuzz-json debros-fuzz-msgpack debros-fuzz-model debros-fuzz-cursor \
               debros-fuzz-query debros-fuzz-cluster debros-fuzz-http
fuzz-build:
	@command -v clang++-14 >/dev/null || { echo "clang++-14 missing: run make deps" >&2; exit 1; }
	@test -f $(FUZZ_DIR)/build.ninja || CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_DIR) \
	  -G Ninja -DDEBROS_FUZZ=ON
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@cd $(FUZZ_DIR) && ctest --output-on-failure -j $(JOBS) -L fuzz

# Each fuzz target for FUZZ_SECONDS (default 600) on one core; findings land in build-fuzz/findings.
fuzz: deps fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) scripts/fuzz.sh

# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan), but for
# two tests whose claim a sanitizer runtime changes (README "Fuzzing and sanitizers"): RSS bounds
# (ASan's quarantine and redzones hold freed memory) and descriptor exhaustion (UBSan's vptr
# check probes memory through a pipe and, with no descriptor left, reports a false invalid vptr).
SAN_DIR ?= build-asan
SAN_EXCLUDE = ^(out of file descriptors, the accept loop backs off and says so|an in list is capped and a body of many small values is 413)$$
sanitize: deps
	@test -f $(SAN_DIR)/build.ninja || cmake -S . -B $(SAN_DIR) -G Ninja -DDEBROS_SANITIZE=address
	@cmake --build $(SAN_DIR) -j $(JOBS)
	@cd $(SAN_DIR) && ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest $(CTEST_FLAGS) -LE 'slow|bench' -E '$(SAN_EXCLUDE)'

# ThreadSanitizer over the storage, actor and gateway tests, against a CAF built with TSan from
# Debian's source (scripts/caf-tsan.sh; Debian's libcaf_core is not instrumented, which makes
# every message between actors look like a race). Not part of CI (README "Fuzzing and
# sanitizers" gives its cost). Tests tagged [power_loss] are left out: their LD_PRELOAD shim is
# not instrumented, and a child under TSan's interceptors dies with it at start.
TSAN_DIR ?= build-tsan
TSAN_CAF ?= build-tsan-caf
tsan: deps
	@scripts/caf-tsan.sh $(TSAN_CAF)
	@test -f $(TSAN_DIR)/build.ninja || cmake -S . -B $(TSAN_DIR) -G Ninja \
	  -DDEBROS_SANITIZE=thread -DCMAKE_PREFIX_PATH=$(CURDIR)/$(TSAN_CAF)/install
	@cmake --build $(TSAN_DIR) -j $(JOBS) --target debros-tests-storage debros-tests-actors \
	  debros-tests-net debros-node debros-test-crash-writer
	@cd $(TSAN_DIR) && for t in storage actors net; do \
	  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 bin/debros-tests-$$t '~[power_loss]' \
	    || exit 1; done

# The slow tests (tagged [.slow]): larger crash loops and scale runs. Not part of CI.
test-slow: deps
	@$(MAKE) --no-print-directory build
	@cd $(BUILD_DIR) && ctest $(CTEST_FLAGS) -L slow

# deps + build + a node in the foreground on the embedded default (data in ./data).
# Extra node options: make run ARGS="--no-auth --http 0.0.0.0:7700"
run: deps
	@$(MAKE) --no-print-directory build
	@scripts/run-node.sh $(ARGS)

# deps + build + the benchmarks at full size (JSON lines on stdout; each figure is the median of
# 5 runs after a warm-up, see bench/README.md).
bench: deps
	@$(MAKE) --no-print-directory build
	@scripts/run-benchmarks.sh

format:
	@clang-format -i $$(git ls-files '*.hpp' '*.cpp')

clean:
	@rm -rf $(BUILD_DIR) $(FUZZ_DIR) $(SAN_DIR)
