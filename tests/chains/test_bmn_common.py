"""The chains' shared pieces: names follow the policies, task specs carry the payloads, and
the lineage manifest links every DST file back to its RAW files."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bmnflow.policy import load_policies, policy_matching


@pytest.fixture(scope="module")
def common(dags_folder: Path):
    import bmn_common.lineage
    import bmn_common.naming
    import bmn_common.tasks

    return bmn_common


def test_run_datasets_are_covered_by_their_stage_policy(common, dags_folder: Path):
    policies = load_policies(dags_folder / "policies.toml")
    for stage in ("raw", "digi", "dst"):
        scope, name = common.naming.run_dataset(stage, 8123).split(":")
        assert policy_matching(policies, scope, name).datatype == stage
    # Containers and logs are not datasets of a data type: no policy may replicate them.
    for did in (common.naming.period_container("raw"), common.naming.log_dataset("digi", 8123)):
        assert policy_matching(policies, *did.split(":")) is None


def test_monte_carlo_datasets_are_covered_by_the_mc_policies(common, dags_folder: Path):
    policies = load_policies(dags_folder / "policies.toml")
    names = {step: common.naming.mc_dataset("dcm-qgsm", step) for step in ("gen", "digi", "dst")}
    assert policy_matching(policies, *names["gen"].split(":")).name == "mc-intermediate"
    assert policy_matching(policies, *names["dst"].split(":")).name == "mc-dst"


def test_bad_run_numbers_and_stages_are_refused(common):
    with pytest.raises(ValueError, match="positive integer"):
        common.naming.run_dataset("raw", 0)
    with pytest.raises(ValueError, match="unknown stage"):
        common.naming.run_dataset("reco", 8123)


def test_run_stage_tasks_chain_raw_to_digi_to_dst(common, dags_folder: Path):
    digi = common.tasks.run_stage_task("digi", 8123)
    dst = common.tasks.run_stage_task("dst", 8123, files_per_job=2)

    assert (digi["input_dataset"], digi["output_dataset"]) == (
        "bmn.run8:raw.run8123",
        "bmn.run8:digi.run8123",
    )
    assert dst["input_dataset"] == digi["output_dataset"]
    assert dst["split"] == {"files_per_job": 2}
    assert Path(digi["transformation"]["path"]) == dags_folder / "payloads" / "raw_to_digi.py"
    assert "${IN}" in digi["job_parameters"]
    assert "${OUTPUT0}" in digi["job_parameters"]


def test_monte_carlo_generation_splits_by_events_with_a_fixed_seed(common):
    gen = common.tasks.mc_step_task("s1", "gen", total_events=100, events_per_job=30, seed=7)
    reco = common.tasks.mc_step_task("s1", "dst", total_events=100, events_per_job=30, seed=7)

    assert "input_dataset" not in gen
    assert gen["split"] == {"events_per_job": 30, "total_events": 100}
    assert "--seed 7" in gen["job_parameters"]
    assert "${FIRSTEVENT}" in gen["job_parameters"]
    assert reco["input_dataset"] == "bmn.mc:mc.s1.digi"
    with pytest.raises(ValueError, match="events_per_job"):
        common.tasks.mc_step_task("s1", "gen", total_events=10, events_per_job=20, seed=7)


def job(panda_id: int, inputs: list[str], output: str, status: str = "finished") -> dict:
    files = [{"lfn": n, "type": "input"} for n in inputs]
    files += [{"lfn": output, "type": "output"}, {"lfn": f"{output}.log.tgz", "type": "log"}]
    return {"PandaID": panda_id, "jobStatus": status, "Files": files}


def test_manifest_links_each_dst_file_to_its_raw_files_and_replicas(common, tmp_path: Path):
    digi_jobs = [
        job(11, ["p0.data"], "d0.digi", status="failed"),  # its retry made the file
        job(12, ["p0.data"], "d0.digi"),
        job(13, ["p1.data", "p2.data"], "d1.digi"),
    ]
    dst_jobs = [job(21, ["d0.digi"], "s0.dst"), job(22, ["d1.digi"], "s1.dst")]
    replicas = [
        {"name": "s0.dst", "rse": "LHEP_DISK", "pfn": "http://h/lhep/s0.dst", "state": "AVAILABLE"},
        {"name": "s0.dst", "rse": "DLNP_DISK", "pfn": "http://h/dlnp/s0.dst", "state": "AVAILABLE"},
        {"name": "s1.dst", "rse": "LHEP_DISK", "pfn": "http://h/lhep/s1.dst", "state": "AVAILABLE"},
        {"name": "s1.dst", "rse": "DLNP_DISK", "pfn": "", "state": "COPYING"},
    ]

    table = common.lineage.manifest(8123, digi_jobs, dst_jobs, replicas)
    path = common.lineage.write_manifest(table, tmp_path, 8123)

    rows = pq.read_table(path).to_pylist()
    assert [(r["raw_files"], r["digi_panda_id"], r["dst_file"], r["dst_rses"]) for r in rows] == [
        (["p0.data"], 12, "s0.dst", ["DLNP_DISK", "LHEP_DISK"]),
        (["p1.data", "p2.data"], 13, "s1.dst", ["LHEP_DISK"]),
    ]


def test_manifest_refuses_a_dst_file_without_a_digi_origin(common):
    with pytest.raises(ValueError, match=r"s9\.dst"):
        common.lineage.manifest(8123, [], [job(29, ["d9.digi"], "s9.dst")], [])
