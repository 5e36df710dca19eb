"""``SplitJobsOperator`` in a real Airflow DAG run (``dag.test()``), with a mapped task per
job, in a fresh Airflow home."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

DAG_FILE = Path(__file__).with_name("airflow_dag.py")
GIB = 1 << 30


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow")
    (home / "dags").mkdir()
    shutil.copy(DAG_FILE, home / "dags" / DAG_FILE.name)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def test_split_writes_jobs_and_drives_one_mapped_task_per_job(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    # Two runs of 1 GiB files: 4 GiB jobs of 4 files, never mixing runs.
    runs = [8123] * 10 + [8124] * 5
    lfns = [f"raw.run{run}.{i:04d}.data" for i, run in enumerate(runs)]
    files = tmp_path / "files.parquet"
    pq.write_table(
        pa.table({"lfn": lfns, "size": [GIB] * 15, "nevents": [1000] * 15, "run": runs}), files
    )
    output, report = tmp_path / "jobs", tmp_path / "report.json"

    for dag_id in ("split", "split_again"):
        # A second DAG writing to the same folder replaces the output whole: no duplicate rows.
        paths = {
            "SPLIT_FILES": str(files),
            "SPLIT_OUTPUT": str(output),
            "SPLIT_REPORT": str(report),
        }
        done = subprocess.run(
            [sys.executable, str(Path(airflow_env["AIRFLOW__CORE__DAGS_FOLDER"]) / DAG_FILE.name)],
            env={**airflow_env, **paths, "SPLIT_DAG_ID": dag_id},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        states = json.loads(done.stdout.strip().splitlines()[-1])
        assert states["run"] == "success", states
        assert states["tasks"]["run_job"] == ["success"] * 5, states

    kept = json.loads(report.read_text())
    assert kept["summary"] == {
        "jobs": 5,
        "files": 15,
        "events": 15_000,
        "bytes": 15 * GIB,
        "pieces": str(output / "pieces.parquet"),
        "summary": str(output / "jobs.parquet"),
    }
    assert kept["lfns"] == [lfns[0:4], lfns[4:8], lfns[8:10], lfns[10:14], lfns[14:15]]
    assert pq.read_table(output / "pieces.parquet").num_rows == 15
    assert pq.read_table(output / "jobs.parquet")["n_files"].to_pylist() == [4, 4, 2, 4, 1]
