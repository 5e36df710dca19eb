"""Fixtures of the splitter tests: PanDA's own JEDI splitter, run in its own environment."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
JEDI_PYTHON = ROOT / ".venv-jedi" / "bin" / "python"
DRIVER = Path(__file__).with_name("jedi_driver.py")


def run_jedi(requests: list[dict[str, Any]], timeout: float = 600) -> list[dict[str, Any]]:
    """Answers each request with JEDI's jobs (see ``jedi_driver.py`` for the format)."""
    if not JEDI_PYTHON.exists():
        pytest.fail(f"{JEDI_PYTHON} is missing: run `make jedi-env` first")
    done = subprocess.run(
        [str(JEDI_PYTHON), str(DRIVER)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        pytest.fail(f"the JEDI driver failed with exit code {done.returncode}")
    return json.loads(done.stdout)


@pytest.fixture(scope="session")
def jedi() -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Runs requests through PanDA's JEDI JobSplitter."""
    return run_jedi
