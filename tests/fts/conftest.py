"""Fixtures of the FTS tests: grids of their own (real gridsim processes), files on their
storage, and transfer lists between the BM@N storage endpoints."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bmnflow._core import fts
from bmnflow.testing.gridsim import GridSim

#: Transfers are copied for real but without simulated delays, many at once per link.
FAST = {"time_scale": 0.0, "link_concurrency": 64}


@pytest.fixture
def start_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., GridSim]]:
    """Starts a grid of the test's own: ``start_grid(faults={...}, fts={...})``."""
    grids: list[GridSim] = []

    def start(**config: Any) -> GridSim:
        config["fts"] = {**FAST, **config.get("fts", {})}
        grid = GridSim(root=tmp_path_factory.mktemp("grid"), config=config)
        grid.__enter__()
        grids.append(grid)
        return grid

    yield start
    for grid in grids:
        grid.__exit__(None, None, None)


def client(grid: GridSim) -> fts.FtsClient:
    """A bmnflow FTS client of the grid (open mode), retrying as in production."""
    return fts.FtsClient(grid.fts_url, timeout=30.0, retries=8)


def put_files(grid: GridSim, rse: str, names: list[str], size: int = 64) -> list[dict[str, Any]]:
    """Writes files on an RSE's storage; returns their PFN, size and ADLER32 checksum."""
    root = grid.storage_path(rse)
    files = []
    for name in names:
        data = (name.encode() * (size // len(name) + 1))[:size]
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(
            {
                "pfn": grid.pfn(rse, name),
                "filesize": size,
                "checksum": f"ADLER32:{zlib.adler32(data):08x}",
            }
        )
    return files


def local(grid: GridSim, rse: str, name: str) -> Path:
    """The file behind ``name`` on an RSE's storage folder."""
    return grid.storage_path(rse) / name


def transfers(
    grid: GridSim, source_rse: str, destination_rse: str, names: list[str], **extra: Any
) -> list[dict[str, Any]]:
    """Transfers of ``names`` (written now at the source) to the same names at the
    destination, with size, checksum and both storage names."""
    rows = []
    for name, file in zip(names, put_files(grid, source_rse, names), strict=True):
        rows.append(
            {
                "sources": [file["pfn"]],
                "destination": grid.pfn(destination_rse, name),
                "filesize": file["filesize"],
                "checksum": file["checksum"],
                "source_storage": source_rse,
                "destination_storage": destination_rse,
                **extra,
            }
        )
    return rows


ALL_STATES = [
    "STAGING",
    "SUBMITTED",
    "READY",
    "ACTIVE",
    "FINISHED",
    "FINISHEDDIRTY",
    "FAILED",
    "CANCELED",
]


def fts_jobs(grid: GridSim) -> list[dict[str, Any]]:
    """Every FTS job the grid holds, in any state (at most 500, newest first)."""
    return json.loads(client(grid).list_jobs(ALL_STATES, limit=500))
