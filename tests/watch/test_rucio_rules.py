"""Waiting on rules of a real Rucio server through the process watcher."""

from __future__ import annotations

import json
import uuid

import pytest

from bmnflow import watch
from bmnflow.errors import InvalidInputError, NotFoundError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = [pytest.mark.rucio, pytest.mark.timeout(300)]


def _dataset_at(rucio: RucioServer, scope: str, files: int) -> str:
    """A dataset whose files have replicas at LHEP_DISK."""
    dataset = f"ds.{uuid.uuid4().hex[:8]}"
    names = [f"f.{uuid.uuid4().hex[:8]}" for _ in range(files)]
    rucio.call("POST", f"/dids/{scope}/{dataset}", {"type": "DATASET"})
    replicas = [{"scope": scope, "name": n, "bytes": 10, "adler32": "0cc737eb"} for n in names]
    rucio.call("POST", "/replicas", {"rse": "LHEP_DISK", "files": replicas})
    dids = [{"scope": scope, "name": n} for n in names]
    rucio.call("POST", f"/dids/{scope}/{dataset}/dids", {"dids": dids})
    return dataset


def _rule(rucio: RucioServer, scope: str, dataset: str, rse: str) -> str:
    body = {
        "dids": [{"scope": scope, "name": dataset}],
        "copies": 1,
        "rse_expression": rse,
        "account": rucio.account,
    }
    answer = rucio.call("POST", "/rules/", body)
    (rule_id,) = json.loads(answer) if isinstance(answer, str) else answer
    return rule_id


async def test_a_rule_whose_replicas_exist_ends_ok_with_its_lock_counts(
    rucio_server: RucioServer, rucio_scope: str, rucio_conn: str
) -> None:
    rule_id = _rule(
        rucio_server, rucio_scope, _dataset_at(rucio_server, rucio_scope, 3), "LHEP_DISK"
    )

    report = await watch.wait("rucio_rule", rucio_conn, [rule_id], timeout=120)

    outcome = report.ended[rule_id]
    assert (outcome.outcome, outcome.state) == ("terminal", "OK")
    assert outcome.detail["locks_ok_cnt"] == 3


async def test_a_replicating_rule_stays_pending_with_its_state(
    rucio_server: RucioServer, rucio_scope: str, rucio_conn: str
) -> None:
    # No conveyor runs here, so a rule needing a transfer stays REPLICATING.
    rule_id = _rule(
        rucio_server, rucio_scope, _dataset_at(rucio_server, rucio_scope, 2), "DLNP_DISK"
    )

    report = await watch.wait_some("rucio_rule", rucio_conn, [rule_id], timeout=3)

    assert report.ended == {}
    assert report.pending == {rule_id: "REPLICATING"}


async def test_an_unknown_rule_is_gone_and_a_malformed_id_refused(rucio_conn: str) -> None:
    missing = uuid.uuid4().hex

    report = await watch.wait("rucio_rule", rucio_conn, [missing], timeout=60)

    assert report.ended[missing].outcome == "gone"
    assert isinstance(report.ended[missing].error(), NotFoundError)
    with pytest.raises(InvalidInputError, match="UUID"):
        await watch.wait("rucio_rule", rucio_conn, ["not-a-rule"], timeout=5)
