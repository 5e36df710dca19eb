"""The operator that copies a list of files through FTS and ends with each file's outcome."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import BaseOperator, Context, conf

from bmnflow import errors
from bmnflow.errors import BmnflowError
from bmnflow.hooks.fts import FtsHook, TransfersInput
from bmnflow.links.fts import JOB_URL_KEY, FtsJobLink
from bmnflow.triggers.fts import FtsJobsTrigger


class FtsTransfersFailedError(BmnflowError):
    """More files failed than the task allows; the per-file table says which and why."""


class FtsBulkTransferOperator(BaseOperator):
    """Copies files through FTS: plans them into FTS jobs, submits them, waits in the
    triggerer, resubmits the files that failed for a recoverable reason, and succeeds when
    every file is FINISHED (or at most ``allowed_failures`` are not).

    Every FTS job id is derived from ``request_key`` and the files, so a retried or resumed
    task finds the jobs it submitted before instead of copying again. The per-file table
    (source used, destination, state, attempts, last reason, FTS job ids, bytes, duration) is
    written as Parquet; a small summary is returned (and so pushed to XCom).

    :param transfers: Rows (dicts with ``sources`` or ``source``, ``destination``, and
        optionally ``filesize``, ``checksum``, ``metadata``, ``activity``, ``source_storage``,
        ``destination_storage``), an Arrow table, or a Parquet path.
    :param request_key: Names the request stably across retries; default
        ``dag_id/task_id/run_id/map_index``.
    :param max_files_per_job: Files in one FTS job at most.
    :param max_active_jobs_per_link: FTS jobs of one link active at once.
    :param max_attempts: Submissions of one file at most, the first included.
    :param job_params: FTS job parameters (``overwrite``, ``verify_checksum``, ``priority``,
        ``retry``, ``job_metadata``, ...).
    :param selection_strategy: ``auto`` or ``orderly`` for files with several sources.
    :param allowed_failures: Files that may end not FINISHED with the task still succeeding.
    :param result_path: Where the per-file Parquet table goes; default next to the task's
        logs.
    :param poll_interval: The first interval between FTS polls, in seconds.
    :param deferrable: Wait in the triggerer (default) instead of holding a worker slot.
    :param fts_conn_id: The Airflow connection of the FTS server.
    """

    template_fields: Sequence[str] = ("transfers", "request_key", "result_path")
    operator_extra_links = (FtsJobLink(),)

    def __init__(
        self,
        *,
        transfers: TransfersInput,
        request_key: str | None = None,
        max_files_per_job: int = 200,
        max_active_jobs_per_link: int = 4,
        max_attempts: int = 3,
        job_params: dict[str, Any] | None = None,
        selection_strategy: str | None = None,
        allowed_failures: int = 0,
        result_path: str | None = None,
        poll_interval: float = 10.0,
        deferrable: bool = True,
        fts_conn_id: str = FtsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.transfers = transfers
        self.request_key = request_key
        self.max_files_per_job = max_files_per_job
        self.max_active_jobs_per_link = max_active_jobs_per_link
        self.max_attempts = max_attempts
        self.job_params = job_params or {}
        self.selection_strategy = selection_strategy
        self.allowed_failures = allowed_failures
        self.result_path = result_path
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.fts_conn_id = fts_conn_id
        self._job_ids: list[str] = []

    def execute(self, context: Context) -> dict[str, Any]:
        return self._step(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") == "error":
            error_class = getattr(errors, str(event.get("error_class")), None)
            if not (isinstance(error_class, type) and issubclass(error_class, BmnflowError)):
                error_class = BmnflowError
            raise error_class(
                f"waiting for FTS jobs failed: {event.get('message')}",
                service="fts",
                server_class=event.get("server_class"),
            )
        # Nothing is carried over from before the deferral: the step finds it all in FTS.
        return self._step(context)

    def on_kill(self) -> None:
        if not self._job_ids:
            return
        self.log.info("cancelling %d FTS job(s) of the killed task", len(self._job_ids))
        FtsHook(self.fts_conn_id).cancel_jobs(self._job_ids)

    def _step(self, context: Context) -> dict[str, Any]:
        hook = FtsHook(self.fts_conn_id)
        key = self._request_key(context)
        if not self.deferrable:
            report, table = hook.transfer(
                self.transfers, key, self._options(), poll_interval=self.poll_interval
            )
            self._note_jobs(context, hook, report["job_ids"])
            return self._finish(context, report, table)

        report, table = hook.transfer_step(self.transfers, key, self._options())
        self._note_jobs(context, hook, report["job_ids"])
        progress = report["progress"]
        self.log.info(
            "FTS transfer %s: %d job(s) submitted, %d adopted, %d active, %d waiting for "
            "their link",
            key,
            progress["submitted"],
            progress["adopted"],
            len(progress["active_job_ids"]),
            progress["waiting"],
        )
        if progress["complete"]:
            return self._finish(context, report, table)

        # With jobs waiting for room on their link, come back as soon as one job ends.
        self.defer(
            trigger=FtsJobsTrigger(
                fts_conn_id=self.fts_conn_id,
                job_ids=progress["active_job_ids"],
                wait_for="any" if progress["waiting"] else "all",
                poll_interval=self.poll_interval,
            ),
            method_name="execute_complete",
        )

    def _finish(self, context: Context, report: dict[str, Any], table: pa.Table) -> dict[str, Any]:
        path = self._result_path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)

        summary = {**report["summary"], "result_path": str(path)}
        not_finished = summary["files"] - summary["finished"]
        self.log.info(
            "FTS transfer done: %d of %d file(s) FINISHED, %d failed (%d final), %d bytes; "
            "per-file table at %s",
            summary["finished"],
            summary["files"],
            not_finished,
            summary["failed_final"],
            summary["bytes"],
            path,
        )
        if not_finished > self.allowed_failures:
            context["ti"].xcom_push(key="summary", value=summary)
            raise FtsTransfersFailedError(
                f"{not_finished} of {summary['files']} file(s) did not reach FINISHED "
                f"({summary['failed_final']} for a final reason, "
                f"{summary['failed_recoverable']} after {self.max_attempts} attempts); "
                f"{self.allowed_failures} allowed; per-file table at {path}",
                service="fts",
                details=summary,
            )
        return summary

    def _note_jobs(self, context: Context, hook: FtsHook, job_ids: list[str]) -> None:
        self._job_ids = job_ids
        if job_ids:
            context["ti"].xcom_push(key=JOB_URL_KEY, value=hook.web_monitor_url(job_ids[0]))

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_files_per_job": self.max_files_per_job,
            "max_active_jobs_per_link": self.max_active_jobs_per_link,
            "max_attempts": self.max_attempts,
            "params": self.job_params,
        }
        if self.selection_strategy:
            options["selection_strategy"] = self.selection_strategy
        return options

    def _request_key(self, context: Context) -> str:
        if self.request_key:
            return self.request_key
        ti = context["ti"]
        return f"{ti.dag_id}/{ti.task_id}/{ti.run_id}/{ti.map_index}"

    def _result_path(self, context: Context) -> Path:
        if self.result_path:
            return Path(self.result_path)
        ti = context["ti"]
        logs = Path(conf.get("logging", "base_log_folder", fallback=os.getcwd()))
        suffix = "" if ti.map_index < 0 else f"_{ti.map_index}"
        return (
            logs
            / f"dag_id={ti.dag_id}"
            / f"run_id={ti.run_id}"
            / f"task_id={ti.task_id}"
            / f"fts_transfers{suffix}.parquet"
        )
