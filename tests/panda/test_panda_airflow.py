"""The PanDA operator in real Airflow DAG runs (``dag.test()``) against gridsim's PanDA:
Monte Carlo to done, injected failures and automatic retry, a worker killed after submitting,
and a kill of the Airflow task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import mc_spec

from bmnflow._core import PandaClient
from bmnflow.testing.gridsim import GridSim

RUNNER = Path(__file__).with_name("dags") / "panda_task.py"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory, grid: GridSim) -> dict[str, str]:
    """A fresh Airflow home with its database, and the PanDA connection as an env var."""
    home = tmp_path_factory.mktemp("airflow")
    connection = {
        "conn_type": "panda",
        "host": grid.url,
        "extra": {"monitor_url": "https://bigpanda.bmn.invalid"},
    }
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(RUNNER.parent),
        "AIRFLOW_CONN_PANDA_DEFAULT": json.dumps(connection),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    return env


@pytest.fixture(scope="module")
def client(grid: GridSim) -> PandaClient:
    return PandaClient(grid.url)


def start_dag(
    env: dict[str, str], tmp_path: Path, spec: dict[str, Any], **options: Any
) -> tuple[subprocess.Popen[str], Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "options.json").write_text(json.dumps({"poll_interval": 0.2, **options}))
    report = tmp_path / "report.json"
    variables = {
        "BMNFLOW_TEST_PANDA_SPEC": str(tmp_path / "spec.json"),
        "BMNFLOW_TEST_PANDA_OPTIONS": str(tmp_path / "options.json"),
        "BMNFLOW_TEST_PANDA_REPORT": str(report),
    }
    process = subprocess.Popen(
        [sys.executable, str(RUNNER)],
        env={**env, **variables},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, report


def run_dag(
    env: dict[str, str], tmp_path: Path, spec: dict[str, Any], **options: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    process, report = start_dag(env, tmp_path, spec, **options)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    states = json.loads(stdout.strip().splitlines()[-1])
    summary = json.loads(report.read_text()) if report.exists() else None
    return states, summary


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie (killed, awaiting its reaper)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return False
    state = next(x for x in status.read_text().splitlines() if x.startswith("State:"))
    return "zombie" not in state


def tasks_named(client: PandaClient, name: str) -> list[dict[str, Any]]:
    return [t for t in client.tasks_modified_since("2020-01-01 00:00:00") if t["taskName"] == name]


def test_a_monte_carlo_task_runs_to_done_through_the_operator(
    airflow_env: dict[str, str], grid: GridSim, tmp_path: Path
) -> None:
    spec = mc_spec()
    states, summary = run_dag(airflow_env, tmp_path, spec)

    assert states["tasks"] == {"submit": "success", "keep": "success"}, states
    assert summary is not None
    assert summary["status"] == "done"
    assert summary["jobs_by_state"] == {"finished": 3}
    assert summary["output_datasets"] == [spec["output_dataset"]]
    assert summary["log_datasets"] == [spec["log_dataset"]]
    assert summary["failed_jobs"] == []
    folder = grid.storage_path("LHEP_DISK") / "bmn.mc"
    name = spec["output_dataset"].split(":")[1]
    events = [
        line.split()[1]
        for serial in (1, 2, 3)
        for line in (folder / f"{name}.{serial:06d}.evgen.txt").read_text().splitlines()
    ]
    assert events == [str(n) for n in range(1, 31)], "each event generated exactly once"
    logs = sorted(p.name for p in folder.glob(f"{spec['log_dataset'].split(':')[1]}.*.log.tgz"))
    assert len(logs) == 3


def test_failed_jobs_end_finished_and_the_automatic_retry_makes_it_done(
    airflow_env: dict[str, str], client: PandaClient, tmp_path: Path
) -> None:
    # Serial 2 fails its first two attempts: both allowed attempts of the first run.
    spec = mc_spec(extra="--fail-twice")
    states, summary = run_dag(airflow_env, tmp_path, spec, auto_retries=1)

    assert states["tasks"]["submit"] == "success", states
    assert summary is not None
    assert summary["status"] == "done"
    assert summary["auto_retries"] == 1
    assert summary["jobs_by_state"] == {"failed": 2, "finished": 3}
    assert {job["error"] for job in summary["failed_jobs"]} == {"injected: two attempts"}


def test_without_retries_a_finished_task_fails_the_airflow_task(
    airflow_env: dict[str, str], client: PandaClient, tmp_path: Path
) -> None:
    spec = mc_spec(extra="--fail-twice")
    states, summary = run_dag(airflow_env, tmp_path, spec, auto_retries=0)

    assert states["tasks"]["submit"] == "failed", states
    assert summary is None
    [task] = tasks_named(client, spec["name"])
    assert task["status"] == "finished"


def test_a_worker_killed_after_submitting_leaves_one_task(
    airflow_env: dict[str, str], client: PandaClient, tmp_path: Path
) -> None:
    spec = mc_spec(extra="--sleep 3")
    process, _ = start_dag(airflow_env, tmp_path / "first", spec, deferrable=False)
    deadline = time.monotonic() + 120
    while not tasks_named(client, spec["name"]):
        assert time.monotonic() < deadline, "no task submitted"
        assert process.poll() is None, "the DAG run ended before submitting"
        time.sleep(0.1)
    process.kill()
    process.wait()

    states, summary = run_dag(airflow_env, tmp_path, spec, deferrable=False)

    assert states["tasks"]["submit"] == "success", states
    tasks = tasks_named(client, spec["name"])
    assert len(tasks) == 1
    assert summary is not None
    assert summary["task_id"] == tasks[0]["jediTaskID"]
    assert summary["status"] == "done"


def test_killing_the_airflow_task_aborts_the_panda_task_and_its_payloads(
    airflow_env: dict[str, str], client: PandaClient, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    spec = mc_spec(extra=f"--sleep 120 --pid-file {pids}")
    process, _ = start_dag(airflow_env, tmp_path, spec, deferrable=False)
    deadline = time.monotonic() + 120
    while not (pids.exists() and len(pids.read_text().split()) == 3):
        assert time.monotonic() < deadline, "payloads not running"
        assert process.poll() is None, "the DAG run ended before its payloads ran"
        time.sleep(0.1)

    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=120)

    [task] = tasks_named(client, spec["name"])
    deadline = time.monotonic() + 30
    while client.task_status(task["jediTaskID"]) != "aborted":
        assert time.monotonic() < deadline, client.task_status(task["jediTaskID"])
        time.sleep(0.1)
    jobs = client.job_descriptions(client.task_job_ids(task["jediTaskID"]))
    assert {job["jobStatus"] for job in jobs} == {"cancelled"}
    for pid in pids.read_text().split():
        assert not running(int(pid)), f"payload {pid} still running"


def test_reused_names_are_found_not_duplicated(client: PandaClient) -> None:
    spec = mc_spec(name=f"bmn.mc.dup.{uuid.uuid4().hex[:8]}", extra="--sleep 2")
    first = client.submit_spec(spec)
    again = client.submit_spec(spec)
    assert first["created"]
    assert not again["created"]
    assert again["task_id"] == first["task_id"]
    assert again["code"] == 2


def test_the_sensor_waits_for_a_task_submitted_elsewhere(
    airflow_env: dict[str, str], client: PandaClient, tmp_path: Path
) -> None:
    done = client.submit_spec(mc_spec(extra="--sleep 2"))["task_id"]
    finished = client.submit_spec(mc_spec(extra="--fail-twice"))["task_id"]

    for task_id, expected in ((done, "success"), (finished, "failed")):
        report = tmp_path / f"watch-{task_id}.json"
        variables = {
            "BMNFLOW_TEST_PANDA_WATCH": str(task_id),
            "BMNFLOW_TEST_PANDA_REPORT": str(report),
        }
        run = subprocess.run(
            [sys.executable, str(RUNNER)],
            env={**airflow_env, **variables},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        states = json.loads(run.stdout.strip().splitlines()[-1])
        assert states["tasks"]["watch"] == expected, states
    assert json.loads((tmp_path / f"watch-{done}.json").read_text())["status"] == "done"
    assert client.task_status(finished) == "finished"
