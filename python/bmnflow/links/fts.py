"""Operator extra links to FTS jobs in the FTS web monitor."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

#: The XCom key under which FTS operators push the web monitor URL of their first FTS job.
JOB_URL_KEY = "fts_job_url"


class FtsJobLink(BaseOperatorLink):
    """Links a task to the web monitor page of the first FTS job it submitted.

    Limitation: one link per task; the other FTS jobs are in the per-file table.
    """

    name = "FTS job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(ti_key=ti_key, key=JOB_URL_KEY) or ""
