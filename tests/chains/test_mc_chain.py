"""A Monte Carlo sample from generation to DST on the embedded grid, driven by a real
Airflow: every generated event is reconstructed once, and the DST has its policy's rules."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from bmnflow.testing.embedded_grid import REPO_DAGS, EmbeddedGrid

pytestmark = [pytest.mark.slow, pytest.mark.rucio, pytest.mark.gridsim, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedGrid]:
    with EmbeddedGrid(root=tmp_path_factory.mktemp("mc")) as grid:
        yield grid


def test_a_sample_is_generated_simulated_and_reconstructed_event_by_event(grid: EmbeddedGrid):
    assert grid.airflow is not None
    assert grid.rucio is not None
    assert grid.gridsim is not None
    conf = {"sample": "test-sample", "total_events": 60, "events_per_job": 25, "seed": 7}

    grid.airflow.trigger("bmn_mc_production", conf)
    (run,) = grid.airflow.wait_for_runs("bmn_mc_production", 1, timeout=1200)

    assert run["state"] == "success"
    sys.path.insert(0, str(REPO_DAGS / "payloads"))
    import bmnio

    # Generation ran as 3 jobs of at most 25 events; the DST holds events 1..60 once each.
    generated = grid.rucio.call("GET", "/dids/bmn.mc/mc.test-sample.gen/dids")
    assert len(generated) == 3
    events = []
    for entry in grid.rucio.call("GET", "/replicas/bmn.mc/mc.test-sample.dst"):
        pfn = next(iter(entry["rses"].values()))[0]
        events += bmnio.event_ids_of(grid.gridsim.path_of(pfn))
    assert sorted(events) == list(range(1, 61))

    rules = grid.rucio.call("GET", "/dids/bmn.mc/mc.test-sample.dst/rules")
    assert {(r["rse_expression"], r["state"]) for r in rules} >= {
        ("LHEP_DISK", "OK"),
        ("DLNP_DISK", "OK"),
    }
