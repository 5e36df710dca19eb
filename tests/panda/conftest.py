"""Fixtures of the PanDA tests: a grid of their own, with job faults keyed on markers in the
job parameters, and the Airflow connection to its PanDA."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bmnflow.testing.gridsim import GridSim

PAYLOADS = Path(__file__).parent / "payloads"

#: Job 2 of a task whose parameters contain ``--fail-twice`` fails its first two attempts.
FAIL_TWICE = r"\.000002\..*--fail-twice"


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridSim]:
    """A grid whose PanDA site writes to LHEP_DISK and fails jobs marked to fail."""
    root = tmp_path_factory.mktemp("panda-grid")
    config = {
        "panda": {
            "storage": "LHEP_DISK",
            "slots": 4,
            "scratch": str(root / "scratch"),
        },
        "faults": {
            "jobs": {
                "rules": [
                    {"pattern": FAIL_TWICE, "attempts": 2, "error": "injected: two attempts"},
                ]
            }
        },
    }
    with GridSim(root=root, config=config) as grid:
        yield grid


@pytest.fixture
def panda_conn(grid: GridSim, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Airflow connection ``panda_default`` to the grid's PanDA (open mode)."""
    connection = {
        "conn_type": "panda",
        "host": grid.url,
        "extra": {"monitor_url": "https://bigpanda.bmn.invalid"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_PANDA_DEFAULT", json.dumps(connection))
    return "panda_default"


def mc_spec(name: str | None = None, extra: str = "", **overrides: Any) -> dict[str, Any]:
    """A Monte Carlo generation spec of three jobs of 10 events, with unique names."""
    name = name or f"bmn.mc.test.{uuid.uuid4().hex[:10]}"
    spec: dict[str, Any] = {
        "name": name,
        "vo": "bmn",
        "processing_type": "mcgen",
        "transformation": {"kind": "script", "path": str(PAYLOADS / "mcgen.py")},
        "output_dataset": f"bmn.mc:{name}.evgen",
        "log_dataset": f"bmn.mc:{name}.log",
        "outputs": ["evgen.txt"],
        "job_parameters": "--out ${OUTPUT0} --events ${MAXEVENTS} --first ${FIRSTEVENT} "
        "--seed ${RNDMSEED} " + extra,
        "split": {"total_events": 30, "events_per_job": 10},
        "max_attempts": 2,
    }
    spec.update(overrides)
    return spec
