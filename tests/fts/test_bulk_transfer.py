"""Bulk transfers against a real gridsim with injected faults: every file ends with exactly the
outcome its fault calls for, recoverable failures are resubmitted, final ones are not."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from conftest import client, fts_jobs, local, put_files, transfers

from bmnflow._core import fts
from bmnflow.hooks.fts import transfer_batches

pytestmark = [pytest.mark.gridsim, pytest.mark.timeout(600)]

MISSING = "SOURCE [2] Result HTTP 404 : File not found after 1 attempts"
TIMEOUT = "TRANSFER [110] TRANSFER  Transfer failed: Connection timed out (copy stalled)"

#: The three links of the test and how many files each carries.
LINKS = [
    ("LHEP_ONLINE", "DLNP_DISK", 4000),
    ("LHEP_ONLINE", "DLNP_TAPE", 3000),
    ("LHEP_DISK", "DLNP_DISK", 3000),
]


def kind(i: int) -> str:
    """One file in fifty has a lost source, one in fifty stalls on every attempt."""
    return {0: "_gone", 1: "_stall"}.get(i % 50, "")


def test_ten_thousand_files_on_three_links_end_with_their_exact_outcome(start_grid):
    faults = {
        "seed": 8,
        # About one FTS answer in twelve is a 503 and one in twenty-five a dropped connection:
        # submissions and queries are repeated, and a repeated submission adopts its job.
        "fts": {"error_rate": 0.08, "drop_rate": 0.04},
        "transfers": {
            "rules": [
                {"pattern": r"_gone\.data", "reason": MISSING},
                {"pattern": r"_stall\.data", "reason": TIMEOUT},
            ]
        },
    }
    grid = start_grid(faults=faults)
    rows, where = [], []
    for source, destination, count in LINKS:
        names = [f"run8/{source}_{destination}/f{i:05d}{kind(i)}.data" for i in range(count)]
        rows += transfers(grid, source, destination, names)
        where += [(source, destination, name) for name in names]
    options = {"max_files_per_job": 200, "max_active_jobs_per_link": 6, "max_attempts": 3}

    report_json, batch = client(grid).transfer(
        transfer_batches(rows), "test/bulk/10k", json.dumps(options), poll_interval=0.2
    )
    report = json.loads(report_json)
    table = pa.Table.from_batches([batch]).to_pylist()

    assert len(table) == 10_000
    for row, (source, destination, name), outcome in zip(rows, where, table, strict=True):
        copied = local(grid, destination, name)
        assert outcome["destination"] == row["destination"]
        if name.endswith("_gone.data"):
            # Final: reported once, never resubmitted, nothing written.
            assert (outcome["state"], outcome["failure"], outcome["attempts"]) == (
                "FAILED",
                "final",
                1,
            ), outcome
            assert "File not found" in outcome["reason"]
            assert not copied.exists()
        elif name.endswith("_stall.data"):
            # Recoverable: submitted again in new FTS jobs until the attempts ran out.
            assert (outcome["state"], outcome["failure"], outcome["attempts"]) == (
                "FAILED",
                "recoverable",
                3,
            ), outcome
            assert len(set(outcome["fts_job_ids"])) == 3
            assert "timed out" in outcome["reason"]
        else:
            assert (outcome["state"], outcome["attempts"], outcome["bytes"]) == (
                "FINISHED",
                1,
                row["filesize"],
            ), outcome
            assert outcome["source"] == row["sources"][0]
            assert copied.read_bytes() == local(grid, source, name).read_bytes()

    summary = report["summary"]
    assert (summary["files"], summary["finished"], summary["failed"]) == (10_000, 9_600, 400)
    assert (summary["failed_final"], summary["failed_recoverable"]) == (200, 200)
    assert summary["complete"]

    # The first-attempt jobs, and twice a resubmission for each that had stalled files: no
    # job more.
    planned = json.loads(fts.plan(transfer_batches(rows), "test/bulk/10k", json.dumps(options)))
    assert len(planned) == 50
    stalled = [
        job for job in planned if any(where[r][2].endswith("_stall.data") for r in job["rows"])
    ]
    assert len(fts_jobs(grid)) == summary["fts_jobs"] == 50 + 2 * len(stalled)


def test_a_multi_source_file_is_copied_from_the_source_that_works(start_grid):
    grid = start_grid(
        faults={"transfers": {"rules": [{"pattern": "lhep_online/run8/a_gone", "reason": MISSING}]}}
    )
    names = ["run8/a_gone.data", "run8/b.data"]
    rows = transfers(grid, "LHEP_DISK", "DLNP_DISK", names)
    for row, online in zip(rows, put_files(grid, "LHEP_ONLINE", names), strict=True):
        # The first choice is the replica at LHEP_ONLINE, unreadable for a_gone.
        row["sources"].insert(0, online["pfn"])

    report_json, batch = client(grid).transfer(
        transfer_batches(rows),
        "test/multi-source",
        json.dumps({"selection_strategy": "orderly"}),
        poll_interval=0.2,
    )
    table = pa.Table.from_batches([batch]).to_pylist()

    assert [row["state"] for row in table] == ["FINISHED", "FINISHED"]
    assert table[0]["source"] == rows[0]["sources"][1], "the unreadable replica was skipped"
    assert table[1]["source"] == rows[1]["sources"][0]
    assert json.loads(report_json)["summary"]["fts_jobs"] == 2, "one FTS job per file"
