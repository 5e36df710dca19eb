"""Waiting on PanDA tasks of gridsim's PanDA through the process watcher."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmnflow import watch
from bmnflow._core import PandaClient
from bmnflow.errors import InvalidInputError
from bmnflow.testing.gridsim import GridSim

pytestmark = [pytest.mark.gridsim, pytest.mark.timeout(300)]

#: The Monte Carlo payload of the PanDA tests.
MCGEN = Path(__file__).parents[1] / "panda" / "payloads" / "mcgen.py"


@pytest.fixture(scope="module")
def panda_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridSim]:
    """A grid whose PanDA site runs Monte Carlo jobs and writes to LHEP_DISK."""
    root = tmp_path_factory.mktemp("panda-grid")
    config = {"panda": {"storage": "LHEP_DISK", "slots": 4, "scratch": str(root / "scratch")}}
    with GridSim(root=root, config=config) as grid:
        yield grid


@pytest.fixture
def panda_conn(panda_grid: GridSim, monkeypatch: pytest.MonkeyPatch) -> str:
    """The connection ``panda_watch`` to the grid's PanDA (open mode)."""
    connection = {"conn_type": "panda", "host": panda_grid.url}
    monkeypatch.setenv("AIRFLOW_CONN_PANDA_WATCH", json.dumps(connection))
    return "panda_watch"


def _mc_task(grid: GridSim) -> int:
    name = f"bmn.mc.watch.{uuid.uuid4().hex[:10]}"
    spec = {
        "name": name,
        "vo": "bmn",
        "processing_type": "mcgen",
        "transformation": {"kind": "script", "path": str(MCGEN)},
        "output_dataset": f"bmn.mc:{name}.evgen",
        "log_dataset": f"bmn.mc:{name}.log",
        "outputs": ["evgen.txt"],
        "job_parameters": "--out ${OUTPUT0} --events ${MAXEVENTS} --first ${FIRSTEVENT} "
        "--seed ${RNDMSEED}",
        "split": {"total_events": 20, "events_per_job": 10},
        "max_attempts": 1,
    }
    return int(PandaClient(grid.url).submit_spec(spec)["task_id"])


async def test_tasks_end_with_their_final_status(panda_grid: GridSim, panda_conn: str) -> None:
    task_ids = [str(_mc_task(panda_grid)) for _ in range(3)]

    report = await watch.wait("panda_task", panda_conn, task_ids, timeout=240)

    assert report.pending == {}
    assert {o.state for o in report.ended.values()} == {"done"}


async def test_ids_that_are_not_task_ids_are_refused(panda_conn: str) -> None:
    with pytest.raises(InvalidInputError, match="jediTaskID"):
        await watch.wait("panda_task", panda_conn, ["task-7"], timeout=5)
