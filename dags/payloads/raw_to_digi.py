#!/usr/bin/env python3
"""RAW -> DIGI: decodes the DAQ's RAW blocks into calibrated, zero-suppressed digits.

python3 raw_to_digi.py --input a.data,b.data --output run8123_p0.digi --seed 7
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bmnio import RawEvent, read_raw
from physics import digitise
from stage import run_stage

KIND = "BMNDIGI"


def read(path: Path) -> tuple[str, list[RawEvent]]:
    return path.name, read_raw(path)[2]


def transform(source: str, event: RawEvent, seed: int) -> dict[str, Any]:
    return {
        "event": event.event,
        "source": source,
        "digits": digitise(event.event, event.hits, seed),
    }


def main(argv: list[str] | None = None) -> int:
    return run_stage(
        program="raw_to_digi",
        kind=KIND,
        argv=argv,
        description=__doc__.split("\n")[0],
        read=read,
        transform=transform,
    )


if __name__ == "__main__":
    sys.exit(main())
