"""Fixtures of the Rucio tests: a client of the session's real server, and BM@N-like files."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pytest

from bmnflow._core import RucioClient
from bmnflow.testing.rucio_server import RucioServer


@pytest.fixture(scope="session")
def client(rucio_server: RucioServer) -> RucioClient:
    """A bmnflow client of the root account, with userpass authentication."""
    return RucioClient(
        rucio_server.url,
        rucio_server.account,
        username=rucio_server.username,
        password=rucio_server.password,
    )


@pytest.fixture(scope="session")
def raw_files() -> Callable[..., list[dict[str, Any]]]:
    """Makes the RAW files of a run: ``raw_files(run, parts, scope=None)``."""
    return make_raw_files


def make_raw_files(run: int, parts: int, *, scope: str | None = None) -> list[dict[str, Any]]:
    """The RAW files of a run as the DAQ names them, with sizes and adler32 of their own."""
    files = []
    for part in range(1, parts + 1):
        name = f"mpd_run_Top_{run}_ev0_p{part}.data"
        row: dict[str, Any] = {
            "name": name,
            "bytes": 1_000_000 + part,
            "adler32": f"{zlib.adler32(name.encode()):08x}",
            "events": 1000 + part,
        }
        if scope:
            row["scope"] = scope
        files.append(row)
    return files
