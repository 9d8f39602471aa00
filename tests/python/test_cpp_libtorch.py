"""The C++ header against libtorch: build tests/cpp/libtorch_roundtrip.cpp
against the installed torch wheel's headers and libtorch_cpu, in both
include orders of dlview.h and ATen/dlpack.h, and run it."""

import os
import pathlib
import shutil
import subprocess

import pytest

torch = pytest.importorskip("torch")
from torch.utils import cpp_extension  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
LIBDIR = pathlib.Path(os.environ.get("DLVIEW_LIBRARY", ROOT / "target/release/libdlview.so")).parent


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
@pytest.mark.parametrize("dlview_first", [True, False], ids=["dlview-first", "aten-first"])
def test_libtorch_roundtrip(tmp_path, dlview_first):
    exe = tmp_path / "roundtrip"
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    # ATen 2.15 requires C++20; dlview.hpp itself is C++17 and compiles under both.
    cmd = ["g++", "-std=c++20", "-O0", "-w", f"-D_GLIBCXX_USE_CXX11_ABI={abi}", f"-I{ROOT / 'include'}"]
    cmd += [f"-I{p}" for p in cpp_extension.include_paths()]
    if dlview_first:
        cmd.append("-DDLVIEW_FIRST")
    cmd += [str(ROOT / "tests/cpp/libtorch_roundtrip.cpp"), "-o", str(exe)]
    for lib in [*cpp_extension.library_paths(), str(LIBDIR)]:
        cmd += [f"-L{lib}", f"-Wl,-rpath,{lib}"]
    cmd += ["-ldlview", "-ltorch_cpu", "-lc10"]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-4000:]
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "libtorch round trip ok" in run.stdout
