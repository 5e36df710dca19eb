"""The rules of a data policy added to datasets, and the waits until they are OK."""

from __future__ import annotations

from typing import Any

from bmn_common.settings import RUCIO_CONN_ID
from bmnflow.operators.rucio import RucioAddRuleOperator
from bmnflow.sensors.rucio import RucioRuleSensor


def add_policy_rules(policy: Any, dids: Any, upstream: Any, prefix: str = "") -> list[Any]:
    """Adds each rule of ``policy`` to every dataset of ``dids`` and waits for it to be OK.

    The rules are added explicitly, not only by the policy's subscription, so that a DAG run
    knows its rule ids to wait on; adding is idempotent, so a rule the subscription made
    first is found and returned.

    :param policy: A data policy of ``dags/policies.toml`` (``bmnflow.policy``).
    :param dids: The datasets, as an XComArg of DID strings (one mapped task each).
    :param upstream: The task after which the rules may be added (the data is registered).
    :param prefix: Task id prefix that keeps the tasks of several stages apart in one DAG.
    :returns: The rule sensors, one per rule, for what must wait until every copy exists.
    """
    waits = []
    for rule in policy.rules:
        name = rule.rse_expression.lower()
        added = RucioAddRuleOperator.partial(
            task_id=f"{prefix}rule_{name}",
            rse_expression=rule.rse_expression,
            copies=rule.copies,
            lifetime=rule.lifetime,
            activity=rule.activity,
            grouping=rule.grouping,
            rucio_conn_id=RUCIO_CONN_ID,
        ).expand(dids=dids)
        upstream >> added
        waits.append(
            RucioRuleSensor.partial(
                task_id=f"wait_{prefix}{name}", rucio_conn_id=RUCIO_CONN_ID, timeout=6 * 3600
            ).expand(rule_id=added.output)
        )
    return waits
