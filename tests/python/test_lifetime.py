"""Lifetimes: who keeps memory alive, deleters that run exactly once,
capsules that cannot be consumed twice, no leaks after many exchanges,
exchanges from several threads, and interpreter shutdown."""

from __future__ import annotations

import array
import gc
import os
import subprocess
import sys
import threading
import weakref

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import dlview as dv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Released:
    """Counts how often a buffer's owner died (the release callback ran)."""

    def __init__(self, owner: object):
        self.count = 0
        weakref.finalize(owner, self._hit)

    def _hit(self) -> None:
        self.count += 1


def tracked_tensor(n: int = 8) -> tuple[dv.Tensor, Released]:
    owner = array.array("d", range(n))
    released = Released(owner)
    t = dv.asarray(owner)  # zero-copy: the storage keeps `owner` alive
    assert t.data_ptr == owner.buffer_info()[0]
    return t, released


def test_buffer_owner_lives_until_last_view():
    t, released = tracked_tensor()
    v = t[2:5]
    del t
    gc.collect()
    assert released.count == 0
    assert v.tolist() == [2.0, 3.0, 4.0]
    del v
    gc.collect()
    assert released.count == 1


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_unconsumed_capsule_runs_deleter_once(max_version):
    t, released = tracked_tensor()
    before = dv.live_storage_count()
    cap = t.__dlpack__(max_version=max_version)
    del t
    gc.collect()
    assert released.count == 0  # the capsule holds the storage
    assert dv.live_storage_count() == before
    del cap
    gc.collect()
    assert released.count == 1
    assert dv.live_storage_count() == before - 1


@pytest.mark.parametrize("max_version", [None, (1, 0)])
def test_consumed_capsule_is_renamed_and_not_freed_by_its_destructor(max_version):
    t, released = tracked_tensor()
    cap = t.__dlpack__(max_version=max_version)
    u = dv.from_dlpack(cap)
    used = "used_dltensor_versioned" if max_version else "used_dltensor"
    assert f'"{used}"' in repr(cap)
    del t, cap
    gc.collect()
    assert released.count == 0
    assert u.tolist() == [float(i) for i in range(8)]
    del u
    gc.collect()
    assert released.count == 1


def test_capsule_consumed_twice_raises():
    t, released = tracked_tensor()
    for cap in (t.__dlpack__(max_version=(1, 0)), t.__dlpack__()):
        u = dv.from_dlpack(cap)
        with pytest.raises(ValueError, match="already consumed"):
            dv.from_dlpack(cap)
        with pytest.raises(Exception):
            torch.from_dlpack(cap)
        del u
    # A capsule PyTorch consumed cannot be consumed by dlview either.
    cap = torch.arange(3).__dlpack__()
    torch.from_dlpack(cap)
    with pytest.raises(ValueError, match="already consumed"):
        dv.from_dlpack(cap)
    del t, cap
    gc.collect()
    assert released.count == 1


def test_producer_deleted_before_consumer_use():
    a = np.arange(10.0)
    t = dv.from_dlpack(a)
    del a
    x = torch.arange(10.0)
    u = dv.from_dlpack(x)
    del x
    j = jnp.arange(10.0)
    w = dv.from_dlpack(j)
    del j
    gc.collect()
    assert t.tolist() == u.tolist() == w.tolist() == [float(i) for i in range(10)]

    src = dv.arange(10, dtype="float64")
    before = dv.live_storage_count()
    tt = torch.from_dlpack(src)
    na = np.from_dlpack(src)
    del src
    gc.collect()
    assert dv.live_storage_count() == before
    assert tt.sum().item() == 45.0 and na.sum() == 45.0
    del tt
    gc.collect()
    assert dv.live_storage_count() == before
    del na
    gc.collect()
    assert dv.live_storage_count() == before - 1


def test_no_live_storage_after_thousands_of_exchanges():
    gc.collect()
    before = dv.live_storage_count()
    t = dv.arange(64, dtype="float32").reshape(8, 8)
    x = torch.arange(16.0)
    a = np.arange(16.0)
    keep = []
    for i in range(3000):
        keep.append(torch.from_dlpack(t[i % 8]))
        keep.append(np.from_dlpack(t.T))
        keep.append(dv.from_dlpack(x))
        keep.append(dv.from_dlpack(a[::2]))
        keep.append(dv.from_dlpack(t.__dlpack__(max_version=(1, 0))))
        t.__dlpack__()  # dropped unconsumed
        if i % 500 == 0:
            keep.append(jnp.from_dlpack(t))
    assert dv.live_storage_count() > before
    del keep, t, x, a
    gc.collect()
    assert dv.live_storage_count() == before


def test_exchanges_from_several_threads():
    gc.collect()
    before = dv.live_storage_count()
    shared = dv.arange(1000, dtype="float64")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(300):
                x = torch.from_dlpack(shared)
                a = np.from_dlpack(shared[k::8])
                back = dv.from_dlpack(x)
                again = dv.from_dlpack(a)
                cap = shared.__dlpack__(max_version=(1, 0))
                if i % 2:
                    dv.from_dlpack(cap)
                assert back.data_ptr == shared.data_ptr
                assert again[0].item() == float(k)
                del x, a, back, again, cap
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    del shared
    gc.collect()
    assert dv.live_storage_count() == before


def test_views_released_on_other_threads():
    t, released = tracked_tensor(1000)
    views = [t[i:] for i in range(50)]
    del t
    gc.collect()
    th = threading.Thread(target=views.clear)
    th.start()
    th.join()
    gc.collect()
    assert released.count == 1


def test_capsule_destructor_keeps_the_exception_in_flight():
    t, released = tracked_tensor()

    def fail_with_capsule():
        cap = t.__dlpack__(max_version=(1, 0))  # noqa: F841 - dies while the exception propagates
        raise KeyError("in flight")

    try:
        fail_with_capsule()
    except KeyError as e:
        caught = e
        cap = t.__dlpack__()
        del cap  # destructor runs while an exception is being handled
        assert sys.exc_info()[1] is caught
    assert caught.args == ("in flight",)
    del t, caught
    gc.collect()
    assert released.count == 1


SHUTDOWN = r"""
import array, threading, dlview as dv, numpy as np, torch
t = dv.asarray(array.array("d", range(100)))
capsules = [t.__dlpack__(), t.__dlpack__(max_version=(1, 0))]
x = torch.from_dlpack(t)
a = np.from_dlpack(t[::2])
cycle = [t]
cycle.append(cycle)
def hold():
    import time
    local = t.__dlpack__()
    time.sleep(30)
threading.Thread(target=hold, daemon=True).start()
print("ok")
"""


def test_interpreter_shutdown_with_live_capsules_and_tensors():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([sys.executable, "-c", SHUTDOWN], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
    assert "Error" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
