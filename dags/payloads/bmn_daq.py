#!/usr/bin/env python3
"""Writes one run's RAW files to the online storage and closes the run, as the DAQ does.

Each part becomes ``mpd_run_Top_<run>_ev0_p<part>.data``, written atomically at the path
where Rucio's deterministic ``hash`` naming expects it on the LHEP_ONLINE storage element
(``<scope>/<md5[0:2]>/<md5[2:4]>/<name>``), so that the files are registered where they lie.
When every part is on disk, a run-complete marker ``<markers>/<period>/run_<run>.complete``
lists them with their sizes, ADLER32 checksums and event counts; the marker is what the
asset watcher looks for.

    python3 bmn_daq.py --run 8123 --parts 3 --events-per-part 200 --storage /srv/lhep_online
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from bmnio import (
    DETECTORS,
    MAX_EVENTS_PER_PART,
    MAX_PARTS,
    REPORT_PREFIX,
    RawEvent,
    adler32_of,
    event_id,
    fail,
    raw_file_name,
    seeded_rng,
    write_atomically,
    write_raw,
)

MARKER_SUFFIX = ".complete"


def rucio_hash_path(scope: str, name: str) -> str:
    """The relative path of a file under Rucio's ``hash`` lfn2pfn algorithm."""
    digest = hashlib.md5(f"{scope}:{name}".encode()).hexdigest()
    if scope.startswith(("user", "group")):
        scope = scope.replace(".", "/")
    return f"{scope}/{digest[0:2]}/{digest[2:4]}/{name}"


def marker_path(markers: Path, period: str, run: int) -> Path:
    """Where the run-complete marker of ``run`` lies."""
    return markers / period / f"run_{run}{MARKER_SUFFIX}"


def daq_events(run: int, part: int, count: int, seed: int) -> list[RawEvent]:
    """The events of one part; the same run, part and seed always give the same events."""
    events = []
    for index in range(count):
        rng = seeded_rng("daq", seed, run, part, index)
        hits = tuple(
            (rng.randrange(len(DETECTORS)), rng.randrange(1024), rng.randrange(1024))
            for _ in range(rng.randint(5, 60))
        )
        events.append(RawEvent(event_id(run, part, index), hits))
    return events


def write_run(
    *,
    run: int,
    parts: int,
    events_per_part: int,
    storage: Path,
    markers: Path,
    scope: str,
    period: str,
    seed: int,
) -> Path:
    """Writes every part of ``run``, then its marker; returns the marker's path."""
    files = []
    for part in range(parts):
        name = raw_file_name(run, part)
        relative = rucio_hash_path(scope, name)
        path = storage / relative
        write_raw(path, run, part, daq_events(run, part, events_per_part, seed))
        files.append(
            {
                "name": name,
                "path": relative,
                "bytes": path.stat().st_size,
                "adler32": adler32_of(path),
                "events": events_per_part,
            }
        )

    marker = marker_path(markers, period, run)
    document = {"run": run, "period": period, "scope": scope, "seed": seed, "files": files}
    write_atomically(marker, (json.dumps(document, indent=1, sort_keys=True) + "\n").encode())
    return marker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=int, required=True, help="run number")
    parser.add_argument("--parts", type=int, default=3, help="files of the run")
    parser.add_argument("--events-per-part", type=int, default=200)
    parser.add_argument("--storage", type=Path, required=True, help="LHEP_ONLINE's folder")
    parser.add_argument("--markers", type=Path, help="marker folder (default: <storage>/daq)")
    parser.add_argument("--scope", default="bmn.run8")
    parser.add_argument("--period", default="run8")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.run <= 0:
        return fail(f"--run must be positive, got {args.run}")
    if not 0 < args.parts <= MAX_PARTS:
        return fail(f"--parts must be in 1..{MAX_PARTS}, got {args.parts}")
    if not 0 < args.events_per_part < MAX_EVENTS_PER_PART:
        return fail(f"--events-per-part must be in 1..{MAX_EVENTS_PER_PART - 1}")

    marker = write_run(
        run=args.run,
        parts=args.parts,
        events_per_part=args.events_per_part,
        storage=args.storage,
        markers=args.markers or args.storage / "daq",
        scope=args.scope,
        period=args.period,
        seed=args.seed,
    )
    summary = {"run": args.run, "files": args.parts, "events": args.parts * args.events_per_part}
    print(REPORT_PREFIX + json.dumps({**summary, "marker": str(marker)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
