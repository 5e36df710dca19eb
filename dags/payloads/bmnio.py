"""The file formats of the stand-in BM@N payloads, shared by every payload program.

RAW files follow the DAQ's shape: a header block, one tag-length-value block per event, and
an end block holding a CRC32 of the event blocks, all little-endian. DIGI, DST and generator
files stand in for ROOT files: one header line, then one JSON line per event. Every event
keeps its id from the DAQ (or the generator) through every stage, and every derived event
names the file it came from, so that a chain can be checked event by event from RAW to DST.

Only the standard library is used: a PanDA job runs these with any ``python3``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import struct
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RAW_MAGIC = b"BMNR"
RAW_VERSION = 1
TAG_EVENT = 0x544E5645  # "EVNT" read as little-endian bytes
TAG_END = 0x52444E45  # "ENDR"
_HEADER = struct.Struct("<4sHHIII")  # magic, version, reserved, run, part, events
_BLOCK = struct.Struct("<II")  # tag, length of the value
_EVENT = struct.Struct("<QH")  # event id, hits
_HIT = struct.Struct("<HHH")  # detector, channel, ADC counts

#: Detectors of the stand-in BM@N set-up, by index.
DETECTORS = ("GEM", "SILICON", "CSC", "TOF400", "TOF700", "DCH", "ZDC")
#: Events per part and parts per run are bounded so that event ids stay unique and readable.
MAX_PARTS = 1000
MAX_EVENTS_PER_PART = 1_000_000

#: The stdout line prefix under which every payload reports its event counts.
REPORT_PREFIX = "BMNFLOW-EVENTS "


class FormatError(Exception):
    """A file is not in the format its stage expects, or is damaged."""


def event_id(run: int, part: int, index: int) -> int:
    """The id of event ``index`` of part ``part`` of ``run``: ``RRRR PPP IIIIII`` in decimal."""
    return run * MAX_PARTS * MAX_EVENTS_PER_PART + part * MAX_EVENTS_PER_PART + index


def raw_file_name(run: int, part: int) -> str:
    """The DAQ's name for part ``part`` of ``run``."""
    return f"mpd_run_Top_{run}_ev0_p{part}.data"


def adler32_of(path: Path) -> str:
    """The ADLER32 checksum of a file as Rucio and FTS write it: 8 lowercase hex digits."""
    value = 1
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value & 0xFFFFFFFF:08x}"


def seeded_rng(*parts: object) -> random.Random:
    """A generator whose sequence depends only on ``parts``, on every platform and run."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


# -- RAW ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawEvent:
    """One event as the DAQ wrote it."""

    event: int
    hits: tuple[tuple[int, int, int], ...]


def write_raw(path: Path, run: int, part: int, events: list[RawEvent]) -> None:
    """Writes a RAW file atomically: a reader never sees a file that is still being written."""
    body = bytearray()
    for ev in events:
        value = _EVENT.pack(ev.event, len(ev.hits)) + b"".join(_HIT.pack(*h) for h in ev.hits)
        body += _BLOCK.pack(TAG_EVENT, len(value)) + value
    end = _BLOCK.pack(TAG_END, 4) + struct.pack("<I", zlib.crc32(body))
    header = _HEADER.pack(RAW_MAGIC, RAW_VERSION, 0, run, part, len(events))
    write_atomically(path, header + bytes(body) + end)


def read_raw(path: Path) -> tuple[int, int, list[RawEvent]]:
    """Reads a RAW file; returns its run, part and events.

    :raises FormatError: on a wrong magic, a truncated block, a CRC or event count mismatch.
    """
    data = path.read_bytes()
    if len(data) < _HEADER.size or data[:4] != RAW_MAGIC:
        raise FormatError(f"{path.name}: not a BM@N RAW file")
    _, version, _, run, part, count = _HEADER.unpack_from(data)
    if version != RAW_VERSION:
        raise FormatError(f"{path.name}: RAW version {version}, expected {RAW_VERSION}")

    events: list[RawEvent] = []
    offset = _HEADER.size
    body_start = offset
    while True:
        if offset + _BLOCK.size > len(data):
            raise FormatError(f"{path.name}: truncated at byte {offset}, no end block")
        tag, length = _BLOCK.unpack_from(data, offset)
        value = data[offset + _BLOCK.size : offset + _BLOCK.size + length]
        if len(value) != length:
            raise FormatError(f"{path.name}: block at byte {offset} is truncated")
        if tag == TAG_END:
            (crc,) = struct.unpack("<I", value)
            if crc != zlib.crc32(data[body_start:offset]):
                raise FormatError(f"{path.name}: CRC mismatch, the file is damaged")
            break
        if tag != TAG_EVENT:
            raise FormatError(f"{path.name}: unknown block tag {tag:#x} at byte {offset}")
        ident, n_hits = _EVENT.unpack_from(value)
        hits = tuple(_HIT.unpack_from(value, _EVENT.size + i * _HIT.size) for i in range(n_hits))
        events.append(RawEvent(ident, hits))
        offset += _BLOCK.size + length

    if len(events) != count:
        raise FormatError(f"{path.name}: header says {count} events, found {len(events)}")
    return run, part, events


# -- line formats (DIGI, DST, generator output) ---------------------------------------------


def write_lines(path: Path, kind: str, header: dict[str, Any], records: Iterable[dict]) -> int:
    """Writes a header line ``<kind> 1 <json>`` and one JSON line per record, atomically;
    returns the number of records."""
    lines = [f"{kind} 1 {json.dumps(header, sort_keys=True)}"]
    lines.extend(json.dumps(record, sort_keys=True) for record in records)
    write_atomically(path, ("\n".join(lines) + "\n").encode())
    return len(lines) - 1


def read_lines(path: Path, kind: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Reads a file written by :func:`write_lines`; returns its header and records.

    :raises FormatError: when the file is not of ``kind``.
    """
    with path.open() as stream:
        first = stream.readline()
        if not first.startswith(f"{kind} 1 "):
            raise FormatError(f"{path.name}: not a {kind} file")
        header = json.loads(first[len(kind) + 3 :])
        records = [json.loads(line) for line in stream if line.strip()]
    return header, records


def event_ids_of(path: Path) -> list[int]:
    """The event ids in any payload file, in file order."""
    with path.open("rb") as stream:
        start = stream.read(4)
    if start == RAW_MAGIC:
        return [ev.event for ev in read_raw(path)[2]]
    kind = path.open().readline().split(" ", 1)[0]
    return [record["event"] for record in read_lines(path, kind)[1]]


# -- event selection and reporting ----------------------------------------------------------


def select_events(
    per_file: Iterable[tuple[str, Iterable[Any]]], skip: int, limit: int
) -> Iterator[tuple[str, Any]]:
    """The events of the input files in order, after skipping ``skip`` and keeping at most
    ``limit`` (all when negative), each with the name of its file.

    PanDA counts ``${SKIPEVENTS}`` from the start of a job's first file and ``${MAXEVENTS}``
    across its files, so a job can end inside one file and the next job start there.
    """
    seen = 0
    kept = 0
    for name, events in per_file:
        for ev in events:
            seen += 1
            if seen <= skip:
                continue
            if 0 <= limit <= kept:
                return
            kept += 1
            yield name, ev


def split_inputs(values: list[str] | None) -> list[Path]:
    """Input files from repeated ``--input`` options, each possibly comma-separated (as
    PanDA expands ``${IN}``)."""
    paths = [Path(v) for value in values or [] for v in value.split(",") if v]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FormatError(f"input files not found: {', '.join(missing)}")
    return paths


def report(program: str, output: Path, events_in: int, events: list[int], **extra: Any) -> None:
    """Writes ``<output>.events.json`` and prints the same counts on one stdout line."""
    summary = {
        "program": program,
        "output": output.name,
        "events_in": events_in,
        "events_out": len(events),
        "first_event": events[0] if events else None,
        "last_event": events[-1] if events else None,
        "adler32": adler32_of(output),
        **extra,
    }
    sidecar = output.with_name(output.name + ".events.json")
    write_atomically(sidecar, (json.dumps(summary, sort_keys=True) + "\n").encode())
    print(REPORT_PREFIX + json.dumps(summary, sort_keys=True), flush=True)


def fail(message: str) -> int:
    """Prints an error as PanDA job logs show it and returns the payload's exit code."""
    print(f"ERROR: {message}", file=sys.stderr, flush=True)
    return 2


def write_atomically(path: Path, data: bytes) -> None:
    """Writes through a hidden partial file and a rename, so readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    os.replace(partial, path)
