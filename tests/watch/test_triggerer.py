"""With a real Airflow deployment: many deferred sensors wait on gridsim FTS jobs through the
watcher, in the triggerer itself or through the sidecar, and every task still ends right
when the triggerer or the sidecar is killed with SIGKILL mid-wait and started again."""

from __future__ import annotations

import json
import os
import re
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from bmnflow.testing.airflow_home import AirflowHome
from bmnflow.testing.gridsim import GridSim
from bmnflow.testing.sidecar import Sidecar

pytestmark = [pytest.mark.slow, pytest.mark.gridsim, pytest.mark.timeout(1200)]

#: Deferred sensors per run.
JOBS = 40

DAG = """
from __future__ import annotations

from airflow.sdk import DAG, BaseOperator, task

from bmnflow.triggers.wait import WaitTrigger


class FtsJobWait(BaseOperator):
    def __init__(self, job_id, **kwargs):
        super().__init__(**kwargs)
        self.job_id = job_id

    def execute(self, context):
        self.defer(
            trigger=WaitTrigger(kind="fts_job", conn_id="fts_watch", ids=[self.job_id]),
            method_name="done",
        )

    def done(self, context, event):
        if event["status"] != "success":
            raise RuntimeError(event["message"])
        state = event["ended"][self.job_id]["state"]
        with open({record!r}, "a") as stream:
            stream.write(f"{{self.job_id}} {{state}}\\n")


with DAG("watch_fts_jobs", schedule=None):

    @task
    def job_ids(dag_run=None):
        return dag_run.conf["job_ids"]

    FtsJobWait.partial(task_id="wait").expand(job_id=job_ids())
"""


@pytest.fixture
def slow_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridSim]:
    """A grid of the test's own whose transfers take about three minutes, so that the waits
    outlast a kill and its job list holds only the test's jobs."""
    config = {"fts": {"time_scale": 250.0, "link_concurrency": 64}}
    with GridSim(root=tmp_path_factory.mktemp("grid"), config=config) as grid:
        yield grid


@pytest.fixture
def submit_slow(slow_grid: GridSim) -> Callable[[int], list[str]]:
    """Submits FTS jobs of one 1 MiB file each on the slow grid; returns their ids."""

    def submit(count: int) -> list[str]:
        ids = []
        for _ in range(count):
            name = f"watch/{uuid.uuid4().hex}"
            source = slow_grid.storage_path("LHEP_DISK") / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(os.urandom(1 << 20))
            files = [
                {
                    "sources": [slow_grid.pfn("LHEP_DISK", name)],
                    "destinations": [slow_grid.pfn("DLNP_DISK", name)],
                }
            ]
            answer = requests.post(
                f"{slow_grid.fts_url}/jobs", json={"files": files, "params": {}}, timeout=30
            )
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["job_id"])
        return ids

    return submit


def _deploy(
    tmp_path: Path,
    airflow_deployment: Callable[..., AirflowHome],
    grid: GridSim,
    extra_env: dict[str, str],
) -> tuple[AirflowHome, Path]:
    dags, record = tmp_path / "dags", tmp_path / "ended.txt"
    dags.mkdir()
    (dags / "watch_fts_jobs.py").write_text(textwrap.dedent(DAG).format(record=str(record)))
    connection = {"conn_type": "fts", "host": grid.fts_url, "extra": {"auth_type": "none"}}
    env = {"BMNFLOW_WATCH_MIN_INTERVAL": "1", "BMNFLOW_WATCH_MAX_INTERVAL": "3", **extra_env}
    airflow = airflow_deployment(dags, connections={"fts_watch": connection}, extra_env=env)
    return airflow, record


def _wait_until_deferred(airflow: AirflowHome, count: int, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = airflow.dag_runs("watch_fts_jobs")
        if runs:
            states = airflow.task_states("watch_fts_jobs", runs[-1]["run_id"])
            deferred = [k for k, v in states.items() if k.startswith("wait[") and v == "deferred"]
            if len(deferred) == count:
                return runs[-1]["run_id"]
        time.sleep(1)
    raise TimeoutError(f"the {count} sensors did not all defer")


def _blocked_while_waiting(airflow: AirflowHome) -> list[str]:
    """The triggerer's blocked-loop warnings once it ran triggers (its start-up, before any
    trigger, is not the triggers' doing)."""
    lines = (airflow.log_dir / "triggerer.log").read_text().splitlines()
    running = re.compile(r"\b[1-9]\d* triggers currently running")
    first = next((i for i, line in enumerate(lines) if running.search(line)), len(lines))
    return [line for line in lines[first:] if "was blocked" in line]


def _assert_every_job_ended_once(record: Path, ids: list[str], grid: GridSim) -> None:
    lines = record.read_text().split("\n")
    ended = [line.split() for line in lines if line]
    assert sorted(job for job, _ in ended) == sorted(ids), "each task resumed exactly once"
    assert {state for _, state in ended} == {"FINISHED"}
    listed = requests.get(
        f"{grid.fts_url}/jobs", params={"state_in": "FINISHED", "limit": 500}, timeout=30
    ).json()
    assert len(listed) == len(ids), "no FTS job was submitted twice"


def test_deferred_sensors_survive_a_triggerer_killed_mid_wait(
    tmp_path: Path,
    airflow_deployment: Callable[..., AirflowHome],
    slow_grid: GridSim,
    submit_slow: Callable[[int], list[str]],
) -> None:
    airflow, record = _deploy(tmp_path, airflow_deployment, slow_grid, {})
    ids = submit_slow(JOBS)
    airflow.trigger("watch_fts_jobs", {"job_ids": ids})
    _wait_until_deferred(airflow, JOBS)

    airflow.kill("triggerer")
    time.sleep(3)
    airflow.start(("triggerer",))
    runs = airflow.wait_for_runs("watch_fts_jobs", 1, timeout=600)

    assert runs[-1]["state"] == "success"
    _assert_every_job_ended_once(record, ids, slow_grid)
    assert _blocked_while_waiting(airflow) == [], "the triggerer's loop was never blocked"


def test_deferred_sensors_survive_a_sidecar_and_a_triggerer_killed_mid_wait(
    tmp_path: Path,
    airflow_deployment: Callable[..., AirflowHome],
    slow_grid: GridSim,
    submit_slow: Callable[[int], list[str]],
) -> None:
    connection = json.dumps(
        {"conn_type": "fts", "host": slow_grid.fts_url, "extra": {"auth_type": "none"}}
    )
    sidecar = Sidecar(
        root=tmp_path / "sidecar",
        connections={"fts_watch": connection},
        min_interval=1,
        max_interval=3,
    ).start()
    try:
        airflow, record = _deploy(
            tmp_path, airflow_deployment, slow_grid, {"BMNFLOW_SIDECAR_URL": sidecar.url}
        )
        ids = submit_slow(JOBS)
        airflow.trigger("watch_fts_jobs", {"job_ids": ids})
        _wait_until_deferred(airflow, JOBS)
        time.sleep(2)
        assert f'bmnflow_watch_waiters{{kind="fts_job"}} {JOBS}' in sidecar.metrics()

        sidecar.kill()
        airflow.kill("triggerer")
        time.sleep(3)
        sidecar.start()
        airflow.start(("triggerer",))
        runs = airflow.wait_for_runs("watch_fts_jobs", 1, timeout=600)

        assert runs[-1]["state"] == "success"
        _assert_every_job_ended_once(record, ids, slow_grid)
        assert _blocked_while_waiting(airflow) == []
    finally:
        sidecar.stop()
