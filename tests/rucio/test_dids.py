"""DIDs against the real server: datasets, containers, content, metadata, and their errors."""

from __future__ import annotations

import pytest

from bmnflow._core import RucioClient
from bmnflow.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio


def test_datasets_go_into_containers_and_out_again(client: RucioClient, rucio_scope: str):
    container = f"{rucio_scope}:run8"
    datasets = [f"{rucio_scope}:raw.run8123", f"{rucio_scope}:raw.run8124"]
    client.create_container(container)
    for dataset in datasets:
        client.create_dataset(dataset, meta={"run_number": int(dataset[-4:])})

    client.attach(container, datasets)
    assert sorted((e["name"], e["type"]) for e in client.list_content(container)) == [
        ("raw.run8123", "DATASET"),
        ("raw.run8124", "DATASET"),
    ]

    client.attach(container, datasets)  # attached already: a re-run is no error
    client.detach(container, datasets[:1])
    assert [e["name"] for e in client.list_content(container)] == ["raw.run8124"]


def test_metadata_is_set_and_read_back(client: RucioClient, rucio_scope: str):
    dataset = f"{rucio_scope}:dst.run8123"
    client.create_dataset(dataset, meta={"run_number": 8123})
    client.set_metadata(dataset, {"datatype": "DST", "version": "25.01"})

    meta = client.get_metadata(dataset)
    assert (meta["run_number"], meta["datatype"], meta["version"]) == (8123, "DST", "25.01")
    assert meta["did_type"] == "DATASET"
    assert meta["is_open"] is True

    client.close(dataset)
    assert client.get_metadata(dataset)["is_open"] is False


def test_creating_an_existing_dataset_is_data_identifier_already_exists(
    client: RucioClient, rucio_scope: str
):
    client.create_dataset(f"{rucio_scope}:raw.run1")
    with pytest.raises(AlreadyExistsError) as caught:
        client.create_dataset(f"{rucio_scope}:raw.run1")
    assert caught.value.server_class == "DataIdentifierAlreadyExists"
    assert caught.value.status == 409


def test_unknown_scope_and_dataset_are_not_found(client: RucioClient, rucio_scope: str):
    with pytest.raises(NotFoundError) as caught:
        client.create_dataset("no.such.scope:raw.run1")
    assert caught.value.server_class == "ScopeNotFound"

    with pytest.raises(NotFoundError) as caught:
        client.get_metadata(f"{rucio_scope}:never.created")
    assert caught.value.server_class == "DataIdentifierNotFound"
    assert caught.value.service == "rucio"


@pytest.mark.parametrize(
    ("did", "reason"),
    [
        ("bmn.run8:" + "r" * 251, "251 characters"),
        ("bmn.run8:raw run8123", "must match"),
        ("bmn.run8:.hidden", "must match"),
        ("raw.run8123", "scope:name"),
        ("a-scope-longer-than-twenty-five:x", "scope"),
    ],
)
def test_bad_names_are_refused_before_sending(
    client: RucioClient, rucio_server: RucioServer, did: str, reason: str
):
    before = _did_count(rucio_server)
    with pytest.raises(InvalidInputError, match=reason) as caught:
        client.create_dataset(did)
    assert caught.value.status is None, "refused by bmnflow, not by the server"
    assert _did_count(rucio_server) == before


def test_empty_and_repeated_lists_are_refused_before_sending(
    client: RucioClient, rucio_scope: str, raw_files
):
    dataset = f"{rucio_scope}:raw.run2"
    client.create_dataset(dataset)
    file = f"{rucio_scope}:{raw_files(2, 1)[0]['name']}"
    with pytest.raises(InvalidInputError, match="empty"):
        client.attach(dataset, [])
    with pytest.raises(InvalidInputError, match="more than once"):
        client.attach(dataset, [file, file])
    assert client.list_content(dataset) == []


def _did_count(server: RucioServer) -> int:
    # Every DID of the test scopes and BM@N scopes, counted through the server's own search.
    scopes = server.call("GET", "/scopes/")
    return sum(
        len(server.call("GET", f"/dids/{scope}/dids/search?type=all&name=*")) for scope in scopes
    )
