"""dlview's CUDA layer without a GPU.

Runs ``fakecuda_checks.py`` in subprocesses whose ``DLVIEW_CUDA_DRIVER``
names the fake driver of ``tests/fakecuda/`` (``$DLVIEW_FAKECUDA`` when the
Makefile built it, else compiled here with ``cc``): a working fake and one
whose ``cuInit`` fails.
This process itself has no override: on a machine without ``libcuda.so.1``
every CUDA operation must report the driver missing, and tensors "on a GPU"
made elsewhere must still pass through untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import dlview as dv
from fakedevice import device_tensor

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@pytest.fixture(scope="session")
def fake_driver(tmp_path_factory) -> str:
    built = os.environ.get("DLVIEW_FAKECUDA")
    if built and Path(built).is_file():
        return built
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        pytest.skip("no C compiler to build tests/fakecuda/fakecuda.c")
    out = tmp_path_factory.mktemp("fakecuda") / "libfakecuda.so"
    subprocess.run(
        [cc, "-shared", "-fPIC", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
         str(ROOT / "tests/fakecuda/fakecuda.c"), "-o", str(out), "-pthread"],
        check=True,
    )
    return str(out)


def run_checks(driver: str, **env: str) -> None:
    environ = dict(os.environ, DLVIEW_CUDA_DRIVER=driver, **env)
    environ.setdefault("PYTHONPATH", str(ROOT / "python"))
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / "fakecuda_checks.py")],
        env=environ,
        capture_output=True,
        text=True,
        cwd=str(ROOT),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert " passed" in r.stdout and " failed" not in r.stdout, r.stdout


def test_fake_driver(fake_driver):
    run_checks(fake_driver, FAKECUDA_EXPECT="ok")


def test_fake_driver_whose_cuinit_fails(fake_driver):
    run_checks(fake_driver, FAKECUDA_INIT_ERROR="100", FAKECUDA_EXPECT="unavailable")


# ---- this process: no override ---------------------------------------------------------

needs_no_driver = pytest.mark.skipif(
    os.environ.get("DLVIEW_CUDA_DRIVER") is not None or dv.cuda_is_available(),
    reason="a CUDA driver is loaded in this process (the GPU tests cover it)",
)


@needs_no_driver
def test_without_a_driver_every_cuda_operation_is_unavailable():
    assert dv.cuda_device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA is unavailable"):
        dv.zeros((2, 3), device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is unavailable"):
        dv.arange(3).to("cuda:0")
    with pytest.raises(RuntimeError, match="CUDA is unavailable"):
        dv.cuda_mem_get_info()
    assert dv.arange(3).to("cpu", copy=True).tolist() == [0, 1, 2]


@needs_no_driver
def test_without_a_driver_device_tensors_pass_through():
    t = device_tensor(0x2000, (8,))
    for stream in (None, 1, 2, 99):
        back = dv.from_dlpack(t[2:].__dlpack__(stream=stream, max_version=(1, 3)))
        assert back.device == "cuda:0" and back.data_ptr == 0x2000 + 8
    with pytest.raises(BufferError):
        t.copy()
