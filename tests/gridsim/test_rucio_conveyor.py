"""Rucio's own conveyor daemons drive gridsim's FTS: rules on the real Rucio server go from
REPLICATING to OK with the bytes and their ADLER32 at the destination folders, over several
FTS jobs; an injected transfer failure reaches Rucio with the FTS reason, and Rucio handles it
by its own rules (retries, then a STUCK lock)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gridsim_helpers import adler32

from bmnflow.testing.gridsim import GridSim
from bmnflow.testing.rucio_server import TRANSFER_DAEMONS, RucioServer, free_port

pytestmark = [pytest.mark.gridsim, pytest.mark.rucio, pytest.mark.slow]

#: What FTS reports for the files the test makes fail.
REASON = "TRANSFER [110] TRANSFER  Transfer failed: Connection timed out (copy stalled)"


@pytest.fixture(scope="module")
def grid_and_rucio(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GridSim, RucioServer]]:
    """A grid whose transfers of files named ``*fail_me*`` always fail, and a Rucio server
    whose RSEs and FTS are that grid's, with its transfer daemons running."""
    port = free_port()
    faults = {"transfers": {"rules": [{"pattern": "fail_me", "reason": REASON}]}}
    grid = GridSim(
        root=tmp_path_factory.mktemp("grid"),
        port=port,
        config={"fts": {"time_scale": 0.1}, "faults": faults},
    )
    rucio = RucioServer(workdir=tmp_path_factory.mktemp("rucio"), gridsim_port=port)
    with grid, rucio:
        rucio.start_daemons(TRANSFER_DAEMONS)
        yield grid, rucio


def add_dataset(
    grid: GridSim, rucio: RucioServer, scope: str, dataset: str, names: list[str]
) -> dict[str, bytes]:
    """Registers files at LHEP_DISK in a new dataset and writes their bytes where Rucio's
    PFNs point; returns the bytes by name."""
    contents = {name: f"{dataset}/{name} ".encode() * 3000 for name in names}
    dids = [{"scope": scope, "name": name} for name in names]
    rucio.call("POST", f"/dids/{scope}/{dataset}", {"type": "DATASET"})
    files = [
        {"scope": scope, "name": name, "bytes": len(data), "adler32": adler32(data)}
        for name, data in contents.items()
    ]
    rucio.call("POST", "/replicas", {"rse": "LHEP_DISK", "files": files})
    rucio.call("POST", f"/dids/{scope}/{dataset}/dids", {"dids": dids})
    listed = rucio.call(
        "POST", "/replicas/list", {"dids": dids, "rse_expression": "LHEP_DISK", "schemes": ["http"]}
    )
    for replica in listed:
        (pfn,) = replica["rses"]["LHEP_DISK"]
        path = grid.path_of(pfn)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[replica["name"]])
    return contents


def add_rule(rucio: RucioServer, scope: str, dataset: str, rse: str) -> str:
    body = {
        "dids": [{"scope": scope, "name": dataset}],
        "copies": 1,
        "rse_expression": rse,
        "account": rucio.account,
    }
    answer = rucio.call("POST", "/rules/", body)
    (rule_id,) = json.loads(answer) if isinstance(answer, str) else answer
    return rule_id


def wait_rule(rucio: RucioServer, rule_id: str, states: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rule = rucio.call("GET", f"/rules/{rule_id}")
        if rule["state"] in states or time.monotonic() > deadline:
            return rule
        time.sleep(1)


def destination_files(grid: GridSim, rucio: RucioServer, scope: str, names, rse: str):
    dids = [{"scope": scope, "name": name} for name in names]
    listed = rucio.call(
        "POST", "/replicas/list", {"dids": dids, "rse_expression": rse, "schemes": ["http"]}
    )
    return {r["name"]: grid.path_of(next(iter(r["rses"][rse]))) for r in listed}


def test_rules_replicate_to_ok_through_gridsim_fts(grid_and_rucio: tuple[GridSim, RucioServer]):
    grid, rucio = grid_and_rucio
    scope = "bmn.run8"
    disk = add_dataset(grid, rucio, scope, "raw.run8301", [f"run8301_{i}.raw" for i in range(4)])
    tape = add_dataset(grid, rucio, scope, "raw.run8302", [f"run8302_{i}.raw" for i in range(3)])

    to_disk = add_rule(rucio, scope, "raw.run8301", "DLNP_DISK")
    to_tape = add_rule(rucio, scope, "raw.run8302", "DLNP_TAPE")
    assert rucio.call("GET", f"/rules/{to_disk}")["state"] == "REPLICATING"

    assert wait_rule(rucio, to_disk, {"OK", "STUCK"}, timeout=240)["state"] == "OK"
    assert wait_rule(rucio, to_tape, {"OK", "STUCK"}, timeout=240)["state"] == "OK"
    for contents, rse in ((disk, "DLNP_DISK"), (tape, "DLNP_TAPE")):
        paths = destination_files(grid, rucio, scope, contents, rse)
        assert set(paths) == set(contents)
        for name, path in paths.items():
            assert path.read_bytes() == contents[name]
            assert adler32(path.read_bytes()) == adler32(contents[name])
    finished = rucio_jobs(grid)
    assert len(finished) >= 2, "one FTS job per destination at least"


def rucio_jobs(grid: GridSim) -> list[dict[str, Any]]:
    import requests

    listed = requests.get(f"{grid.fts_url}/jobs", params={"state_in": "FINISHED", "limit": 500})
    return [job for job in listed.json() if job["job_metadata"].get("issuer") == "rucio"]


def test_an_injected_failure_reaches_rucio_with_the_fts_reason(
    grid_and_rucio: tuple[GridSim, RucioServer],
):
    grid, rucio = grid_and_rucio
    scope = "bmn.run8"
    add_dataset(grid, rucio, scope, "raw.run8303", ["run8303_ok.raw", "run8303_fail_me.raw"])

    rule_id = add_rule(rucio, scope, "raw.run8303", "DLNP_DISK")
    rule = wait_rule(rucio, rule_id, {"STUCK"}, timeout=300)

    assert rule["state"] == "STUCK"
    assert (rule["locks_ok_cnt"], rule["locks_stuck_cnt"]) == (1, 1)
    assert REASON in (rule["error"] or "")
