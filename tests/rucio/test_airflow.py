"""The Rucio operators and sensor in real Airflow DAG runs (``dag.test()``), against the real
server, with the connection given as ``AIRFLOW_CONN_RUCIO_DEFAULT``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bmnflow._core import RucioClient
from bmnflow.errors import NotFoundError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio

DAGS = Path(__file__).with_name("dags")


@pytest.fixture(scope="module")
def dag_runs(
    tmp_path_factory: pytest.TempPathFactory,
    rucio_server: RucioServer,
    client: RucioClient,
    raw_files,
) -> dict[str, Any]:
    """Runs, in one fresh Airflow home: the chain (the sensor must defer until the
    judge-injector turns its rule OK), the chain again, and the sensor on a SUSPENDED rule."""
    home = tmp_path_factory.mktemp("airflow")
    scope = f"af.{int(time.time() * 1000) % 10**9}"
    rucio_server.add_scope(scope)
    dataset = f"{scope}:raw.run8123"
    files = home / "files.parquet"
    pq.write_table(pa.Table.from_pylist(raw_files(8123, 6)), files)

    suspended = f"{scope}:raw.run8124"
    client.create_dataset(suspended)
    client.register_files(suspended, "LHEP_ONLINE", pa.Table.from_pylist(raw_files(8124, 2)))
    (suspended_rule,) = client.add_rule([suspended], "DLNP_DISK")
    rucio_server.call("PUT", f"/rules/{suspended_rule}", {"options": {"state": "SUSPENDED"}})

    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_RUCIO_DEFAULT": json.dumps(
            {
                "conn_type": "rucio",
                "host": rucio_server.url,
                "login": rucio_server.username,
                "password": rucio_server.password,
                "extra": {"account": "root", "webui_url": "https://rucio-ui.bmn.invalid"},
            }
        ),
        "BMN_TEST_SCOPE": scope,
        "BMN_TEST_FILES": str(files),
        "BMN_TEST_REPORT": str(home / "report.jsonl"),
        "BMN_TEST_RULE": suspended_rule,
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)

    seen: list[str] = []

    def inject_once_the_sensor_waits() -> None:
        # The sensor must find the rule in INJECT and defer; only then does the daemon act.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not seen:
            rules = client.list_rules(dataset) if _exists(client, dataset) else []
            if rules and rules[0]["state"] == "INJECT":
                seen.append(rules[0]["state"])
                time.sleep(3)
                rucio_server.run_daemon("judge-injector")
            time.sleep(0.5)

    injector = threading.Thread(target=inject_once_the_sensor_waits)
    injector.start()
    result = subprocess.run(
        [sys.executable, str(DAGS / "rucio_dags.py"), "chain", "chain", "suspended"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    injector.join()
    assert result.returncode == 0, result.stderr[-3000:]
    runs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    reports = [json.loads(line) for line in (home / "report.jsonl").read_text().splitlines()]
    return {"runs": runs, "reports": reports, "seen": seen, "dataset": dataset}


def test_the_chain_registers_a_run_and_the_sensor_waits_for_the_daemon(
    dag_runs: dict[str, Any], client: RucioClient
):
    first = dag_runs["runs"][0]
    assert first["run"] == "success", first
    assert dag_runs["seen"] == ["INJECT"], "the rule was waited for, not OK from the start"
    report = dag_runs["reports"][0]
    assert report["registered"] == 6
    assert (report["rule"]["state"], report["rule"]["locks_ok_cnt"]) == ("OK", 6)
    rule_page = f"https://rucio-ui.bmn.invalid/rule?rule_id={report['rule_id']}"
    assert report["url"] == rule_page, "the extra link's URL, from the connection's webui_url"
    dataset = dag_runs["dataset"]
    assert [r["id"] for r in client.list_rules(dataset)] == [report["rule_id"]]
    assert client.list_replicas([dataset]).num_rows == 6


def test_running_the_chain_again_duplicates_nothing(dag_runs: dict[str, Any], client: RucioClient):
    second = dag_runs["runs"][1]
    assert second["run"] == "success", second
    first, again = dag_runs["reports"]
    assert again["rule_id"] == first["rule_id"]
    assert len(client.list_content(dag_runs["dataset"])) == 6
    assert len(client.list_rules(dag_runs["dataset"])) == 1


def test_the_sensor_fails_on_a_suspended_rule(dag_runs: dict[str, Any]):
    suspended = dag_runs["runs"][2]
    assert suspended["tasks"] == {"wait": "failed"}, suspended


def _exists(client: RucioClient, did: str) -> bool:
    try:
        client.get_metadata(did)
    except NotFoundError:
        return False
    return True
