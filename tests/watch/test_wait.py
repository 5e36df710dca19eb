"""Waiting on FTS jobs of a real gridsim through the process watcher and through the
sidecar, including a sidecar killed and restarted mid-wait."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bmnflow import watch
from bmnflow.errors import InvalidInputError, NotFoundError
from bmnflow.testing.sidecar import Sidecar

pytestmark = [pytest.mark.gridsim, pytest.mark.timeout(300)]


@pytest.fixture
def sidecar(
    fts_connection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sidecar]:
    """A sidecar holding the grid's FTS connection, configured for the waits of the test."""
    with Sidecar(
        root=tmp_path,
        connections={"fts_watch": fts_connection},
        min_interval=0.5,
        max_interval=2.0,
    ) as sidecar:
        monkeypatch.setenv("BMNFLOW_SIDECAR_URL", sidecar.url)
        yield sidecar


async def test_in_process_waits_end_with_each_jobs_final_state(
    fts_conn: str, submit_jobs: Callable[..., list[str]]
) -> None:
    ids = submit_jobs(6, broken=2)
    before = _requests(watch.stats())

    report = await watch.wait("fts_job", fts_conn, ids, timeout=240)

    assert report.pending == {}
    states = {job_id: outcome.state for job_id, outcome in report.ended.items()}
    assert sorted(states.values()) == [
        "FAILED",
        "FAILED",
        "FINISHED",
        "FINISHED",
        "FINISHED",
        "FINISHED",
    ]
    assert all(outcome.outcome == "terminal" for outcome in report.ended.values())
    assert report.ended[ids[0]].detail["reason"], "a failed job says why"
    print(f"in-process: {_requests(watch.stats()) - before} requests for 6 jobs")


async def test_many_waiters_on_the_same_jobs_share_one_poller(
    fts_conn: str, submit_jobs: Callable[..., list[str]]
) -> None:
    ids = submit_jobs(3)
    before = _requests(watch.stats())

    reports = await asyncio.gather(
        *(watch.wait("fts_job", fts_conn, ids, timeout=240) for _ in range(200))
    )

    assert all(set(r.ended) == set(ids) for r in reports)
    assert {r.ended[ids[0]].state for r in reports} == {"FINISHED"}
    sent = _requests(watch.stats()) - before
    # 200 triggers polling on their own would send 200 requests per poll; one poller sends one.
    assert sent < 200, f"{sent} requests for 200 waiters on 3 jobs"


async def test_a_job_fts_does_not_know_ends_as_gone(fts_conn: str) -> None:
    missing = str(uuid.uuid4())

    report = await watch.wait("fts_job", fts_conn, [missing], timeout=60)

    outcome = report.ended[missing]
    assert outcome.outcome == "gone"
    assert isinstance(outcome.error(), NotFoundError)


async def test_bad_input_is_refused_before_anything_is_sent(fts_conn: str) -> None:
    with pytest.raises(InvalidInputError, match="kind"):
        await watch.wait("fts", fts_conn, ["x"])
    with pytest.raises(InvalidInputError, match="empty"):
        await watch.wait("fts_job", fts_conn, [])
    with pytest.raises(InvalidInputError, match="comma"):
        await watch.wait("fts_job", fts_conn, ["a,b"])


async def test_waits_through_the_sidecar_end_with_the_same_outcomes(
    sidecar: Sidecar, submit_jobs: Callable[..., list[str]]
) -> None:
    ids = submit_jobs(4, broken=1)
    before = _requests(watch.stats())

    report = await watch.wait("fts_job", "fts_watch", ids, timeout=240)

    assert sorted(o.state for o in report.ended.values()) == [
        "FAILED",
        "FINISHED",
        "FINISHED",
        "FINISHED",
    ]
    assert _requests(watch.stats()) == before, "the process itself sent nothing"
    metrics = sidecar.metrics()
    assert 'bmnflow_watch_requests_total{kind="fts_job"' in metrics, metrics


async def test_a_wait_outlives_a_sidecar_killed_and_restarted(
    sidecar: Sidecar, submit_jobs: Callable[..., list[str]]
) -> None:
    ids = submit_jobs(3)
    waiting = asyncio.create_task(watch.wait("fts_job", "fts_watch", ids, timeout=240))
    await asyncio.sleep(1.0)
    assert not waiting.done(), "the jobs are still running"

    sidecar.kill()
    await asyncio.sleep(2.0)
    sidecar.start()
    report = await waiting

    assert report.pending == {}
    assert {o.state for o in report.ended.values()} == {"FINISHED"}


async def test_an_unknown_connection_is_refused_by_the_sidecar(sidecar: Sidecar) -> None:
    with pytest.raises(NotFoundError, match="AIRFLOW_CONN_NOPE"):
        await watch.wait("fts_job", "nope", [str(uuid.uuid4())], timeout=10)


def _requests(stats: list[dict]) -> int:
    return sum(row["requests"] for row in stats if row["kind"] == "fts_job")
