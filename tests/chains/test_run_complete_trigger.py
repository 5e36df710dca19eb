"""The run-complete watcher announces each closed run once, across triggerer restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bmnflow.assets import RunCompleteTrigger
from bmnflow.assets.announced import AnnouncedRuns


class StateStore:
    """Airflow's asset state store as a trigger sees it: JSON values by key, kept by the
    metadata database across triggerer restarts (here, by this object)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)


def new_trigger(storage: Path, store: StateStore) -> tuple[RunCompleteTrigger, AnnouncedRuns]:
    """A trigger as the triggerer builds it: from its serialized kwargs, with the store."""
    classpath, kwargs = RunCompleteTrigger(markers=str(storage / "daq")).serialize()
    assert classpath == "bmnflow.assets.run_complete.RunCompleteTrigger"
    trigger = RunCompleteTrigger(**kwargs)
    trigger.asset_state_store = store
    return trigger, AnnouncedRuns(store, f"run-complete:{trigger.folder}")


async def one_look(trigger: RunCompleteTrigger, announced: AnnouncedRuns) -> list[dict]:
    return [event.payload async for event in trigger.new_runs(announced)]


@pytest.fixture
def close_run(tmp_path: Path, run_payload):
    storage = tmp_path / "lhep_online"

    def close(run: int) -> Path:
        run_payload(
            "bmn_daq.py", "--run", run, "--parts", 2, "--events-per-part", 5,
            "--storage", storage, cwd=tmp_path,
        )  # fmt: skip
        return storage

    return close


async def test_each_closed_run_is_announced_once_in_closing_order(close_run):
    storage = close_run(8201)
    close_run(8200)
    trigger, announced = new_trigger(storage, StateStore())

    events = await one_look(trigger, announced)

    assert [e["run"] for e in events] == [8201, 8200]
    assert [f["name"] for f in events[0]["files"]] == [
        "mpd_run_Top_8201_ev0_p0.data",
        "mpd_run_Top_8201_ev0_p1.data",
    ]
    assert await one_look(trigger, announced) == []


async def test_a_restarted_triggerer_neither_loses_nor_repeats_a_run(close_run):
    store = StateStore()
    storage = close_run(8300)
    trigger, announced = new_trigger(storage, store)
    assert [e["run"] for e in await one_look(trigger, announced)] == [8300]

    # The triggerer restarts; meanwhile the DAQ closes another run.
    close_run(8301)
    trigger, announced = new_trigger(storage, store)

    assert [e["run"] for e in await one_look(trigger, announced)] == [8301]
    assert await one_look(trigger, announced) == []


async def test_an_event_not_taken_before_a_restart_is_announced_again(close_run):
    store = StateStore()
    storage = close_run(8400)
    trigger, announced = new_trigger(storage, store)
    stream = trigger.new_runs(announced)
    first = await anext(stream)
    assert first.payload["run"] == 8400
    # The triggerer dies before it asks for the next event: the run was never recorded.
    await stream.aclose()

    trigger, announced = new_trigger(storage, store)
    assert [e["run"] for e in await one_look(trigger, announced)] == [8400]


async def test_an_unusable_marker_waits_until_it_is_fixed(close_run, capsys):
    storage = close_run(8500)
    marker = storage / "daq" / "run8" / "run_8500.complete"
    good = marker.read_text()
    marker.write_text("{ truncated")
    trigger, announced = new_trigger(storage, StateStore())

    assert await one_look(trigger, announced) == []
    # The trigger's log (structlog, on stdout under Airflow 3) says which marker and why.
    assert "run_8500.complete is unusable" in capsys.readouterr().out

    marker.write_text(good)
    assert [e["run"] for e in await one_look(trigger, announced)] == [8500]
