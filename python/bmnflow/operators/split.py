"""An operator that cuts a file list into jobs, as PanDA's JEDI would, and writes them out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from airflow.sdk import BaseOperator, Context

from bmnflow.errors import InvalidInputError
from bmnflow.split import SecondaryDataset, split_jobs

#: The rules the operator passes on to :func:`bmnflow.split.split_jobs`.
RULES = (
    "n_files_per_job",
    "n_gb_per_job",
    "n_events_per_job",
    "max_files_per_job",
    "n_events_per_file",
    "output_allowance",
)


class SplitJobsOperator(BaseOperator):
    """Splits a file list into jobs and writes them as Parquet; returns a summary for XCom.

    The file list is a Parquet file (columns ``lfn``, ``size``, optionally ``nevents`` and
    boundary columns) or a Rucio dataset, listed through :class:`~bmnflow.hooks.rucio.RucioHook`
    (``name`` becomes ``lfn``, ``bytes`` ``size``, ``events`` ``nevents``). Two files are
    written under ``output_folder``: ``pieces.parquet`` (one row per job and file piece, with the
    ``lfn``) and ``jobs.parquet`` (one row per job); a re-run replaces them whole.

    The returned summary, ``{"jobs", "files", "events", "bytes", "pieces", "summary"}``, is
    small whatever the size of the task; a downstream task can map over
    ``range(summary["jobs"])`` with ``expand()`` and read its job's rows from ``pieces``.

    :param output_folder: Folder for the two Parquet files; created if missing.
    :param files: Path of the Parquet file list.
    :param dataset: A Rucio dataset (``scope:name``) to list instead of ``files``.
    :param secondaries: Secondary datasets, each a dict with ``files`` (Parquet path) or
        ``dataset`` (Rucio DID), and ``ratio``, ``nosplit``, ``repeat``.
    :param boundaries: Columns whose change of value ends a job, such as ``["run"]``.
    :param rules: JEDI's split rules: ``n_files_per_job``, ``n_gb_per_job``,
        ``n_events_per_job``, ``max_files_per_job``, ``n_events_per_file``,
        ``output_allowance``; none set means JEDI's defaults (200 files, 20 GiB).
    :param rucio_conn_id: The Rucio connection, used only for ``dataset`` inputs.
    """

    template_fields: Sequence[str] = (
        "output_folder",
        "files",
        "dataset",
        "secondaries",
        "boundaries",
    )

    def __init__(
        self,
        *,
        output_folder: str,
        files: str | None = None,
        dataset: str | None = None,
        secondaries: Sequence[dict[str, Any]] = (),
        boundaries: Sequence[str] = (),
        rucio_conn_id: str = "rucio_default",
        **kwargs: Any,
    ) -> None:
        rules = {name: kwargs.pop(name) for name in RULES if name in kwargs}
        super().__init__(**kwargs)
        if (files is None) == (dataset is None):
            raise InvalidInputError("give exactly one of files and dataset", service="split")
        self.output_folder = output_folder
        self.files = files
        self.dataset = dataset
        self.secondaries = list(secondaries)
        self.boundaries = list(boundaries)
        self.rules = rules
        self.rucio_conn_id = rucio_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        primary = self._read(self.files, self.dataset)
        secondaries = [
            SecondaryDataset(
                self._read(s.get("files"), s.get("dataset")),
                ratio=s.get("ratio"),
                nosplit=bool(s.get("nosplit", False)),
                repeat=bool(s.get("repeat", False)),
            )
            for s in self.secondaries
        ]
        jobs = split_jobs(
            primary, boundaries=self.boundaries, secondaries=secondaries, **self.rules
        )

        lfns = [primary["lfn"], *(s.files["lfn"] for s in secondaries)]
        pieces = jobs.pieces.append_column("lfn", _lfns(jobs.pieces, lfns))
        folder = Path(self.output_folder)
        folder.mkdir(parents=True, exist_ok=True)
        pieces_path = _write(pieces, folder / "pieces.parquet")
        summary_path = _write(jobs.jobs, folder / "jobs.parquet")

        events = None
        if jobs.jobs["n_events"].null_count == 0:
            events = pc.sum(jobs.jobs["n_events"]).as_py() or 0
        summary = {
            "jobs": jobs.jobs.num_rows,
            "files": primary.num_rows,
            "events": events,
            "bytes": pc.sum(jobs.jobs["bytes"]).as_py() or 0,
            "pieces": str(pieces_path),
            "summary": str(summary_path),
        }
        self.log.info(
            "split %d files into %d jobs (%s events, %d bytes); wrote %s",
            summary["files"],
            summary["jobs"],
            summary["events"],
            summary["bytes"],
            pieces_path,
        )
        return summary

    def _read(self, files: str | None, dataset: str | None) -> pa.Table:
        if files is not None:
            return pq.read_table(files, memory_map=True)
        if dataset is None:
            raise InvalidInputError(
                "a secondary dataset needs `files` or `dataset`", service="split"
            )
        # Imported here: only Rucio inputs need the hook and its connection.
        from bmnflow.hooks.rucio import RucioHook

        listing = RucioHook(self.rucio_conn_id).client.list_files(dataset)
        self.log.info("listed %d files of %s", listing.num_rows, dataset)
        return pa.table(
            {
                "lfn": listing["name"],
                "size": listing["bytes"],
                "nevents": listing["events"],
            }
        )


def _lfns(pieces: pa.Table, lfns: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    """The ``lfn`` of each piece, taken from the dataset its ``dataset`` column names."""
    if len(lfns) == 1:
        return pc.take(lfns[0], pieces["file"])
    offsets = pa.array([0, *(len(column) for column in lfns[:-1])], pa.uint64())
    starts = pc.take(pc.cumulative_sum(offsets), pieces["dataset"])
    rows = pc.add(pc.cast(pieces["file"], pa.uint64()), starts)
    # One string type for all datasets, so that one take serves every row.
    columns = [column.cast(pa.large_string()) for column in lfns]
    everything = pa.chunked_array([chunk for column in columns for chunk in column.chunks])
    return pc.take(everything, rows)


def _write(table: pa.Table, path: Path) -> Path:
    """Writes to a temporary name first, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    return path
