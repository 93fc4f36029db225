# pulse: `make` builds, `make demo` runs the main job on loopback, `make test` runs every test.
# Each first installs what this machine is missing (Debian packages, by name).

BUILD ?= build
CMAKE_BUILD := $(BUILD)/cmake
JOBS ?= $(shell nproc)

.PHONY: all build deps module cmake demo test test-e2e test-nginx126 test-unit test-integration test-sanitize bench format clean

all: build

build: deps module cmake

deps:
	@scripts/install-deps.sh

module:
	@scripts/build-module.sh $(BUILD)
	@echo "built $(BUILD)/ngx_http_pulse_module.so"

cmake:
	@cmake -S . -B $(CMAKE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPULSE_COPY_TO=$(abspath $(BUILD)) >/dev/null
	@cmake --build $(CMAKE_BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)

test: build
	@scripts/run-tests.sh $(BUILD)

# Only the end-to-end stage: a real kube-apiserver and kube-controller-manager 1.20 (built
# from Debian's source the first time), the adapter behind the aggregator, the real HPA.
test-e2e: build
	@scripts/run-e2e.sh $(BUILD)

# Only the integration tests that start nginx, against nginx 1.26.3 built from Debian 13's
# source (scripts/build-nginx.sh, the first time) instead of Debian 12's 1.22.1.
test-nginx126: build
	@scripts/run-nginx126.sh $(BUILD)

bench: build
	@bench/run.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h' '*.c')

clean:
	rm -rf $(BUILD)
