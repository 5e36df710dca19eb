"""bmn_run_processing: a run whose RAW dataset is complete and replicated becomes DST.

Scheduled by the asset watcher of the period's RAW container, which fires once for each run
dataset that has joined the container with every rule OK (or by hand with
``{"run": 8123}``). For each run: a preview of how PanDA will split the RAW files into jobs;
RAW -> DIGI and then DIGI -> DST as PanDA tasks (whose jobs register their outputs in
Rucio); the rules of the ``dst`` policy (disk at both sites) are added and waited for; the
DIGI and DST datasets join their period containers; and a lineage manifest (Parquet: RAW
files -> PanDA job -> DIGI file -> PanDA job -> DST file -> replicas) is written.

Every step is idempotent: PanDA task names are unique per run, rules are found when they
exist, so running the DAG again for the same run creates nothing new.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, Param, task
from bmn_common.lineage import manifest, write_manifest
from bmn_common.naming import period_container, run_dataset
from bmn_common.rules import add_policy_rules
from bmn_common.settings import (
    MANIFESTS,
    PANDA_CONN_ID,
    PANDA_POLL_INTERVAL,
    PERIOD,
    POLICIES,
    RUCIO_CONN_ID,
    WATCH_INTERVAL,
)
from bmn_common.tasks import run_stage_task

from bmnflow.assets import RunDatasetReadyTrigger
from bmnflow.operators.panda import PandaSubmitTaskOperator
from bmnflow.operators.rucio import RucioCreateDatasetOperator
from bmnflow.policy import load_policies, policy_for

log = logging.getLogger(__name__)

POLICIES_BY_TYPE = load_policies(POLICIES)
RAW_POLICY = policy_for(POLICIES_BY_TYPE, datatype="raw")
DST_POLICY = policy_for(POLICIES_BY_TYPE, datatype="dst")

raw_ready = Asset(
    name=f"bmn.{PERIOD}.raw.ready",
    watchers=[
        AssetWatcher(
            name=f"bmn_{PERIOD}_raw_datasets",
            trigger=RunDatasetReadyTrigger(
                rucio_conn_id=RUCIO_CONN_ID,
                container=period_container("raw"),
                required_rses=[rule.rse_expression for rule in RAW_POLICY.rules],
                poll_interval=WATCH_INTERVAL,
            ),
        )
    ],
)
#: Updated when a run's DST is replicated; analysis DAGs may be scheduled on it.
dst_ready = Asset(name=f"bmn.{PERIOD}.dst.ready")

with DAG(
    dag_id="bmn_run_processing",
    description="RAW -> DIGI -> DST of a replicated run on PanDA, DST replicated by policy",
    schedule=[raw_ready],
    catchup=False,
    max_active_runs=4,
    params={
        "run": Param(None, type=["null", "integer"], description="run to process by hand"),
        "files_per_job": Param(1, type="integer", minimum=1, description="RAW files per job"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["bmn", "panda", "rucio"],
    doc_md=__doc__,
) as dag:

    @task
    def ready_runs(triggering_asset_events: Any = None, params: Any = None) -> list[int]:
        """The runs to process: those the watcher announced, or the one given by hand."""
        events = triggering_asset_events.get(raw_ready, []) if triggering_asset_events else []
        runs = [int(event.extra["payload"]["run"]) for event in events]
        if params.get("run"):
            runs.append(int(params["run"]))
        if not runs:
            raise ValueError("no run to process: trigger with {'run': <number>} or by the watcher")
        return sorted(set(runs))

    @task
    def preview_split(runs: list[int], params: Any = None) -> list[dict]:
        """How PanDA will cut each run's RAW files into jobs, computed by bmnflow's splitter
        from the catalogue before anything is submitted."""
        import pyarrow as pa

        from bmnflow.hooks.rucio import RucioHook
        from bmnflow.split import split_jobs

        client = RucioHook(RUCIO_CONN_ID).client
        previews = []
        for run in runs:
            files = client.list_files(run_dataset("raw", run))
            table = pa.table(
                {
                    "lfn": files["name"],
                    "size": files["bytes"].cast(pa.int64()),
                    "nevents": files["events"].cast(pa.int64()),
                }
            )
            jobs = split_jobs(table, n_files_per_job=params["files_per_job"]).jobs
            preview = {
                "run": run,
                "files": table.num_rows,
                "bytes": sum(table["size"].to_pylist()),
                "events": sum(n or 0 for n in table["nevents"].to_pylist()),
                "jobs": jobs.num_rows,
            }
            log.info("run %d: %d files -> %d PanDA jobs", run, preview["files"], preview["jobs"])
            previews.append(preview)
        return previews

    @task
    def task_specs(runs: list[int], stage: str, params: Any = None) -> list[dict]:
        """The PanDA task of ``stage`` for each run."""
        per_job = params["files_per_job"] if stage == "digi" else 1
        return [run_stage_task(stage, run, files_per_job=per_job) for run in runs]

    @task
    def stage_datasets(runs: list[int], stage: str) -> list[str]:
        return [run_dataset(stage, run) for run in runs]

    runs = ready_runs()
    preview = preview_split(runs)
    panda = {"panda_conn_id": PANDA_CONN_ID, "poll_interval": PANDA_POLL_INTERVAL}
    digi = PandaSubmitTaskOperator.partial(task_id="raw_to_digi", **panda).expand(
        spec=task_specs(runs, "digi")
    )
    dst = PandaSubmitTaskOperator.partial(task_id="digi_to_dst", **panda).expand(
        spec=task_specs(runs, "dst")
    )
    preview >> digi >> dst

    dst_dids = stage_datasets(runs, "dst")
    waits = add_policy_rules(DST_POLICY, dst_dids, dst, prefix="dst_")

    containers = [
        RucioCreateDatasetOperator(
            task_id=f"create_{stage}_container",
            did=period_container(stage),
            container=True,
            rucio_conn_id=RUCIO_CONN_ID,
        )
        for stage in ("digi", "dst")
    ]

    @task
    def join_period_containers(runs: list[int]) -> list[str]:
        """Attaches each run's DIGI and DST datasets to their period containers (once)."""
        from bmnflow.hooks.rucio import RucioHook

        client = RucioHook(RUCIO_CONN_ID).client
        attached = []
        for stage in ("digi", "dst"):
            parent = period_container(stage)
            present = {f"{c['scope']}:{c['name']}" for c in client.list_content(parent)}
            missing = [run_dataset(stage, run) for run in runs]
            missing = [did for did in missing if did not in present]
            if missing:
                client.attach(parent, missing)
                attached += missing
        return attached

    @task(outlets=[dst_ready])
    def lineage(runs: list[int], digi_tasks: list[dict], dst_tasks: list[dict]) -> list[str]:
        """Writes each run's lineage manifest from PanDA's job files and Rucio's replicas."""
        from bmnflow.hooks.panda import PandaHook
        from bmnflow.hooks.rucio import RucioHook

        panda = PandaHook(PANDA_CONN_ID).client
        rucio = RucioHook(RUCIO_CONN_ID).client

        def jobs(task_id: int) -> list[dict]:
            return panda.job_descriptions(panda.task_job_ids(task_id))

        written = []
        for run, digi_task, dst_task in zip(runs, digi_tasks, dst_tasks, strict=True):
            replicas = rucio.list_replicas([run_dataset("dst", run)]).to_pylist()
            table = manifest(
                run,
                jobs(digi_task["task_id"]),
                jobs(dst_task["task_id"]),
                replicas,
            )
            path = write_manifest(table, MANIFESTS, run)
            log.info("run %d: lineage of %d DST files in %s", run, table.num_rows, path)
            written.append(str(path))
        return written

    joined = join_period_containers(runs)
    dst >> containers >> joined
    waits >> lineage(runs, digi.output, dst.output)
    waits >> joined
