"""bmn_raw_ingest: a run closed by the DAQ becomes a Rucio dataset with its RAW rules OK.

Started by the asset watcher of the online storage when the DAQ writes a run-complete
marker (or by hand with ``{"run": 8123}``). For each run: the files are registered where
they lie on LHEP_ONLINE in the dataset ``bmn.run8:raw.run<run>``; the rules of the ``raw``
policy (one copy on DLNP tape, one on LHEP disk near compute) are added, or found when the
policy's subscription made them first; the DAG waits, in the triggerer, until they are OK
and hold every file; then the dataset joins the period container ``bmn.run8:run8.raw``,
which is what tells ``bmn_run_processing`` that the run is ready.

Every step is idempotent: running the DAG again for the same run creates nothing new.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, Param, task
from bmn_common.naming import period_container, run_dataset
from bmn_common.rules import add_policy_rules
from bmn_common.settings import (
    MARKERS,
    ONLINE_RSE,
    PERIOD,
    POLICIES,
    RUCIO_CONN_ID,
    WATCH_INTERVAL,
)

from bmnflow.assets import RunCompleteTrigger
from bmnflow.operators.rucio import (
    RucioCreateDatasetOperator,
    RucioRegisterFilesOperator,
)
from bmnflow.policy import load_policies, policy_for

RAW_POLICY = policy_for(load_policies(POLICIES), datatype="raw")

run_closed = Asset(
    name=f"bmn.{PERIOD}.raw.closed",
    watchers=[
        AssetWatcher(
            name=f"bmn_{PERIOD}_daq_markers",
            trigger=RunCompleteTrigger(
                markers=str(MARKERS), period=PERIOD, poll_interval=WATCH_INTERVAL
            ),
        )
    ],
)

with DAG(
    dag_id="bmn_raw_ingest",
    description="Register a closed run's RAW files in Rucio and replicate them by policy",
    schedule=[run_closed],
    catchup=False,
    max_active_runs=4,
    params={"run": Param(None, type=["null", "integer"], description="run to ingest by hand")},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["bmn", "raw", "rucio"],
    doc_md=__doc__,
) as dag:

    @task
    def closed_runs(triggering_asset_events: Any = None, params: Any = None) -> list[dict]:
        """The runs to ingest, each with its dataset and files: from the markers the watcher
        announced, or from the marker of the run given by hand."""
        events = triggering_asset_events.get(run_closed, []) if triggering_asset_events else []
        documents = [event.extra["payload"] for event in events]
        if params.get("run"):
            marker = MARKERS / PERIOD / f"run_{params['run']}.complete"
            documents.append(json.loads(marker.read_text()))
        if not documents:
            raise ValueError("no run to ingest: trigger with {'run': <number>} or by a marker")
        return [
            {
                "run": doc["run"],
                "dataset": run_dataset("raw", doc["run"]),
                "files": [
                    {k: f[k] for k in ("name", "bytes", "adler32", "events") if k in f}
                    for f in doc["files"]
                ],
            }
            for doc in documents
        ]

    runs = closed_runs()

    @task
    def datasets(runs: list[dict]) -> list[str]:
        return [run["dataset"] for run in runs]

    @task
    def registrations(runs: list[dict]) -> list[dict]:
        return [{"dataset": run["dataset"], "files": run["files"]} for run in runs]

    dids = datasets(runs)
    container = RucioCreateDatasetOperator(
        task_id="create_period_container",
        did=period_container("raw"),
        container=True,
        rucio_conn_id=RUCIO_CONN_ID,
    )
    created = RucioCreateDatasetOperator.partial(
        task_id="create_dataset", rucio_conn_id=RUCIO_CONN_ID
    ).expand(did=dids)
    registered = RucioRegisterFilesOperator.partial(
        task_id="register_files", rse=ONLINE_RSE, rucio_conn_id=RUCIO_CONN_ID
    ).expand_kwargs(registrations(runs))
    created >> registered

    waits = add_policy_rules(RAW_POLICY, dids, registered)

    @task.sensor(poke_interval=5, timeout=3600, mode="reschedule")
    def rules_hold_every_file(dids: list[str]) -> bool:
        """Rucio re-evaluates a rule a moment after files join its dataset; until then an
        older rule (made by the subscription when the dataset was empty) is OK without
        them. Done when each rule of each dataset holds a lock per file and copy."""
        from bmnflow.hooks.rucio import RucioHook

        client = RucioHook(RUCIO_CONN_ID).client
        for did in dids:
            files = client.list_files(did).num_rows
            for rule in client.list_rules(did):
                if rule["state"] != "OK" or rule["locks_ok_cnt"] < files * rule["copies"]:
                    return False
        return True

    @task
    def join_period_container(dids: list[str]) -> list[str]:
        """Attaches the complete datasets to the period container (once)."""
        from bmnflow.hooks.rucio import RucioHook

        client = RucioHook(RUCIO_CONN_ID).client
        parent = period_container("raw")
        present = {f"{c['scope']}:{c['name']}" for c in client.list_content(parent)}
        missing = [did for did in dids if did not in present]
        if missing:
            client.attach(parent, missing)
        return missing

    held = rules_hold_every_file(dids)
    waits >> held
    container >> held >> join_period_container(dids)
