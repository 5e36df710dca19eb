"""Shared helpers of the chain tests: the payload folder, and running a payload as PanDA does."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
PAYLOADS = DAGS / "payloads"


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    """The repository's DAG folder, on ``sys.path`` as Airflow puts it (for ``bmn_common``)."""
    if str(DAGS) not in sys.path:
        sys.path.insert(0, str(DAGS))
    return DAGS


@pytest.fixture(scope="session")
def payloads() -> Path:
    """The folder of the stand-in BmnRoot payloads; also importable for reading their files."""
    if str(PAYLOADS) not in sys.path:
        sys.path.insert(0, str(PAYLOADS))
    return PAYLOADS


@pytest.fixture(scope="session")
def run_payload(payloads: Path) -> Callable[..., dict]:
    """Runs ``python3 <payload> args...`` in ``cwd`` as a PanDA job would and returns the
    counts it reports on stdout; fails the test with the payload's stderr otherwise."""
    return _run_payload


def _run_payload(name: str, *args: object, cwd: Path) -> dict:
    result = subprocess.run(
        [sys.executable, str(PAYLOADS / name), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("BMNFLOW-EVENTS "))
    return json.loads(line.split(" ", 1)[1])
