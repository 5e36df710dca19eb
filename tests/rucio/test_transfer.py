"""The deferred rule sensor's trigger waits while Rucio's own daemons move the data through
gridsim's FTS, and ends when the rule is OK."""

from __future__ import annotations

import zlib

import pyarrow as pa
import pytest

from bmnflow._core import RucioClient
from bmnflow.testing.gridsim import GridSim
from bmnflow.testing.rucio_server import TRANSFER_DAEMONS, RucioServer
from bmnflow.triggers.rucio import RucioRuleTrigger

pytestmark = [pytest.mark.rucio, pytest.mark.gridsim]


async def test_the_trigger_waits_for_a_rule_that_fts_completes(
    gridsim: GridSim,
    rucio_server: RucioServer,
    client: RucioClient,
    rucio_conn: str,
    rucio_scope: str,
):
    dataset = f"{rucio_scope}:raw.run8500"
    contents = {f"mpd_run_Top_8500_ev0_p{i}.data": f"part {i} ".encode() * 5000 for i in (1, 2)}
    files = [
        {"name": name, "bytes": len(data), "adler32": f"{zlib.adler32(data):08x}"}
        for name, data in contents.items()
    ]
    client.create_dataset(dataset)
    client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files))
    for row in client.list_replicas([dataset]).to_pylist():
        path = gridsim.path_of(row["pfn"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[row["name"]])

    (rule_id,) = client.add_rule([dataset], "DLNP_DISK")
    assert client.get_rule(rule_id)["state"] == "REPLICATING"

    trigger = RucioRuleTrigger(
        rule_id=rule_id,
        rucio_conn_id=rucio_conn,
        poll_interval=1.0,
        max_poll_interval=3.0,
        timeout=240,
    )
    rucio_server.start_daemons(TRANSFER_DAEMONS)
    try:
        event = await anext(trigger.run())
    finally:
        rucio_server.stop_daemons()

    assert event.payload["status"] == "success", event.payload
    assert event.payload["rule"]["state"] == "OK"
    assert event.payload["rule"]["locks_ok_cnt"] == 2
    copies = client.list_replicas([dataset], rse_expression="DLNP_DISK").to_pylist()
    for row in copies:
        assert gridsim.path_of(row["pfn"]).read_bytes() == contents[row["name"]]
    assert len(copies) == 2
