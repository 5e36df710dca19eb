"""A RAW -> DIGI task over a dataset in the real Rucio server: gridsim's PanDA resolves the
dataset's files and replicas from Rucio, splits them with the core splitter, runs the jobs
through the operator, and registers outputs and logs in Rucio, readable at their replicas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from conftest import PAYLOADS, mc_spec

from bmnflow._core import RucioClient
from bmnflow.testing.gridsim import GridSim
from bmnflow.testing.rucio_server import RucioServer, free_port

RUNNER = Path(__file__).with_name("dags") / "panda_task.py"


@pytest.fixture(scope="module")
def grid_with_rucio(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RucioServer, GridSim]]:
    """A Rucio server with the BM@N topology and a grid whose PanDA uses it."""
    root = tmp_path_factory.mktemp("panda-rucio")
    port = free_port()
    rucio = RucioServer(workdir=root / "rucio", gridsim_port=port).start()
    config = {
        "panda": {
            "storage": "LHEP_DISK",
            "slots": 4,
            "scratch": str(root / "scratch"),
            "rucio": {
                "url": rucio.url,
                "account": rucio.account,
                "username": rucio.username,
                "password": rucio.password,
            },
        }
    }
    grid = GridSim(root=root / "gridsim", port=port, config=config).start()
    yield rucio, grid
    grid.stop()
    rucio.stop()


def put_raw_files(rucio: RucioServer, grid: GridSim, dataset: str, count: int) -> list[str]:
    """Registers RAW files on LHEP_DISK and writes their bytes where Rucio puts the replicas."""
    scope, base = dataset.split(":")
    contents = {
        f"{base}.{index:03d}.raw": f"run8 raw file {index}\n".encode() * (index + 1)
        for index in range(count)
    }
    rows = [
        {
            "scope": scope,
            "name": name,
            "bytes": len(data),
            "adler32": f"{zlib.adler32(data):08x}",
            "events": 10,
        }
        for name, data in contents.items()
    ]
    client = RucioClient(rucio.url, rucio.account, username=rucio.username, password=rucio.password)
    client.create_dataset(dataset)
    client.register_files(dataset, "LHEP_DISK", pa.Table.from_pylist(rows))
    for replica in client.list_replicas([dataset]).to_pylist():
        path = grid.path_of(replica["pfn"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[replica["name"]])
    return sorted(contents)


def run_operator(grid: GridSim, tmp_path: Path, spec: dict[str, Any]) -> dict[str, Any]:
    home = tmp_path / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(RUNNER.parent),
        "AIRFLOW_CONN_PANDA_DEFAULT": json.dumps({"conn_type": "panda", "host": grid.url}),
        "BMNFLOW_TEST_PANDA_SPEC": str(tmp_path / "spec.json"),
        "BMNFLOW_TEST_PANDA_OPTIONS": str(tmp_path / "options.json"),
        "BMNFLOW_TEST_PANDA_REPORT": str(tmp_path / "report.json"),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    (tmp_path / "options.json").write_text(json.dumps({"poll_interval": 0.2}))
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, str(RUNNER)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    states = json.loads(run.stdout.strip().splitlines()[-1])
    assert states["tasks"]["submit"] == "success", (states, run.stderr[-3000:])
    return json.loads(report.read_text())


def test_a_raw_to_digi_task_runs_to_done_with_outputs_in_rucio(
    grid_with_rucio: tuple[RucioServer, GridSim], tmp_path: Path
) -> None:
    rucio, grid = grid_with_rucio
    run = uuid.uuid4().hex[:8]
    raw = f"bmn.run8:raw.run8.{run}"
    raw_names = put_raw_files(rucio, grid, raw, 5)
    spec = {
        "name": f"bmn.run8.digi.{run}",
        "vo": "bmn",
        "processing_type": "digi",
        "transformation": {"kind": "script", "path": str(PAYLOADS / "digi.py")},
        "input_dataset": raw,
        "output_dataset": f"bmn.run8:digi.run8.{run}",
        "log_dataset": f"bmn.run8:digi.run8.{run}.log",
        "outputs": ["digi.txt"],
        "job_parameters": "--in ${IN} --out ${OUTPUT0} --seed ${RNDMSEED}",
        "split": {"files_per_job": 2},
    }

    summary = run_operator(grid, tmp_path, spec)

    assert summary["status"] == "done"
    assert summary["jobs_by_state"] == {"finished": 3}
    client = RucioClient(rucio.url, rucio.account, username=rucio.username, password=rucio.password)
    outputs = client.list_files(spec["output_dataset"]).to_pylist()
    assert sorted(f["name"] for f in outputs) == [
        f"digi.run8.{run}.{serial:06d}.digi.txt" for serial in (1, 2, 3)
    ]
    assert len(client.list_files(spec["log_dataset"]).to_pylist()) == 3

    replicas = client.list_replicas([spec["output_dataset"]]).to_pylist()
    digitised: list[str] = []
    for replica in replicas:
        assert replica["rse"] == "LHEP_DISK"
        data = grid.path_of(replica["pfn"]).read_bytes()
        assert f"{zlib.adler32(data):08x}" == replica["adler32"]
        digitised += [line.split()[1] for line in data.decode().splitlines()]
    # Every line of every RAW file digitised once: file i holds i + 1 lines.
    assert sorted(digitised) == sorted(
        name for index, name in enumerate(raw_names) for _ in range(index + 1)
    )


def test_a_monte_carlo_task_registers_its_outputs_in_rucio(
    grid_with_rucio: tuple[RucioServer, GridSim], tmp_path: Path
) -> None:
    rucio, grid = grid_with_rucio
    spec = mc_spec()

    summary = run_operator(grid, tmp_path, spec)

    assert summary["status"] == "done"
    client = RucioClient(rucio.url, rucio.account, username=rucio.username, password=rucio.password)
    replicas = client.list_replicas([spec["output_dataset"]]).to_pylist()
    assert len(replicas) == 3
    events = sorted(
        int(line.split()[1])
        for replica in replicas
        for line in grid.path_of(replica["pfn"]).read_text().splitlines()
    )
    assert events == list(range(1, 31))
    assert len(client.list_files(spec["log_dataset"]).to_pylist()) == 3
