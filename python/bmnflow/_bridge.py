"""The Python half of the bridge that hands Rust results to asyncio event loops."""

from __future__ import annotations

import asyncio
from typing import Any


def settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """Sets the outcome of ``future`` on its loop's thread, unless it was cancelled meanwhile.

    :param future: The future that an awaiting coroutine holds.
    :param ok: Whether ``value`` is the result (true) or an exception to raise (false).
    :param value: The result, or the exception.
    """
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
