"""A throwaway Airflow deployment on loopback, for end-to-end tests of DAGs and for the demo.

It writes no airflow.cfg: everything is set through ``AIRFLOW__*`` variables, and the
connections through ``AIRFLOW_CONN_<ID>`` (Airflow's JSON form), so that the same
environment reaches every component and every ``airflow`` command run here. Components
(scheduler, triggerer, dag-processor, api-server) run as real processes, each in its own
session so that stopping one stops what it started; their logs are under ``<home>/logs``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmnflow.testing.rucio_server import free_port

#: Everything a chain needs, in the order they are started.
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")


@dataclass
class AirflowHome:
    """One Airflow home: its SQLite database, configuration, connections and processes.

    :param path: The folder (``AIRFLOW_HOME``); its database and logs are written here.
    :param dags_folder: The DAGs Airflow parses.
    :param connections: Connection id -> Airflow connection as a dict (``conn_type``,
        ``host``, ``login``, ``password``, ``extra``) or as a URI.
    :param port: The api-server's port (which also serves the task execution API); a free
        one when not given.
    :param extra_env: Further variables for every component (``AIRFLOW__...`` or not).
    """

    path: Path
    dags_folder: Path
    connections: dict[str, Any] = field(default_factory=dict)
    port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    _jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    _processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        """The api-server's (and the UI's) base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        """The SQLite metadata database."""
        return self.path / "airflow.db"

    @property
    def log_dir(self) -> Path:
        """Where component and task logs go."""
        return self.path / "logs"

    def env(self) -> dict[str, str]:
        """The environment of every component and command of this deployment."""
        if self.port is None:
            self.port = free_port()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.path),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.database}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.log_dir),
            # Short intervals so that a new DAG file or run is seen within seconds.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            **self.extra_env,
        }
        for conn_id, connection in self.connections.items():
            value = connection if isinstance(connection, str) else json.dumps(connection)
            env[f"AIRFLOW_CONN_{conn_id.upper()}"] = value
        # The bmnflow package of this interpreter, for tasks and triggers alike.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    # -- lifecycle -------------------------------------------------------------------------

    def migrate(self) -> None:
        """Creates the folder and the metadata database."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=300)

    def start(self, components: tuple[str, ...] = COMPONENTS, timeout: float = 120.0) -> None:
        """Starts ``components`` in the background and waits until the api-server answers."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        for component in components:
            if component in self._processes and self._processes[component].poll() is None:
                continue
            log = (self.log_dir / f"{component}.log").open("ab")
            self._processes[component] = subprocess.Popen(
                [_airflow(), component],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if "api-server" in components:
            self._wait_for_api_server(timeout)

    def stop(self, components: tuple[str, ...] | None = None) -> None:
        """Stops the given components (all by default), each with what it started."""
        for name in list(components or self._processes):
            process = self._processes.pop(name, None)
            if process is not None:
                _terminate(process)

    def kill(self, component: str) -> None:
        """Kills one component with SIGKILL, as a crash would (for restart tests)."""
        process = self._processes.pop(component)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def running(self) -> list[str]:
        """The components still running."""
        return [name for name, p in self._processes.items() if p.poll() is None]

    def process_groups(self) -> list[int]:
        """The process group of each running component (each leads its own)."""
        return [p.pid for p in self._processes.values() if p.poll() is None]

    def __enter__(self) -> AirflowHome:
        self.migrate()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_for_api_server(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self._processes["api-server"]
            if process.poll() is not None:
                log = self.log_dir / "api-server.log"
                raise RuntimeError(f"the api-server exited with {process.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise TimeoutError(f"the api-server did not answer within {timeout} s")

    # -- commands and state ----------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 180) -> str:
        """Runs ``airflow <args>`` in this deployment; returns its stdout.

        :raises RuntimeError: with the command's output when it fails.
        """
        result = subprocess.run(
            [_airflow(), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout)[-3000:]
            raise RuntimeError(f"airflow {' '.join(args)} failed ({result.returncode}): {output}")
        return result.stdout

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> None:
        """Triggers a run of ``dag_id`` with ``conf``."""
        self.cli("dags", "trigger", dag_id, "--conf", json.dumps(conf or {}))

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The runs of ``dag_id``, oldest first, read from the metadata database: ``run_id``,
        ``state``, ``run_type``, ``conf``, ``start_date``, ``end_date`` (ISO text)."""
        columns = ("run_id", "state", "run_type", "conf", "start_date", "end_date")
        rows = self.query(
            f"SELECT {', '.join(columns)} FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,)
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The task instances of one run: ``task_id``, ``map_index``, ``state``,
        ``start_date``, ``end_date``, ``try_number``."""
        columns = ("task_id", "map_index", "state", "start_date", "end_date", "try_number")
        rows = self.query(
            f"SELECT {', '.join(columns)} FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """Task id -> state of one run (mapped tasks by ``task_id[index]``)."""
        states = {}
        for ti in self.task_instances(dag_id, run_id):
            index = ti["map_index"]
            states[ti["task_id"] if index < 0 else f"{ti['task_id']}[{index}]"] = ti["state"]
        return states

    def wait_for_runs(
        self, dag_id: str, count: int, timeout: float, poll: float = 2.0
    ) -> list[dict[str, Any]]:
        """Waits until ``dag_id`` has ``count`` finished runs (success or failed); returns
        every run.

        :raises TimeoutError: naming the runs and their states when time is up.
        """
        deadline = time.monotonic() + timeout
        while True:
            runs = self.dag_runs(dag_id) if self.database.exists() else []
            if sum(r["state"] in ("success", "failed") for r in runs) >= count:
                return runs
            if time.monotonic() > deadline:
                states = [(r["run_id"], r["state"]) for r in runs]
                raise TimeoutError(f"{dag_id}: {count} finished runs expected, have {states}")
            time.sleep(poll)

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Runs a read-only query on the metadata database (an empty answer before the
        tables exist)."""
        # Read-only and short, so that the components' writes are never held up.
        uri = f"file:{self.database}?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=30) as connection:
            try:
                return connection.execute(sql, parameters).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    return []
                raise


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
