"""The FTS client's single calls against a real gridsim with bearer-token authentication:
whoami, bulk status with unknown ids, listing, priority, cancellation of jobs and files."""

from __future__ import annotations

import json

import pytest
from conftest import transfers

from bmnflow._core import fts
from bmnflow.errors import AuthenticationError, NotFoundError
from bmnflow.testing.gridsim import GridSim

pytestmark = pytest.mark.gridsim

TOKEN = "fts-test-token"


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory):
    """A grid that accepts one token and copies slowly enough to cancel jobs in flight."""
    config = {"auth": {"tokens": [TOKEN]}, "fts": {"time_scale": 50.0, "link_concurrency": 1}}
    with GridSim(root=tmp_path_factory.mktemp("grid"), config=config) as grid:
        yield grid


@pytest.fixture(scope="module")
def client(grid: GridSim) -> fts.FtsClient:
    return fts.FtsClient(grid.fts_url, token=TOKEN)


def submit(client: fts.FtsClient, rows: list[dict], **params: object) -> str:
    files = [{"sources": row["sources"], "destinations": [row["destination"]]} for row in rows]
    return client.submit(json.dumps({"files": files, "params": params}))


def test_whoami_names_the_vo_whose_namespace_makes_job_ids(client: fts.FtsClient):
    who = json.loads(client.whoami())
    assert who["vos"] == ["bmn"]
    assert who["method"] == "oauth2"
    assert len(who["vos_id"]) == 1


def test_a_wrong_token_is_refused_and_never_shown(grid: GridSim):
    with pytest.raises(AuthenticationError) as caught:
        fts.FtsClient(grid.fts_url, token="stolen-or-stale").whoami()
    assert "stolen-or-stale" not in str(caught.value)


def test_bulk_status_reports_unknown_jobs_per_element(grid: GridSim, client: fts.FtsClient):
    job_id = submit(client, transfers(grid, "LHEP_DISK", "DLNP_DISK", ["run8/q1.data"]))
    unknown = "00000000-0000-5000-8000-000000000000"

    jobs = json.loads(client.job_statuses([job_id, unknown], files=True))

    by_id = {job["job_id"]: job for job in jobs}
    assert by_id[job_id]["files"][0]["dest_surl"].endswith("/run8/q1.data")
    assert by_id[unknown]["http_status"].startswith("404")
    alone = json.loads(client.job_statuses([unknown]))
    assert alone[0]["http_status"].startswith("404")
    with pytest.raises(NotFoundError):
        client.job_files(unknown)


def test_priority_and_cancellation_of_files_and_jobs(grid: GridSim, client: fts.FtsClient):
    names = [f"run8/c{i}.data" for i in range(4)]
    job_id = submit(client, transfers(grid, "LHEP_ONLINE", "DLNP_TAPE", names), priority=2)

    client.set_priority(job_id, 5)
    assert json.loads(client.job_statuses([job_id]))[0]["priority"] == 5

    files = json.loads(client.job_files(job_id))
    client.cancel_files(job_id, [files[-1]["file_id"]])
    states = [f["file_state"] for f in json.loads(client.job_files(job_id))]
    assert states[-1] == "CANCELED"

    client.cancel_jobs([job_id])
    job = json.loads(client.job_statuses([job_id], files=True))[0]
    assert job["job_state"] == "CANCELED"
    # A job cancelled already is left as it is.
    client.cancel_jobs([job_id])

    listed = json.loads(client.list_jobs(["CANCELED"], limit=10))
    assert job_id in {job["job_id"] for job in listed}
    with pytest.raises(ValueError, match="between 1 and 5"):
        client.set_priority(job_id, 9)
