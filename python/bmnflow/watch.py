"""Waiting on FTS jobs, PanDA tasks and Rucio rules through bmnflow's batched watcher.

Triggers call :func:`wait` (or :func:`wait_some` for one long poll). Every wait of a process
shares one Rust poller that asks each service in bulk; when a sidecar is configured
(``BMNFLOW_SIDECAR_URL``, or ``sidecar_url`` in the ``[bmnflow]`` section of Airflow's
configuration) the waits go to it instead, and one poller serves the whole deployment.

Waiting is read-only: a trigger rebuilt after a triggerer restart simply waits again, and a
wait through a restarting sidecar is registered again by the next long poll.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bmnflow import _core
from bmnflow.errors import (
    AuthenticationError,
    BmnflowError,
    ConfigurationError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    ServerError,
    TimeoutError,
    TransportError,
)

#: The kinds of object that can be waited on.
KINDS = ("fts_job", "panda_task", "rucio_rule")

#: The longest single long poll; a wait longer than this is several of them.
LONG_POLL_SECONDS = 60.0

#: How long a connection read from Airflow is reused before it is read again.
CONNECTION_TTL_SECONDS = 300.0

#: The exception class of each error kind the core and the sidecar report.
ERROR_CLASSES: dict[str, type[BmnflowError]] = {
    "configuration": ConfigurationError,
    "authentication": AuthenticationError,
    "not_found": NotFoundError,
    "invalid_input": InvalidInputError,
    "server": ServerError,
    "transport": TransportError,
    "timeout": TimeoutError,
    "internal": InternalError,
}


@dataclass(frozen=True)
class Outcome:
    """How the wait on one object ended.

    :param id: The object's id (FTS job id, PanDA task id, Rucio rule id).
    :param outcome: ``terminal`` (it reached a terminal state, which may be a failure of the
        object itself), ``gone`` (purged or deleted) or ``failed`` (the service refused to
        answer in a way retrying cannot fix).
    :param state: The service's state name, for a terminal outcome.
    :param detail: What the service said besides the state (failure reason, lock counts).
    :param message: Why, for ``gone`` and ``failed``.
    :param error_kind: The error kind of a ``failed`` outcome (``authentication``, ...).
    """

    id: str
    outcome: str
    state: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    message: str | None = None
    error_kind: str | None = None

    @classmethod
    def from_json(cls, object_id: str, value: dict[str, Any]) -> Outcome:
        """Reads one outcome of a wait report."""
        return cls(
            id=object_id,
            outcome=value["outcome"],
            state=value.get("state"),
            detail=value.get("detail") or {},
            message=value.get("message"),
            error_kind=value.get("kind"),
        )

    def error(self) -> BmnflowError | None:
        """The exception this outcome stands for; ``None`` for a terminal state."""
        if self.outcome == "gone":
            return NotFoundError(f"{self.id}: {self.message}", service="watch")
        if self.outcome == "failed":
            cls = ERROR_CLASSES.get(self.error_kind or "", BmnflowError)
            return cls(f"{self.id}: {self.message}", service="watch")
        return None


@dataclass
class Report:
    """What a wait learnt.

    :param ended: The objects that ended, by id.
    :param pending: The others, with their last known state (``None`` before the first).
    """

    ended: dict[str, Outcome] = field(default_factory=dict)
    pending: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        """Reads a report as the core and the sidecar write it."""
        value = json.loads(text)
        ended = {key: Outcome.from_json(key, item) for key, item in value["ended"].items()}
        return cls(ended=ended, pending=dict(value["pending"]))


def sidecar_url() -> str | None:
    """The configured sidecar (``http://host:port`` or ``unix:///path``), if any."""
    url = os.environ.get("BMNFLOW_SIDECAR_URL")
    if url:
        return url
    try:
        from airflow.sdk import conf

        return conf.get("bmnflow", "sidecar_url", fallback=None) or None
    except ImportError:
        return None


async def wait_some(
    kind: str, conn_id: str, ids: Iterable[str], *, timeout: float = LONG_POLL_SECONDS
) -> Report:
    """One long poll: returns when any of ``ids`` ended, or after ``timeout`` seconds.

    :param kind: ``fts_job``, ``panda_task`` or ``rucio_rule``.
    :param conn_id: The Airflow connection of the service.
    :param ids: The objects' ids.
    :param timeout: Seconds to wait at most.
    """
    ids = _check(kind, ids)
    url = sidecar_url()
    if url:
        from bmnflow import _sidecar

        return await _sidecar.wait_some(url, kind, conn_id, ids, timeout)
    connection = await _connection_json(conn_id)
    answer = await _core.watch.wait_some(kind, conn_id, connection, ids, timeout)
    return Report.from_json(answer)


async def wait(
    kind: str,
    conn_id: str,
    ids: Iterable[str],
    *,
    timeout: float | None = None,
    until: str = "all",
) -> Report:
    """Waits until every one of ``ids`` ended (or one, with ``until="any"``), or ``timeout``
    seconds passed.

    The report's ``pending`` holds what had not ended when the wait returned.

    :param kind: ``fts_job``, ``panda_task`` or ``rucio_rule``.
    :param conn_id: The Airflow connection of the service.
    :param ids: The objects' ids.
    :param timeout: Seconds to wait at most; no limit when unset.
    :param until: ``all`` or ``any``.
    """
    if until not in ("all", "any"):
        raise InvalidInputError(f"until must be 'all' or 'any', not {until!r}")
    remaining = _check(kind, ids)
    deadline = None if timeout is None else time.monotonic() + timeout
    report = Report()
    while remaining:
        left = LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
        if left <= 0:
            break
        step = await wait_some(kind, conn_id, remaining, timeout=min(left, LONG_POLL_SECONDS))
        report.ended.update(step.ended)
        report.pending = step.pending
        remaining = [i for i in remaining if i not in report.ended]
        if until == "any" and report.ended:
            break
    report.pending = {i: report.pending.get(i) for i in remaining}
    return report


def stats() -> list[dict[str, Any]]:
    """The in-process watcher's counters per endpoint and kind: objects, requests, errors."""
    return json.loads(_core.watch.stats())


def _check(kind: str, ids: Iterable[str]) -> list[str]:
    if kind not in KINDS:
        raise InvalidInputError(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    if isinstance(ids, str):
        raise InvalidInputError("ids must be a list of ids, not one string")
    ids = list(dict.fromkeys(str(i) for i in ids))
    if not ids:
        raise InvalidInputError("ids is empty: nothing to wait on")
    return ids


_connections: dict[str, tuple[float, str]] = {}
_connection_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


async def _connection_json(conn_id: str) -> str:
    """The connection in Airflow's JSON form, read through the async API (never the sync one,
    which can deadlock in a triggerer) and reused for a few minutes."""
    cached = _connections.get(conn_id)
    if cached and time.monotonic() - cached[0] < CONNECTION_TTL_SECONDS:
        return cached[1]
    # Thousands of triggers start together: one of them reads the connection, the rest wait.
    locks = _connection_locks.setdefault(asyncio.get_running_loop(), {})
    async with locks.setdefault(conn_id, asyncio.Lock()):
        cached = _connections.get(conn_id)
        if cached and time.monotonic() - cached[0] < CONNECTION_TTL_SECONDS:
            return cached[1]
        text = await _read_connection(conn_id)
        _connections[conn_id] = (time.monotonic(), text)
        return text


async def _read_connection(conn_id: str) -> str:
    from airflow.sdk import BaseHook

    connection = await BaseHook.aget_connection(conn_id)
    extra = None
    if hasattr(connection, "aextra_dejson"):
        extra = await connection.aextra_dejson()
    if extra is None:
        extra = connection.extra_dejson
    return json.dumps(
        {
            "conn_type": connection.conn_type,
            "host": connection.host,
            "port": connection.port,
            "login": connection.login,
            "password": connection.password,
            "schema": connection.schema,
            "extra": extra or {},
        }
    )


__all__ = ["KINDS", "Outcome", "Report", "sidecar_url", "stats", "wait", "wait_some"]
