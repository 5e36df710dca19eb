"""An asset watcher that announces each run whose RAW dataset is complete and replicated."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from bmnflow.assets.announced import AnnouncedRuns

#: The run number in a run dataset's name, such as ``raw.run8123``.
RUN_NUMBER = re.compile(r"\.run(\d+)$")


class RunDatasetReadyTrigger(BaseEventTrigger):
    """Fires once for each run dataset of a period container whose rules are all OK (and
    cover ``required_rses``, when given), never twice for a run.

    The ingest DAG attaches a run's dataset to its period container only once every file is
    registered, so a dataset in the container is a complete one. The event's payload holds
    the dataset (``did``, ``scope``, ``name``), ``run``, ``files``, ``bytes`` and its
    ``rules`` (id, RSE expression, state).

    :param rucio_conn_id: The Airflow connection of the Rucio server (never a secret here).
    :param container: The run period's container, ``scope:name``, whose datasets are watched.
    :param required_rses: RSE expressions that must each have an OK rule (for RAW: the tape
        and the disk of the policy), so that a dataset is not taken between two rules.
    :param poll_interval: Seconds between two looks at the container.
    """

    def __init__(
        self,
        rucio_conn_id: str,
        container: str,
        required_rses: list[str] | None = None,
        poll_interval: float = 10.0,
    ) -> None:
        super().__init__()
        self.rucio_conn_id = rucio_conn_id
        self.container = container
        self.required_rses = list(required_rses or [])
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "rucio_conn_id": self.rucio_conn_id,
                "container": self.container,
                "required_rses": self.required_rses,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from bmnflow.hooks.rucio import RucioHook

        client = await RucioHook(rucio_conn_id=self.rucio_conn_id).aget_client()
        announced = AnnouncedRuns(self.asset_state_store, f"dataset-ready:{self.container}")
        self.log.info("watching the run datasets of %s", self.container)
        while True:
            async for event in self.new_runs(client, announced):
                yield event
            await asyncio.sleep(self.poll_interval)

    async def new_runs(self, client: Any, announced: AnnouncedRuns) -> AsyncIterator[TriggerEvent]:
        """One look at the container: an event per run dataset that became ready, each
        recorded as announced once the consumer has taken it."""
        done = await announced.load()
        for dataset in await asyncio.to_thread(_run_datasets, client, self.container):
            if dataset["run"] in done:
                continue
            ready = await asyncio.to_thread(_ready, client, dataset, self.required_rses)
            if ready is None:
                continue
            rule_ids = ", ".join(r["id"] for r in ready["rules"])
            self.log.info(
                "run %d ready: dataset %s, rules %s", ready["run"], ready["did"], rule_ids
            )
            yield TriggerEvent(ready)
            await announced.add(ready["run"])


def _run_datasets(client: Any, container: str) -> list[dict[str, Any]]:
    """The datasets of the container whose names carry a run number."""
    found = []
    for entry in client.list_content(container):
        match = RUN_NUMBER.search(entry["name"])
        if entry["type"].upper() == "DATASET" and match:
            found.append({**entry, "run": int(match.group(1))})
    return sorted(found, key=lambda d: d["run"])


def _ready(client: Any, dataset: dict[str, Any], required: list[str]) -> dict[str, Any] | None:
    """The event payload of a dataset whose rules are all OK, else ``None``."""
    did = f"{dataset['scope']}:{dataset['name']}"
    rules = client.list_rules(did)
    if not rules or any(rule["state"] != "OK" for rule in rules):
        return None
    covered = {rule["rse_expression"] for rule in rules}
    if not set(required) <= covered:
        return None
    # Rucio re-evaluates a rule after files join its dataset a moment later: until then the
    # rule is OK with too few locks. Each rule must hold a lock per file and copy.
    # Rucio counts files and bytes of a dataset only once it is closed: count them here.
    content = client.list_content(did)
    files = len(content)
    if not files or any(r.get("locks_ok_cnt", 0) < files * r.get("copies", 1) for r in rules):
        return None
    return {
        "did": did,
        "scope": dataset["scope"],
        "name": dataset["name"],
        "run": dataset["run"],
        "files": files,
        "bytes": sum(entry.get("bytes") or 0 for entry in content),
        "rules": [
            {"id": r["id"], "rse_expression": r["rse_expression"], "state": r["state"]}
            for r in rules
        ],
    }
