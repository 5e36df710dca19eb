"""The bridge between the Rust core and Python: errors, panics, async calls, the GIL."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
import threading
import time

import pytest

from bmnflow import errors
from bmnflow._core import diagnostics


def test_a_panic_becomes_internal_error_not_an_abort():
    with pytest.raises(errors.InternalError, match="boom 42"):
        diagnostics.panic("boom 42")
    with pytest.raises(errors.InternalError, match="task boom"):
        diagnostics.panic_blocking("task boom")

    # The process survived and the runtime still works after the panic.
    assert diagnostics.sleep_blocking(0.001) == pytest.approx(0.001)


async def test_a_panic_in_an_awaited_future_becomes_internal_error():
    with pytest.raises(errors.InternalError, match="async boom"):
        await diagnostics.panic_async("async boom")
    assert await diagnostics.panic_async("") is True


async def test_cancelling_the_awaitable_cancels_the_rust_future():
    before = diagnostics.sleeps_dropped()

    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(diagnostics.sleep(30.0), timeout=0.05)

    # The abort reaches the Rust task on the runtime thread shortly after.
    for _ in range(100):
        if diagnostics.sleeps_dropped() > before:
            break
        await asyncio.sleep(0.01)
    assert diagnostics.sleeps_dropped() == before + 1


async def test_many_awaitables_run_concurrently():
    started = time.monotonic()
    results = await asyncio.gather(*(diagnostics.sleep(0.2) for _ in range(200)))
    assert results == [0.2] * 200
    assert time.monotonic() - started < 5, "200 sleeps of 0.2 s must overlap"


def test_blocking_calls_release_the_interpreter():
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    diagnostics.sleep_blocking(0.3)
    done.set()
    counter.join()
    # With the GIL held for 0.3 s the counting thread could not have run at all.
    assert ticks > 20


def test_errors_keep_their_fields_through_pickle():
    error = errors.NotFoundError(
        "rule abc not found", service="rucio", server_class="RuleNotFound", status=404
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.NotFoundError
    assert (copy.message, copy.service, copy.server_class, copy.status) == (
        "rule abc not found",
        "rucio",
        "RuleNotFound",
        404,
    )


def test_hierarchy_lets_callers_catch_builtin_categories():
    assert issubclass(errors.TimeoutError, TimeoutError)
    assert issubclass(errors.TransportError, ConnectionError)
    assert issubclass(errors.InvalidInputError, ValueError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.BmnflowError)


_EXIT_WHILE_BUSY = """
import asyncio, logging
import bmnflow
from bmnflow._core import diagnostics

logging.basicConfig(level=logging.DEBUG)
bmnflow.sync_log_level()

async def main():
    # Results in flight and Rust threads logging while the interpreter goes away.
    pending = [asyncio.ensure_future(diagnostics.sleep(0.001 * i)) for i in range(200)]
    await asyncio.sleep(0.05)
    for i in range(50):
        diagnostics.log("debug", "busy", {"i": i})
    return len(pending)

asyncio.run(main())
"""


def test_exit_with_rust_work_in_flight_is_clean():
    # CPython kills threads that take the interpreter lock during finalization; Rust frames
    # cannot survive that, so an unguarded bridge aborts the process at exit now and then.
    for attempt in range(10):
        result = subprocess.run(
            [sys.executable, "-c", _EXIT_WHILE_BUSY],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (attempt, result.stderr[-2000:])


def test_doctor_runs():
    result = subprocess.run(
        [sys.executable, "-m", "bmnflow", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok: a Rust panic becomes bmnflow.errors.InternalError" in result.stdout
    assert "ok: an async Rust call was awaited" in result.stdout
