"""Builds benches/libtorch_roundtrip.cpp against the installed torch wheel
(headers, libtorch_cpu) and the built libdlview.so, and runs it: dlview's C
round trip (export + import + free) beside libtorch's toDLPackVersioned +
fromDLPackVersioned, in one process. Part of `make bench`."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import torch
from torch.utils import cpp_extension

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIBDIR = pathlib.Path(os.environ.get("DLVIEW_LIBRARY", ROOT / "target/release/libdlview.so")).parent


def main() -> int:
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        print("skipped: no C++ compiler")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = pathlib.Path(tmp) / "libtorch_roundtrip"
        abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
        # ATen's headers need C++20.
        cmd = [cxx, "-std=c++20", "-O2", "-w", f"-D_GLIBCXX_USE_CXX11_ABI={abi}", f"-I{ROOT / 'include'}"]
        cmd += [f"-I{p}" for p in cpp_extension.include_paths()]
        cmd += [str(ROOT / "benches/libtorch_roundtrip.cpp"), "-o", str(exe)]
        for lib in [*cpp_extension.library_paths(), str(LIBDIR)]:
            cmd += [f"-L{lib}", f"-Wl,-rpath,{lib}"]
        cmd += ["-ldlview", "-ltorch_cpu", "-lc10"]
        subprocess.run(cmd, check=True)
        return subprocess.run([str(exe)]).returncode


if __name__ == "__main__":
    sys.exit(main())
