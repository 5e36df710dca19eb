"""The set of runs a watcher has announced, kept in the asset state store.

A watcher announces a run by yielding its event, and records it right after the triggerer
has taken the event. A triggerer restart rebuilds the watcher, which reads the set back and
announces only what is new. If the triggerer dies in the instant between taking an event
and the record, the run is announced again on restart; the chains' DAGs are idempotent for
a run, so that repeat creates nothing.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class AnnouncedRuns:
    """The runs announced under ``key`` of the watcher's asset state store.

    :param store: The trigger's ``asset_state_store`` (with ``aget``/``aset``); when ``None``
        (a trigger run outside a triggerer, as by ``dag.test()``), the set lives in memory
        only and does not survive the process.
    :param key: The state key, one per watched source (so one asset may have several).
    """

    def __init__(self, store: Any, key: str) -> None:
        self._store = store
        self._key = key
        self._runs: set[int] | None = None
        if store is None:
            log.warning("no asset state store: announced runs of %s are kept in memory", key)

    async def load(self) -> set[int]:
        """The runs announced so far (read once from the store, then kept here)."""
        if self._runs is None:
            stored = await self._store.aget(self._key, None) if self._store else None
            self._runs = {int(run) for run in stored or []}
        return set(self._runs)

    async def add(self, run: int) -> None:
        """Records ``run`` as announced, in memory and in the store."""
        runs = await self.load()
        runs.add(run)
        self._runs = runs
        if self._store is not None:
            await self._store.aset(self._key, sorted(runs))
