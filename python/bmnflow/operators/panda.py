"""The operator that submits a BM@N task to PanDA and waits for it to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk import BaseOperator, Context

from bmnflow import errors
from bmnflow.hooks.panda import PandaHook, task_url
from bmnflow.links.panda import TASK_URL_KEY, PandaTaskLink
from bmnflow.triggers.panda import PandaTaskTrigger

#: Task states after which nothing happens without a command (``exhausted`` needs a person).
FINAL_STATES = frozenset({"done", "finished", "failed", "aborted", "broken", "exhausted"})

#: The ``task_state_store`` keys that let a retried Airflow task find its PanDA task.
TASK_ID_KEY = "panda_task_id"
RETRIES_KEY = "panda_auto_retries"


class PandaSubmitTaskOperator(BaseOperator):
    """Submits a BM@N task to PanDA, waits for its final status, and returns its summary.

    The spec is validated before anything is sent. Submission is idempotent twice over: the
    task name is unique on the server (a resubmission names the existing task), and the task
    id is kept in the Airflow task's state so that a retried Airflow task reconnects to it.
    A task that ends ``finished`` (some jobs failed for good) is retried on the server up to
    ``auto_retries`` times. Killing the Airflow task kills the PanDA task and its jobs.

    The returned summary holds the task id, its status, its jobs by state, its output and log
    datasets, and the errors of its failed jobs.

    :param spec: The BM@N task spec (``name``, ``vo``, ``processing_type``,
        ``transformation``, ``input_dataset``, ``output_dataset``, ``log_dataset``,
        ``outputs``, ``job_parameters``, ``split``, ...), see ``bmnflow._core.render_task_spec``.
    :param panda_conn_id: The Airflow connection of the PanDA server.
    :param deferrable: Wait in the triggerer rather than holding a worker slot.
    :param auto_retries: How many times a task that ends ``finished`` is retried.
    :param fail_on_finished: Fail when the task still ends ``finished`` after the retries;
        otherwise return its summary.
    :param poll_interval: The first interval between status polls, in seconds.
    :param max_poll_interval: The longest interval between status polls, in seconds.
    """

    template_fields: Sequence[str] = ("spec",)
    operator_extra_links = (PandaTaskLink(),)

    def __init__(
        self,
        *,
        spec: dict[str, Any],
        panda_conn_id: str = PandaHook.default_conn_name,
        deferrable: bool = True,
        auto_retries: int = 0,
        fail_on_finished: bool = True,
        poll_interval: float = 30.0,
        max_poll_interval: float = 300.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.panda_conn_id = panda_conn_id
        self.deferrable = deferrable
        self.auto_retries = auto_retries
        self.fail_on_finished = fail_on_finished
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self._panda_task_id: int | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        hook = PandaHook(self.panda_conn_id)
        task_id = self._stored(context, TASK_ID_KEY)
        if task_id is not None:
            status = hook.client.task_status(int(task_id))
            self.log.info("reconnecting to PanDA task %s (%s)", task_id, status)
        else:
            task_id = self._submit(context, hook)
        self._panda_task_id = int(task_id)
        self._note_task(context, hook, self._panda_task_id)
        retries = int(self._stored(context, RETRIES_KEY) or 0)
        return self._wait(context, hook, self._panda_task_id, retries)

    def execute_complete(
        self, context: Context, event: dict[str, Any], retries: int = 0
    ) -> dict[str, Any]:
        """Resumes after the trigger fired: concludes, or retries and defers again."""
        self._panda_task_id = int(event["task_id"])
        # The state store outlives the deferral's kwargs, which a resumed run may not carry.
        retries = max(retries, int(self._stored(context, RETRIES_KEY) or 0))
        if event["status"] != "success":
            error_class = getattr(errors, str(event.get("error_class")), errors.BmnflowError)
            raise error_class(event["message"], service="panda", details=event.get("details"))
        return self._conclude(context, PandaHook(self.panda_conn_id), event["outcome"], retries)

    def on_kill(self) -> None:
        if self._panda_task_id is None:
            return
        message = PandaHook(self.panda_conn_id).client.kill_task(self._panda_task_id)
        self.log.info("killed PanDA task %s: %s", self._panda_task_id, message)

    def _submit(self, context: Context, hook: PandaHook) -> int:
        # Limitation: the server finds a duplicate unique name only for taskType anal; other
        # task types rely on the task id kept in the task state store.
        submission = hook.client.submit_spec(self.spec)
        task_id = int(submission["task_id"])
        if submission["created"]:
            self.log.info("submitted PanDA task %s (%s)", task_id, self.spec.get("name"))
        else:
            self.log.info("PanDA task %s exists already: %s", task_id, submission["message"])
        self._store(context, TASK_ID_KEY, task_id)
        return task_id

    def _wait(
        self, context: Context, hook: PandaHook, task_id: int, retries: int
    ) -> dict[str, Any]:
        if self.deferrable:
            if hook.client.task_status(task_id) not in FINAL_STATES:
                self.defer(
                    trigger=PandaTaskTrigger(
                        task_id=task_id,
                        panda_conn_id=self.panda_conn_id,
                        poll_interval=self.poll_interval,
                        max_poll_interval=self.max_poll_interval,
                        kill_on_kill=True,
                    ),
                    method_name="execute_complete",
                    kwargs={"retries": retries},
                )
        else:
            asyncio.run(self._wait_in_core(hook, task_id))
        return self._conclude(context, hook, hook.client.task_outcome(task_id), retries)

    async def _wait_in_core(self, hook: PandaHook, task_id: int) -> str:
        # The core's awaitable needs a running event loop to be created in.
        return await hook.client.wait_for_task(
            task_id, initial=self.poll_interval, max_interval=self.max_poll_interval
        )

    def _conclude(
        self, context: Context, hook: PandaHook, outcome: dict[str, Any], retries: int
    ) -> dict[str, Any]:
        task_id, status = int(outcome["task_id"]), outcome["status"]
        summary = {**outcome, "auto_retries": retries}
        self.log.info(
            "PanDA task %s is %s; jobs by state %s", task_id, status, outcome["jobs_by_state"]
        )
        if status == "done":
            return summary
        if status == "finished" and retries < self.auto_retries:
            message = hook.client.retry_task(task_id)
            self.log.info(
                "retrying PanDA task %s (%d/%d): %s",
                task_id,
                retries + 1,
                self.auto_retries,
                message,
            )
            self._store(context, RETRIES_KEY, retries + 1)
            self._await_restart(hook, task_id)
            return self._wait(context, hook, task_id, retries + 1)
        if status == "finished" and not self.fail_on_finished:
            return summary
        failures = "; ".join(
            f"PandaID {job['panda_id']}: {job['error']}" for job in outcome["failed_jobs"][:5]
        )
        raise AirflowException(
            f"PanDA task {task_id} ended {status} after {retries} automatic retries; "
            f"{outcome['failed_job_count']} failed jobs: {failures or 'none recorded'}"
        )

    def _await_restart(self, hook: PandaHook, task_id: int) -> None:
        # A real server runs the retry command "in a few minutes": until then the task still
        # shows its final status, which must not be read as the outcome of the retry.
        deadline = time.monotonic() + 900
        while hook.client.task_status(task_id) in FINAL_STATES:
            if time.monotonic() > deadline:
                raise AirflowException(f"PanDA task {task_id} did not restart after its retry")
            time.sleep(min(self.poll_interval, 10.0))

    def _note_task(self, context: Context, hook: PandaHook, task_id: int) -> None:
        context["ti"].xcom_push(key="panda_task_id", value=task_id)
        url = task_url(hook.monitor_url(), task_id)
        if url:
            context["ti"].xcom_push(key=TASK_URL_KEY, value=url)

    @staticmethod
    def _stored(context: Context, key: str) -> Any:
        store = context.get("task_state_store")
        return store.get(key) if store is not None else None

    def _store(self, context: Context, key: str, value: Any) -> None:
        store = context.get("task_state_store")
        if store is None:
            self.log.warning(
                "no task_state_store: a retried Airflow task relies on the "
                "unique task name alone to find PanDA task %s",
                value,
            )
            return
        store.set(key, value)
