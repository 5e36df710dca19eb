#!/usr/bin/env python3
"""Monte Carlo event generation: writes events ``first .. first + count - 1`` of a sample.

Event ``n`` of a sample depends only on ``n`` and the seed, so that jobs of any size give the
same events, and two productions with the same seed give the same files.

    python3 mc_generate.py --first-event ${FIRSTEVENT} --max-events ${MAXEVENTS} \
        --seed ${RNDMSEED} --output ${OUTPUT0}
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bmnio import fail, report, write_lines
from physics import generate

KIND = "BMNGEN"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--first-event", type=int, default=1, help="1-based, as ${FIRSTEVENT}")
    parser.add_argument("--max-events", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.first_event < 1 or args.max_events < 1:
        return fail("--first-event and --max-events must be at least 1")

    events = range(args.first_event, args.first_event + args.max_events)
    records = [{"event": n, "particles": generate(n, args.seed)} for n in events]
    header = {"stage": KIND, "first_event": args.first_event, "seed": args.seed}
    write_lines(args.output, KIND, header, records)
    report("mc_generate", args.output, 0, list(events), seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
