"""``python -m bmnflow doctor``: checks that the Rust core loads and its bridge works."""

from __future__ import annotations

import asyncio
import sys

from bmnflow import __version__
from bmnflow._core import diagnostics
from bmnflow.errors import InternalError


def doctor() -> int:
    """Runs the bridge's self-checks and prints one line per check."""
    print(f"bmnflow {__version__}: Rust core loaded")

    try:
        diagnostics.panic("doctor")
    except InternalError:
        print("ok: a Rust panic becomes bmnflow.errors.InternalError")

    async def await_rust() -> float:
        return await diagnostics.sleep(0.01)

    slept = asyncio.run(await_rust())
    print(f"ok: an async Rust call was awaited ({slept} s)")
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["doctor"]:
        return doctor()
    print("usage: python -m bmnflow doctor", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
