"""With a real triggerer: a closed run starts its DAG once, even across a triggerer crash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bmnflow.testing.airflow_home import AirflowHome

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CONSUMER = """
from __future__ import annotations

from airflow.sdk import DAG, Asset, AssetWatcher, task

from bmnflow.assets import RunCompleteTrigger

closed = Asset(
    "bmn_run8_closed",
    watchers=[
        AssetWatcher(
            name="daq", trigger=RunCompleteTrigger(markers={markers!r}, poll_interval=1.0)
        )
    ],
)

with DAG("run_closed_consumer", schedule=[closed]):

    @task
    def record(triggering_asset_events=None):
        runs = [e.extra["payload"]["run"] for e in triggering_asset_events[closed]]
        with open({record!r}, "a") as stream:
            stream.write(" ".join(map(str, runs)) + "\\n")

    record()
"""


def test_a_triggerer_crash_neither_loses_nor_repeats_a_run(
    tmp_path: Path, airflow_deployment, run_payload
):
    online, record = tmp_path / "lhep_online", tmp_path / "runs.txt"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "consumer.py").write_text(
        textwrap.dedent(CONSUMER).format(markers=str(online / "daq"), record=str(record))
    )
    airflow: AirflowHome = airflow_deployment(dags)

    def close(run: int) -> None:
        run_payload(
            "bmn_daq.py", "--run", run, "--parts", 1, "--events-per-part", 3,
            "--storage", online, cwd=tmp_path,
        )  # fmt: skip

    close(8601)
    airflow.wait_for_runs("run_closed_consumer", 1, timeout=300)

    # The triggerer dies; a run closes while it is down; it comes back.
    airflow.kill("triggerer")
    close(8602)
    airflow.start(("triggerer",))
    runs = airflow.wait_for_runs("run_closed_consumer", 2, timeout=300)

    assert [r["state"] for r in runs] == ["success", "success"]
    announced = [int(x) for line in record.read_text().split() for x in line.split()]
    assert sorted(announced) == [8601, 8602]
