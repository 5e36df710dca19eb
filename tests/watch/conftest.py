"""Fixtures of the watcher tests: a grid with slowed transfers, its FTS connection, jobs."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from bmnflow.testing.gridsim import GridSim

# The process watcher reads its settings once, at first use: quick polls keep tests short.
os.environ.setdefault("BMNFLOW_WATCH_MIN_INTERVAL", "0.5")
os.environ.setdefault("BMNFLOW_WATCH_MAX_INTERVAL", "2")


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridSim]:
    """A grid whose transfers take seconds, so that waits are still running when a test
    kills a process."""
    config = {"fts": {"time_scale": 30.0, "link_concurrency": 64}}
    with GridSim(root=tmp_path_factory.mktemp("grid"), config=config) as grid:
        yield grid


@pytest.fixture(scope="module")
def fts_connection(grid: GridSim) -> str:
    """The grid's FTS as an Airflow connection in JSON form (open mode: no credentials)."""
    return json.dumps({"conn_type": "fts", "host": grid.fts_url, "extra": {"auth_type": "none"}})


@pytest.fixture
def fts_conn(fts_connection: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The connection id ``fts_watch`` of the grid's FTS."""
    monkeypatch.setenv("AIRFLOW_CONN_FTS_WATCH", fts_connection)
    return "fts_watch"


@pytest.fixture
def submit_jobs(grid: GridSim) -> Callable[..., list[str]]:
    """Submits FTS jobs of one file each between the grid's disks; ``broken`` of them name a
    source that does not exist, so they fail. Returns the job ids."""

    def submit(count: int, *, broken: int = 0, size: int = 1 << 20) -> list[str]:
        ids = []
        for index in range(count):
            name = f"watch/{uuid.uuid4().hex}"
            source = grid.storage_path("LHEP_DISK") / name
            if index >= broken:
                source.parent.mkdir(parents=True, exist_ok=True)
                source.write_bytes(os.urandom(size))
            files: list[dict[str, Any]] = [
                {
                    "sources": [grid.pfn("LHEP_DISK", name)],
                    "destinations": [grid.pfn("DLNP_DISK", name)],
                }
            ]
            answer = requests.post(
                f"{grid.fts_url}/jobs", json={"files": files, "params": {}}, timeout=30
            )
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["job_id"])
        return ids

    return submit
