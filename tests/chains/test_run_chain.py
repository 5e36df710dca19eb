"""A run from the DAQ to DST on the embedded grid, driven by a real Airflow.

The DAQ stand-in closes a run of a few files on LHEP_ONLINE; nothing else is triggered by
hand: the marker watcher starts ``bmn_raw_ingest``, the dataset watcher starts
``bmn_run_processing``, Rucio's own daemons move the files through gridsim's FTS, gridsim's
PanDA runs the payloads. Then a second run of the chain for the same run number must create
nothing new.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bmnflow.policy import load_policies, policy_matching
from bmnflow.testing.embedded_grid import REPO_DAGS, EmbeddedGrid

pytestmark = [pytest.mark.slow, pytest.mark.rucio, pytest.mark.gridsim, pytest.mark.timeout(2400)]

RUN = 8123
PARTS = 3
EVENTS_PER_PART = 40
SCOPE = "bmn.run8"
DATASETS = [f"{SCOPE}:{stage}.run{RUN}" for stage in ("raw", "digi", "dst")]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedGrid]:
    with EmbeddedGrid(root=tmp_path_factory.mktemp("chain")) as grid:
        yield grid


@pytest.fixture(scope="module")
def bmnio() -> Any:
    sys.path.insert(0, str(REPO_DAGS / "payloads"))
    import bmnio

    return bmnio


@pytest.fixture(scope="module")
def chain_done(grid: EmbeddedGrid) -> dict[str, list[dict]]:
    """The data policies are applied (as a deployment does, by its bmn_policies DAG), the DAQ
    closes the run; returns the DAG runs once the chain has finished by itself."""
    airflow = grid.airflow
    assert airflow is not None
    airflow.trigger("bmn_policies")
    policies = airflow.wait_for_runs("bmn_policies", 1, timeout=600)
    assert "success" in {run["state"] for run in policies}

    grid.close_run(RUN, parts=PARTS, events_per_part=EVENTS_PER_PART)
    return {
        "ingest": airflow.wait_for_runs("bmn_raw_ingest", 1, timeout=900),
        "processing": airflow.wait_for_runs("bmn_run_processing", 1, timeout=1800),
    }


def rucio(grid: EmbeddedGrid, path: str, body: Any = None) -> Any:
    assert grid.rucio is not None
    return grid.rucio.call("GET" if body is None else "POST", path, body)


def replicas(grid: EmbeddedGrid, did: str) -> list[dict]:
    """Every file of ``did`` with its replicas in any state: ``{name, bytes, rses: {rse:
    [pfn]}, states: {rse: state}}``."""
    scope, name = did.split(":")
    query = {"dids": [{"scope": scope, "name": name}], "all_states": True}
    return sorted(rucio(grid, "/replicas/list", query), key=lambda f: f["name"])


def test_every_raw_event_reaches_the_dst_exactly_once(grid, chain_done, bmnio):
    assert [r["state"] for r in chain_done["ingest"]] == ["success"]
    assert [r["state"] for r in chain_done["processing"]] == ["success"]
    assert grid.gridsim is not None

    raw_ids = []
    raw_files = replicas(grid, DATASETS[0])
    assert len(raw_files) == PARTS
    for entry in raw_files:
        pfn = entry["rses"]["LHEP_ONLINE"][0]
        raw_ids += bmnio.event_ids_of(grid.gridsim.path_of(pfn))
    assert len(raw_ids) == PARTS * EVENTS_PER_PART

    dst_ids = []
    for entry in replicas(grid, DATASETS[2]):
        pfn = next(iter(entry["rses"].values()))[0]
        dst_ids += bmnio.event_ids_of(grid.gridsim.path_of(pfn))
    assert sorted(dst_ids) == sorted(raw_ids)


def test_every_output_has_the_replicas_its_rules_ask_for(grid, chain_done):
    policies = load_policies(REPO_DAGS / "policies.toml")
    for did in DATASETS:
        scope, name = did.split(":")
        wanted = {rule.rse_expression for rule in policy_matching(policies, scope, name).rules}
        rules = rucio(grid, f"/dids/{scope}/{name}/rules")
        assert {r["rse_expression"] for r in rules} >= wanted, did
        assert {r["state"] for r in rules} == {"OK"}, did

        files = replicas(grid, did)
        assert files, did
        for entry in files:
            available = {rse for rse, state in entry["states"].items() if state == "AVAILABLE"}
            assert available >= wanted, (did, entry["name"], entry["states"])
            # The bytes are there too, with the catalogue's checksum.
            for rse in wanted:
                path = grid.gridsim.path_of(entry["rses"][rse][0])
                assert path.stat().st_size == entry["bytes"], (did, rse, entry["name"])


def test_the_lineage_manifest_links_each_dst_file_to_its_raw_files(grid, chain_done):
    table = pq.read_table(grid.manifests / f"run{RUN}.lineage.parquet").to_pylist()
    dst_files = {entry["name"] for entry in replicas(grid, DATASETS[2])}
    raw_files = {entry["name"] for entry in replicas(grid, DATASETS[0])}

    assert {row["dst_file"] for row in table} == dst_files
    assert {name for row in table for name in row["raw_files"]} == raw_files
    for row in table:
        assert set(row["dst_rses"]) >= {"LHEP_DISK", "DLNP_DISK"}


def snapshot(grid: EmbeddedGrid) -> dict[str, Any]:
    """What a repeated chain must not add to: datasets' files, replicas and rules; PanDA
    tasks; FTS jobs."""
    assert grid.gridsim is not None
    state: dict[str, Any] = {}
    for did in DATASETS:
        scope, name = did.split(":")
        state[f"{did} files"] = [
            (f["name"], sorted(r for r, s in f["states"].items() if s == "AVAILABLE"))
            for f in replicas(grid, did)
        ]
        state[f"{did} rules"] = sorted(r["id"] for r in rucio(grid, f"/dids/{scope}/{name}/rules"))
    since = urllib.parse.quote("2000-01-01 00:00:00")
    tasks = _get(f"{grid.gridsim.panda_url}/task/get_tasks_modified_since?since={since}")
    state["PanDA tasks"] = sorted(int(task["jediTaskID"]) for task in tasks.values())
    states = "SUBMITTED,READY,ACTIVE,STAGING,FINISHED,FAILED,FINISHEDDIRTY,CANCELED"
    fts_jobs = _get(f"{grid.gridsim.fts_url}/jobs?state_in={states}&limit=500")
    state["FTS jobs"] = sorted(job["job_id"] for job in fts_jobs)
    return state


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        document = json.loads(answer.read())
    return document["data"] if isinstance(document, dict) and "data" in document else document


def test_a_second_run_of_the_chain_creates_nothing_new(grid, chain_done):
    airflow = grid.airflow
    assert airflow is not None
    before = snapshot(grid)
    assert before["PanDA tasks"], "the first chain ran no PanDA task"
    assert before["FTS jobs"], "the first chain moved nothing through FTS"

    airflow.trigger("bmn_raw_ingest", {"run": RUN})
    ingest = airflow.wait_for_runs("bmn_raw_ingest", 2, timeout=900)
    airflow.trigger("bmn_run_processing", {"run": RUN})
    processing = airflow.wait_for_runs("bmn_run_processing", 2, timeout=1800)

    assert [r["state"] for r in ingest] == ["success", "success"]
    assert [r["state"] for r in processing] == ["success", "success"]
    assert snapshot(grid) == before


def test_logs_name_no_secret(grid: EmbeddedGrid, chain_done):
    assert grid.rucio is not None
    assert grid.airflow is not None
    secret = grid.rucio.password
    leaks = [
        str(path)
        for path in Path(grid.airflow.log_dir).rglob("*")
        if path.is_file() and secret in path.read_text(errors="replace")
    ]
    assert leaks == []
