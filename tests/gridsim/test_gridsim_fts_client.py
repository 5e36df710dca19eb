"""The official ``fts3`` Python client (from PyPI, in ``.venv-clients``) against gridsim's FTS:
it connects, submits with its own job builder, and polls the job to FINISHED with its own
status calls, while the bytes and their ADLER32 arrive at the destination folder."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from gridsim_helpers import TOKEN, adler32, put_file

from bmnflow.testing.gridsim import GridSim

pytestmark = pytest.mark.gridsim

CLIENTS_PYTHON = Path(__file__).resolve().parents[2] / ".venv-clients" / "bin" / "python"

# Runs inside .venv-clients: only the fts3 package's own easy API talks to the server.
SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import fts3.rest.client.easy as fts3

    endpoint, token, source, destination, checksum, size = sys.argv[1:7]
    context = fts3.Context(endpoint, fts_access_token=token, verify=False)
    whoami = fts3.whoami(context)
    transfer = fts3.new_transfer(
        source, destination, checksum=checksum, filesize=int(size),
        metadata={"request_id": "r-1"}, activity="Data rebalancing",
    )
    job = fts3.new_job([transfer], verify_checksum="both", overwrite=False, priority=4,
                       metadata={"issuer": "bmnflow-test"})
    job_id = fts3.submit(context, job)
    deadline = time.monotonic() + 60
    while True:
        status = fts3.get_job_status(context, job_id, list_files=True)
        if status["job_state"] in ("FINISHED", "FINISHEDDIRTY", "FAILED", "CANCELED"):
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    many = fts3.get_jobs_statuses(context, [job_id], list_files=True)
    print(json.dumps({"whoami": whoami, "job_id": job_id, "status": status, "many": many}))
    """
)


def run_client(grid: GridSim, *args: str) -> dict:
    result = subprocess.run(
        [str(CLIENTS_PYTHON), "-c", SCRIPT, grid.fts_url, TOKEN, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not CLIENTS_PYTHON.exists(), reason="needs `make clients-env`")
def test_official_client_submits_and_polls_to_finished(grid: GridSim) -> None:
    source, data = put_file(grid, "LHEP_ONLINE", "bmn.run8/raw/run8_0001.raw", size=300_000)
    destination = grid.pfn("LHEP_DISK", "bmn.run8/raw/run8_0001.raw")

    answer = run_client(grid, source, destination, f"ADLER32:{adler32(data)}", str(len(data)))

    assert answer["whoami"]["vos"] == ["bmn"]
    assert answer["whoami"]["method"] == "oauth2"
    status = answer["status"]
    assert status["job_state"] == "FINISHED"
    assert status["job_metadata"]["issuer"] == "bmnflow-test"
    assert status["priority"] == 4
    (file_row,) = status["files"]
    assert file_row["file_state"] == "FINISHED"
    assert file_row["filesize"] == len(data)
    assert file_row["file_metadata"] == {"request_id": "r-1"}
    assert file_row["activity"] == "Data rebalancing"
    written = grid.path_of(destination).read_bytes()
    assert written == data
    assert adler32(written) == adler32(data)
    (polled,) = answer["many"] if isinstance(answer["many"], list) else [answer["many"]]
    assert polled["files"][0]["dest_surl"] == destination
