"""dv.set_num_threads / dv.get_num_threads, DLVIEW_NUM_THREADS (a fresh
interpreter per value: the library reads it once), results that do not
depend on the thread count (NumPy and PyTorch as oracles), and a copy in a
child forked after the parent's pool ran (a hang fails, it does not block
the suite)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import dlview as dv

BAD = "the number of threads must be between 0 (all cores) and 1024, not {}"


@pytest.fixture(autouse=True)
def restore_threads():
    yield
    dv.set_num_threads(0)


def test_set_and_get():
    dv.set_num_threads(3)
    assert dv.get_num_threads() == 3
    dv.set_num_threads(1)
    assert dv.get_num_threads() == 1
    dv.set_num_threads(0)
    assert 1 <= dv.get_num_threads() <= os.cpu_count()


@pytest.mark.parametrize("n", [-1, 1025, -(2**31), 2**31, 2**40 + 3])
def test_bad_counts_raise_value_error(n):
    dv.set_num_threads(2)
    with pytest.raises(ValueError) as e:
        dv.set_num_threads(n)
    assert str(e.value) == BAD.format(n)
    assert dv.get_num_threads() == 2


def test_non_integers_raise_type_error():
    with pytest.raises(TypeError):
        dv.set_num_threads("2")
    with pytest.raises(TypeError):
        dv.set_num_threads(2.0)


def _results(a: np.ndarray):
    t = dv.from_dlpack(a, copy=False)
    out = dv.zeros((512, 1024), dtype="float64")
    out.T[...] = t[3]  # a broadcast row, cast, into a transposed view
    return [
        np.asarray(t.T.copy()),
        np.asarray(t.astype("float16")),
        torch.from_dlpack(t.astype("bfloat16")).view(torch.int16).numpy().copy(),
        np.asarray(t[:, ::-1].copy()),
        np.asarray(out),
    ]


def test_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((1024, 512)).astype(np.float32)
    a.view(np.uint32)[::7, 3] = 0x7FC00001 + np.arange(147, dtype=np.uint32)  # NaN payloads
    want = [
        a.T.copy(),
        a.astype(np.float16),
        torch.from_numpy(a).to(torch.bfloat16).view(torch.int16).numpy(),
        a[:, ::-1].copy(),
        np.broadcast_to(a[3].astype(np.float64), (1024, 512)).T.copy(),
    ]
    for n in (1, 2, 4):
        dv.set_num_threads(n)
        got = _results(a)
        for k, (g, w) in enumerate(zip(got, want)):
            # Casts of NaN: libraries pick different NaN payloads (PyTorch's
            # bf16 is 0x7fff); compare those as values, the rest bit for bit.
            if k == 1:
                assert np.array_equal(g, w, equal_nan=True), (n, k)
            elif k == 2:
                as_f32 = lambda b: (b.astype(np.uint32) << 16).view(np.float32)  # noqa: E731
                assert np.array_equal(as_f32(g.view(np.uint16)), as_f32(w.view(np.uint16)), equal_nan=True), n
            else:
                assert g.tobytes() == w.tobytes(), (n, k)
        if n == 1:
            first = [g.tobytes() for g in got]
        else:
            assert [g.tobytes() for g in got] == first, n


def _threads_in_fresh_interpreter(value):
    env = dict(os.environ)
    env.pop("DLVIEW_NUM_THREADS", None)
    if value is not None:
        env["DLVIEW_NUM_THREADS"] = value
    code = "import dlview as dv; print(dv.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


def test_environment_variable():
    default = _threads_in_fresh_interpreter(None)
    assert default >= 1
    assert _threads_in_fresh_interpreter("3") == 3
    assert _threads_in_fresh_interpreter("0") == default
    for bad in ("-2", "1025", "many", ""):
        assert _threads_in_fresh_interpreter(bad) == default, bad


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_copy_in_forked_child():
    dv.set_num_threads(2)
    a = np.arange(1 << 21, dtype=np.float32).reshape(2048, 1024)
    t = dv.from_dlpack(a, copy=False)
    assert np.array_equal(np.asarray(t.T.copy()), a.T)  # the pool ran in the parent
    pid = os.fork()
    if pid == 0:  # the child: copy, report through the exit code
        code = 1
        try:
            ok = np.array_equal(np.asarray(t.T.copy()), a.T)
            ok &= np.array_equal(np.asarray(t.astype("float16")), a.astype(np.float16))
            code = 0 if ok else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's copy hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's pool still works.
    assert np.array_equal(np.asarray(t.T.copy()), a.T)
