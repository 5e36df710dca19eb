"""The BM@N DAGs import cleanly and are wired as the chains need."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmnflow.assets import RunCompleteTrigger, RunDatasetReadyTrigger

CHAINS = {"bmn_raw_ingest", "bmn_run_processing", "bmn_mc_production", "bmn_policies"}


@pytest.fixture(scope="module")
def dagbag(dags_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    from airflow.dag_processing.dagbag import DagBag

    mp = pytest.MonkeyPatch()
    mp.setenv("BMN_ONLINE_STORAGE", str(tmp_path_factory.mktemp("online")))
    try:
        yield DagBag(str(dags_folder))
    finally:
        mp.undo()


def test_every_chain_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == CHAINS


def watcher_triggers(dag) -> list:
    """The triggers of the watchers of the assets the DAG is scheduled on."""
    assets = dag.timetable.asset_condition.objects
    return [watcher.trigger for asset in assets for watcher in asset.watchers]


def test_ingest_starts_on_run_complete_markers(dagbag):
    (trigger,) = watcher_triggers(dagbag.dags["bmn_raw_ingest"])
    assert isinstance(trigger, RunCompleteTrigger)
    assert trigger.period == "run8"


def test_processing_starts_when_raw_is_on_tape_and_disk(dagbag):
    (trigger,) = watcher_triggers(dagbag.dags["bmn_run_processing"])
    assert isinstance(trigger, RunDatasetReadyTrigger)
    assert trigger.container == "bmn.run8:run8.raw"
    assert sorted(trigger.required_rses) == ["DLNP_TAPE", "LHEP_DISK"]
    # The trigger is rebuilt by the triggerer from its kwargs: no secret may be among them.
    _, kwargs = trigger.serialize()
    assert set(kwargs) == {"rucio_conn_id", "container", "required_rses", "poll_interval"}


def test_rules_follow_the_policy_file(dagbag):
    ingest = dagbag.dags["bmn_raw_ingest"]
    processing = dagbag.dags["bmn_run_processing"]
    assert {"rule_dlnp_tape", "rule_lhep_disk"} <= set(ingest.task_ids)
    assert {"dst_rule_lhep_disk", "dst_rule_dlnp_disk"} <= set(processing.task_ids)
    # Waiting on a rule comes after adding it, and the DST rules after the DST exists.
    assert "wait_dlnp_tape" in ingest.get_task("rule_dlnp_tape").downstream_task_ids
    assert "dst_rule_dlnp_disk" in processing.get_task("digi_to_dst").downstream_task_ids


def test_monte_carlo_steps_run_in_order(dagbag):
    mc = dagbag.dags["bmn_mc_production"]
    assert mc.get_task("mc_gen").downstream_task_ids >= {"mc_digi"}
    assert mc.get_task("mc_digi").downstream_task_ids >= {"mc_dst"}
    assert set(mc.params) == {"sample", "total_events", "events_per_job", "seed"}
