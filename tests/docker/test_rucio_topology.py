"""docker/rucio/bmn_topology.py against a real Rucio server: it points the BM@N RSEs at
gridsim's address on the compose network, and a second run adds nothing.

The harness's server already holds the topology with loopback addresses; the script adds
the compose network's protocol next to them and moves the FTS attribute, which is what it
would create from nothing in staging, plus the answers for what exists.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from deployment_files import DOCKER

from bmnflow.testing.rucio_server import BMN_RSES, BMN_SCOPES, RucioServer, free_port

SCRIPT = DOCKER / "rucio" / "bmn_topology.py"
GRIDSIM = "http://gridsim:8780"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RucioServer]:
    # A server of its own: the protocols added here must not reach other tests' transfers.
    with RucioServer(
        workdir=tmp_path_factory.mktemp("rucio-topology"), gridsim_port=free_port()
    ) as rucio:
        yield rucio


def _register(server: RucioServer) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--rucio-url",
            server.url,
            "--gridsim-url",
            GRIDSIM,
            "--config",
            str(server.config_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _protocols(server: RucioServer, rse: str) -> list[dict]:
    # A JSON stream, one protocol a line.
    return server.call("GET", f"/rses/{rse}/protocols")


def test_every_rse_reaches_gridsim_on_the_compose_network(server: RucioServer):
    _register(server)

    for rse in BMN_RSES:
        protocols = [p for p in _protocols(server, rse) if p["hostname"] == "gridsim"]
        assert len(protocols) == 1, rse
        assert protocols[0]["port"] == 8780
        assert protocols[0]["prefix"] == f"/storage/{rse.lower()}/"
        assert protocols[0]["domains"]["wan"]["third_party_copy_write"] == 1
        attributes = server.call("GET", f"/rses/{rse}/attr/")
        assert attributes["fts"] == f"{GRIDSIM}/fts"
        assert attributes["type"] == ("tape" if rse.endswith("TAPE") else "disk")
    scopes = server.call("GET", "/scopes/")
    assert set(BMN_SCOPES) <= set(scopes)


def test_a_second_run_adds_nothing(server: RucioServer):
    _register(server)
    before = {rse: len(_protocols(server, rse)) for rse in BMN_RSES}

    result = _register(server)

    assert {rse: len(_protocols(server, rse)) for rse in BMN_RSES} == before
    # Scopes, RSEs, protocols and distances exist; attributes and quotas are set again.
    already = len(BMN_SCOPES) + 2 * len(BMN_RSES) + len(BMN_RSES) * (len(BMN_RSES) - 1)
    assert f"{already} already there" in result.stdout
