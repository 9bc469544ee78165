# The README's contract: `make run` and `make test`. Everything else here is for developers.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

RELEASE_DIR := build/release
TEST_DIR := build/asan
FUZZ_DIR := build/fuzz
NODE_DIR := tests/node
# Inside `make -jN` (as make test builds its three trees) they share make's jobserver; a tree
# built alone (make run, make install) takes $(JOBS) slots of its own.
TREE_JOBS = $(if $(findstring jobserver,$(MAKEFLAGS)),,-j $(JOBS))

# make install: PREFIX (default ~/.local; PREFIX=/usr/local system-wide), DESTDIR for packagers.
PREFIX ?= $(HOME)/.local
DESTDIR ?=
# What the last `make install` wrote, one path a line with DESTDIR (CMake's install manifest,
# kept apart so that `make deb` cannot replace it): `make uninstall` removes exactly these files.
INSTALLED_LIST ?= $(RELEASE_DIR)/installed-files.txt

.PHONY: run test deps insight-tables install uninstall deb test-deps build-release build-test build-fuzz node-deps fuzz bench bench-daemon format check-format clean

run: deps build-release
	@echo "keybridge: built $(RELEASE_DIR)/daemon/keybridged and $(RELEASE_DIR)/cli/keybridge;" \
	  "\`make install\` puts them in ~/.local/bin (see README.md)"
	exec $(RELEASE_DIR)/daemon/keybridged $(ARGS)

# build-release: the packaging tests (make_install, deb_package) install and package it. The
# three trees (and npm ci) build at once, sharing $(JOBS) compile slots through make's
# jobserver: each tree alone leaves a core idle for part of its time (chains of dependent
# targets, links), which the others fill.
test: test-deps
	+$(MAKE) --no-print-directory -j $(JOBS) build-release build-test build-fuzz node-deps
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build-release:
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DKEYBRIDGE_TESTS=OFF -DKEYBRIDGE_BENCH=OFF $(CMAKE_FLAGS)
	+cmake --build $(RELEASE_DIR) $(TREE_JOBS) --target keybridged keybridge

# clang with AddressSanitizer + UndefinedBehaviorSanitizer; the whole suite runs from here. clang
# builds this tree in about 60 % of g++'s time (docs/ARCHITECTURE.md, "The test suite's time");
# g++ builds the release tree (-Werror as well), which the packaging tests install and run.
build-test:
	cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
	  -DKEYBRIDGE_TESTS=ON -DKEYBRIDGE_SANITIZE=ON -DKEYBRIDGE_BENCH=OFF -DKEYBRIDGE_LIBFUZZER_DIR=$(CURDIR)/$(FUZZ_DIR)/tests/fuzz $(CMAKE_FLAGS)
	+cmake --build $(TEST_DIR) $(TREE_JOBS)

# clang + libFuzzer; ctest in the test build runs each target for a few seconds.
build-fuzz:
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCMAKE_C_COMPILER=clang-14 -DKEYBRIDGE_FUZZ=ON -DKEYBRIDGE_TESTS=OFF $(CMAKE_FLAGS)
	+cmake --build $(FUZZ_DIR) $(TREE_JOBS) --target keybridge_fuzzers

node-deps:
	@if [ ! -d $(NODE_DIR)/node_modules ] || [ $(NODE_DIR)/package-lock.json -nt $(NODE_DIR)/node_modules/.package-lock.json ]; then \
	  cd $(NODE_DIR) && npm ci --no-audit --no-fund; fi
	@if [ ! -d insight/data/node_modules ] || [ insight/data/package-lock.json -nt insight/data/node_modules/.package-lock.json ]; then \
	  cd insight/data && npm ci --ignore-scripts --no-audit --no-fund; fi

# Regenerates insight/generated/ from the npm packages of insight/data (after changing their
# versions in insight/data/package.json and running npm install there); commit the result.
insight-tables: node-deps
	node insight/tools/generate.mjs

# Long fuzzing runs: make fuzz FUZZ_SECONDS=3600
FUZZ_SECONDS ?= 600
fuzz: test-deps build-fuzz
	@for t in $(FUZZ_DIR)/tests/fuzz/fuzz_*; do \
	  name=$$(basename $$t); mkdir -p build/fuzz-corpus/$$name; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) build/fuzz-corpus/$$name tests/fuzz/corpus/$${name#fuzz_} || exit 1; \
	done

bench: test-deps
	cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DKEYBRIDGE_TESTS=OFF -DKEYBRIDGE_BENCH=ON $(CMAKE_FLAGS)
	cmake --build build/bench -j $(JOBS)
	build/bench/bench/keybridge_core_bench --benchmark_min_time=0.5

# The daemon under load (throughput, latency, CPU per request, memory, start-up) and side by side
# with anvil (from tests/node, hence node-deps): a few minutes. SHORT=1 checks the script quickly.
bench-daemon: test-deps node-deps
	cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DKEYBRIDGE_TESTS=OFF -DKEYBRIDGE_BENCH=ON $(CMAKE_FLAGS)
	cmake --build build/bench -j $(JOBS) --target keybridged keybridge keybridge_loadgen keybridge_floor_server keybridge_core_bench
	bench/run_daemon_bench.sh build/bench

# Release programs, man pages, systemd user unit, bash completion, udev rules.
install: deps build-release
	cmake --build $(RELEASE_DIR) -j $(JOBS)
	DESTDIR="$(DESTDIR)" cmake --install $(RELEASE_DIR) --prefix "$(PREFIX)"
	sed 's|^|$(DESTDIR)|' $(RELEASE_DIR)/install_manifest.txt > $(INSTALLED_LIST)
	@echo
	@echo "keybridge: installed keybridge and keybridged in $(DESTDIR)$(PREFIX)/bin"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; \
	  *) echo "keybridge: $(PREFIX)/bin is not on your PATH; add it, e.g. in ~/.profile:" \
	     "export PATH=\"$(PREFIX)/bin:\$$PATH\"" ;; esac
	@echo "keybridge: as a systemd user service: systemctl --user daemon-reload &&" \
	  "systemctl --user enable --now keybridged"

uninstall:
	@test -f $(INSTALLED_LIST) || { echo "keybridge: nothing recorded in $(INSTALLED_LIST)"; exit 1; }
	cmake -DMANIFEST=$(INSTALLED_LIST) -P cmake/Uninstall.cmake
	rm -f $(INSTALLED_LIST)

# A Debian package (build/release/keybridge_VERSION_ARCH.deb) of what `make install` installs,
# under /usr, with dependencies computed by dpkg-shlibdeps from the linked libraries.
deb: deps build-release
	cmake --build $(RELEASE_DIR) -j $(JOBS)
	cd $(RELEASE_DIR) && cpack -G DEB

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

check-format:
	git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
