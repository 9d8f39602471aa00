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
## tests under tests/c/), then the Python suite.
test: lib
	$(MAKE) test-rust
	$(MAKE) test-python

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
	@echo "no benchmarks yet"

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
