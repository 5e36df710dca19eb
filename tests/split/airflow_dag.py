"""A DAG that splits a file list with ``SplitJobsOperator`` and maps one task over its jobs.

``test_operator.py`` copies this file into the dags folder of a fresh ``AIRFLOW_HOME`` (where
``dag.test()`` looks for the DAG it runs) and runs it as a script; the DAG's id and paths come
from ``SPLIT_DAG_ID``, ``SPLIT_FILES``, ``SPLIT_OUTPUT`` and ``SPLIT_REPORT``. It prints the
run's and the tasks' states as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from airflow.sdk import DAG, task

from bmnflow.operators.split import SplitJobsOperator

with DAG(dag_id=os.environ.get("SPLIT_DAG_ID", "split_and_map"), schedule=None) as dag:
    split = SplitJobsOperator(
        task_id="split",
        files=os.environ.get("SPLIT_FILES", "files.parquet"),
        output_folder=os.environ.get("SPLIT_OUTPUT", "jobs"),
        n_gb_per_job=4,
        boundaries=["run"],
    )

    @task
    def job_numbers(summary: dict[str, Any]) -> list[int]:
        return list(range(summary["jobs"]))

    @task
    def run_job(job: int, summary: dict[str, Any]) -> list[str]:
        pieces = pq.read_table(summary["pieces"], filters=[("job", "=", job)])
        return pieces["lfn"].to_pylist()

    @task
    def keep(summary: dict[str, Any], lfns: list[list[str]]) -> None:
        report = Path(os.environ.get("SPLIT_REPORT", "report.json"))
        report.write_text(json.dumps({"summary": summary, "lfns": list(lfns)}))

    per_job = run_job.partial(summary=split.output).expand(job=job_numbers(split.output))
    keep(split.output, per_job)


if __name__ == "__main__":
    run = dag.test()
    states: dict[str, list[str]] = {}
    for ti in run.get_task_instances():
        states.setdefault(ti.task_id, []).append(str(ti.state))
    print(json.dumps({"run": str(run.state), "tasks": states}))
