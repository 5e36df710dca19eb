"""The binary's contract: loopback only unless told otherwise, a clear error for a bad
configuration, and a clean exit on SIGTERM."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bmnflow.testing.gridsim import GridSim, find_binary

pytestmark = pytest.mark.gridsim


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(find_binary()), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_non_loopback_addresses_are_refused_without_allow_remote():
    result = run("--listen", "0.0.0.0:0")
    assert result.returncode != 0
    assert "not a loopback address" in result.stderr
    assert "listening on" not in result.stdout


def test_a_bad_configuration_is_refused_with_its_reason(tmp_path: Path):
    config = tmp_path / "bad.toml"
    config.write_text("[faults.fts]\nerror_rate = 2.0\n")
    result = run("--config", str(config), "--listen", "127.0.0.1:0")
    assert result.returncode != 0
    assert "faults.fts.error_rate must be between 0 and 1" in result.stderr


def test_sigterm_stops_the_grid_cleanly(tmp_path: Path):
    grid = GridSim(root=tmp_path).start()
    assert grid.stop() == 0, "SIGTERM ends the process with success"
    assert "listening on http://127.0.0.1:" in grid.log_path.read_text()
