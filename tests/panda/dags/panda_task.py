"""A DAG that drives ``PandaSubmitTaskOperator`` through Airflow's own ``dag.test()``.

The tests run this file as a script, in a fresh ``AIRFLOW_HOME`` whose DAGs folder is this
folder, with the connection in ``AIRFLOW_CONN_PANDA_DEFAULT`` and the task spec, operator
options and report path in ``BMNFLOW_TEST_PANDA_{SPEC,OPTIONS,REPORT}``. It prints one JSON
object with the task states; the operator's summary goes to the report file. With
``BMNFLOW_TEST_PANDA_WATCH`` set to a task id, the DAG waits for it with the sensor instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from bmnflow.operators.panda import PandaSubmitTaskOperator
from bmnflow.sensors.panda import PandaTaskSensor


def submit_and_wait(spec: dict[str, Any], options: dict[str, Any], report: Path) -> DAG:
    """Submit one task and keep the summary the operator returns."""
    with DAG(dag_id="panda_task", schedule=None) as dag:
        submit = PandaSubmitTaskOperator(task_id="submit", spec=spec, **options)

        @task
        def keep(summary: dict[str, Any]) -> None:
            report.write_text(json.dumps(summary))

        keep(submit.output)
    return dag


def watch(task_id: int, report: Path) -> DAG:
    """Wait for a task submitted elsewhere and keep what the sensor returns."""
    with DAG(dag_id="panda_task", schedule=None) as dag:
        sensor = PandaTaskSensor(task_id="watch", task_id_to_watch=task_id, poke_interval=0.2)

        @task
        def keep(outcome: dict[str, Any]) -> None:
            report.write_text(json.dumps(outcome))

        keep(sensor.output)
    return dag


# dag.test() finds the DAG by parsing the DAGs folder, in the same environment.
if "BMNFLOW_TEST_PANDA_WATCH" in os.environ:
    dag = watch(
        int(os.environ["BMNFLOW_TEST_PANDA_WATCH"]),
        Path(os.environ["BMNFLOW_TEST_PANDA_REPORT"]),
    )
elif "BMNFLOW_TEST_PANDA_SPEC" in os.environ:
    dag = submit_and_wait(
        json.loads(Path(os.environ["BMNFLOW_TEST_PANDA_SPEC"]).read_text()),
        json.loads(Path(os.environ["BMNFLOW_TEST_PANDA_OPTIONS"]).read_text()),
        Path(os.environ["BMNFLOW_TEST_PANDA_REPORT"]),
    )


if __name__ == "__main__":
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"run": str(run.state), "tasks": states}))
