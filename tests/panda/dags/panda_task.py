"""A DAG that drives ``PandaSubmitTaskOperator`` through Airflow's own ``dag.test()``.

The tests run this file as a script, in a fresh ``AIRFLOW_HOME`` whose DAGs folder is this
folder, with the connection in ``AIRFLOW_CONN_PANDA_DEFAULT`` and the task spec, operator
options and report path in ``BMNFLOW_TEST_PANDA_{SPEC,OPTIONS,REPORT}``. It prints one JSON
object with the task states; the operator's summary goes to the report file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from bmnflow.operators.panda import PandaSubmitTaskOperator


def submit_and_wait(spec: dict[str, Any], options: dict[str, Any], report: Path) -> DAG:
    """Submit one task and keep the summary the operator returns."""
    with DAG(dag_id="panda_task", schedule=None) as dag:
        submit = PandaSubmitTaskOperator(task_id="submit", spec=spec, **options)

        @task
        def keep(summary: dict[str, Any]) -> None:
            report.write_text(json.dumps(summary))

        keep(submit.output)
    return dag


# dag.test() finds the DAG by parsing the DAGs folder, in the same environment.
if "BMNFLOW_TEST_PANDA_SPEC" in os.environ:
    dag = submit_and_wait(
        json.loads(Path(os.environ["BMNFLOW_TEST_PANDA_SPEC"]).read_text()),
        json.loads(Path(os.environ["BMNFLOW_TEST_PANDA_OPTIONS"]).read_text()),
        Path(os.environ["BMNFLOW_TEST_PANDA_REPORT"]),
    )


if __name__ == "__main__":
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"run": str(run.state), "tasks": states}))
