"""A real Rucio server on loopback, with the BM@N topology, for tests and the embedded grid.

The server is the pinned ``rucio`` package of the project environment run by gunicorn over a
fresh SQLite database in a temporary folder. Its daemons (judge, conveyor, transmogrifier)
run a pass at a time or continuously, with their logs in the same folder.

Limitation: on SQLite Rucio keeps only the metadata that has a DID column (``run_number``,
``datatype``, ``version``, ``events``, ...); free-form keys need PostgreSQL or Oracle.

Command line, for the Makefile and for trying things by hand::

    python -m bmnflow.testing.rucio_server start --dir /tmp/rucio --gridsim-port 8600
    python -m bmnflow.testing.rucio_server stop --dir /tmp/rucio
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The BM@N storage elements; each is served by gridsim under ``/storage/<name lowercase>/``.
BMN_RSES = ("LHEP_ONLINE", "LHEP_DISK", "DLNP_DISK", "DLNP_TAPE")
#: The scopes BM@N data lives in: real data of Run 8, and Monte Carlo.
BMN_SCOPES = ("bmn.run8", "bmn.mc")
#: The daemons that move a rule from creation to OK, in the order one pass runs them.
TRANSFER_DAEMONS = (
    "judge-injector",
    "judge-evaluator",
    "conveyor-submitter",
    "conveyor-poller",
    "conveyor-finisher",
)
ALL_DAEMONS = (*TRANSFER_DAEMONS, "transmogrifier")

_STATE_FILE = "server.json"


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _venv_bin() -> Path:
    # The server, gunicorn and the daemons are installed next to this interpreter.
    return Path(sys.executable).parent


@dataclass
class RucioServer:
    """One Rucio server process and its configuration, database and daemon logs.

    :param workdir: Folder for rucio.cfg, alembic.ini, the database and every log; a
        temporary folder (removed on stop) when not given.
    :param gridsim_port: The loopback port of the embedded grid whose storage and FTS the
        topology names; the grid need not be running for the server to start.
    :param port: The server's port; a free one when not given.
    :param password: The password of the ``root`` account's userpass identity.
    :param threads: gunicorn worker threads. Default 1: SQLite fails concurrent write
        transactions with "database is locked" instead of queueing them.
    """

    workdir: Path | None = None
    gridsim_port: int = 8600
    port: int | None = None
    password: str = "bmnflow-test"
    threads: int = 1
    account: str = "root"
    username: str = "root"
    _owns_workdir: bool = field(default=False, repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _daemons: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)
    _token: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def gridsim_url(self) -> str:
        """The embedded grid's base URL, as the topology names it."""
        return f"http://127.0.0.1:{self.gridsim_port}"

    @property
    def config_path(self) -> Path:
        """The rucio.cfg that the server, the daemons and official clients read."""
        assert self.workdir is not None
        return self.workdir / "etc" / "rucio.cfg"

    @property
    def log_dir(self) -> Path:
        """Where the server and daemon logs are written."""
        assert self.workdir is not None
        return self.workdir / "logs"

    def env(self) -> dict[str, str]:
        """The environment under which server processes find this server's configuration."""
        return {**os.environ, "RUCIO_CONFIG": str(self.config_path)}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> RucioServer:
        """Writes the configuration, builds the database, starts gunicorn and the topology."""
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="bmnflow-rucio-"))
            self._owns_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()

        self._write_config()
        self._build_database()
        self._start_gunicorn(timeout)
        self.create_topology()
        self._save_state()
        return self

    def stop(self) -> None:
        """Stops the daemons and the server; removes the folder if it was a temporary one."""
        self.stop_daemons()
        if self._process is not None:
            _terminate(self._process)
            self._process = None
        if self._owns_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RucioServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self) -> None:
        assert self.workdir is not None
        etc = self.workdir / "etc"
        for folder in (etc, self.log_dir, self.workdir / "trace"):
            folder.mkdir(parents=True, exist_ok=True)
        # The daemons write too: a writer waits for SQLite's lock (up to a minute).
        database = f"sqlite:///{self.workdir / 'rucio.db'}?timeout=60"

        (etc / "alembic.ini").write_text(
            textwrap.dedent(
                f"""\
                [alembic]
                script_location = rucio:db/sqla/migrate_repo
                sqlalchemy.url = {database}

                [loggers]
                keys = root

                [handlers]
                keys = console

                [formatters]
                keys = generic

                [logger_root]
                level = WARN
                handlers = console

                [handler_console]
                class = StreamHandler
                args = (sys.stderr,)
                formatter = generic

                [formatter_generic]
                format = %%(levelname)s [%%(name)s] %%(message)s
                """
            )
        )
        self.config_path.write_text(
            textwrap.dedent(
                f"""\
                [common]
                logdir = {self.log_dir}
                loglevel = INFO

                [client]
                rucio_host = {self.url}
                auth_host = {self.url}
                auth_type = userpass
                account = {self.account}
                username = {self.username}
                password = {self.password}
                request_retries = 1

                [database]
                default = {database}

                [bootstrap]
                userpass_identity = {self.username}
                userpass_pwd = {self.password}
                userpass_email = root@bmnflow.invalid

                [alembic]
                cfg = {etc / "alembic.ini"}

                [policy]
                permission = generic
                schema = generic
                lfn2pfn_algorithm_default = hash

                [trace]
                tracedir = {self.workdir / "trace"}

                [conveyor]
                scheme = http
                transfertool = fts3
                use_preparer = False

                [api]
                """
            ).replace("[api]\n", "")
        )

    def _build_database(self) -> None:
        script = (
            "from rucio.db.sqla.util import build_database, create_base_vo, "
            "create_root_account\n"
            "build_database()\ncreate_base_vo()\ncreate_root_account()\n"
        )
        _run([sys.executable, "-c", script], env=self.env(), what="building the Rucio database")

    def _start_gunicorn(self, timeout: float) -> None:
        log = (self.log_dir / "gunicorn.log").open("ab")
        self._process = subprocess.Popen(
            [
                str(_venv_bin() / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                "gthread",
                "--workers",
                "1",
                "--threads",
                str(self.threads),
                "--timeout",
                "300",
                # Tests stop the server at the end of a session: no request is left to finish.
                "--graceful-timeout",
                "2",
                "rucio.web.rest.flaskapi.v1.main:application",
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the Rucio server exited with {self._process.returncode}; "
                    f"see {self.log_dir / 'gunicorn.log'}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"the Rucio server did not answer /ping within {timeout} s")

    def _save_state(self) -> None:
        assert self.workdir is not None
        assert self._process is not None
        state = {"pid": self._process.pid, "port": self.port, "gridsim_port": self.gridsim_port}
        (self.workdir / _STATE_FILE).write_text(json.dumps(state))

    # -- REST ------------------------------------------------------------------------------

    def token(self) -> str:
        """A userpass token of the root account (cached for the harness's own calls)."""
        if self._token is None:
            request = urllib.request.Request(
                f"{self.url}/auth/userpass",
                headers={
                    "X-Rucio-Account": self.account,
                    "X-Rucio-Username": self.username,
                    "X-Rucio-Password": self.password,
                },
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                self._token = answer.headers["X-Rucio-Auth-Token"]
        return self._token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """Sends one REST call as root; returns the decoded answer (a list for JSON streams).

        :raises urllib.error.HTTPError: on any error status, with the server's body.
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"X-Rucio-Auth-Token": self.token(), "Accept": "*/*"},
        )
        with urllib.request.urlopen(request, timeout=120) as answer:
            text = answer.read().decode()
            kind = answer.headers.get("Content-Type", "")
        if "x-json-stream" in kind:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if "json" in kind and text:
            return json.loads(text)
        return text

    def add_scope(self, scope: str) -> None:
        """Creates ``scope`` owned by the root account; an existing scope is kept."""
        self._create(f"/scopes/{self.account}/{scope}")

    def create_topology(self) -> None:
        """Creates the BM@N scopes, RSEs, protocols, FTS attributes, distances and limits."""
        for scope in BMN_SCOPES:
            self.add_scope(scope)
        for rse in BMN_RSES:
            self._create(f"/rses/{rse}", {"deterministic": True})
            self._create(f"/rses/{rse}/protocols/http", self._protocol(rse))
            self._create(f"/rses/{rse}/attr/fts", {"value": f"{self.gridsim_url}/fts"})
            # The conveyor asks the RSE for its FTS; TAPE marks where archival copies go.
            tier = "tape" if rse.endswith("TAPE") else "disk"
            self._create(f"/rses/{rse}/attr/type", {"value": tier})
            self._create(f"/accounts/{self.account}/limits/local/{rse}", {"bytes": -1})
        for source in BMN_RSES:
            for destination in BMN_RSES:
                if source != destination:
                    self._create(f"/rses/{source}/distances/{destination}", {"distance": 1})

    def _protocol(self, rse: str) -> dict[str, Any]:
        operations = {"read": 1, "write": 1, "delete": 1}
        return {
            "scheme": "http",
            "hostname": "127.0.0.1",
            "port": self.gridsim_port,
            "prefix": f"/storage/{rse.lower()}/",
            "impl": "rucio.rse.protocols.webdav.Default",
            "domains": {
                "lan": operations,
                "wan": {**operations, "third_party_copy_read": 1, "third_party_copy_write": 1},
            },
        }

    def _create(self, path: str, body: Any = None) -> None:
        try:
            self.call("POST", path, body if body is not None else {})
        except urllib.error.HTTPError as error:
            if error.code != 409:
                detail = error.read().decode(errors="replace")
                raise RuntimeError(f"POST {path}: HTTP {error.code}: {detail}") from error

    # -- daemons ---------------------------------------------------------------------------

    def run_daemon(self, name: str, timeout: float = 120.0) -> None:
        """Runs one pass of the daemon ``name`` (``judge-evaluator``, ...) and waits for it."""
        with (self.log_dir / f"{name}.log").open("ab") as log:
            _run(
                [str(_venv_bin() / f"rucio-{name}"), "--run-once", *_daemon_args(name)],
                env=self.env(),
                what=f"rucio-{name} --run-once",
                stdout=log,
                timeout=timeout,
            )

    def run_daemons(self, names: tuple[str, ...] = TRANSFER_DAEMONS) -> None:
        """Runs one pass of each daemon in ``names``, in order."""
        for name in names:
            self.run_daemon(name)

    def start_daemons(self, names: tuple[str, ...] = ALL_DAEMONS) -> None:
        """Starts the daemons in ``names`` in the background; they run until stopped."""
        for name in names:
            if name in self._daemons and self._daemons[name].poll() is None:
                continue
            log = (self.log_dir / f"{name}.log").open("ab")
            self._daemons[name] = subprocess.Popen(
                [str(_venv_bin() / f"rucio-{name}"), *_continuous_args(name)],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop_daemons(self) -> None:
        """Stops every background daemon started by :meth:`start_daemons`."""
        for process in self._daemons.values():
            _terminate(process)
        self._daemons.clear()


def _daemon_args(name: str) -> list[str]:
    # The transmogrifier looks at 1000 new DIDs a pass by default; a test session makes more.
    return ["--bulk", "100000"] if name == "transmogrifier" else []


def _continuous_args(name: str) -> list[str]:
    # Short sleeps so that a test or a demo sees a rule move within seconds, not minutes.
    args = [*_daemon_args(name), "--sleep-time", "2"]
    if name == "conveyor-poller":
        args += ["--older-than", "0"]
    return args


def _run(command: list[str], *, env: dict[str, str], what: str, **kwargs: Any) -> None:
    kwargs.setdefault("timeout", 180)
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    else:
        kwargs["stderr"] = subprocess.STDOUT
    result = subprocess.run(command, env=env, check=False, **kwargs)
    if result.returncode != 0:
        output = (result.stderr or b"").decode(errors="replace")[-2000:]
        raise RuntimeError(f"{what} failed with exit code {result.returncode}: {output}")


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # Each process leads its own session: stop gunicorn's workers with their master.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(argv: list[str] | None = None) -> int:
    """``start`` a server in a folder and print its URL, or ``stop`` the one running there."""
    parser = argparse.ArgumentParser(prog="python -m bmnflow.testing.rucio_server")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, required=True, help="working folder")
    parser.add_argument("--gridsim-port", type=int, default=8600)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args(argv)

    if args.action == "start":
        server = RucioServer(workdir=args.dir, gridsim_port=args.gridsim_port, port=args.port)
        server.start()
        # The server outlives this command: the Makefile stops it by the recorded pid.
        server._process = None
        print(server.url)
        return 0

    state_file = args.dir / _STATE_FILE
    if not state_file.exists():
        print(f"no Rucio server recorded in {args.dir}", file=sys.stderr)
        return 1
    state = json.loads(state_file.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(state["pid"], signal.SIGTERM)
    state_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
