"""The sidecar and gridsim binaries accept the commands compose.yaml gives their containers,
with the example configuration and connections, and answer their health checks.

The binaries are the ones `make build` puts in target/release, the same the images copy.
Only the listen address changes: loopback on a free port here, instead of every interface
of the container's network namespace.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deployment_files import DOCKER, REPO, parse_dockerfile

from bmnflow.testing.rucio_server import free_port


def _binary(name: str) -> Path:
    path = REPO / "target" / "release" / name
    if not path.exists():
        pytest.skip(f"{name} is not built (make build)")
    return path


def _loopback(command: list[str], port: int) -> list[str]:
    listen = command.index("--listen") + 1
    assert command[listen].startswith("0.0.0.0:"), "containers listen on their network"
    return [*command[:listen], f"127.0.0.1:{port}", *command[listen + 1 :]]


def _get(url: str, deadline: float) -> tuple[int, bytes]:
    """GETs a URL once the server answers; raises if it does not before the deadline."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _health_path(service: dict[str, Any]) -> str:
    url = next(part for part in service["healthcheck"]["test"] if part.startswith("http://"))
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start(started, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    started.append(process)
    return process


def test_gridsim_serves_the_example_configuration(
    services: dict[str, Any], tmp_path: Path, started
):
    gridsim = services["gridsim"]
    command = list(gridsim["command"])
    # The example's storage folders and the state folder, moved from the volume to here.
    volume_root = "/var/lib/bmnflow/gridsim"
    config = (DOCKER / "examples" / "gridsim.toml.example").read_text()
    (tmp_path / "gridsim.toml").write_text(config.replace(volume_root, str(tmp_path)))
    command[command.index("--config") + 1] = str(tmp_path / "gridsim.toml")
    state = command.index("--state-dir") + 1
    command[state] = command[state].replace(volume_root, str(tmp_path))
    port = free_port()

    log = tmp_path / "gridsim.log"
    process = _start(
        started, [str(_binary("bmnflow-gridsim")), *_loopback(command, port)], log, {**os.environ}
    )
    status, body = _get(f"http://127.0.0.1:{port}{_health_path(gridsim)}", time.monotonic() + 30)

    assert process.poll() is None, log.read_text()
    assert status == 200, body
    # PanDA's own reply when JSON is not asked for: the envelope as Python text.
    assert body.startswith(b"{'success': True")
    # Every storage folder of the example exists: the RSEs' files have somewhere to go.
    for name in ("lhep_online", "lhep_disk", "dlnp_disk", "dlnp_tape"):
        assert (tmp_path / name).is_dir()


def test_the_sidecar_starts_with_the_example_connections(
    services: dict[str, Any], tmp_path: Path, started
):
    sidecar = services["bmnflow-sidecar"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    for line in (DOCKER / "examples" / "connections.env.example").read_text().splitlines():
        if line.startswith("AIRFLOW_CONN_"):
            name, _, value = line.partition("=")
            env[name] = value
    port = free_port()

    log = tmp_path / "sidecar.log"
    process = _start(
        started,
        [str(_binary("bmnflow-sidecar")), *_loopback(list(sidecar["command"]), port)],
        log,
        env,
    )
    status, _ = _get(f"http://127.0.0.1:{port}{_health_path(sidecar)}", time.monotonic() + 30)

    assert process.poll() is None, log.read_text()
    assert status == 200
    status, metrics = _get(f"http://127.0.0.1:{port}/metrics", time.monotonic() + 5)
    assert status == 200
    assert b"bmnflow_sidecar_" in metrics


@pytest.mark.parametrize("target", ["sidecar", "gridsim"])
def test_image_and_compose_check_health_at_the_same_path(services: dict[str, Any], target):
    stage = parse_dockerfile((DOCKER / "Dockerfile").read_text()).stage(target)
    service = services["bmnflow-sidecar" if target == "sidecar" else "gridsim"]
    assert _health_path(service) in stage.all("HEALTHCHECK")[0].arguments
    # The image's default command is the one compose gives, so `docker run` behaves alike.
    assert json.loads(stage.all("CMD")[0].arguments) == service["command"]
