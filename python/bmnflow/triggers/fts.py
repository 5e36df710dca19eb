"""The trigger that waits in the triggerer for FTS jobs to end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from bmnflow import watch
from bmnflow.errors import BmnflowError, TimeoutError


class FtsJobsTrigger(BaseTrigger):
    """Waits until every (or any) of some FTS jobs is terminal through bmnflow's shared
    watcher (in the triggerer or the sidecar), without blocking the loop.

    Its kwargs carry the connection id and job ids, never a credential. Waiting is read-only,
    so the trigger may run twice or be rebuilt after a triggerer restart without harm.

    :param fts_conn_id: The Airflow connection of the FTS server.
    :param job_ids: The FTS jobs to wait for.
    :param wait_for: ``all`` to wait until every job is terminal, ``any`` until one is.
    :param poll_interval: Kept for stored triggers; the shared watcher polls every job at
        its own interval (``BMNFLOW_WATCH_MIN_INTERVAL``, 5 s by default).
    :param timeout: Seconds after which the wait fails; none when unset.
    """

    def __init__(
        self,
        fts_conn_id: str,
        job_ids: list[str],
        wait_for: str = "all",
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.fts_conn_id = fts_conn_id
        self.job_ids = list(job_ids)
        self.wait_for = wait_for
        self.poll_interval = poll_interval
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "fts_conn_id": self.fts_conn_id,
                "job_ids": self.job_ids,
                "wait_for": self.wait_for,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            answer = await wait_jobs(self.fts_conn_id, self.job_ids, self.wait_for, self.timeout)
        except BmnflowError as error:
            self.log.info("FTS jobs %s: %s", ",".join(self.job_ids[:3]), error.message)
            yield TriggerEvent(
                {
                    "status": "error",
                    "job_ids": self.job_ids,
                    "error_class": type(error).__name__,
                    "server_class": error.server_class,
                    "message": error.message,
                }
            )
            return
        yield TriggerEvent({"status": "success", "job_ids": self.job_ids, **answer})


async def wait_jobs(
    conn_id: str, job_ids: list[str], wait_for: str, timeout: float | None
) -> dict[str, Any]:
    """Waits through the shared watcher; answers as the core's FTS wait does: ``terminal``
    (job id, state) pairs, ``active`` and ``missing`` (unknown to FTS) job ids."""
    report = await watch.wait("fts_job", conn_id, job_ids, timeout=timeout, until=wait_for)
    terminal, missing = [], []
    for job_id, outcome in report.ended.items():
        if outcome.outcome == "terminal":
            terminal.append((job_id, outcome.state))
        elif outcome.outcome == "gone":
            missing.append(job_id)
        else:
            raise outcome.error()
    answer = {"terminal": terminal, "active": list(report.pending), "missing": missing}
    if report.pending and (wait_for == "all" or not report.ended):
        raise TimeoutError(
            f"{len(report.pending)} of {len(job_ids)} FTS jobs still active after the timeout",
            service="fts",
            details=answer,
        )
    return answer
