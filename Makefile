# dlview build entry points. A new user needs two commands:
#   make demo   builds the library and runs the C/C++ examples (no Python needed)
#   make test   installs what the tests need (.venv with numpy, torch, jax) and runs every test

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
# The Python package finds the library through this (see python/dlview/_lib.py).
export DLVIEW_LIBRARY ?= $(abspath $(LIBDIR))/libdlview.so

.PHONY: all lib header demo test test-rust test-python venv bench clean

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

## Everything: Rust unit/integration tests (they also build and run the C
## tests under tests/c/), the Python suite, and the install test.
test: lib
	$(MAKE) test-rust
	$(MAKE) test-python
	$(MAKE) test-install

test-rust:
	$(CARGO) test --release

## The Python virtual environment, created once and cached in .venv/.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-test.txt
	touch $@

test-python: lib venv
	@if [ -d tests/python ]; then PYTHONPATH=python $(VPY) -m pytest -q tests/python; \
	 else echo "no Python tests yet"; fi

## Benchmarks: ratios against NumPy/PyTorch measured in the same run.
bench: lib
	@mkdir -p $(BUILD)
	$(CC) -O2 $(CSTRICT) -Iinclude benches/roundtrip.c -L$(LIBDIR) -Wl,-rpath,$(abspath $(LIBDIR)) -ldlview -o $(BUILD)/roundtrip
	$(BUILD)/roundtrip
	$(MAKE) venv
	$(VPY) benches/npy_bench.py

clean:
	$(CARGO) clean
	rm -rf $(BUILD)

# ---- installation ------------------------------------------------------------
PREFIX  ?= /usr/local
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
MAJOR   := $(word 1,$(subst ., ,$(VERSION)))
MINOR   := $(word 2,$(subst ., ,$(VERSION)))
SUBST    = sed -e 's|@PREFIX@|$(abspath $(PREFIX))|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@MINOR@|$(MINOR)|g'
# Exactly what `install` creates, so `uninstall` removes exactly that.
INSTALLED = lib/libdlview.so.$(VERSION) lib/libdlview.so.$(MAJOR) lib/libdlview.so lib/libdlview.a \
            include/dlview.h include/dlview.hpp lib/pkgconfig/dlview.pc \
            lib/cmake/dlview/dlviewConfig.cmake lib/cmake/dlview/dlviewConfigVersion.cmake

.PHONY: install uninstall test-install

## Install the library (versioned soname), headers, pkg-config and CMake files under PREFIX.
install: lib
	install -d $(PREFIX)/lib/pkgconfig $(PREFIX)/lib/cmake/dlview $(PREFIX)/include
	install -m 755 $(LIBDIR)/libdlview.so $(PREFIX)/lib/libdlview.so.$(VERSION)
	ln -sf libdlview.so.$(VERSION) $(PREFIX)/lib/libdlview.so.$(MAJOR)
	ln -sf libdlview.so.$(MAJOR) $(PREFIX)/lib/libdlview.so
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
## C++ program with CMake find_package against it, run both, uninstall.
test-install: lib venv
	PATH="$(abspath $(VENV))/bin:$$PATH" tests/install/run.sh
