"""Cutting a file list into jobs the way PanDA's JEDI does, in the Rust core.

Any table that speaks the Arrow PyCapsule interface (a pyarrow ``Table`` or ``RecordBatch``,
a polars ``DataFrame``, ...) is read without copying. It needs an ``lfn`` column (strings) and
a ``size`` column (int64 or uint64, bytes); ``nevents`` is used when present, and any other
column can serve as a boundary. The result refers to files by row number, not by name.

Rules are JEDI's split rules; their precedence and every intentional difference from JEDI are
in ``docs/splitter.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from bmnflow import _core
from bmnflow.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Jobs", "SecondaryDataset", "monte_carlo_jobs", "split", "split_jobs"]


@dataclass(frozen=True)
class SecondaryDataset:
    """A secondary dataset whose files join the jobs of the primary file list.

    :param files: Its file list (``lfn``, ``size``), any Arrow PyCapsule table.
    :param ratio: Secondary files per primary file: a job of ``n`` primary files takes the
        next ``ceil(n * ratio)``. Required unless ``nosplit``.
    :param nosplit: Every job takes all files of the dataset.
    :param repeat: Start again from the first file when the dataset runs out.
    """

    files: Any
    ratio: float | None = None
    nosplit: bool = False
    repeat: bool = False


class Jobs(NamedTuple):
    """The two tables of a split, sharing the ``job`` column.

    ``pieces`` has one row per job and file piece: ``job``, ``dataset`` (0 for the primary
    list, k for the k-th secondary), ``file`` (row in that dataset), ``first_event``,
    ``n_events`` (null when unknown) and ``bytes`` (the whole file's size). ``jobs`` has one
    row per job: ``job``, ``first_file``, ``n_files``, ``n_secondary_files``,
    ``first_event``, ``n_events`` and ``bytes``.
    """

    pieces: pa.Table
    jobs: pa.Table


def split_jobs(
    files: Any,
    *,
    n_files_per_job: int | None = None,
    n_gb_per_job: float | None = None,
    n_events_per_job: int | None = None,
    max_files_per_job: int | None = None,
    n_events_per_file: int | None = None,
    output_allowance: int | None = None,
    boundaries: Sequence[str] = (),
    secondaries: Sequence[SecondaryDataset] = (),
) -> Jobs:
    """Cuts ``files`` into jobs; returns the pieces and the per-job summary.

    With no rule, JEDI's defaults apply: at most 200 files and 20 GiB (less the output
    allowance) per job.

    :param files: The primary file list, any object with ``__arrow_c_stream__`` or
        ``__arrow_c_array__``.
    :param n_files_per_job: Exactly this many files per job (fewer at a boundary or the end).
    :param n_gb_per_job: At most this many GiB of input per job.
    :param n_events_per_job: Events per job; files are cut into event ranges that carry
        across file ends. Needs ``nevents`` or ``n_events_per_file``.
    :param max_files_per_job: At most this many files (or pieces) per job; default 200.
    :param n_events_per_file: Every file counts as holding this many events.
    :param output_allowance: Bytes of a job's size limit kept for its output; default
        1500 MiB, as in JEDI.
    :param boundaries: Columns whose change of value ends a job (``["run"]``).
    :param secondaries: Secondary datasets joining the jobs.
    :raises bmnflow.errors.InvalidInputError: for missing or null columns, negative sizes,
        zero or negative limits, conflicting rules, or overflow.
    """
    _check_arrow(files, "files")
    for secondary in secondaries:
        _check_arrow(secondary.files, "secondary files")
    pieces, jobs = _core.split.split_files(
        files,
        [(s.files, s.ratio, s.nosplit, s.repeat) for s in secondaries],
        n_files_per_job=n_files_per_job,
        n_gb_per_job=n_gb_per_job,
        n_events_per_job=n_events_per_job,
        max_files_per_job=max_files_per_job,
        n_events_per_file=n_events_per_file,
        output_allowance=output_allowance,
        boundaries=list(boundaries),
    )
    return Jobs(pieces, jobs)


def split(
    files: Any,
    *,
    n_files_per_job: int | None = None,
    n_gb_per_job: float | None = None,
    n_events_per_job: int | None = None,
    max_files_per_job: int | None = None,
    n_events_per_file: int | None = None,
    output_allowance: int | None = None,
    boundaries: Sequence[str] = (),
    secondaries: Sequence[SecondaryDataset] = (),
) -> pa.Table:
    """Cuts ``files`` into jobs; returns one row per job and file piece.

    The parameters are those of :func:`split_jobs`, whose ``pieces`` table this is.
    """
    return split_jobs(
        files,
        n_files_per_job=n_files_per_job,
        n_gb_per_job=n_gb_per_job,
        n_events_per_job=n_events_per_job,
        max_files_per_job=max_files_per_job,
        n_events_per_file=n_events_per_file,
        output_allowance=output_allowance,
        boundaries=boundaries,
        secondaries=secondaries,
    ).pieces


def monte_carlo_jobs(
    n_events: int, n_events_per_job: int, *, first_event: int = 1, seed_offset: int = 0
) -> pa.Table:
    """Cuts a Monte Carlo task without input into jobs.

    Columns ``job``, ``first_event``, ``n_events`` and ``seed``; job ``i`` gets seed
    ``seed_offset + i + 1``, so a re-run produces the same seeds.

    :param n_events: Events of the whole task.
    :param n_events_per_job: Events per job; the last job takes the rest.
    :param first_event: Number of the first event (JEDI counts from 1).
    :param seed_offset: Added to every seed.
    """
    return _core.split.monte_carlo(
        n_events, n_events_per_job, first_event=first_event, seed_offset=seed_offset
    )


def _check_arrow(value: Any, what: str) -> None:
    if not (hasattr(value, "__arrow_c_stream__") or hasattr(value, "__arrow_c_array__")):
        raise InvalidInputError(
            f"{what} must be an Arrow table (pyarrow, polars, ...), got {type(value).__name__}",
            service="split",
        )
