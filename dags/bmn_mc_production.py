"""bmn_mc_production: a Monte Carlo sample from generation to DST, on PanDA.

Triggered by hand with the sample's name, its total events, the events per job and the
seed. Generation runs as a PanDA task without input (``nEvents``/``nEventsPerJob``);
simulation with digitisation and then reconstruction each take one file of the step before
per job. Every event depends only on its number and the seed, so the same parameters give
the same sample whatever the job size. The DST gets the rules of the ``mc`` policy (disk
at both sites). Task names are unique per sample and step, so a second run of the DAG with
the same sample creates nothing new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, task
from bmn_common.naming import mc_dataset
from bmn_common.settings import PANDA_CONN_ID, PANDA_POLL_INTERVAL, POLICIES, RUCIO_CONN_ID
from bmn_common.tasks import mc_step_task

from bmnflow.operators.panda import PandaSubmitTaskOperator
from bmnflow.operators.rucio import RucioAddRuleOperator
from bmnflow.policy import load_policies, policy_matching
from bmnflow.sensors.rucio import RucioRuleSensor

#: The policy of Monte Carlo DST, found by the name its datasets have.
MC_DST_POLICY = policy_matching(load_policies(POLICIES), *mc_dataset("sample", "dst").split(":"))

with DAG(
    dag_id="bmn_mc_production",
    description="Monte Carlo generation, simulation and digitisation, reconstruction",
    schedule=None,
    catchup=False,
    params={
        "sample": Param("dcm-qgsm-xe-csi-3.8gev", type="string", pattern=r"^[a-z0-9][\w.-]*$"),
        "total_events": Param(1000, type="integer", minimum=1),
        "events_per_job": Param(250, type="integer", minimum=1),
        "seed": Param(20260101, type="integer", minimum=0),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=10)},
    tags=["bmn", "panda", "mc"],
    doc_md=__doc__,
) as dag:

    @task
    def step_spec(step: str, params: Any = None) -> dict:
        """The PanDA task of one step of the sample named in the parameters."""
        return mc_step_task(
            params["sample"],
            step,
            total_events=params["total_events"],
            events_per_job=min(params["events_per_job"], params["total_events"]),
            seed=params["seed"],
        )

    steps = [
        PandaSubmitTaskOperator(
            task_id=f"mc_{step}",
            spec=step_spec.override(task_id=f"{step}_spec")(step),
            panda_conn_id=PANDA_CONN_ID,
            poll_interval=PANDA_POLL_INTERVAL,
        )
        for step in ("gen", "digi", "dst")
    ]
    steps[0] >> steps[1] >> steps[2]

    for rule in MC_DST_POLICY.rules:
        name = rule.rse_expression.lower()
        added = RucioAddRuleOperator(
            task_id=f"dst_rule_{name}",
            dids=mc_dataset("{{ params.sample }}", "dst"),
            rse_expression=rule.rse_expression,
            copies=rule.copies,
            lifetime=rule.lifetime,
            activity=rule.activity,
            grouping=rule.grouping,
            rucio_conn_id=RUCIO_CONN_ID,
        )
        (
            steps[2]
            >> added
            >> RucioRuleSensor(
                task_id=f"wait_dst_{name}", rule_id=added.output, rucio_conn_id=RUCIO_CONN_ID
            )
        )
