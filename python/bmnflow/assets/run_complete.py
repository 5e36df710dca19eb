"""An asset watcher that announces each run the DAQ closes on the online storage."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from bmnflow.assets.announced import AnnouncedRuns

#: How the DAQ names a run-complete marker: ``run_<run>.complete``.
MARKER = re.compile(r"^run_(\d+)\.complete$")


class RunCompleteTrigger(BaseEventTrigger):
    """Fires once per run-complete marker that appears in ``<markers>/<period>/``.

    The event's payload is the marker's document (run, period, scope, and the run's files
    with their paths relative to the storage folder, sizes, ADLER32 and event counts), plus
    ``marker``, the marker's path. Markers are taken oldest first; a marker that cannot be
    read is logged and retried at the next poll, since the DAQ may still be fixing it.

    :param markers: The folder of the online storage where the DAQ writes markers.
    :param period: The run period (``run8``); markers are looked for in its subfolder.
    :param poll_interval: Seconds between two looks at the folder.
    """

    def __init__(self, markers: str, period: str = "run8", poll_interval: float = 5.0) -> None:
        super().__init__()
        self.markers = markers
        self.period = period
        self.poll_interval = poll_interval
        self._unusable: set[tuple[Path, int]] = set()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"markers": self.markers, "period": self.period, "poll_interval": self.poll_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        announced = AnnouncedRuns(self.asset_state_store, f"run-complete:{self.folder}")
        self.log.info("watching %s for run-complete markers", self.folder)
        while True:
            async for event in self.new_runs(announced):
                yield event
            await asyncio.sleep(self.poll_interval)

    @property
    def folder(self) -> Path:
        """The folder the markers of the period appear in."""
        return Path(self.markers) / self.period

    async def new_runs(self, announced: AnnouncedRuns) -> AsyncIterator[TriggerEvent]:
        """One look at the folder: an event per marker not yet announced, each recorded as
        announced once the consumer has taken it."""
        done = await announced.load()
        for run, path, mtime in await asyncio.to_thread(_markers, self.folder):
            if run in done:
                continue
            try:
                document = await asyncio.to_thread(_read_marker, path, run)
            except ValueError as error:
                if (path, mtime) not in self._unusable:
                    self._unusable.add((path, mtime))
                    self.log.warning("marker %s is unusable, waiting for a fix: %s", path, error)
                continue
            self.log.info("run %d closed: %d files", run, len(document["files"]))
            yield TriggerEvent(document)
            await announced.add(run)


def _markers(folder: Path) -> list[tuple[int, Path, int]]:
    # Oldest first, so that runs are announced in the order the DAQ closed them.
    found = []
    for path in folder.glob("run_*.complete") if folder.is_dir() else []:
        match = MARKER.match(path.name)
        if match:
            found.append((path.stat().st_mtime_ns, int(match.group(1)), path))
    return [(run, path, mtime) for mtime, run, path in sorted(found)]


def _read_marker(path: Path, run: int) -> dict[str, Any]:
    """The marker's document, checked; :class:`ValueError` says what is wrong with it."""
    try:
        document = json.loads(path.read_text())
        files = document["files"]
        if document["run"] != run or not files:
            raise ValueError(f"names run {document['run']} with {len(files)} files")
        for entry in files:
            missing = {"name", "path", "bytes", "adler32"} - set(entry)
            if missing:
                raise ValueError(f"file entry {entry.get('name')!r} lacks {sorted(missing)}")
    except (OSError, KeyError, TypeError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from error
    return {**document, "marker": str(path)}
