"""The Rucio harness serves a real server with the BM@N topology that gridsim will serve."""

from __future__ import annotations

import pytest

from bmnflow.testing.rucio_server import BMN_RSES, BMN_SCOPES, RucioServer

pytestmark = pytest.mark.rucio


def test_topology_names_every_bmn_rse_with_gridsim_urls(rucio_server: RucioServer):
    rses = {row["rse"] for row in rucio_server.call("GET", "/rses/")}
    assert set(BMN_RSES) <= rses

    for rse in BMN_RSES:
        (protocol,) = rucio_server.call("GET", f"/rses/{rse}/protocols")
        assert (protocol["scheme"], protocol["hostname"], protocol["port"]) == (
            "http",
            "127.0.0.1",
            rucio_server.gridsim_port,
        )
        assert protocol["prefix"] == f"/storage/{rse.lower()}/"
        attributes = rucio_server.call("GET", f"/rses/{rse}/attr/")
        assert attributes["fts"] == f"{rucio_server.gridsim_url}/fts"


def test_bmn_scopes_and_distances_exist(rucio_server: RucioServer):
    scopes = rucio_server.call("GET", "/scopes/")
    assert set(BMN_SCOPES) <= set(scopes)
    distances = rucio_server.call("GET", "/rses/LHEP_ONLINE/distances/DLNP_TAPE")
    assert distances[0]["distance"] == 1


def test_a_daemon_pass_runs_against_the_server(rucio_server: RucioServer):
    rucio_server.run_daemon("judge-evaluator")
    log = (rucio_server.log_dir / "judge-evaluator.log").read_text()
    assert "Traceback" not in log
