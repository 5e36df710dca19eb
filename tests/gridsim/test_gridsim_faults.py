"""Injected faults are reproducible from the seed: the same seed and the same requests give
the same HTTP errors and the same failed transfers; transfer failures carry FTS reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from gridsim_helpers import put_file, submit, transfer, wait_job

from bmnflow.testing.gridsim import GridSim

pytestmark = pytest.mark.gridsim


def http_statuses(root: Path, seed: int, requests_count: int = 40) -> list[int]:
    config = {"faults": {"seed": seed, "fts": {"error_rate": 0.3, "error_status": 503}}}
    with GridSim(root=root, config=config) as grid:
        return [requests.get(f"{grid.fts_url}/whoami").status_code for _ in range(requests_count)]


def test_http_errors_repeat_with_the_seed(tmp_path: Path):
    first = http_statuses(tmp_path / "a", seed=5)
    again = http_statuses(tmp_path / "b", seed=5)
    other = http_statuses(tmp_path / "c", seed=6)

    assert first == again
    assert set(first) == {200, 503}
    assert other != first


def test_dropped_connections_give_no_answer(gridsim_factory):
    grid = gridsim_factory(config={"faults": {"storage": {"drop_rate": 1.0}}})
    source, _ = put_file(grid, "LHEP_DISK", "drop/f1")
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(source, timeout=10)
    assert requests.get(f"{grid.fts_url}/whoami").status_code == 200


def test_slow_answers_outlast_a_client_timeout(gridsim_factory):
    grid = gridsim_factory(config={"faults": {"fts": {"slow_rate": 1.0, "slow_ms": 60_000}}})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{grid.fts_url}/whoami", timeout=1)
    source, data = put_file(grid, "LHEP_DISK", "slow/f1")
    assert requests.get(source, timeout=10).content == data, "only the FTS API is slowed"


def test_transfer_failures_by_name_carry_the_configured_reason(tmp_path: Path):
    reason = "SOURCE [2] SOURCE Failed to stat file (No such file or directory)"
    config = {
        "fts": {"time_scale": 0.1},
        "faults": {"transfers": {"rules": [{"pattern": r"/broken_\d+\.raw$", "reason": reason}]}},
    }
    with GridSim(root=tmp_path, config=config) as grid:
        session = requests.Session()
        files = []
        for name in ("good_1.raw", "broken_2.raw"):
            source, data = put_file(grid, "LHEP_DISK", f"rule/{name}")
            files.append(transfer(source, grid.pfn("DLNP_DISK", f"rule/{name}"), data))
        job = wait_job(session, grid, submit(session, grid, files))

    assert job["job_state"] == "FINISHEDDIRTY"
    rows = {row["dest_surl"].rsplit("/", 1)[1]: row for row in job["files"]}
    assert rows["good_1.raw"]["file_state"] == "FINISHED"
    assert rows["broken_2.raw"]["file_state"] == "FAILED"
    assert rows["broken_2.raw"]["reason"] == reason


def failed_transfers(root: Path, seed: int) -> set[str]:
    faults = {"seed": seed, "transfers": {"failure_rate": 0.5}}
    config = {"fts": {"time_scale": 0.0}, "faults": faults}
    with GridSim(root=root, config=config) as grid:
        session = requests.Session()
        files = []
        for i in range(24):
            source, data = put_file(grid, "LHEP_DISK", f"rate/f{i}", size=64)
            files.append(transfer(source, grid.pfn("DLNP_DISK", f"rate/f{i}"), data))
        job = wait_job(session, grid, submit(session, grid, files))
    failed = {row["dest_surl"] for row in job["files"] if row["file_state"] == "FAILED"}
    reasons = {row["reason"] for row in job["files"] if row["file_state"] == "FAILED"}
    assert all(r.startswith("TRANSFER [110]") for r in reasons)
    return {url.rsplit("/", 1)[1] for url in failed}


def test_transfer_failures_by_rate_repeat_with_the_seed(tmp_path: Path):
    first = failed_transfers(tmp_path / "a", seed=9)
    again = failed_transfers(tmp_path / "b", seed=9)
    assert first == again
    assert 0 < len(first) < 24
