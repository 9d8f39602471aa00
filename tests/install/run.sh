#!/usr/bin/env bash
# Installs dlview into a temporary prefix and builds two consumers against it
# with no path into the source tree: C via pkg-config, C++ via CMake.
# Then uninstalls and checks that nothing is left behind.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

make -s -C "$root" install PREFIX="$prefix"
test "$(readlink "$prefix/lib/libdlview.so")" = "libdlview.so.0"
soname=$(objdump -p "$prefix/lib/libdlview.so" | awk '/SONAME/ {print $2}')
test "$soname" = "libdlview.so.0" || { echo "soname is '$soname'"; exit 1; }

cd "$work"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$root/tests/install/consumer.c" $(pkg-config --cflags --libs dlview) \
   -Wl,-rpath,"$prefix/lib" -o c_consumer
./c_consumer

cp -r "$root/tests/install/cmake" cmake_src
cmake -S cmake_src -B cmake_build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$prefix/lib" >/dev/null
cmake --build cmake_build >/dev/null
./cmake_build/consumer

make -s -C "$root" uninstall PREFIX="$prefix"
left=$(find "$prefix" -type f -o -type l)
test -z "$left" || { echo "uninstall left: $left"; exit 1; }
echo "install test: 2 passed, 0 failed"
