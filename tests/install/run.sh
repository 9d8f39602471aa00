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

# The soname follows docs/versioning.md: libdlview.so.0.<minor> while 0.x
# (each minor may break the ABI), libdlview.so.<major> from 1.0 on; the
# links are libdlview.so -> soname -> libdlview.so.<version>.
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then want_soname="libdlview.so.0.$minor"; else want_soname="libdlview.so.$major"; fi
test "$(readlink "$prefix/lib/libdlview.so")" = "$want_soname" || { echo "libdlview.so -> $(readlink "$prefix/lib/libdlview.so")"; exit 1; }
test "$(readlink "$prefix/lib/$want_soname")" = "libdlview.so.$version" || { echo "$want_soname is not a link to libdlview.so.$version"; exit 1; }
soname=$(objdump -p "$prefix/lib/libdlview.so" | awk '/SONAME/ {print $2}')
test "$soname" = "$want_soname" || { echo "soname is '$soname', want '$want_soname'"; exit 1; }
build_soname=$(objdump -p "$root/target/release/libdlview.so" | awk '/SONAME/ {print $2}')
test "$build_soname" = "$want_soname" || { echo "target/release/libdlview.so has soname '$build_soname'"; exit 1; }

cd "$work"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cc -std=c11 -Wall -Wextra -Werror "$root/tests/install/consumer.c" $(pkg-config --cflags --libs dlview) \
   -Wl,-rpath,"$prefix/lib" -o c_consumer
./c_consumer

cp -r "$root/tests/install/cmake" cmake_src
cmake -S cmake_src -B cmake_build -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_RPATH="$prefix/lib" >/dev/null
cmake --build cmake_build >/dev/null
./cmake_build/consumer

# The CMake version file agrees with the soname: while 0.x only the same
# MAJOR.MINOR (at least the version asked for) is compatible, from 1.0 on
# the same major. Checked for this version as installed, and for other
# versions through the template alone. Each request: "<version or range>|<found|not found>".
checked=0
check_versions() {  # prefix version
  local prefix=$1 version=$2 major minor next_minor entry request want got
  major=${version%%.*}
  minor=${version#*.}; minor=${minor%%.*}
  local requests=("none|found" "$version|found" "$version.1|not found")
  if [ "$major" = 0 ]; then
    next_minor="0.$((minor + 1))"
    requests+=("0.$minor|found" "$next_minor|not found" "1|not found" "0.$minor...$next_minor|found"
               "0.$minor...<$next_minor|found" "$version.1...$next_minor|not found")
    if [ "$minor" -gt 0 ]; then
      requests+=("0.$((minor - 1))|not found" "0|not found" "0.$((minor - 1))...$next_minor|not found")
    fi
  else
    requests+=("$major|found" "$major.0|found" "$((major + 1))|not found" "$major...$((major + 1))|found")
    if [ "$major" -gt 1 ]; then requests+=("$((major - 1))|not found"); fi
  fi
  for entry in "${requests[@]}"; do
    request=${entry%%|*}
    want=${entry#*|}
    rm -rf versions_build
    got=$(cmake -S "$root/tests/install/cmake_versions" -B versions_build -DREQUEST="$request" \
            -DCMAKE_PREFIX_PATH="$prefix" | sed -n "s/^-- dlview .*: //p")
    test "$got" = "$want" || { echo "dlview $version, find_package(dlview $request): $got, want $want"; exit 1; }
    checked=$((checked + 1))
  done
}
check_versions "$prefix" "$version"
for other in 0.3.2 1.4.0 2.0.0; do
  fake="$work/fake-$other"
  mkdir -p "$fake/lib/cmake/dlview"
  subst=(-e "s|@VERSION@|$other|g" -e "s|@MAJOR@|${other%%.*}|g" -e "s|@MINOR@|$(echo "$other" | cut -d. -f2)|g"
         -e "s|@PREFIX@|$fake|g" -e "s|@SONAME@|libdlview.so.x|g")
  sed "${subst[@]}" "$root/packaging/dlviewConfigVersion.cmake.in" > "$fake/lib/cmake/dlview/dlviewConfigVersion.cmake"
  sed "${subst[@]}" "$root/packaging/dlviewConfig.cmake.in" > "$fake/lib/cmake/dlview/dlviewConfig.cmake"
  check_versions "$fake" "$other"
done

make -s -C "$root" uninstall PREFIX="$prefix"
left=$(find "$prefix" -type f -o -type l)
test -z "$left" || { echo "uninstall left: $left"; exit 1; }
echo "install test: 2 consumers and $checked find_package version requests passed, 0 failed"
