"""Rules against the real server: idempotent creation, lifetime, deletion, waiting, errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from bmnflow._core import RucioClient
from bmnflow.errors import InvalidInputError, NotFoundError, ServerError, TimeoutError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio


@pytest.fixture
def dataset(client: RucioClient, rucio_scope: str, raw_files) -> str:
    """A dataset of three files with replicas on LHEP_ONLINE."""
    did = f"{rucio_scope}:raw.run9001"
    client.create_dataset(did)
    client.register_files(did, "LHEP_ONLINE", pa.Table.from_pylist(raw_files(9001, 3)))
    return did


def test_add_rule_twice_returns_the_same_rule(client: RucioClient, dataset: str):
    (rule_id,) = client.add_rule([dataset], "LHEP_ONLINE")
    assert client.add_rule([dataset], "LHEP_ONLINE") == [rule_id]
    assert [r["id"] for r in client.list_rules(dataset)] == [rule_id]

    rule = client.get_rule(rule_id)
    # The replicas are where the rule wants them: OK at once, without any transfer.
    assert (rule["state"], rule["locks_ok_cnt"], rule["rse_expression"]) == ("OK", 3, "LHEP_ONLINE")


def test_a_rule_elsewhere_replicates_and_another_copy_count_is_another_rule(
    client: RucioClient, dataset: str
):
    (tape,) = client.add_rule([dataset], "DLNP_TAPE", comment="raw: archival copy")
    rule = client.get_rule(tape)
    assert (rule["state"], rule["locks_replicating_cnt"]) == ("REPLICATING", 3)
    (two,) = client.add_rule([dataset], "DLNP_TAPE|LHEP_DISK", copies=2)
    assert two != tape
    assert sorted(r["id"] for r in client.list_rules(dataset)) == sorted([tape, two])


def test_lifetime_is_set_and_removed_and_delete_sends_its_body(client: RucioClient, dataset: str):
    (rule_id,) = client.add_rule([dataset], "LHEP_DISK", lifetime=86400)
    assert client.get_rule(rule_id)["expires_at"] is not None
    client.update_rule_lifetime(rule_id, None)
    assert client.get_rule(rule_id)["expires_at"] is None

    # Deletion is soft: the server gives the rule (now without lifetime) an hour to live.
    client.delete_rule(rule_id, purge_replicas=False)
    assert client.get_rule(rule_id)["expires_at"] is not None


def test_rule_errors_keep_the_server_class(client: RucioClient, dataset: str, rucio_scope: str):
    with pytest.raises(InvalidInputError) as caught:
        client.add_rule([dataset], "NOWHERE_DISK")
    assert caught.value.server_class == "InvalidRSEExpression"

    with pytest.raises(NotFoundError) as caught:
        client.add_rule([f"{rucio_scope}:raw.never"], "LHEP_DISK")
    assert caught.value.server_class == "DataIdentifierNotFound"

    with pytest.raises(NotFoundError) as caught:
        client.get_rule("0" * 32)
    assert caught.value.server_class == "RuleNotFound"

    # Activities are the server's to define: an unknown one fails its schema.
    with pytest.raises(InvalidInputError) as caught:
        client.add_rule([dataset], "LHEP_DISK", activity="No Such Activity")
    assert caught.value.server_class == "InvalidObject"


def test_bad_rule_requests_are_refused_before_sending(client: RucioClient, dataset: str):
    for call, reason in [
        (lambda: client.add_rule([dataset], "LHEP_DISK", copies=0), "at least one copy"),
        (lambda: client.add_rule([dataset], " "), "RSE expression is empty"),
        (lambda: client.add_rule([dataset, dataset], "LHEP_DISK"), "more than once"),
        (lambda: client.add_rule([], "LHEP_DISK"), "empty"),
        (lambda: client.add_rule([dataset], "LHEP_DISK", grouping="SOME"), "grouping"),
        (lambda: client.get_rule("../accounts"), "32 hexadecimal"),
    ]:
        with pytest.raises(InvalidInputError, match=reason):
            call()
    assert client.list_rules(dataset) == []


def test_waiting_ends_with_the_rule_when_it_is_ok(client: RucioClient, dataset: str):
    (rule_id,) = client.add_rule([dataset], "LHEP_ONLINE")
    assert client.wait_rule(rule_id, poll_min=0.1)["state"] == "OK"


def test_waiting_fails_on_suspended_and_on_stuck_past_the_grace(
    client: RucioClient, rucio_server: RucioServer, dataset: str
):
    (suspended,) = client.add_rule([dataset], "DLNP_DISK")
    rucio_server.call("PUT", f"/rules/{suspended}", {"options": {"state": "SUSPENDED"}})
    with pytest.raises(ServerError, match="SUSPENDED") as caught:
        client.wait_rule(suspended, poll_min=0.1)
    assert caught.value.details["state"] == "SUSPENDED"

    (stuck,) = client.add_rule([dataset], "DLNP_TAPE")
    rucio_server.call("PUT", f"/rules/{stuck}", {"options": {"state": "STUCK"}})
    # Within the grace a STUCK rule is still waited for (the judge may repair it).
    with pytest.raises(TimeoutError, match="STUCK"):
        client.wait_rule(stuck, poll_min=0.1, stuck_grace=60, timeout=0.5)
    with pytest.raises(ServerError, match=r"STUCK: .* \(locks: 0 ok, \d replicating") as caught:
        client.wait_rule(stuck, poll_min=0.1, stuck_grace=0.3)
    details = caught.value.details
    assert details["locks_replicating_cnt"] + details["locks_stuck_cnt"] == 3

    (replicating,) = client.add_rule([dataset], "LHEP_DISK")
    with pytest.raises(TimeoutError, match="REPLICATING"):
        client.wait_rule(replicating, poll_min=0.1, timeout=0.5)
