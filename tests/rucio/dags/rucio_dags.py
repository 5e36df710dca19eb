"""DAGs that drive the Rucio operators and sensor through Airflow's own ``dag.test()``.

``test_airflow.py`` points ``AIRFLOW__CORE__DAGS_FOLDER`` here and runs this file as a script
in a fresh ``AIRFLOW_HOME``, with the connection in ``AIRFLOW_CONN_RUCIO_DEFAULT`` and the
test's objects in ``BMN_TEST_*`` variables. Each DAG named on the command line is run in turn
(one process: Airflow starts once); a JSON line per run gives its state and its tasks'.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from bmnflow.operators.rucio import (
    RucioAddRuleOperator,
    RucioCreateDatasetOperator,
    RucioRegisterFilesOperator,
)
from bmnflow.sensors.rucio import RucioRuleSensor

SCOPE = os.environ.get("BMN_TEST_SCOPE", "bmn.run8")
DATASET = f"{SCOPE}:raw.run8123"

with DAG(dag_id="rucio_chain", schedule=None) as rucio_chain:
    create = RucioCreateDatasetOperator(task_id="create", did=DATASET, meta={"run_number": 8123})
    register = RucioRegisterFilesOperator(
        task_id="register",
        dataset=DATASET,
        rse="LHEP_ONLINE",
        files=os.environ.get("BMN_TEST_FILES", "files.parquet"),
    )
    # Asynchronous: the rule waits in INJECT until the judge-injector daemon evaluates it.
    rule = RucioAddRuleOperator(
        task_id="rule", dids=DATASET, rse_expression="LHEP_ONLINE", asynchronous=True
    )
    wait = RucioRuleSensor(task_id="wait", rule_id=rule.output, poke_interval=1)

    @task
    def keep(rule_id: str, registered: int, rule: dict[str, Any], ti: Any = None) -> None:
        # The URL behind the rule task's extra link, pushed by the operator.
        rule_url = ti.xcom_pull(task_ids="rule", key="rucio_rule_url")
        report = {"rule_id": rule_id, "registered": registered, "rule": rule, "url": rule_url}
        with Path(os.environ["BMN_TEST_REPORT"]).open("a") as file:
            file.write(json.dumps(report) + "\n")

    create >> register >> rule >> wait
    keep(rule.output, register.output, wait.output)

with DAG(dag_id="rucio_suspended", schedule=None) as rucio_suspended:
    RucioRuleSensor(
        task_id="wait", rule_id=os.environ.get("BMN_TEST_RULE", "0" * 32), poke_interval=1
    )


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run = {"chain": rucio_chain, "suspended": rucio_suspended}[name].test()
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        print(json.dumps({"dag": name, "run": str(run.state), "tasks": states}), flush=True)
