"""The trigger that waits on FTS jobs, PanDA tasks or Rucio rules through the shared watcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from bmnflow import watch
from bmnflow.errors import BmnflowError


class WaitTrigger(BaseTrigger):
    """Waits until objects of one service end, through the process's batched watcher or the
    deployment's sidecar, never polling on its own and never blocking the loop.

    Its kwargs carry a connection id and object ids, never a credential. Waiting is
    read-only: the trigger may run twice or be rebuilt after a triggerer restart.

    The event is ``{"status": "success" | "error" | "timeout", "kind", "ended": {id:
    outcome}, "pending": {id: state}, "message"}``; ``success`` means every object (or, for
    ``wait_for="any"``, one) reached a terminal state, whatever that state says of the
    object, and ``error`` that one is gone or could not be asked about.

    :param kind: ``fts_job``, ``panda_task`` or ``rucio_rule``.
    :param conn_id: The Airflow connection of the service.
    :param ids: The objects to wait on.
    :param wait_for: ``all`` to wait until every object ended, ``any`` until one did.
    :param timeout: Seconds after which the wait ends with ``timeout``; none when unset.
    """

    def __init__(
        self,
        kind: str,
        conn_id: str,
        ids: list[str],
        wait_for: str = "all",
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        if wait_for not in ("all", "any"):
            raise ValueError(f"wait_for must be 'all' or 'any', not {wait_for!r}")
        self.kind = kind
        self.conn_id = conn_id
        self.ids = [str(i) for i in ids]
        self.wait_for = wait_for
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "kind": self.kind,
                "conn_id": self.conn_id,
                "ids": self.ids,
                "wait_for": self.wait_for,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            report = await self._wait()
        except BmnflowError as error:
            self.log.warning("%s %s: %s", self.kind, ",".join(self.ids[:3]), error.message)
            yield TriggerEvent(self._event("error", watch.Report(), error.message))
            return

        failed = [o for o in report.ended.values() if o.outcome != "terminal"]
        if failed:
            message = "; ".join(f"{o.id}: {o.outcome}: {o.message}" for o in failed)
            yield TriggerEvent(self._event("error", report, message))
        elif report.pending and (self.wait_for == "all" or not report.ended):
            message = f"{len(report.pending)} of {len(self.ids)} not ended after {self.timeout} s"
            yield TriggerEvent(self._event("timeout", report, message))
        else:
            yield TriggerEvent(self._event("success", report, ""))

    async def _wait(self) -> watch.Report:
        return await watch.wait(
            self.kind, self.conn_id, self.ids, timeout=self.timeout, until=self.wait_for
        )

    def _event(self, status: str, report: watch.Report, message: str) -> dict[str, Any]:
        return {
            "status": status,
            "kind": self.kind,
            "ended": {
                key: {
                    "outcome": o.outcome,
                    "state": o.state,
                    "detail": o.detail,
                    "message": o.message,
                    "error_kind": o.error_kind,
                }
                for key, o in report.ended.items()
            },
            "pending": report.pending,
            "message": message,
        }
