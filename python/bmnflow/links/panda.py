"""Operator extra links to tasks in the PanDA monitor."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

#: The XCom key under which operators push the monitor URL of their PanDA task.
TASK_URL_KEY = "panda_task_url"


class PandaTaskLink(BaseOperatorLink):
    """Links an Airflow task to the page of its PanDA task in the PanDA monitor."""

    name = "PanDA task"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(ti_key=ti_key, key=TASK_URL_KEY) or ""
