"""The command line shared by every processing payload, and the loop that runs a stage.

PanDA fills the options from a task's ``jobParameters`` template, for example::

    python3 raw_to_digi.py --input ${IN} --output ${OUTPUT0} \
        --skip-events ${SKIPEVENTS} --max-events ${MAXEVENTS} --seed ${RNDMSEED}
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bmnio import FormatError, fail, report, select_events, split_inputs, write_lines

#: Reads one input file into ``(file name, events)``.
Reader = Callable[[Path], tuple[str, Iterable[Any]]]
#: Turns one selected input event into an output record (with ``event`` and ``source``).
Transform = Callable[[str, Any, int], dict[str, Any]]


def parser(description: str) -> argparse.ArgumentParser:
    """The options of a stage that reads input files and writes one output file."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--input", action="append", required=True, help="file(s), a,b,c")
    result.add_argument("--output", type=Path, required=True)
    result.add_argument("--skip-events", type=int, default=0, help="skipped in the first file")
    result.add_argument("--max-events", type=int, default=-1, help="negative: all")
    result.add_argument("--seed", type=int, default=0)
    return result


def run_stage(
    *,
    program: str,
    kind: str,
    argv: list[str] | None,
    description: str,
    read: Reader,
    transform: Transform,
) -> int:
    """Parses the options, converts the selected events, writes the output and the report."""
    args = parser(description).parse_args(argv)
    if args.skip_events < 0:
        return fail(f"--skip-events must not be negative, got {args.skip_events}")

    try:
        inputs = [read(path) for path in split_inputs(args.input)]
    except (FormatError, OSError) as error:
        return fail(str(error))
    selected = select_events(inputs, args.skip_events, args.max_events)
    records = [transform(name, ev, args.seed) for name, ev in selected]

    header = {
        "stage": kind,
        "inputs": [name for name, _ in inputs],
        "skip_events": args.skip_events,
        "max_events": args.max_events,
        "seed": args.seed,
    }
    write_lines(args.output, kind, header, records)
    events_in = sum(1 for _, events in inputs for _ in events)
    report(program, args.output, events_in, [r["event"] for r in records], seed=args.seed)
    return 0
