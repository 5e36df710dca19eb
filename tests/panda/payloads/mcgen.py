#!/usr/bin/env python3
"""Stand-in Monte Carlo generator: writes one line per event to the output file.

Usage: mcgen.py --out FILE --events N --first FIRST --seed SEED [--sleep SECONDS] [--pid-file F]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--pid-file", default=None)
    # Unknown flags (the fault markers of the tests) are ignored, as a real step ignores
    # options meant for the pilot.
    args, _ = parser.parse_known_args()

    if args.pid_file:
        # Lets a test check that a killed task terminates its running payloads.
        with open(args.pid_file, "a") as handle:
            handle.write(f"{os.getpid()}\n")
    time.sleep(args.sleep)
    with open(args.out, "w") as handle:
        for event in range(args.first, args.first + args.events):
            handle.write(f"event {event} seed {args.seed}\n")
    print(f"generated {args.events} events from {args.first}")


if __name__ == "__main__":
    main()
