"""DAGs that drive the Rucio operators and sensor through Airflow's own ``dag.test()``.

``test_airflow.py`` points ``AIRFLOW__CORE__DAGS_FOLDER`` here and runs this file as a script
in a fresh ``AIRFLOW_HOME``, with the connection in ``AIRFLOW_CONN_RUCIO_DEFAULT`` and the
test's objects in ``BMN_TEST_*`` variables; it prints one JSON line: the run's state and each
task's state.
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
    def keep(rule_id: str, registered: int, rule: dict[str, Any]) -> None:
        report = {"rule_id": rule_id, "registered": registered, "rule": rule}
        Path(os.environ["BMN_TEST_REPORT"]).write_text(json.dumps(report))

    create >> register >> rule >> wait
    keep(rule.output, register.output, wait.output)

with DAG(dag_id="rucio_suspended", schedule=None) as rucio_suspended:
    RucioRuleSensor(
        task_id="wait", rule_id=os.environ.get("BMN_TEST_RULE", "0" * 32), poke_interval=1
    )


if __name__ == "__main__":
    dag = {"chain": rucio_chain, "suspended": rucio_suspended}[sys.argv[1]]
    run = dag.test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"run": str(run.state), "tasks": states}))
