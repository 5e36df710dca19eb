"""The FTS operator and sensor in real Airflow DAG runs (``dag.test()``, which runs the
trigger inline), against a real gridsim, with the connection in ``AIRFLOW_CONN_FTS_DEFAULT``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import client, fts_jobs, local, transfers

from bmnflow.hooks.fts import transfer_batches

pytestmark = [pytest.mark.gridsim, pytest.mark.timeout(600)]

RUNNER = Path(__file__).with_name("airflow_dags.py")
MISSING = "SOURCE [2] Result HTTP 404 : File not found after 1 attempts"


@pytest.fixture
def grid(start_grid):
    """A grid where files named ``*_gone.data`` have lost their source."""
    return start_grid(
        faults={"transfers": {"rules": [{"pattern": r"_gone\.data", "reason": MISSING}]}},
        fts={"link_concurrency": 8},
    )


@pytest.fixture
def airflow_env(tmp_path: Path, grid) -> dict[str, str]:
    """A fresh Airflow home with its database, and the grid's FTS as ``fts_default``."""
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    shutil.copy(RUNNER, home / "dags" / RUNNER.name)
    connection = {"conn_type": "fts", "host": grid.fts_url, "extra": {"auth_type": "none"}}
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW_CONN_FTS_DEFAULT": json.dumps(connection),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def run_dag(env: dict[str, str], **spec: Any) -> dict[str, Any]:
    """Runs the DAG ``spec`` describes with ``dag.test()``; the run's and tasks' states."""
    dag_file = Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / RUNNER.name
    result = subprocess.run(
        [sys.executable, str(dag_file)],
        env={**env, "BMNFLOW_FTS_TEST_DAG": json.dumps(spec)},
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_list(grid, tmp_path: Path, count: int, gone: int) -> tuple[str, list[dict]]:
    """``count`` files on two links, the last ``gone`` of them with a lost source."""
    names = [f"run8/f{i:04d}{'_gone' if i >= count - gone else ''}.data" for i in range(count)]
    half = count // 2
    rows = transfers(grid, "LHEP_ONLINE", "DLNP_DISK", names[:half]) + transfers(
        grid, "LHEP_ONLINE", "DLNP_TAPE", names[half:]
    )
    path = tmp_path / "transfers.parquet"
    pq.write_table(pa.Table.from_batches(transfer_batches(rows)), path)
    return str(path), rows


def test_the_operator_copies_every_file_and_reports_each_one(grid, airflow_env, tmp_path):
    path, rows = write_list(grid, tmp_path, 300, gone=3)
    report = tmp_path / "summary.json"

    outcome = run_dag(
        airflow_env,
        dag="bulk",
        transfers=path,
        request_key="test/dag/ok",
        allowed_failures=3,
        report=str(report),
    )

    assert outcome["tasks"] == {"copy": "success", "keep": "success"}, outcome
    summary = json.loads(report.read_text())
    assert (summary["files"], summary["finished"], summary["failed_final"]) == (300, 297, 3)
    table = pq.read_table(summary["result_path"]).to_pylist()
    assert [row["destination"] for row in table] == [row["destination"] for row in rows]
    assert {row["state"] for row in table if "_gone" in row["destination"]} == {"FAILED"}
    # 150 files per link in jobs of 40: 4 FTS jobs per link (the per-link limit of active
    # jobs is checked in the killed-worker test, where the first step submits only 2 of 3).
    assert summary["fts_jobs"] == len(fts_jobs(grid)) == 8
    jobs = json.loads(client(grid).job_statuses([j["job_id"] for j in fts_jobs(grid)]))
    assert {job["priority"] for job in jobs} == {4}


def test_more_failures_than_allowed_fail_the_task_with_the_table_written(
    grid, airflow_env, tmp_path
):
    path, _ = write_list(grid, tmp_path, 60, gone=2)
    report = tmp_path / "summary.json"

    # The blocking path this time: the task waits in the worker.
    outcome = run_dag(
        airflow_env,
        dag="bulk",
        transfers=path,
        request_key="test/dag/too-many",
        allowed_failures=1,
        report=str(report),
        deferrable=False,
    )

    assert outcome["tasks"]["copy"] == "failed", outcome
    table = pq.read_table(report.with_suffix(".parquet")).to_pylist()
    assert sum(row["state"] == "FINISHED" for row in table) == 58
    assert not report.exists(), "no summary is handed on by a failed task"


def test_a_worker_killed_after_submitting_then_retried_submits_nothing_twice(
    grid, airflow_env, tmp_path
):
    path, rows = write_list(grid, tmp_path, 200, gone=0)
    key = "test/dag/killed"
    # The first try submits its FTS jobs, then dies before it could defer.
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, signal, sys\n"
            "from bmnflow.hooks.fts import FtsHook\n"
            "FtsHook().transfer_step(sys.argv[1], sys.argv[2],"
            " {'max_files_per_job': 40, 'max_active_jobs_per_link': 2, 'max_attempts': 2})\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n",
            path,
            key,
        ],
        env=airflow_env,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    submitted_before = {job["job_id"] for job in fts_jobs(grid)}
    assert len(submitted_before) == 4, "of three jobs per link, the limit lets two go"

    outcome = run_dag(
        airflow_env,
        dag="bulk",
        transfers=path,
        request_key=key,
        allowed_failures=0,
        report=str(tmp_path / "summary.json"),
    )

    assert outcome["tasks"]["copy"] == "success", outcome
    jobs = fts_jobs(grid)
    assert len(jobs) == 6, "the retry adopted the 4 jobs and submitted only the 2 left"
    assert submitted_before <= {job["job_id"] for job in jobs}
    for row in rows:
        name = row["destination"].split("/storage/")[1].split("/", 1)[1]
        rse = "DLNP_DISK" if "/dlnp_disk/" in row["destination"] else "DLNP_TAPE"
        assert local(grid, rse, name).exists(), "every file copied once the retry ended"


def test_the_sensor_waits_for_jobs_submitted_elsewhere(grid, airflow_env, tmp_path):
    ok = transfers(grid, "LHEP_DISK", "DLNP_DISK", ["run8/s1.data", "run8/s2.data"])
    bad = transfers(grid, "LHEP_DISK", "DLNP_TAPE", ["run8/s3_gone.data"])

    def submit(rows: list[dict]) -> str:
        files = [{"sources": row["sources"], "destinations": [row["destination"]]} for row in rows]
        return client(grid).submit(json.dumps({"files": files, "params": {}}))

    good_job, bad_job = submit(ok), submit(bad)

    assert run_dag(airflow_env, dag="sensor", job_ids=[good_job])["tasks"] == {"wait": "success"}
    both = run_dag(airflow_env, dag="sensor", job_ids=[good_job, bad_job])
    assert both["tasks"] == {"wait": "failed"}
