"""The embedded grid (``bmnflow-gridsim``) on loopback, for tests and demos.

One process serves FTS3 REST under ``/fts``, PanDA under ``/api/v1`` and the storage folders
of the BM@N RSEs under ``/storage/<rse lowercase>/``. The harness finds (or builds) the
binary, writes its TOML configuration with one folder per RSE under ``root``, starts it on a
port and waits until it listens.

Command line, for the Makefile and for trying things by hand::

    python -m bmnflow.testing.gridsim start --dir /tmp/gridsim --port 8600
    python -m bmnflow.testing.gridsim stop --dir /tmp/gridsim
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmnflow.testing.rucio_server import BMN_RSES, free_port

#: The repository root when running from a checkout (``python/bmnflow/testing`` -> root).
_REPO = Path(__file__).resolve().parents[3]
_BINARY = "bmnflow-gridsim"
_STATE_FILE = "gridsim.json"


def find_binary() -> Path:
    """The gridsim binary: ``$BMNFLOW_GRIDSIM_BIN``, else the checkout's release build (rebuilt
    when its sources are newer), else one on ``PATH``."""
    configured = os.environ.get("BMNFLOW_GRIDSIM_BIN")
    if configured:
        return Path(configured)
    release = _REPO / "target" / "release" / _BINARY
    sources = _REPO / "rust" / "gridsim"
    if sources.is_dir() and shutil.which("cargo"):
        if not release.exists() or _newest_source(sources) > release.stat().st_mtime:
            subprocess.run(
                ["cargo", "build", "--release", "-p", _BINARY],
                cwd=_REPO,
                check=True,
                timeout=1800,
            )
        return release
    on_path = shutil.which(_BINARY)
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(f"{_BINARY} not found: run `make build` or set BMNFLOW_GRIDSIM_BIN")


def _newest_source(folder: Path) -> float:
    files = [folder / "Cargo.toml", *folder.rglob("*.rs")]
    return max(f.stat().st_mtime for f in files if f.exists())


def to_toml(config: dict[str, Any]) -> str:
    """Writes the subset of TOML gridsim's configuration uses: tables, arrays of tables, and
    scalars or lists of scalars as values."""
    lines: list[str] = []
    _table(lines, [], config)
    return "\n".join(lines) + "\n"


def _table(lines: list[str], path: list[str], table: dict[str, Any]) -> None:
    nested: list[tuple[str, Any]] = []
    for key, value in table.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
        ):
            nested.append((key, value))
        else:
            lines.append(f"{key} = {_value(value)}")
    for key, value in nested:
        name = ".".join([*path, key])
        if isinstance(value, dict):
            lines.append(f"\n[{name}]")
            _table(lines, [*path, key], value)
        else:
            for item in value:
                lines.append(f"\n[[{name}]]")
                _table(lines, [*path, key], item)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


@dataclass
class GridSim:
    """A gridsim process serving the BM@N RSEs' storage, FTS and PanDA on one loopback port.

    :param root: Folder for the configuration, the log and one storage folder per RSE.
    :param port: The loopback port; 0 picks a free one.
    :param config: Further configuration sections (``fts``, ``auth``, ``faults``, ``panda``),
        merged over the storage endpoints, e.g. ``{"faults": {"seed": 3}}``.
    :param rses: The RSEs given a storage folder; the BM@N ones by default.
    """

    root: Path
    port: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    rses: tuple[str, ...] = BMN_RSES
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        if not self.port:
            self.port = free_port()

    @property
    def url(self) -> str:
        """The base URL of every API: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def fts_url(self) -> str:
        """The FTS3 REST endpoint, as the RSE attribute ``fts`` names it."""
        return f"{self.url}/fts"

    @property
    def panda_url(self) -> str:
        """The PanDA API base, ``.../api/v1``."""
        return f"{self.url}/api/v1"

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return self._process.pid if self._process is not None else None

    @property
    def config_path(self) -> Path:
        """The TOML file written at start."""
        return self.root / "gridsim.toml"

    @property
    def log_path(self) -> Path:
        """The process's output."""
        return self.root / "gridsim.log"

    def storage_path(self, rse: str) -> Path:
        """The local folder of an RSE's storage."""
        return self.root / "storage" / rse.lower()

    def storage_url(self, rse: str) -> str:
        """The URL prefix of an RSE's PFNs, as its Rucio protocol builds them."""
        return f"{self.url}/storage/{rse.lower()}"

    def pfn(self, rse: str, relative: str) -> str:
        """The PFN of a file at ``relative`` under an RSE's storage."""
        return f"{self.storage_url(rse)}/{relative.lstrip('/')}"

    def path_of(self, pfn: str) -> Path:
        """The local file behind a PFN of one of this grid's RSEs."""
        for rse in self.rses:
            prefix = self.storage_url(rse) + "/"
            if pfn.startswith(prefix):
                return self.storage_path(rse) / pfn[len(prefix) :]
        raise ValueError(f"{pfn} is not served by this grid")

    def write_config(self) -> Path:
        """Writes the configuration: the storage endpoints plus :attr:`config`."""
        storage = [
            {"name": rse, "url": self.storage_url(rse), "path": str(self.storage_path(rse))}
            for rse in self.rses
        ]
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(to_toml({**self.config, "storage": storage}))
        return self.config_path

    def start(self, timeout: float = 60.0) -> GridSim:
        """Starts the process and waits until it listens."""
        binary = find_binary()
        self.write_config()
        state_dir = self.root / "state"
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    str(binary),
                    "--config",
                    str(self.config_path),
                    "--listen",
                    f"127.0.0.1:{self.port}",
                    "--state-dir",
                    str(state_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"gridsim exited at start: {self._tail()}")
            if "listening on" in self.log_path.read_text(errors="replace"):
                (self.root / _STATE_FILE).write_text(
                    json.dumps({"pid": self._process.pid, "port": self.port})
                )
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"gridsim did not listen within {timeout} s: {self._tail()}")

    def stop(self) -> int | None:
        """Stops the process (SIGTERM, then SIGKILL after 15 s); returns its exit code, or
        ``None`` when it was not running."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def _tail(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-2000:]

    def __enter__(self) -> GridSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``start`` a grid in a folder and print its URL, or ``stop`` the one running there."""
    parser = argparse.ArgumentParser(prog="python -m bmnflow.testing.gridsim")
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8600)
    args = parser.parse_args(argv)
    state = args.dir / _STATE_FILE
    if args.action == "stop":
        if state.exists():
            pid = json.loads(state.read_text())["pid"]
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            state.unlink()
        return 0
    grid = GridSim(root=args.dir, port=args.port).start()
    # The process outlives this command; forget it so that it is not stopped at exit.
    grid._process = None
    print(grid.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
