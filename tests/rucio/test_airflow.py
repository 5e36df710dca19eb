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
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio

DAGS = Path(__file__).with_name("dags")
RUNNER = DAGS / "rucio_dags.py"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory, rucio_server: RucioServer) -> dict:
    """A fresh Airflow home with its database, and the Rucio connection as an env var."""
    home = tmp_path_factory.mktemp("airflow")
    connection = {
        "conn_type": "rucio",
        "host": rucio_server.url,
        "login": rucio_server.username,
        "password": rucio_server.password,
        "extra": {"account": "root", "webui_url": "https://rucio-ui.bmn.invalid"},
    }
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_RUCIO_DEFAULT": json.dumps(connection),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def run_dag(env: dict, which: str, **objects: str) -> dict[str, Any]:
    """Runs one DAG of ``dags/rucio_dags.py`` with ``BMN_TEST_<NAME>`` variables set."""
    variables = {f"BMN_TEST_{key.upper()}": value for key, value in objects.items()}
    result = subprocess.run(
        [sys.executable, str(RUNNER), which],
        env={**env, **variables},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_chain_registers_a_run_and_the_sensor_waits_for_the_daemon(
    airflow_env: dict,
    rucio_server: RucioServer,
    client: RucioClient,
    rucio_scope,
    raw_files,
    tmp_path: Path,
):
    files = tmp_path / "files.parquet"
    pq.write_table(pa.Table.from_pylist(raw_files(8123, 6)), files)
    dataset = f"{rucio_scope}:raw.run8123"
    seen: list[str] = []

    def inject_when_waiting() -> None:
        # The sensor must find the rule in INJECT and defer; only then does the daemon act.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            rules = _rules(client, dataset)
            if rules and rules[0]["state"] == "INJECT":
                seen.append("INJECT")
                time.sleep(3)
                rucio_server.run_daemon("judge-injector")
                return
            time.sleep(0.5)

    daemon = threading.Thread(target=inject_when_waiting)
    daemon.start()
    report = tmp_path / "report.json"
    outcome = run_dag(airflow_env, "chain", scope=rucio_scope, files=str(files), report=str(report))
    daemon.join()

    assert outcome["run"] == "success", outcome
    assert seen == ["INJECT"]
    kept = json.loads(report.read_text())
    assert kept["registered"] == 6
    assert kept["rule"]["state"] == "OK"
    assert kept["rule"]["locks_ok_cnt"] == 6
    assert [r["id"] for r in client.list_rules(dataset)] == [kept["rule_id"]]
    assert client.list_replicas([dataset]).num_rows == 6

    # The whole chain again: the dataset exists, files and rule are found, nothing doubles.
    again = run_dag(airflow_env, "chain", scope=rucio_scope, files=str(files), report=str(report))
    assert again["run"] == "success", again
    assert json.loads(report.read_text())["rule_id"] == kept["rule_id"]
    assert len(client.list_content(dataset)) == 6


def test_the_sensor_fails_on_a_suspended_rule(
    airflow_env: dict, rucio_server: RucioServer, client: RucioClient, rucio_scope, raw_files
):
    dataset = f"{rucio_scope}:raw.run8124"
    client.create_dataset(dataset)
    client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(raw_files(8124, 2)))
    (rule_id,) = client.add_rule([dataset], "DLNP_DISK")
    rucio_server.call("PUT", f"/rules/{rule_id}", {"options": {"state": "SUSPENDED"}})

    outcome = run_dag(airflow_env, "suspended", rule=rule_id)
    assert outcome["tasks"]["wait"] == "failed", outcome


def _rules(client: RucioClient, dataset: str) -> list[dict[str, Any]]:
    try:
        return client.list_rules(dataset)
    except Exception:
        return []
