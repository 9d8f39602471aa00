# dlview build entry points. A new user needs two commands:
#   make demo   builds the library and runs the C/C++ examples (no Python needed)
#   make test   installs what the tests need (.venv with numpy, torch, jax) and runs every test
#   make docs   builds the documentation site into build/docs (own venv: .venv-docs)

CARGO     ?= cargo
CC        ?= cc
CXX       ?= c++
PYTHON    ?= python3
VENV      := .venv
VPY       := $(VENV)/bin/python
LIBDIR    := target/release
BUILD     := build
CSTRICT   := -std=c11 -Wall -Wextra -Werror
CXXSTRICT := -std=c++17 -Wall -Wextra -Werror
# The C library the C/C++ tests of the Python suite (test_cpp_libtorch.py,
# the docs' C extension recipes) link; the Python package itself does not
# use it (it is one PyO3 module over the Rust core).
export DLVIEW_LIBRARY ?= $(abspath $(LIBDIR))/libdlview.so
# The fake CUDA driver of the GPU-less CUDA tests (tests/fakecuda/); the
# Python tests use this build of it (tests/cuda_fake.rs builds its own).
FAKECUDA  := $(BUILD)/libfakecuda.so
export DLVIEW_FAKECUDA ?= $(abspath $(FAKECUDA))

.PHONY: all lib header demo test test-rust test-python python-module typecheck venv bench clean fakecuda test-nocuda lint docs docs-venv

all: lib

## The release shared/static library and the generated header.
lib:
	$(CARGO) build --release

## Regenerate include/dlview.h after changing the C ABI (commit the result).
header:
	DLVIEW_WRITE_HEADER=1 $(CARGO) build --release

## Build and run every C and C++ example in examples-c/.
demo: lib
	@mkdir -p $(BUILD)
	@set -e; for src in examples-c/*.c; do \
	  exe=$(BUILD)/$$(basename $$src .c); \
	  $(CC) $(CSTRICT) -Iinclude $$src -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -ldlview -o $$exe; \
	  echo "== $$exe"; $$exe; \
	done
	@set -e; for src in examples-c/*.cpp; do \
	  exe=$(BUILD)/$$(basename $$src .cpp); \
	  $(CXX) $(CXXSTRICT) -Iinclude $$src -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -ldlview -o $$exe; \
	  echo "== $$exe"; $$exe; \
	done
	@if [ -x $(VPY) ] && ls python/dlview/_native*.so >/dev/null 2>&1; then \
	  echo "== python/examples/roundtrip.py"; PYTHONPATH=python $(VPY) python/examples/roundtrip.py; \
	 else echo "(no .venv or Python module: skipping python/examples/roundtrip.py; \`make python-module\` builds it)"; fi

## Everything: the lint gate (clippy, rustdoc), Rust unit/integration tests (they also build and run the C
## tests under tests/c/ and replay the fuzz seeds), the hardening runs
## (seeds with overflow checks, sanitizers, valgrind), the Python suite,
## the install test, and the documentation site (strict: a broken link,
## a stale reference or a rustdoc warning fails; its recipes already ran in
## test-rust, tests/docs_code.rs, and test-python, test_docs_recipes.py).
test: lib
	$(MAKE) lint
	$(MAKE) test-rust
	$(MAKE) test-hardening
	$(MAKE) test-python
	$(MAKE) test-install
	$(MAKE) docs

## The Rust hygiene gate: clippy on every crate and target (warnings are
## errors), and the Rust API's docs with zero rustdoc warnings.
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p dlview --no-deps

test-rust: fakecuda
	$(CARGO) test --release -p dlview
	$(CARGO) test --release -p dlview-capi

## The library built without the cuda feature (its own target dir): it
## builds, and every CUDA call reports "built without the cuda feature".
test-nocuda:
	CARGO_TARGET_DIR=target/nocuda $(CARGO) test --release --no-default-features --lib -p dlview
	CARGO_TARGET_DIR=target/nocuda $(CARGO) test --release --no-default-features --lib -p dlview-capi

## The fake CUDA driver: a host-memory stand-in for libcuda.so.1 that the
## CUDA tests load through DLVIEW_CUDA_DRIVER (tests/fakecuda/fakecuda.c).
fakecuda: $(FAKECUDA)
$(FAKECUDA): tests/fakecuda/fakecuda.c
	@mkdir -p $(BUILD)
	$(CC) -shared -fPIC -std=c11 -Wall -Wextra -Werror -O1 -g $< -o $@ -pthread

## The Python virtual environment, created once and cached in .venv/.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-test.txt
	touch $@

## The Python suite, against the PyO3 module built into python/dlview/;
## its exchange and indexing tests again with every test run by 8 threads at
## once (pytest-run-parallel); then the typing checks.
PARALLEL_TESTS := test_exchange_api.py test_native_protocols.py test_index_prop.py test_interop.py
test-python: lib venv python-module fakecuda
	PYTHONPATH=python $(VPY) -m pytest -q tests/python
	PYTHONPATH=python $(VPY) -m pytest -q -p no:cacheprovider --parallel-threads=8 $(addprefix tests/python/,$(PARALLEL_TESTS))
	$(MAKE) typecheck

## The stubs (python/dlview/_native.pyi) against the compiled module
## (mypy's stubtest), and what a user's type checker sees of the package
## (tests/typing/usage.py) under mypy --strict and pyright.
typecheck: python-module
	MYPYPATH=python $(VPY) -m mypy.stubtest dlview._native --allowlist tests/typing/stubtest-allowlist.txt
	cd tests/typing && MYPYPATH=../../python $(abspath $(VPY)) -m mypy --strict usage.py
	$(VENV)/bin/pyright --pythonpath $(VPY) tests/typing/usage.py

## The Python package's one compiled module, dlview._native (python/, PyO3
## over the Rust core), built by maturin into python/dlview/ and installed
## into .venv as an editable package. Cargo rebuilds only what changed.
python-module: venv
	cd python && VIRTUAL_ENV=$(abspath $(VENV)) $(abspath $(VPY)) -m maturin develop --release --quiet

## Benchmarks: ratios against NumPy/PyTorch (and, for the C++ View, a raw
## pointer) measured in the same run. Each
## writes its results to target/bench/*.json; benches/plot.py charts them
## into docs/bench.png (commit it with the README's numbers). cuda_bench.py
## prints "skipped: no GPU" where there is none.
BENCH_OUT := target/bench
bench: lib venv python-module
	@mkdir -p $(BUILD) $(BENCH_OUT)
	rm -f $(BENCH_OUT)/*.json
	$(CC) -O2 $(CSTRICT) -Iinclude benches/roundtrip.c -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -ldlview -o $(BUILD)/roundtrip
	DLVIEW_BENCH_DIR=$(BENCH_OUT) $(BUILD)/roundtrip
	$(VPY) benches/libtorch_bench.py
	$(CXX) -O2 $(CXXSTRICT) -Iinclude benches/view_sum.cpp -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -ldlview -o $(BUILD)/view_sum
	DLVIEW_BENCH_DIR=$(BENCH_OUT) $(BUILD)/view_sum
	DLVIEW_BENCH_DIR=$(BENCH_OUT) PYTHONPATH=python $(VPY) benches/exchange_bench.py
	DLVIEW_BENCH_DIR=$(BENCH_OUT) $(VPY) benches/copy_bench.py
	DLVIEW_BENCH_DIR=$(BENCH_OUT) $(VPY) benches/npy_bench.py
	DLVIEW_BENCH_DIR=$(BENCH_OUT) PYTHONPATH=python $(VPY) benches/index_bench.py
	PYTHONPATH=python $(VPY) benches/cuda_bench.py
	$(VPY) benches/plot.py $(BENCH_OUT) docs/bench.png

## The documentation site (docs/, mkdocs.yml) into build/docs, strict (any
## warning fails): docs/ staged into build/docs-src with the generated C
## reference (docs/gen_c_reference.py over include/dlview.h), the
## CHANGELOG and `cargo doc -p dlview` (warnings denied) under rust/; the
## Python reference comes from the docstrings (mkdocstrings, read
## statically). Its tools live in their own venv, .venv-docs (docs/requirements.txt).
DOCS_VENV := .venv-docs
DOCS_SRC  := $(BUILD)/docs-src
docs: docs-venv
	rm -rf $(DOCS_SRC) $(BUILD)/docs
	@mkdir -p $(DOCS_SRC)/reference
	cp -R docs/. $(DOCS_SRC)/
	cp CHANGELOG.md $(DOCS_SRC)/changelog.md
	$(DOCS_VENV)/bin/python docs/gen_c_reference.py include/dlview.h $(DOCS_SRC)/reference/c.md
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc -p dlview --no-deps
	cp -R $(or $(CARGO_TARGET_DIR),target)/doc $(DOCS_SRC)/rust
	NO_MKDOCS_2_WARNING=1 $(DOCS_VENV)/bin/mkdocs build --strict --quiet
	@echo "site: $(abspath $(BUILD)/docs)/index.html"

docs-venv: $(DOCS_VENV)/.installed
$(DOCS_VENV)/.installed: docs/requirements.txt
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/python -m pip install --quiet -r docs/requirements.txt
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(BUILD)

# ---- installation ------------------------------------------------------------
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
MINOR   := $(word 2,$(subst ., ,$(VERSION)))
# The ABI's name (docs/versioning.md; build.rs sets the same soname): while
# 0.x each minor release may break the ABI, from 1.0 on only a major one.
SONAME  := libdlview.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))
SUBST    = sed -e 's|@PREFIX@|$(abspath $(PREFIX))|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' \
                -e 's|@MINOR@|$(MINOR)|g' -e 's|@SONAME@|$(SONAME)|g'
# Exactly what `install` creates, so `uninstall` removes exactly that.
INSTALLED = lib/libdlview.so.$(VERSION) lib/$(SONAME) lib/libdlview.so lib/libdlview.a \
            include/dlview.h include/dlview.hpp lib/pkgconfig/dlview.pc \
            lib/cmake/dlview/dlviewConfig.cmake lib/cmake/dlview/dlviewConfigVersion.cmake

.PHONY: install uninstall test-install stage-c-files wheel

## The C files the Python wheel carries for extension authors (dv.get_include(),
## get_library_dir(), get_cmake_dir(), `python -m dlview --cflags --libs`),
## staged into python/dlview/ (ignored by git): the headers, libdlview.so
## under its soname, and relocatable pkg-config and CMake files.
PYSTAGE := python/dlview
stage-c-files: lib
	rm -rf $(PYSTAGE)/include $(PYSTAGE)/lib
	install -d $(PYSTAGE)/include $(PYSTAGE)/lib/pkgconfig $(PYSTAGE)/lib/cmake/dlview
	install -m 644 include/dlview.h include/dlview.hpp $(PYSTAGE)/include/
	install -m 755 $(LIBDIR)/libdlview.so $(PYSTAGE)/lib/$(SONAME)
	strip --strip-debug $(PYSTAGE)/lib/$(SONAME)
	sed -e 's|^prefix=@PREFIX@|prefix=$${pcfiledir}/../..|' -e 's|-ldlview|-l:@SONAME@ -Wl,-rpath,$${libdir}|' \
	    packaging/dlview.pc.in | $(SUBST) > $(PYSTAGE)/lib/pkgconfig/dlview.pc
	sed -e 's|lib/libdlview.so.@VERSION@|lib/@SONAME@|' packaging/dlviewConfig.cmake.in | $(SUBST) \
	    > $(PYSTAGE)/lib/cmake/dlview/dlviewConfig.cmake
	$(SUBST) packaging/dlviewConfigVersion.cmake.in > $(PYSTAGE)/lib/cmake/dlview/dlviewConfigVersion.cmake

## The abi3 wheel (cp311-abi3, manylinux) with the C files, into target/wheels/.
wheel: stage-c-files venv
	cd python && $(abspath $(VPY)) -m maturin build --release --out ../target/wheels

## Install the library (versioned soname), headers, pkg-config and CMake files under PREFIX.
install: lib
	install -d $(PREFIX)/lib/pkgconfig $(PREFIX)/lib/cmake/dlview $(PREFIX)/include
	install -m 755 $(LIBDIR)/libdlview.so $(PREFIX)/lib/libdlview.so.$(VERSION)
	ln -sf libdlview.so.$(VERSION) $(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(PREFIX)/lib/libdlview.so
	install -m 644 $(LIBDIR)/libdlview.a $(PREFIX)/lib/libdlview.a
	install -m 644 include/dlview.h include/dlview.hpp $(PREFIX)/include/
	$(SUBST) packaging/dlview.pc.in > $(PREFIX)/lib/pkgconfig/dlview.pc
	$(SUBST) packaging/dlviewConfig.cmake.in > $(PREFIX)/lib/cmake/dlview/dlviewConfig.cmake
	$(SUBST) packaging/dlviewConfigVersion.cmake.in > $(PREFIX)/lib/cmake/dlview/dlviewConfigVersion.cmake

## Remove exactly the files `make install PREFIX=...` created (and the now-empty dlview dirs).
uninstall:
	cd $(PREFIX) && rm -f $(INSTALLED)
	-rmdir $(PREFIX)/lib/cmake/dlview 2>/dev/null

## Install into a temporary prefix, build a C program with pkg-config and a
## C++ program with CMake find_package against it, run both, uninstall; then
## `pip install ./python` into a fresh venv and use it from outside the tree;
## then build and run the README's C-with-PyTorch walkthrough.
test-install: lib venv
	PATH="$(abspath $(VENV))/bin:$$PATH" tests/install/run.sh
	tests/install/python.sh
	PATH="$(abspath $(VENV))/bin:$$PATH" tests/install/readme_walkthrough.sh

# ---- hardening: fuzzing, sanitizers, valgrind (issue #8) ---------------------
# Fuzzing uses cargo-fuzz (libFuzzer) on the stable toolchain: RUSTC_BOOTSTRAP=1
# lets stable rustc take the -Zsanitizer=address flag cargo-fuzz passes (with
# FUZZ_SANITIZER=none no unstable flag is needed at all). The targets live in
# fuzz/ (its own workspace, never built by `cargo test`); their seeds in
# fuzz/seeds/<target>/ are replayed by tests/fuzz_corpus.rs in every test run.
FUZZ_SECONDS   ?= 60
FUZZ_SANITIZER ?= address
FUZZ_TARGETS   ?= dlpack_import view_ops index_keys npy_header npy_roundtrip
FUZZ_ENV       := RUSTC_BOOTSTRAP=1
SAN_FLAGS      := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_ENV        := ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:allocator_may_return_null=1 \
                  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
VALGRIND       := valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
# Programs run under the sanitizers: the C tests, the examples, the benchmarks
# (a few iterations: DLVIEW_BENCH_QUICK) and the hardening programs.
SAN_C          = $(sort $(wildcard tests/c/*.c) $(wildcard examples-c/*.c) $(wildcard benches/*.c) $(wildcard tests/hardening/*.c))
# (benches/libtorch_roundtrip.cpp needs PyTorch's headers: benches/libtorch_bench.py builds it.)
LIBTORCH_CXX   = benches/libtorch_roundtrip.cpp
SAN_CXX        = $(sort $(wildcard examples-c/*.cpp) $(filter-out $(LIBTORCH_CXX),$(wildcard benches/*.cpp)) $(wildcard tests/cpp/test_*.cpp))
# Under valgrind: the examples, benchmarks and hardening programs (tests/c_api.rs
# and tests/cpp_api.rs already run the C and C++ tests under valgrind).
VG_C           = $(sort $(wildcard examples-c/*.c) $(wildcard benches/*.c) $(wildcard tests/hardening/*.c))
VG_CXX         = $(sort $(wildcard examples-c/*.cpp) $(filter-out $(LIBTORCH_CXX),$(wildcard benches/*.cpp)))
LINK_LIB       = -Iinclude -Itests/c -Itests/cpp -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -ldlview -lm -pthread

.PHONY: fuzz fuzz-build test-hardening test-fuzz-seeds test-asan test-valgrind

## Build the fuzz targets, then run each for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=600).
## New corpus entries go to fuzz/corpus/<target>/ (ignored), crashes to
## fuzz/artifacts/<target>/; add a reproducer to fuzz/seeds/<target>/ when fixing one.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  dict=; if [ -f fuzz/$$t.dict ]; then dict=-dict=$(abspath fuzz/$$t.dict); fi; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  (cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz run -O --debug-assertions -s $(FUZZ_SANITIZER) $$t corpus/$$t seeds/$$t -- \
	     -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict); \
	done

fuzz-build:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(FUZZ_ENV) $(CARGO) fuzz build -O --debug-assertions -s $(FUZZ_SANITIZER)

## Seeds with overflow checks and debug assertions, the sanitizers, valgrind.
test-hardening: test-fuzz-seeds test-asan test-valgrind

## The fuzz seeds and the bad-input catalogue in a debug build, where
## arithmetic overflow panics (the release run of `cargo test` wraps silently).
test-fuzz-seeds:
	$(CARGO) test -p dlview-capi --test fuzz_corpus --test bad_input --test panic_boundary

## The C and C++ tests, examples, benchmarks and hardening programs built with
## AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer) against
## the (uninstrumented) library, and run.
test-asan: lib fakecuda
	@mkdir -p $(BUILD)/asan
	@exe=$(BUILD)/asan/cuda_fake; \
	 $(CC) $(CSTRICT) $(SAN_FLAGS) tests/fakecuda/cuda_fake.c $(LINK_LIB) -ldl -o $$exe; \
	 echo "== asan tests/fakecuda/cuda_fake.c (fake CUDA driver)"; \
	 DLVIEW_CUDA_DRIVER=$(abspath $(FAKECUDA)) $(SAN_ENV) $$exe > $$exe.log 2>&1 || { cat $$exe.log; echo "FAILED under ASan/UBSan: tests/fakecuda/cuda_fake.c"; exit 1; }
	@set -e; for src in $(SAN_C); do \
	  exe=$(BUILD)/asan/$$(basename $$src .c); \
	  $(CC) $(CSTRICT) $(SAN_FLAGS) -DDLVIEW_BENCH_QUICK $$src $(LINK_LIB) -o $$exe; \
	  echo "== asan $$src"; $(SAN_ENV) $$exe > $$exe.log 2>&1 || { cat $$exe.log; echo "FAILED under ASan/UBSan: $$src"; exit 1; }; \
	done
	@set -e; for src in $(SAN_CXX); do \
	  exe=$(BUILD)/asan/$$(basename $$src .cpp)-cpp; \
	  $(CXX) $(CXXSTRICT) $(SAN_FLAGS) -DDLVIEW_BENCH_QUICK $$src $(LINK_LIB) -o $$exe; \
	  echo "== asan $$src"; $(SAN_ENV) $$exe > $$exe.log 2>&1 || { cat $$exe.log; echo "FAILED under ASan/UBSan: $$src"; exit 1; }; \
	done

## The examples, benchmarks and hardening programs under valgrind (memcheck,
## leaks); any error or definite/indirect leak fails.
test-valgrind: lib
	@mkdir -p $(BUILD)/valgrind
	@set -e; for src in $(VG_C); do \
	  exe=$(BUILD)/valgrind/$$(basename $$src .c); \
	  $(CC) $(CSTRICT) -g -O1 -DDLVIEW_BENCH_QUICK $$src $(LINK_LIB) -o $$exe; \
	  echo "== valgrind $$src"; $(VALGRIND) $$exe > $$exe.log 2>&1 || { cat $$exe.log; echo "FAILED under valgrind: $$src"; exit 1; }; \
	done
	@set -e; for src in $(VG_CXX); do \
	  exe=$(BUILD)/valgrind/$$(basename $$src .cpp)-cpp; \
	  $(CXX) $(CXXSTRICT) -g -O1 -DDLVIEW_BENCH_QUICK $$src $(LINK_LIB) -o $$exe; \
	  echo "== valgrind $$src"; $(VALGRIND) $$exe > $$exe.log 2>&1 || { cat $$exe.log; echo "FAILED under valgrind: $$src"; exit 1; }; \
	done
