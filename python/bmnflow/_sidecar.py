"""Long polls to ``bmnflow-sidecar``, batched: all waits of one event loop on one connection
and kind share one HTTP request, so 2,000 waiting triggers hold one connection, not 2,000.

A batch polls the union of its waits' ids; a wait on a new id restarts the poll (after a
short gathering time) so that nobody waits for the previous poll to end. While the sidecar
cannot answer (it may be restarting) the batch asks again with backoff; its waits then
register again by themselves, as the sidecar keeps nothing across a restart.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from typing import TYPE_CHECKING, Any

from bmnflow.errors import BmnflowError, ServerError

if TYPE_CHECKING:
    from bmnflow.watch import Outcome, Report

log = logging.getLogger("bmnflow.watch")

#: Seconds one long poll lasts at most; the batch asks again at once.
LONG_POLL_SECONDS = 60.0

#: Seconds new waits are gathered before the poll restarts with them.
GATHER_SECONDS = 0.2

# Batches and HTTP clients belong to one event loop each: neither can move between loops.
_batches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, ...], _Batch]] = (
    weakref.WeakKeyDictionary()
)
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


async def wait_some(url: str, kind: str, conn_id: str, ids: list[str], timeout: float) -> Report:
    """Waits through the sidecar until any of ``ids`` ended, or ``timeout`` seconds passed."""
    batches = _batches.setdefault(asyncio.get_running_loop(), {})
    batch = batches.get((url, kind, conn_id))
    if batch is None:
        batch = batches[(url, kind, conn_id)] = _Batch(url, kind, conn_id)
    return await batch.wait_some(ids, timeout)


class _Unavailable(Exception):
    """The sidecar gave no usable answer; worth asking again."""


class _Batch:
    """The waits of one event loop on one sidecar, connection and kind."""

    def __init__(self, url: str, kind: str, conn_id: str) -> None:
        self.url, self.kind, self.conn_id = url, kind, conn_id
        self.waiters: dict[str, set[asyncio.Future[Outcome]]] = {}
        self.states: dict[str, str | None] = {}
        self.polled: set[str] = set()
        self.grown = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def wait_some(self, ids: list[str], timeout: float) -> Report:
        from bmnflow.watch import Report

        loop = asyncio.get_running_loop()
        futures = {i: loop.create_future() for i in ids}
        for i, future in futures.items():
            self.waiters.setdefault(i, set()).add(future)
        if not self.polled.issuperset(ids):
            self.grown.set()
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        try:
            await asyncio.wait(futures.values(), timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            for i, future in futures.items():
                waiting = self.waiters.get(i)
                if waiting is not None:
                    waiting.discard(future)
                    if not waiting:
                        del self.waiters[i]
                if not future.done():
                    future.cancel()

        ended = {}
        for i, future in futures.items():
            if future.cancelled():
                continue
            if future.exception() is not None:
                raise future.exception()
            ended[i] = future.result()
        pending = {i: self.states.get(i) for i in ids if i not in ended}
        return Report(ended=ended, pending=pending)

    async def _run(self) -> None:
        delay = 0.5
        while self.waiters:
            self.grown.clear()
            await asyncio.sleep(GATHER_SECONDS)
            ids = sorted(self.waiters)
            if not ids:
                return
            self.polled = set(ids)
            poll = asyncio.create_task(self._post(ids))
            grown = asyncio.create_task(self.grown.wait())
            await asyncio.wait({poll, grown}, return_when="FIRST_COMPLETED")
            if not poll.done():
                poll.cancel()
                continue
            grown.cancel()
            try:
                report = poll.result()
            except _Unavailable as reason:
                log.info(
                    "bmnflow sidecar %s unavailable (%s); asking again in %.1f s",
                    self.url,
                    reason,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0) * random.uniform(0.8, 1.2)
                continue
            except BmnflowError as error:
                self._fail(ids, error)
                continue
            delay = 0.5
            for i, outcome in report.ended.items():
                for future in self.waiters.pop(i, ()):
                    if not future.done():
                        future.set_result(outcome)
            self.states = {i: s for i, s in self.states.items() if i in self.waiters}
            self.states.update(report.pending)

    def _fail(self, ids: list[str], error: BmnflowError) -> None:
        for i in ids:
            for future in self.waiters.pop(i, ()):
                if not future.done():
                    future.set_exception(error)

    async def _post(self, ids: list[str]) -> Report:
        import httpx

        from bmnflow.watch import Report

        client, base = _client(self.url)
        body = {
            "conn_id": self.conn_id,
            "kind": self.kind,
            "ids": ids,
            "timeout": LONG_POLL_SECONDS,
        }
        try:
            response = await client.post(
                f"{base}/v1/wait", json=body, timeout=LONG_POLL_SECONDS + 30.0
            )
        except httpx.TransportError as error:
            raise _Unavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code == 200:
            return Report.from_json(response.content)
        if response.status_code >= 500:
            raise _Unavailable(f"HTTP {response.status_code}")
        raise _error(response)


def _client(url: str) -> tuple[Any, str]:
    import httpx

    loop = asyncio.get_running_loop()
    base = url.rstrip("/")
    client = _clients.get(loop)
    if client is None:
        if base.startswith("unix://"):
            transport = httpx.AsyncHTTPTransport(uds=base.removeprefix("unix://"))
            client = httpx.AsyncClient(transport=transport, timeout=None)
        else:
            client = httpx.AsyncClient(timeout=None)
        _clients[loop] = client
    if base.startswith("unix://"):
        base = "http://sidecar"
    return client, base


def _error(response: Any) -> BmnflowError:
    from bmnflow.watch import ERROR_CLASSES

    try:
        value = response.json()
        kind, message = value["kind"], value["message"]
    except (ValueError, KeyError, TypeError):
        kind, message = "server", response.text
    cls = ERROR_CLASSES.get(kind, ServerError)
    return cls(f"bmnflow sidecar: {message}", service="watch", status=response.status_code)
