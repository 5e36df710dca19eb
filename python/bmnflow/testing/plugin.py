"""pytest fixtures that start real services on loopback (registered as the plugin ``bmnflow``).

Servers are started once per test session; tests keep apart by using fresh scopes or unique
names, never by resetting a server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bmnflow.testing.airflow_home import COMPONENTS, AirflowHome
from bmnflow.testing.embedded_grid import grid_connections as _grid_connections
from bmnflow.testing.gridsim import GridSim
from bmnflow.testing.rucio_server import RucioServer, free_port


@pytest.fixture(scope="session")
def gridsim_port() -> int:
    """The loopback port of the embedded grid, fixed for the session so that the Rucio
    topology can name its storage and FTS before the grid starts."""
    return free_port()


@pytest.fixture(scope="session")
def gridsim(gridsim_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridSim]:
    """The embedded grid on ``gridsim_port``: FTS, PanDA and the BM@N RSEs' storage folders,
    shared by the whole session."""
    with GridSim(root=tmp_path_factory.mktemp("gridsim"), port=gridsim_port) as grid:
        yield grid


@pytest.fixture
def gridsim_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., GridSim]]:
    """Starts grids of a test's own, e.g. with faults: ``gridsim_factory(config={"faults":
    {"seed": 3, "fts": {"error_rate": 0.2}}})``; each is stopped when the test ends."""
    started: list[GridSim] = []

    def start(config: dict[str, Any] | None = None, port: int = 0) -> GridSim:
        grid = GridSim(root=tmp_path_factory.mktemp("gridsim"), port=port, config=config or {})
        started.append(grid)
        return grid.start()

    yield start
    for grid in started:
        grid.stop()


@pytest.fixture(scope="session")
def rucio_server(
    gridsim_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RucioServer]:
    """A real Rucio server with the BM@N topology, shared by the whole session."""
    server = RucioServer(workdir=tmp_path_factory.mktemp("rucio"), gridsim_port=gridsim_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rucio_scope(rucio_server: RucioServer) -> str:
    """A new, empty scope of the root account, so that a test sees only its own DIDs."""
    scope = f"t.{uuid.uuid4().hex[:12]}"
    rucio_server.add_scope(scope)
    return scope


@pytest.fixture
def rucio_conn(rucio_server: RucioServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Airflow connection id ``rucio_default``, set through ``AIRFLOW_CONN_RUCIO_DEFAULT``
    to the session's server with userpass authentication."""
    connection = {
        "conn_type": "rucio",
        "host": rucio_server.url,
        "login": rucio_server.username,
        "password": rucio_server.password,
        "extra": {
            "account": rucio_server.account,
            "auth_type": "userpass",
            "webui_url": "https://rucio-ui.bmn.invalid",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_RUCIO_DEFAULT", json.dumps(connection))
    return "rucio_default"


@pytest.fixture
def airflow_deployment(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., AirflowHome]]:
    """Starts real Airflow deployments: ``airflow_deployment(dags_folder, connections=...)``
    migrates a fresh home and starts ``components`` (api-server, dag-processor, scheduler,
    triggerer by default); each is stopped when the test ends."""
    started: list[AirflowHome] = []

    def deploy(
        dags_folder: Path,
        connections: dict[str, Any] | None = None,
        components: tuple[str, ...] = COMPONENTS,
        extra_env: dict[str, str] | None = None,
    ) -> AirflowHome:
        home = AirflowHome(
            path=tmp_path_factory.mktemp("airflow"),
            dags_folder=dags_folder,
            connections=connections or {},
            extra_env=extra_env or {},
        )
        started.append(home)
        home.migrate()
        home.start(components)
        return home

    yield deploy
    for home in started:
        home.stop()


@pytest.fixture
def grid_connections(rucio_server: RucioServer, gridsim: GridSim) -> dict[str, Any]:
    """Airflow connections ``rucio_default``, ``panda_default`` and ``fts_default`` to the
    session's Rucio server and gridsim, for ``airflow_deployment(dags, connections=...)``."""
    return _grid_connections(rucio_server, gridsim)
