"""``bmnflow-sidecar`` on loopback, for tests, benchmarks and trying things by hand.

The sidecar reads its connections from ``AIRFLOW_CONN_<ID>`` variables, as Airflow does; the
harness passes them in the process environment and never writes them to disk.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bmnflow.testing.rucio_server import free_port

_REPO = Path(__file__).resolve().parents[3]
_BINARY = "bmnflow-sidecar"


def find_binary() -> Path:
    """The sidecar binary: ``$BMNFLOW_SIDECAR_BIN``, else the checkout's release build, else
    one on ``PATH``."""
    configured = os.environ.get("BMNFLOW_SIDECAR_BIN")
    if configured:
        return Path(configured)
    release = _REPO / "target" / "release" / _BINARY
    if release.exists():
        return release
    on_path = shutil.which(_BINARY)
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(f"{_BINARY} not found: run `make build` or set BMNFLOW_SIDECAR_BIN")


@dataclass
class Sidecar:
    """A sidecar process on a loopback port.

    :param root: Folder for its log.
    :param connections: Airflow connections by id, in URI or JSON form.
    :param port: The port; 0 picks a free one, kept across restarts.
    :param min_interval: Seconds between polls after a change.
    :param max_interval: Seconds between polls at most.
    """

    root: Path
    connections: dict[str, str]
    port: int = 0
    min_interval: float = 5.0
    max_interval: float = 60.0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.port:
            self.port = free_port()

    @property
    def url(self) -> str:
        """The sidecar's base URL, as ``BMNFLOW_SIDECAR_URL`` takes it."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        """The process's output."""
        return self.root / "sidecar.log"

    def start(self, timeout: float = 30.0) -> Sidecar:
        """Starts the process and waits until ``/healthz`` answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
        env |= {f"AIRFLOW_CONN_{key.upper()}": value for key, value in self.connections.items()}
        command = [
            str(find_binary()),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--min-interval",
            str(self.min_interval),
            "--max-interval",
            str(self.max_interval),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"bmnflow-sidecar exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"bmnflow-sidecar did not answer on {self.url}")

    def kill(self) -> None:
        """Ends the process with SIGKILL, as a crash would."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        """Ends the process gracefully."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def metrics(self) -> str:
        """The text of ``/metrics``."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as answer:
            return answer.read().decode()

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
