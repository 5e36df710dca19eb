"""The dataset-ready watcher announces a run once its dataset is complete and its rules are
OK on the real Rucio server, and never twice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bmnflow.assets import RunDatasetReadyTrigger
from bmnflow.assets.announced import AnnouncedRuns
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio


class HarnessRucio:
    """The three reads the watcher makes, over the Rucio harness's REST access."""

    def __init__(self, server: RucioServer) -> None:
        self.server = server

    def list_content(self, did: str) -> list[dict[str, Any]]:
        scope, name = did.split(":")
        return self.server.call("GET", f"/dids/{scope}/{name}/dids")

    def get_metadata(self, did: str) -> dict[str, Any]:
        scope, name = did.split(":")
        return self.server.call("GET", f"/dids/{scope}/{name}/meta")

    def list_rules(self, did: str) -> list[dict[str, Any]]:
        scope, name = did.split(":")
        return self.server.call("GET", f"/dids/{scope}/{name}/rules")


class StateStore:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)


def add_run(server: RucioServer, scope: str, run: int, rse: str, files: int = 2) -> str:
    """A run dataset with ``files`` files whose replicas are on ``rse``; returns its name."""
    dataset = f"raw.run{run}"
    server.call("POST", f"/dids/{scope}/{dataset}", {"type": "DATASET"})
    names = [{"scope": scope, "name": f"mpd_run_Top_{run}_ev0_p{p}.data"} for p in range(files)]
    replicas = [{**n, "bytes": 100 + i, "adler32": f"{i + 1:08x}"} for i, n in enumerate(names)]
    server.call("POST", "/replicas", {"rse": rse, "files": replicas})
    server.call("POST", f"/dids/{scope}/{dataset}/dids", {"dids": names})
    return dataset


def add_rule(server: RucioServer, scope: str, name: str, rse: str) -> None:
    body = {"dids": [{"scope": scope, "name": name}], "copies": 1, "rse_expression": rse,
            "account": server.account}  # fmt: skip
    server.call("POST", "/rules/", body)


async def test_a_run_is_announced_once_its_rules_are_ok_and_never_again(
    rucio_server: RucioServer, rucio_scope: str
):
    container = f"{rucio_scope}:run8.raw"
    rucio_server.call("POST", f"/dids/{rucio_scope}/run8.raw", {"type": "CONTAINER"})
    ready = add_run(rucio_server, rucio_scope, 8701, rse="LHEP_DISK")
    waiting = add_run(rucio_server, rucio_scope, 8702, rse="LHEP_DISK")
    # A third run is registered but not yet attached to the period container: incomplete.
    incomplete = add_run(rucio_server, rucio_scope, 8703, rse="LHEP_DISK")
    for dataset in (ready, waiting, incomplete):
        add_rule(rucio_server, rucio_scope, dataset, "LHEP_DISK")
    # The copy to DLNP needs a transfer that nothing performs here: that rule stays
    # REPLICATING.
    add_rule(rucio_server, rucio_scope, waiting, "DLNP_DISK")
    attach = [{"scope": rucio_scope, "name": n} for n in (ready, waiting)]
    rucio_server.call("POST", f"/dids/{rucio_scope}/run8.raw/dids", {"dids": attach})

    trigger = RunDatasetReadyTrigger(rucio_conn_id="rucio_default", container=container)
    client, store = HarnessRucio(rucio_server), StateStore()
    announced = AnnouncedRuns(store, "ready")

    events = [e.payload async for e in trigger.new_runs(client, announced)]
    assert [(e["run"], e["did"], e["files"]) for e in events] == [
        (8701, f"{rucio_scope}:raw.run8701", 2)
    ]
    assert [r["state"] for r in events[0]["rules"]] == ["OK"]

    # Later looks, and a watcher rebuilt after a restart, announce nothing new.
    assert [e async for e in trigger.new_runs(client, announced)] == []
    rebuilt = AnnouncedRuns(store, "ready")
    assert [e async for e in trigger.new_runs(client, rebuilt)] == []


async def test_required_rses_hold_back_a_run_until_each_has_a_rule(
    rucio_server: RucioServer, rucio_scope: str
):
    rucio_server.call("POST", f"/dids/{rucio_scope}/run8.raw", {"type": "CONTAINER"})
    dataset = add_run(rucio_server, rucio_scope, 8801, rse="LHEP_DISK")
    add_rule(rucio_server, rucio_scope, dataset, "LHEP_DISK")
    rucio_server.call(
        "POST",
        f"/dids/{rucio_scope}/run8.raw/dids",
        {"dids": [{"scope": rucio_scope, "name": dataset}]},
    )
    trigger = RunDatasetReadyTrigger(
        rucio_conn_id="rucio_default",
        container=f"{rucio_scope}:run8.raw",
        required_rses=["DLNP_TAPE", "LHEP_DISK"],
    )
    announced = AnnouncedRuns(StateStore(), "ready")

    assert [e async for e in trigger.new_runs(HarnessRucio(rucio_server), announced)] == []
