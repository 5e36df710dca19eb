"""``bmnflow.split`` from Python: any Arrow table in, pyarrow tables out, clear errors."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest

import bmnflow
from bmnflow.errors import InvalidInputError
from bmnflow.split import SecondaryDataset, monte_carlo_jobs, split_jobs

GB = 3_000_000_000


def files(n: int, size: int = GB, **extra: list) -> pa.Table:
    return pa.table(
        {"lfn": [f"bmn.run8:raw{i}.data" for i in range(n)], "size": [size] * n, **extra}
    )


def test_split_returns_one_row_per_job_and_file_as_jedi_cuts_them():
    pieces = bmnflow.split(files(23), n_files_per_job=5)
    assert isinstance(pieces, pa.Table)
    assert pieces.column_names == ["job", "dataset", "file", "first_event", "n_events", "bytes"]
    assert pieces["job"].to_pylist() == [j for j, n in enumerate([5, 5, 5, 5, 3]) for _ in range(n)]
    assert pieces["file"].to_pylist() == list(range(23))


def test_polars_record_batches_and_chunked_tables_give_the_same_jobs():
    table = files(40, size=1 << 30, run=[i // 7 for i in range(40)])
    rules = {"n_gb_per_job": 4, "boundaries": ["run"]}
    expected = split_jobs(table, **rules).jobs

    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=6))
    assert chunked["size"].num_chunks > 1
    assert split_jobs(chunked, **rules).jobs.equals(expected)
    assert split_jobs(table.to_batches()[0], **rules).jobs.equals(expected)
    assert split_jobs(pl.from_arrow(table), **rules).jobs.equals(expected)
    # No job spans two runs, and every job but a run's last is full (4 GiB = 4 files).
    assert expected["n_files"].to_pylist() == [4, 3] * 5 + [4, 1]


def test_events_per_job_cuts_files_into_ranges_that_carry_across_file_ends():
    table = files(3, size=100, nevents=[250, 130, 20])
    jobs = split_jobs(table, n_events_per_job=100).jobs.to_pydict()
    assert jobs["n_events"] == [100, 100, 100, 100]
    assert jobs["first_file"] == [0, 0, 0, 1]
    assert jobs["first_event"] == [0, 100, 200, 50]


def test_secondaries_join_each_job_by_ratio():
    minbias = SecondaryDataset(files(10, size=7), ratio=0.5, repeat=True)
    jobs = split_jobs(files(6), n_files_per_job=2, secondaries=[minbias]).jobs
    assert jobs["n_secondary_files"].to_pylist() == [1, 1, 1]
    assert jobs["bytes"].to_pylist() == [2 * GB + 7] * 3


def test_a_large_file_list_is_split_in_one_call():
    n = 200_000
    table = pa.table({"lfn": pa.array([f"f{i}" for i in range(n)]), "size": pa.array([1] * n)})
    jobs = split_jobs(table, n_files_per_job=7).jobs
    assert jobs.num_rows == -(-n // 7)
    assert sum(jobs["n_files"].to_pylist()) == n


@pytest.mark.parametrize(
    ("table", "rules", "message"),
    [
        (pa.table({"size": [1]}), {}, "has no column `lfn`"),
        (files(2, run=[1, 2]), {"boundaries": ["lumiblock"]}, "has no column `lumiblock`"),
        (
            pa.table({"lfn": ["a", "b"], "size": [1, None]}),
            {},
            "`size` of the primary file list is null at row 1",
        ),
        (pa.table({"lfn": ["a"], "size": [-4]}), {}, "is negative (-4) at row 0"),
        (pa.table({"lfn": ["a"], "size": [1.5]}), {}, "expected int64 or uint64"),
        (files(2), {"n_files_per_job": 0}, "n_files_per_job must be a positive number, got 0"),
        (files(2), {"n_gb_per_job": -1.0}, "n_gb_per_job must be a positive number"),
        (files(2), {"n_files_per_job": 2, "n_gb_per_job": 5}, "conflicting rules"),
        (files(2), {"n_events_per_job": 10}, "needs the number of events of every file"),
        (
            files(2, nevents=[5, None]),
            {"n_events_per_job": 10},
            "`nevents` of the primary file list is null at row 1",
        ),
    ],
)
def test_bad_input_raises_invalid_input_before_any_job(table, rules, message):
    with pytest.raises(InvalidInputError) as raised:
        split_jobs(table, **rules)
    assert message in str(raised.value)
    assert raised.value.service == "split"


def test_something_that_is_not_a_table_is_refused():
    with pytest.raises(InvalidInputError, match="must be an Arrow table"):
        bmnflow.split([{"lfn": "a", "size": 1}])


def test_monte_carlo_jobs_number_events_and_seeds_reproducibly():
    jobs = monte_carlo_jobs(1_050, 500, seed_offset=40)
    assert jobs.to_pydict() == {
        "job": [0, 1, 2],
        "first_event": [1, 501, 1001],
        "n_events": [500, 500, 50],
        "seed": [41, 42, 43],
    }
    assert monte_carlo_jobs(1_050, 500, seed_offset=40).equals(jobs)
    with pytest.raises(InvalidInputError, match="n_events must be a positive number"):
        monte_carlo_jobs(0, 500)
