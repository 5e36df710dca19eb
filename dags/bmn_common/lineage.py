"""The lineage manifest of a run: RAW file -> PanDA job -> DIGI file -> PanDA job -> DST
file -> replicas, one row per DST file, as Parquet.

It is built from what PanDA and Rucio record (the files of each finished PanDA job, the
replicas of the DST files), so it holds for any payload, not only for the stand-ins.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
    [
        ("run", pa.int64()),
        ("raw_files", pa.list_(pa.string())),
        ("digi_panda_id", pa.int64()),
        ("digi_file", pa.string()),
        ("dst_panda_id", pa.int64()),
        ("dst_file", pa.string()),
        ("dst_rses", pa.list_(pa.string())),
        ("dst_pfns", pa.list_(pa.string())),
    ]
)


def job_files(jobs: Iterable[dict[str, Any]]) -> dict[str, tuple[int, list[str]]]:
    """Output file -> (PanDA id, input files) of the finished jobs among PanDA job
    descriptions (their ``Files`` with ``lfn`` and ``type``)."""
    produced: dict[str, tuple[int, list[str]]] = {}
    for job in jobs:
        if job is None or job.get("jobStatus") != "finished":
            continue
        files = job.get("Files", [])
        inputs = sorted(f["lfn"] for f in files if f["type"] == "input")
        for output in (f["lfn"] for f in files if f["type"] == "output"):
            produced[output] = (int(job["PandaID"]), inputs)
    return produced


def manifest(
    run: int,
    digi_jobs: Iterable[dict[str, Any]],
    dst_jobs: Iterable[dict[str, Any]],
    dst_replicas: Iterable[dict[str, Any]],
) -> pa.Table:
    """The manifest of ``run`` from its two tasks' job descriptions and the DST replicas
    (rows with ``name``, ``rse``, ``pfn``, ``state``; only available ones count).

    :raises ValueError: naming the DST files whose DIGI input no finished job produced.
    """
    digi = job_files(digi_jobs)
    replicas: dict[str, list[tuple[str, str]]] = {}
    for row in dst_replicas:
        if row.get("state", "AVAILABLE") == "AVAILABLE":
            replicas.setdefault(row["name"], []).append((row["rse"], row.get("pfn") or ""))

    rows = []
    orphans = []
    for dst_file, (dst_id, digi_inputs) in sorted(job_files(dst_jobs).items()):
        for digi_file in digi_inputs:
            if digi_file not in digi:
                orphans.append(dst_file)
                continue
            digi_id, raw_files = digi[digi_file]
            where = sorted(replicas.get(dst_file, []))
            rows.append(
                {
                    "run": run,
                    "raw_files": raw_files,
                    "digi_panda_id": digi_id,
                    "digi_file": digi_file,
                    "dst_panda_id": dst_id,
                    "dst_file": dst_file,
                    "dst_rses": [rse for rse, _ in where],
                    "dst_pfns": [pfn for _, pfn in where],
                }
            )
    if orphans:
        raise ValueError(f"DST files whose DIGI input no finished job made: {sorted(orphans)}")
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def write_manifest(table: pa.Table, folder: Path, run: int) -> Path:
    """Writes the manifest as ``<folder>/run<run>.lineage.parquet`` (replacing an older
    one, since a re-run of the chain describes the same files); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run{run}.lineage.parquet"
    partial = folder / f".run{run}.lineage.parquet.part"
    pq.write_table(table, partial)
    partial.replace(path)
    return path
