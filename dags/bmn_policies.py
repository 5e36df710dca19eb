"""bmn_policies: applies the data policies of ``policies.toml`` as Rucio subscriptions.

Runs daily and whenever triggered (after a change of the file): each policy's subscription
is created when missing, updated when it differs from the file, and left alone otherwise.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, task
from bmn_common.settings import POLICIES, RUCIO_CONN_ID

with DAG(
    dag_id="bmn_policies",
    description="Apply the BM@N data policies as Rucio subscriptions",
    schedule="@daily",
    catchup=False,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=1)},
    tags=["bmn", "rucio", "policy"],
    doc_md=__doc__,
) as dag:

    @task
    def apply_policies() -> dict[str, str]:
        """Creates or updates the subscription of each policy; returns what was done."""
        from bmnflow.hooks.rucio import RucioHook
        from bmnflow.policy import apply_policies, load_policies

        applied = apply_policies(RucioHook(RUCIO_CONN_ID), load_policies(POLICIES))
        return {a.subscription: a.action for a in applied}

    apply_policies()
