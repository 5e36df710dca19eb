"""DAGs that drive the FTS operator and sensor through Airflow's own ``dag.test()``.

``test_fts_airflow.py`` copies this file into the DAGs folder of a fresh ``AIRFLOW_HOME`` (where
``dag.test()`` finds the DAG again when it syncs the folder), describes the DAG in
``BMNFLOW_FTS_TEST_DAG`` and runs it as a script, with the connection in
``AIRFLOW_CONN_FTS_DEFAULT``; it prints one JSON object: the run's and the tasks' states.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from bmnflow.operators.fts import FtsBulkTransferOperator
from bmnflow.sensors.fts import FtsJobSensor


def bulk(
    transfers: str, request_key: str, allowed_failures: int, report: Path, deferrable: bool
) -> DAG:
    """Copy the files of a Parquet list with few files per FTS job and few jobs per link, so
    that a deferrable task defers and comes back several times."""
    with DAG(dag_id="fts_bulk", schedule=None) as dag:
        copy = FtsBulkTransferOperator(
            task_id="copy",
            transfers=transfers,
            request_key=request_key,
            max_files_per_job=40,
            max_active_jobs_per_link=2,
            max_attempts=2,
            allowed_failures=allowed_failures,
            result_path=str(report.with_suffix(".parquet")),
            poll_interval=0.2,
            deferrable=deferrable,
            job_params={"overwrite": False, "priority": 4, "job_metadata": {"run": 8}},
        )

        @task
        def keep(summary: dict[str, Any]) -> None:
            report.write_text(json.dumps(summary))

        keep(copy.output)
    return dag


def sensor(job_ids: list[str]) -> DAG:
    """Wait for FTS jobs submitted elsewhere."""
    with DAG(dag_id="fts_sensor", schedule=None) as dag:
        FtsJobSensor(task_id="wait", job_ids=job_ids, poke_interval=0.2)
    return dag


def build(spec: dict[str, Any]) -> DAG:
    """The DAG a test describes: ``{"dag": "bulk", ...}`` or ``{"dag": "sensor", ...}``."""
    if spec["dag"] == "bulk":
        return bulk(
            spec["transfers"],
            spec["request_key"],
            spec["allowed_failures"],
            Path(spec["report"]),
            spec.get("deferrable", True),
        )
    return sensor(spec["job_ids"])


SPEC = os.environ.get("BMNFLOW_FTS_TEST_DAG")
dag = build(json.loads(SPEC)) if SPEC else None

if __name__ == "__main__" and dag is not None:
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"run": str(run.state), "tasks": states}))
