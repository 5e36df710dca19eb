"""Subscriptions against the real server, and the transmogrifier acting on one."""

from __future__ import annotations

import uuid

import pytest

from bmnflow._core import RucioClient
from bmnflow.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio


def test_a_subscription_gives_new_datasets_their_rule(
    client: RucioClient, rucio_server: RucioServer, rucio_scope: str
):
    name = f"raw-to-tape-{uuid.uuid4().hex[:8]}"
    rules = [{"copies": 1, "rse_expression": "DLNP_TAPE", "activity": "User Subscriptions"}]
    filter_ = {"scope": [rucio_scope], "pattern": "^raw\\.", "did_type": ["DATASET"]}
    subscription_id = client.add_subscription(name, filter_, rules, comments="raw data")

    found = client.get_subscription(name)
    assert found["id"] == subscription_id
    assert name in {s["name"] for s in client.list_subscriptions()}

    with pytest.raises(AlreadyExistsError) as caught:
        client.add_subscription(name, filter_, rules)
    assert caught.value.server_class == "SubscriptionDuplicate"

    client.update_subscription(name, filter_, rules, comments="raw data, archival copy")
    assert client.get_subscription(name)["comments"] == "raw data, archival copy"

    client.create_dataset(f"{rucio_scope}:raw.run9100")
    client.create_dataset(f"{rucio_scope}:dst.run9100")
    rucio_server.run_daemon("transmogrifier")
    assert [r["rse_expression"] for r in client.list_rules(f"{rucio_scope}:raw.run9100")] == [
        "DLNP_TAPE"
    ]
    assert client.list_rules(f"{rucio_scope}:dst.run9100") == []


def test_subscription_errors(client: RucioClient):
    with pytest.raises(NotFoundError) as caught:
        client.get_subscription("never-made")
    assert caught.value.server_class == "SubscriptionNotFound"
    with pytest.raises(InvalidInputError, match="empty filter"):
        client.add_subscription("x", {}, [{"copies": 1, "rse_expression": "DLNP_TAPE"}])
    with pytest.raises(InvalidInputError, match="no rules"):
        client.add_subscription("x", {"scope": ["bmn.run8"]}, [])
