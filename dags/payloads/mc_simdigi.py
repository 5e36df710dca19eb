#!/usr/bin/env python3
"""Monte Carlo simulation and digitisation: generated particles -> detector hits -> DIGI.

python3 mc_simdigi.py --input mc_000001.gen --output mc_000001.digi --seed 11
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bmnio import read_lines
from physics import digitise, simulate
from stage import run_stage

KIND = "BMNDIGI"
GEN_KIND = "BMNGEN"


def read(path: Path) -> tuple[str, list[dict[str, Any]]]:
    return path.name, read_lines(path, GEN_KIND)[1]


def transform(source: str, event: dict[str, Any], seed: int) -> dict[str, Any]:
    hits = simulate(event["event"], event["particles"], seed)
    return {
        "event": event["event"],
        "source": source,
        "digits": digitise(event["event"], hits, seed),
    }


def main(argv: list[str] | None = None) -> int:
    return run_stage(
        program="mc_simdigi",
        kind=KIND,
        argv=argv,
        description=__doc__.split("\n")[0],
        read=read,
        transform=transform,
    )


if __name__ == "__main__":
    sys.exit(main())
