"""The sensor that waits for FTS jobs submitted elsewhere, deferring to the triggerer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, Context

from bmnflow import errors
from bmnflow.errors import BmnflowError
from bmnflow.hooks.fts import FtsHook
from bmnflow.triggers.fts import FtsJobsTrigger

#: Job states that end a wait.
TERMINAL_STATES = ("FINISHED", "FINISHEDDIRTY", "FAILED", "CANCELED")


class FtsJobsFailedError(BmnflowError):
    """Some FTS jobs ended in a state the sensor does not accept."""


class FtsJobSensor(BaseSensorOperator):
    """Waits until FTS jobs are terminal; fails when one ends in a refused state or is unknown.

    :param job_ids: The FTS jobs (one id or a list).
    :param accepted_states: Terminal states that count as success; default FINISHED only.
    :param deferrable: Wait in the triggerer (default) instead of holding a worker slot.
    :param fts_conn_id: The Airflow connection of the FTS server.
    """

    template_fields: Sequence[str] = ("job_ids",)

    def __init__(
        self,
        *,
        job_ids: str | list[str],
        accepted_states: Sequence[str] = ("FINISHED",),
        deferrable: bool = True,
        fts_conn_id: str = FtsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 10.0)
        super().__init__(**kwargs)
        self.job_ids = job_ids
        self.accepted_states = tuple(accepted_states)
        self.deferrable = deferrable
        self.fts_conn_id = fts_conn_id

    def _ids(self) -> list[str]:
        return [self.job_ids] if isinstance(self.job_ids, str) else list(self.job_ids)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=FtsJobsTrigger(
                fts_conn_id=self.fts_conn_id,
                job_ids=self._ids(),
                wait_for="all",
                poll_interval=self.poke_interval,
                timeout=self.timeout,
            ),
            method_name="execute_complete",
        )
        return None

    def poke(self, context: Context) -> bool:
        jobs = FtsHook(self.fts_conn_id).job_statuses(self._ids())
        states = {job["job_id"]: job.get("job_state") for job in jobs}
        if any(state not in TERMINAL_STATES for state in states.values() if state):
            return False
        self._judge(
            [(job_id, state) for job_id, state in states.items() if state],
            [job_id for job_id, state in states.items() if not state],
        )
        return True

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        if event.get("status") == "error":
            error_class = getattr(errors, str(event.get("error_class")), None)
            if not (isinstance(error_class, type) and issubclass(error_class, BmnflowError)):
                error_class = BmnflowError
            raise error_class(
                f"waiting for FTS jobs failed: {event.get('message')}",
                service="fts",
                server_class=event.get("server_class"),
            )
        self._judge([tuple(pair) for pair in event["terminal"]], event["missing"])

    def _judge(self, terminal: list[Any], missing: list[str]) -> None:
        refused = [
            f"{job_id} {state}" for job_id, state in terminal if state not in self.accepted_states
        ]
        refused += [f"{job_id} unknown to FTS" for job_id in missing]
        if refused:
            raise FtsJobsFailedError(
                f"{len(refused)} of {len(self._ids())} FTS job(s) not accepted: "
                + ", ".join(refused[:10]),
                service="fts",
            )
        self.log.info("all %d FTS job(s) ended in an accepted state", len(terminal))
