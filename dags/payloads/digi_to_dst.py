#!/usr/bin/env python3
"""DIGI -> DST: reconstructs tracks, vertex and energy deposits of each event.

python3 digi_to_dst.py --input run8123_p0.digi --output run8123_p0.dst --seed 7
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bmnio import read_lines
from physics import reconstruct
from stage import run_stage

KIND = "BMNDST"
DIGI_KIND = "BMNDIGI"


def read(path: Path) -> tuple[str, list[dict[str, Any]]]:
    return path.name, read_lines(path, DIGI_KIND)[1]


def transform(source: str, event: dict[str, Any], seed: int) -> dict[str, Any]:
    # The DST keeps the first-stage file of each event (RAW, or generator output for Monte
    # Carlo), so that lineage needs no other bookkeeping.
    origin = {"source": source, "origin": event["source"]}
    return {"event": event["event"], **origin, **reconstruct(event["event"], event["digits"], seed)}


def main(argv: list[str] | None = None, program: str = "digi_to_dst") -> int:
    return run_stage(
        program=program,
        kind=KIND,
        argv=argv,
        description=__doc__.split("\n")[0],
        read=read,
        transform=transform,
    )


if __name__ == "__main__":
    sys.exit(main())
