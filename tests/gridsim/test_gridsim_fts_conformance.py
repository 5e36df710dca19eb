"""gridsim's FTS3 REST answers as the real service does, on the points clients rely on:
multi-status queries, deterministic ids with ``sid``, the metadata limit, ``?files=``
selection, cancellation, overwrite, multiple replicas, listing, purging and authentication."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from gridsim_helpers import TOKEN, adler32, put_file, read, submit, transfer, wait_job

from bmnflow.testing.gridsim import GridSim

pytestmark = pytest.mark.gridsim

#: The fields Rucio's conveyor-poller asks for, each of which it reads on every file.
RUCIO_FILE_FIELDS = (
    "file_state",
    "dest_surl",
    "finish_time",
    "start_time",
    "staging_start",
    "staging_finished",
    "reason",
    "source_surl",
    "file_metadata",
)


def test_job_query_is_multistatus_with_per_element_status(grid: GridSim, fts: requests.Session):
    source, data = put_file(grid, "LHEP_DISK", "q/f1")
    job_id = submit(fts, grid, [transfer(source, grid.pfn("DLNP_DISK", "q/f1"), data)])
    missing = str(uuid.uuid4())

    both = fts.get(f"{grid.fts_url}/jobs/{job_id},{missing}")
    assert both.status_code == 207
    found, lost = both.json()
    assert found["job_id"] == job_id
    assert found["http_status"] == "200 Ok"
    assert lost == {
        "job_id": missing,
        "http_status": "404 Not Found",
        "http_message": f'No job with the id "{missing}" has been found',
    }
    assert fts.get(f"{grid.fts_url}/jobs/{job_id},{job_id}").status_code == 200
    single = fts.get(f"{grid.fts_url}/jobs/{missing}")
    assert single.status_code == 404
    assert single.json()["http_status"] == "404 Not Found"


def test_files_selection_gives_every_key_rucio_reads(grid: GridSim, fts: requests.Session):
    source, data = put_file(grid, "LHEP_DISK", "sel/f1")
    metadata = {"request_id": "req-42", "scope": "bmn.run8", "name": "f1"}
    entry = transfer(source, grid.pfn("DLNP_DISK", "sel/f1"), data, metadata=metadata)
    job_id = submit(fts, grid, [entry], job_metadata={"issuer": "rucio", "multi_sources": False})
    wait_job(fts, grid, job_id)

    answer = fts.get(f"{grid.fts_url}/jobs/{job_id}", params={"files": ",".join(RUCIO_FILE_FIELDS)})
    job = answer.json()
    for key in ("job_id", "http_status", "job_state", "job_type", "job_metadata"):
        assert key in job
    assert job["job_type"] == "N"
    assert job["job_metadata"]["issuer"] == "rucio"
    (row,) = job["files"]
    assert set(row) == set(RUCIO_FILE_FIELDS)
    assert row["file_state"] == "FINISHED"
    assert row["file_metadata"] == metadata
    assert time.strptime(row["finish_time"], "%Y-%m-%dT%H:%M:%S")
    assert row["staging_start"] is None


def test_deterministic_ids_follow_whoami_and_a_reused_sid_is_409(
    grid: GridSim, fts: requests.Session
):
    whoami = fts.get(f"{grid.fts_url}/whoami").json()
    sid = f"rucio-request-{uuid.uuid4()}"
    expected = uuid.uuid5(uuid.uuid5(uuid.UUID(whoami["base_id"]), whoami["vos"][0]), sid)
    source, data = put_file(grid, "LHEP_DISK", "sid/f1")
    files = [transfer(source, grid.pfn("DLNP_DISK", "sid/f1"), data)]

    job_id = submit(fts, grid, files, id_generator="deterministic", sid=sid)
    again = fts.post(
        f"{grid.fts_url}/jobs",
        json={"files": files, "params": {"id_generator": "deterministic", "sid": sid}},
    )

    assert job_id == str(expected)
    assert again.status_code == 409
    assert again.json()["message"] == "The sid provided by the user is duplicated"


def test_metadata_over_1024_bytes_is_refused(grid: GridSim, fts: requests.Session):
    source, _ = put_file(grid, "LHEP_DISK", "meta/f1")
    entry = transfer(source, grid.pfn("DLNP_DISK", "meta/f1"), metadata={"k": "v" * 1100})
    answer = fts.post(f"{grid.fts_url}/jobs", json={"files": [entry]})
    assert answer.status_code == 400
    assert answer.json() == {
        "status": "400 Bad Request",
        "message": "Invalid value within the request: Job Submission Refused, metadata "
        "exceeds size limit of 1024",
    }
    assert not grid.path_of(grid.pfn("DLNP_DISK", "meta/f1")).exists()
    bad_url = fts.post(f"{grid.fts_url}/jobs", json={"files": [transfer("nowhere", source)]})
    assert bad_url.status_code == 400
    assert bad_url.json()["message"].endswith("Missing scheme (nowhere)")


def test_finisheddirty_when_some_files_fail(grid: GridSim, fts: requests.Session):
    good, data = put_file(grid, "LHEP_DISK", "dirty/good")
    files = [
        transfer(good, grid.pfn("DLNP_DISK", "dirty/good"), data),
        transfer(grid.pfn("LHEP_DISK", "dirty/missing"), grid.pfn("DLNP_DISK", "dirty/missing")),
    ]
    job = wait_job(fts, grid, submit(fts, grid, files, verify_checksum="both"))

    assert job["job_state"] == "FINISHEDDIRTY"
    states = {row["source_surl"].rsplit("/", 1)[1]: row for row in job["files"]}
    assert states["good"]["file_state"] == "FINISHED"
    assert states["missing"]["file_state"] == "FAILED"
    assert states["missing"]["reason"].startswith("SOURCE [2]")
    assert "No such file or directory" in states["missing"]["reason"]
    assert read(grid.path_of(grid.pfn("DLNP_DISK", "dirty/good"))) == data


def test_existing_destination_fails_unless_overwrite(grid: GridSim, fts: requests.Session):
    source, data = put_file(grid, "LHEP_DISK", "ow/f1")
    destination, old = put_file(grid, "DLNP_DISK", "ow/f1")

    refused = wait_job(fts, grid, submit(fts, grid, [transfer(source, destination, data)]))
    assert refused["job_state"] == "FAILED"
    assert refused["files"][0]["reason"] == (
        "DESTINATION OVERWRITE [17] Destination file exists and overwrite is not enabled"
    )
    assert read(grid.path_of(destination)) == old

    replaced = submit(fts, grid, [transfer(source, destination, data)], overwrite=True)
    assert wait_job(fts, grid, replaced)["job_state"] == "FINISHED"
    assert read(grid.path_of(destination)) == data


def test_wrong_checksum_fails_the_file_and_leaves_no_destination(
    grid: GridSim, fts: requests.Session
):
    source, data = put_file(grid, "LHEP_DISK", "ck/f1")
    destination = grid.pfn("DLNP_DISK", "ck/f1")
    entry = transfer(source, destination, data, checksum="ADLER32:00000001")
    job = wait_job(fts, grid, submit(fts, grid, [entry], verify_checksum="both"))
    assert job["job_state"] == "FAILED"
    assert "CHECKSUM MISMATCH" in job["files"][0]["reason"]
    assert adler32(data) in job["files"][0]["reason"]
    assert not grid.path_of(destination).exists()


def test_multiple_replicas_fall_back_to_the_next_source(grid: GridSim, fts: requests.Session):
    second, data = put_file(grid, "DLNP_TAPE", "mr/f1")
    first = grid.pfn("LHEP_DISK", "mr/absent")
    destination = grid.pfn("DLNP_DISK", "mr/f1")
    entry = {
        "sources": [first, second],
        "destinations": [destination],
        "checksum": f"ADLER32:{adler32(data)}",
        "selection_strategy": "orderly",
    }
    job_id = submit(fts, grid, [entry], job_metadata={"multi_sources": True})
    job = wait_job(fts, grid, job_id)

    assert job["job_type"] == "R"
    assert job["job_state"] == "FINISHED"
    assert [row["file_state"] for row in job["files"]] == ["FAILED", "FINISHED"]
    assert read(grid.path_of(destination)) == data


def test_cancel_and_terminal_jobs_are_not_modified(gridsim_factory):
    # Slow transfers (seconds each), so that the cancel lands while copies run and wait.
    slow = gridsim_factory(config={"fts": {"time_scale": 20}})
    session = requests.Session()
    files = []
    for i in range(12):
        source, data = put_file(slow, "LHEP_DISK", f"cancel/f{i}", size=2_000_000)
        files.append(transfer(source, slow.pfn("DLNP_DISK", f"cancel/f{i}"), data))
    job_id = submit(session, slow, files)

    canceled = session.delete(f"{slow.fts_url}/jobs/{job_id}")
    again = session.delete(f"{slow.fts_url}/jobs/{job_id}")

    assert canceled.status_code == 200
    assert canceled.json()["job_state"] == "CANCELED"
    assert again.json()["http_status"] == "304 Not Modified"
    job = wait_job(session, slow, job_id)
    assert job["reason"] == "Job canceled by the user"
    assert {row["file_state"] for row in job["files"]} == {"CANCELED"}
    # Copies that were running end on their own; none may be committed after the cancel.
    folder = slow.storage_path("DLNP_DISK") / "cancel"
    deadline = time.monotonic() + 60
    while list(folder.glob(".*.gridsim-part")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(folder.glob("*")) == []


def test_priority_and_listing(grid: GridSim, fts: requests.Session):
    source, data = put_file(grid, "LHEP_DISK", "list/f1")
    job_id = submit(fts, grid, [transfer(source, grid.pfn("DLNP_DISK", "list/f1"), data)])
    changed = fts.post(f"{grid.fts_url}/jobs/{job_id}", json={"params": {"priority": 5}})
    assert changed.status_code == 200
    wait_job(fts, grid, job_id)

    listed = fts.get(f"{grid.fts_url}/jobs", params={"state_in": "FINISHED", "limit": 500})
    assert job_id in [job["job_id"] for job in listed.json()]
    assert fts.get(f"{grid.fts_url}/jobs", params={"limit": 501}).status_code == 400
    active = fts.get(f"{grid.fts_url}/jobs").json()
    assert job_id not in [job["job_id"] for job in active]


def test_storage_serves_the_transferred_file(grid: GridSim, fts: requests.Session):
    source, data = put_file(grid, "LHEP_ONLINE", "get/f1")
    destination = grid.pfn("LHEP_DISK", "get/f1")
    wait_job(fts, grid, submit(fts, grid, [transfer(source, destination, data)]))
    assert fts.get(destination).content == data
    assert fts.head(destination).headers["content-length"] == str(len(data))
    assert fts.get(grid.pfn("LHEP_DISK", "get/absent")).status_code == 404


def test_requests_without_the_token_are_refused(grid: GridSim):
    assert requests.get(f"{grid.fts_url}/whoami").status_code == 403
    wrong = requests.get(f"{grid.fts_url}/whoami", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = requests.get(f"{grid.fts_url}/whoami", headers={"Authorization": f"Bearer {TOKEN}"})
    assert right.json()["method"] == "oauth2"


def test_terminal_jobs_are_purged_after_the_retention(tmp_path):
    config = {"fts": {"retention_secs": 1, "time_scale": 0.1}}
    with GridSim(root=tmp_path, config=config) as grid:
        session = requests.Session()
        source, data = put_file(grid, "LHEP_DISK", "purge/f1")
        job_id = submit(session, grid, [transfer(source, grid.pfn("DLNP_DISK", "purge/f1"), data)])
        assert wait_job(session, grid, job_id)["job_state"] == "FINISHED"
        deadline = time.monotonic() + 30
        status = 200
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            status = session.get(f"{grid.fts_url}/jobs/{job_id}").status_code
        assert status == 404


def test_tape_recall_is_refused_with_tokens_and_staged_otherwise(
    grid: GridSim, fts: requests.Session, gridsim_factory
):
    source, data = put_file(grid, "DLNP_TAPE", "stage/f1")
    files = [transfer(source, grid.pfn("LHEP_DISK", "stage/f1"), data)]
    refused = fts.post(
        f"{grid.fts_url}/jobs", json={"files": files, "params": {"bring_online": 60}}
    )
    assert refused.status_code == 400
    assert refused.json()["message"] == (
        "Requests to retrieve from tape using token authentication are not supported"
    )

    open_grid = gridsim_factory(config={"fts": {"staging_secs": 0.5, "time_scale": 0.1}})
    session = requests.Session()
    source, data = put_file(open_grid, "DLNP_TAPE", "stage/f1")
    files = [transfer(source, open_grid.pfn("LHEP_DISK", "stage/f1"), data)]
    job_id = submit(session, open_grid, files, bring_online=60, copy_pin_lifetime=60)
    assert session.get(f"{open_grid.fts_url}/jobs/{job_id}").json()["job_state"] == "STAGING"
    job = wait_job(session, open_grid, job_id)
    assert job["job_state"] == "FINISHED"
    (row,) = job["files"]
    assert row["staging_start"] is not None
    assert row["staging_finished"] is not None
    assert read(open_grid.path_of(open_grid.pfn("LHEP_DISK", "stage/f1"))) == data


def test_unknown_paths_and_methods_get_fts_json_errors(grid: GridSim, fts: requests.Session):
    missing = fts.get(f"{grid.fts_url}/no/such/resource")
    assert missing.status_code == 404
    assert missing.json()["status"] == "404 Not Found"
    wrong = fts.put(f"{grid.fts_url}/jobs", json={})
    assert wrong.status_code == 405
    assert wrong.json()["status"] == "405 Method Not Allowed"
