"""Helpers of the gridsim tests: files on the grid's storage, FTS submissions and polling."""

from __future__ import annotations

import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import requests

from bmnflow.testing.gridsim import GridSim

#: FTS job states after which nothing changes any more.
TERMINAL = {"FINISHED", "FINISHEDDIRTY", "FAILED", "CANCELED"}
#: The token accepted by the tests' grid.
TOKEN = "gridsim-test-token"


def put_file(grid: GridSim, rse: str, relative: str, size: int = 4096) -> tuple[str, bytes]:
    """Writes a file of pseudo-random bytes on an RSE's storage; returns its PFN and bytes."""
    data = uuid.uuid4().bytes * (size // 16) + b"x" * (size % 16)
    path = grid.storage_path(rse) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return grid.pfn(rse, relative), data


def adler32(data: bytes) -> str:
    """ADLER32 as Rucio writes it."""
    return f"{zlib.adler32(data):08x}"


def transfer(source: str, destination: str, data: bytes | None = None, **extra: Any) -> dict:
    """One entry of a submission's ``files``, with size and checksum when the bytes are known."""
    entry: dict[str, Any] = {"sources": [source], "destinations": [destination]}
    if data is not None:
        entry |= {"filesize": len(data), "checksum": f"ADLER32:{adler32(data)}"}
    return entry | extra


def submit(fts: requests.Session, grid: GridSim, files: list[dict], **params: Any) -> str:
    """Submits an FTS job and returns its id."""
    answer = fts.post(f"{grid.fts_url}/jobs", json={"files": files, "params": params})
    assert answer.status_code == 200, answer.text
    return answer.json()["job_id"]


def wait_job(fts: requests.Session, grid: GridSim, job_id: str, timeout: float = 60) -> dict:
    """Polls a job until it is terminal; returns it with all its file fields."""
    deadline = time.monotonic() + timeout
    while True:
        job = fts.get(f"{grid.fts_url}/jobs/{job_id}").json()
        if job["job_state"] in TERMINAL or time.monotonic() > deadline:
            job["files"] = fts.get(f"{grid.fts_url}/jobs/{job_id}/files").json()
            return job
        time.sleep(0.1)


def read(path: Path) -> bytes:
    """The bytes of a file, or empty when it does not exist."""
    return path.read_bytes() if path.exists() else b""
