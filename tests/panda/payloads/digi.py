#!/usr/bin/env python3
"""Stand-in RAW -> DIGI step: reads the input files and writes one digitised line per line.

Usage: digi.py --in A,B --out FILE [--seed N]
"""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--in", dest="inputs", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    lines = 0
    with open(args.out, "w") as out:
        for name in args.inputs.split(","):
            with open(name, "rb") as raw:
                for line in raw:
                    out.write(f"digi {name} {line.strip().hex()}\n")
                    lines += 1
    print(f"digitised {lines} lines from {args.inputs}")


if __name__ == "__main__":
    main()
