"""The trigger that waits in the triggerer for a PanDA task to reach a final status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from bmnflow import watch
from bmnflow.errors import BmnflowError


class PandaTaskTrigger(BaseTrigger):
    """Waits for a task's final status through bmnflow's shared watcher (in the triggerer or
    the sidecar), without blocking the loop.

    Its kwargs carry the connection id, never a credential. Waiting is read-only, so the
    trigger may run twice or be rebuilt after a triggerer restart without harm. When
    ``kill_on_kill`` is set, a user's kill of the deferred Airflow task kills the PanDA task.

    :param task_id: The PanDA task (``jediTaskID``).
    :param panda_conn_id: The Airflow connection of the PanDA server.
    :param poll_interval: Kept for stored triggers; the shared watcher polls at its own
        interval (``BMNFLOW_WATCH_MIN_INTERVAL``, 5 s by default).
    :param max_poll_interval: Kept for stored triggers (``BMNFLOW_WATCH_MAX_INTERVAL``).
    :param kill_on_kill: Kill the PanDA task when a user kills the Airflow task.
    """

    def __init__(
        self,
        task_id: int,
        panda_conn_id: str,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        kill_on_kill: bool = False,
    ) -> None:
        super().__init__()
        self.panda_task_id = int(task_id)
        self.panda_conn_id = panda_conn_id
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.kill_on_kill = kill_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "task_id": self.panda_task_id,
                "panda_conn_id": self.panda_conn_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "kill_on_kill": self.kill_on_kill,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from bmnflow.hooks.panda import PandaHook

        try:
            client = await PandaHook(panda_conn_id=self.panda_conn_id).aget_client()
            task = str(self.panda_task_id)
            ended = (await watch.wait("panda_task", self.panda_conn_id, [task])).ended[task]
            error = ended.error()
            if error is not None:
                raise error
            status = ended.state
            outcome = json.loads(await client.task_outcome_async(self.panda_task_id))
        except BmnflowError as error:
            self.log.info("PanDA task %s: %s", self.panda_task_id, error.message)
            yield TriggerEvent(
                {
                    "status": "error",
                    "task_id": self.panda_task_id,
                    "error_class": type(error).__name__,
                    "message": error.message,
                    "details": error.details,
                }
            )
            return
        self.log.info("PanDA task %s is %s", self.panda_task_id, status)
        yield TriggerEvent({"status": "success", "task_id": self.panda_task_id, "outcome": outcome})

    async def on_kill(self) -> None:
        if not self.kill_on_kill:
            return
        from bmnflow.hooks.panda import PandaHook

        client = await PandaHook(panda_conn_id=self.panda_conn_id).aget_client()
        message = await client.kill_task_async(self.panda_task_id)
        self.log.info("killed PanDA task %s: %s", self.panda_task_id, message)
