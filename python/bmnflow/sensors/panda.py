"""The sensor that waits for a PanDA task submitted elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk import BaseSensorOperator, Context

from bmnflow import errors
from bmnflow.hooks.panda import PandaHook
from bmnflow.operators.panda import FINAL_STATES
from bmnflow.triggers.panda import PandaTaskTrigger


class PandaTaskSensor(BaseSensorOperator):
    """Waits until a PanDA task reaches a final status; succeeds on ``success_states``.

    Any other final status fails the sensor. The task is only read, never killed.

    :param task_id_to_watch: The PanDA task (``jediTaskID``).
    :param success_states: Final states that count as success. Default ``("done",)``.
    :param panda_conn_id: The Airflow connection of the PanDA server.
    :param deferrable: Wait in the triggerer rather than poking from a worker.
    :param max_poll_interval: The longest interval between polls when deferred, in seconds.
    """

    template_fields: Sequence[str] = ("task_id_to_watch",)

    def __init__(
        self,
        *,
        task_id_to_watch: int | str,
        success_states: Sequence[str] = ("done",),
        panda_conn_id: str = PandaHook.default_conn_name,
        deferrable: bool = True,
        max_poll_interval: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.task_id_to_watch = task_id_to_watch
        self.success_states = tuple(success_states)
        self.panda_conn_id = panda_conn_id
        self.deferrable = deferrable
        self.max_poll_interval = max_poll_interval

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return PandaHook(self.panda_conn_id).client.task_outcome(int(self.task_id_to_watch))
        self.defer(
            trigger=PandaTaskTrigger(
                task_id=int(self.task_id_to_watch),
                panda_conn_id=self.panda_conn_id,
                poll_interval=self.poke_interval,
                max_poll_interval=self.max_poll_interval,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Context) -> bool:
        status = PandaHook(self.panda_conn_id).client.task_status(int(self.task_id_to_watch))
        self.log.info("PanDA task %s is %s", self.task_id_to_watch, status)
        if status not in FINAL_STATES:
            return False
        return self._judge(status)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resumes after the trigger fired."""
        if event["status"] != "success":
            error_class = getattr(errors, str(event.get("error_class")), errors.BmnflowError)
            raise error_class(event["message"], service="panda", details=event.get("details"))
        self._judge(event["outcome"]["status"])
        return event["outcome"]

    def _judge(self, status: str) -> bool:
        if status in self.success_states:
            return True
        raise AirflowException(
            f"PanDA task {self.task_id_to_watch} ended {status}, not {self.success_states}"
        )
