"""Shared fixtures for the Python suite: NumPy, PyTorch and JAX are the oracles.

Run with ``make test-python`` (``PYTHONPATH=python``, ``DLVIEW_LIBRARY`` set by
the Makefile). Every test ends with no live storages beyond those it holds:
the ``no_leaks`` fixture checks that after a ``gc.collect()``.
"""

from __future__ import annotations

import gc
import os
import warnings

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
warnings.filterwarnings("ignore", message=".*An NVIDIA GPU may be present.*")

import dlview as dv  # noqa: E402


@pytest.fixture(autouse=True)
def no_leaks(request):
    """Every storage a test creates is released once the test's objects are gone."""
    gc.collect()
    before = dv.live_storage_count()
    yield
    # pytest keeps the test's fixture values in item.funcargs until the end
    # of its protocol; they are torn down already, drop them to count.
    request.node.funcargs.clear()
    report = getattr(request.node, "rep_call", None)
    if report is not None and (report.failed or hasattr(report, "wasxfail")):
        return  # the traceback keeps the test's objects alive
    gc.collect()
    after = dv.live_storage_count()
    assert after <= before, f"{after - before} storages leaked"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
