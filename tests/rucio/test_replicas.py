"""Replicas against the real server: registration in chunks, listings as Arrow, partial
failures that name their files, and re-runs that complete without duplicates."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bmnflow._core import RucioClient
from bmnflow.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio

SCHEMA_NAMES = ["scope", "name", "bytes", "adler32", "events", "rse", "pfn", "state"]


def test_files_are_registered_into_a_dataset_and_listed_as_arrow(
    client: RucioClient, rucio_server: RucioServer, rucio_scope: str, raw_files
):
    dataset = f"{rucio_scope}:raw.run8123"
    client.create_dataset(dataset)
    files = raw_files(8123, 12)
    assert client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files)) == 12

    replicas = client.list_replicas([dataset])
    assert isinstance(replicas, pa.Table)
    assert replicas.column_names == SCHEMA_NAMES
    rows = sorted(replicas.to_pylist(), key=lambda r: r["name"])
    expected = sorted(files, key=lambda f: f["name"])
    assert [(r["name"], r["bytes"], r["adler32"]) for r in rows] == [
        (f["name"], f["bytes"], f["adler32"]) for f in expected
    ]
    assert {(r["rse"], r["state"]) for r in rows} == {("LHEP_ONLINE", "AVAILABLE")}
    port = rucio_server.gridsim_port
    assert rows[0]["pfn"].startswith(f"http://127.0.0.1:{port}/storage/lhep_online/")

    listed = client.list_files(dataset)
    assert sorted(listed.column("events").to_pylist()) == sorted(f["events"] for f in files)
    assert listed.column("rse").null_count == listed.num_rows


def test_bulk_registration_is_split_below_the_server_limits(
    rucio_server: RucioServer, rucio_scope: str, raw_files
):
    # 1100 files: one request would exceed the server's cap of 1000 DIDs a list.
    client = RucioClient(
        rucio_server.url,
        "root",
        username=rucio_server.username,
        password=rucio_server.password,
        chunk_size=500,
        concurrency=3,
    )
    dataset = f"{rucio_scope}:raw.run8200"
    client.create_dataset(dataset)
    files = raw_files(8200, 1100)
    assert client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files)) == 1100
    assert len(client.list_content(dataset)) == 1100
    assert client.list_replicas([dataset]).num_rows == 1100


def test_replicas_are_added_alone_and_a_repeat_with_the_same_checksum_succeeds(
    client: RucioClient, rucio_scope: str, raw_files
):
    files = pa.Table.from_pylist(raw_files(8300, 5, scope=rucio_scope))
    assert client.add_replicas("LHEP_DISK", files) == 5
    assert client.add_replicas("LHEP_DISK", files) == 5, "same files again: nothing fails"
    dids = [f"{rucio_scope}:{name}" for name in files.column("name").to_pylist()]
    table = client.list_replicas(dids, rse_expression="LHEP_DISK")
    assert table.num_rows == 5

    # The server would keep the first checksum silently; bmnflow refuses the changed file.
    checksums = ["0badc0de", *files["adler32"][1:].to_pylist()]
    changed = files.set_column(2, "adler32", pa.array(checksums))
    with pytest.raises(AlreadyExistsError) as caught:
        client.add_replicas("DLNP_DISK", changed)
    assert [f["did"] for f in caught.value.details["failed"]] == [dids[0]]
    assert sorted(caught.value.details["stored"]) == sorted(dids[1:])


def test_a_checksum_conflict_fails_only_its_file_and_a_fixed_rerun_completes(
    client: RucioClient, rucio_server: RucioServer, rucio_scope: str, raw_files, tmp_path
):
    # Chunks of 4 files: the conflicting file shares its chunk with files that must still land.
    small = RucioClient(
        rucio_server.url,
        "root",
        username=rucio_server.username,
        password=rucio_server.password,
        chunk_size=4,
    )
    dataset = f"{rucio_scope}:raw.run8400"
    client.create_dataset(dataset)
    files = raw_files(8400, 10)
    clash = files[5]
    # The same name is registered first with another checksum (another writer, a bad copy).
    other = [{**clash, "adler32": "0badc0de", "scope": rucio_scope}]
    client.add_replicas("LHEP_ONLINE", pa.Table.from_pylist(other))

    with pytest.raises(AlreadyExistsError) as caught:
        small.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files))
    error = caught.value
    assert error.server_class == "FileConsistencyMismatch"
    clash_did = f"{rucio_scope}:{clash['name']}"
    assert [f["did"] for f in error.details["failed"]] == [clash_did]
    assert "0badc0de" in error.details["failed"][0]["message"]
    stored = sorted(error.details["stored"])
    assert stored == sorted(f"{rucio_scope}:{f['name']}" for f in files if f is not clash)
    content = {e["name"] for e in client.list_content(dataset)}
    assert content == {f["name"] for f in files if f is not clash}

    # The operator fixes the input (the file really has the registered checksum) and re-runs,
    # here from a Parquet file.
    fixed = [f if f is not clash else {**f, "adler32": "0badc0de"} for f in files]
    pq.write_table(pa.Table.from_pylist(fixed), tmp_path / "files.parquet")
    assert small.register_files(dataset, "LHEP_ONLINE", pq.read_table(tmp_path / "files.parquet"))
    names = [e["name"] for e in client.list_content(dataset)]
    assert sorted(names) == sorted(f["name"] for f in files), "each file once"
    assert client.list_replicas([dataset]).num_rows == 10, "one replica per file"


def test_a_missing_dataset_fails_every_chunk_and_names_nothing_stored(
    client: RucioClient, rucio_scope: str, raw_files
):
    files = pa.Table.from_pylist(raw_files(8500, 3))
    with pytest.raises(NotFoundError) as caught:
        client.register_files(f"{rucio_scope}:raw.missing", "LHEP_ONLINE", files)
    assert caught.value.server_class == "DataIdentifierNotFound"
    assert caught.value.details["stored"] == []
    assert len(caught.value.details["failed"]) == 3


def test_an_unknown_rse_is_rse_not_found(client: RucioClient, rucio_scope: str, raw_files):
    files = pa.Table.from_pylist(raw_files(8600, 1, scope=rucio_scope))
    with pytest.raises(NotFoundError) as caught:
        client.add_replicas("NO_SUCH_RSE", files)
    assert caught.value.server_class == "RSENotFound"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"adler32": "XYZ"}, "8 lowercase hexadecimal"),
        ({"adler32": "0A1B2C3D"}, "8 lowercase hexadecimal"),
        ({"bytes": -5}, "negative"),
        ({"bytes": 0}, "00000001"),
        ({"name": "bad name.data"}, "must match"),
    ],
)
def test_bad_files_are_refused_before_anything_is_sent(
    client: RucioClient, rucio_scope: str, raw_files, change, reason
):
    dataset = f"{rucio_scope}:raw.run8700"
    client.create_dataset(dataset)
    files = raw_files(8700, 3)
    files[2] = {**files[2], **change}
    with pytest.raises(InvalidInputError, match=reason):
        client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files))
    assert client.list_content(dataset) == [], "not even the good files were sent"


def test_empty_and_repeated_file_lists_are_refused(client: RucioClient, rucio_scope, raw_files):
    dataset = f"{rucio_scope}:raw.run8800"
    client.create_dataset(dataset)
    files = raw_files(8800, 2)
    with pytest.raises(InvalidInputError, match="more than once"):
        client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files + files[:1]))
    with pytest.raises(InvalidInputError, match="empty"):
        client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files).slice(0, 0))
    with pytest.raises(InvalidInputError, match='no "adler32" column'):
        client.register_files(dataset, "LHEP_ONLINE", pa.table({"name": ["a"], "bytes": [1]}))
    assert client.list_content(dataset) == []
