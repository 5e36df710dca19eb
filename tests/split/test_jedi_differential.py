"""bmnflow's splitter against PanDA's own JEDI JobSplitter, on the same generated inputs.

Each rule gets random file lists (sizes from bytes to gigabytes, event counts including
empty files, runs as boundaries, secondary datasets with ratios, nosplit and repeat); the
test asserts that every job holds the same file pieces in both. The differences that bmnflow
makes on purpose are listed in docs/splitter.md and kept out of the generated inputs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

from bmnflow.split import SecondaryDataset, split_jobs

GIB = 1 << 30
CASES_PER_RULE = 25

Piece = tuple[int, int, Any, Any]


def _rules(kind: str, rng: random.Random) -> dict[str, Any]:
    return {
        "files": lambda: {"n_files_per_job": rng.randint(1, 12)},
        "gb": lambda: {"n_gb_per_job": rng.randint(1, 15)},
        "events": lambda: {"n_events_per_job": rng.randint(1, 800)},
        "events_per_file": lambda: {
            "n_events_per_job": rng.randint(1, 800),
            "n_events_per_file": rng.randint(1, 500),
        },
        "max_files": lambda: {"max_files_per_job": rng.randint(1, 10)},
        "defaults": lambda: {},
        "events_gb_max_files": lambda: {
            "n_events_per_job": rng.randint(50, 2000),
            "n_gb_per_job": rng.randint(1, 8),
            "max_files_per_job": rng.randint(2, 30),
        },
    }[kind]()


def _sizes(n: int, rng: random.Random) -> list[int]:
    # Gigabyte files exercise the size limits, megabyte files the 200-file default.
    scale = rng.choice([6 * GIB, 200 << 20])
    return [0 if rng.random() < 0.03 else rng.randint(1, scale) for _ in range(n)]


def _case(kind: str, seed: int, boundaries: bool, secondaries: bool) -> dict[str, Any]:
    rng = random.Random(seed)
    n = rng.randint(1, 260)
    runs, run = [], 0
    for _ in range(n):
        run += rng.random() < 0.1
        runs.append(run)
    case: dict[str, Any] = {
        "rules": _rules(kind, rng),
        "sizes": _sizes(n, rng),
        "nevents": [0 if rng.random() < 0.03 else rng.randint(1, 600) for _ in range(n)],
        "groups": runs if boundaries else None,
        "secondaries": [],
    }
    if secondaries:
        for _ in range(rng.randint(1, 2)):
            nosplit = rng.random() < 0.25
            ratio = None if nosplit else rng.choice([1, 2, round(rng.uniform(0.1, 3.0), 2)])
            case["secondaries"].append(
                {
                    "sizes": _sizes(rng.randint(0 if nosplit else 1, 120), rng)[:8]
                    if nosplit
                    else _sizes(rng.randint(1, 300), rng),
                    "ratio": ratio,
                    "nosplit": nosplit,
                    "repeat": rng.random() < 0.5,
                }
            )
    return case


def _table(sizes: list[int], nevents: list[int] | None = None, runs: list[int] | None = None):
    columns: dict[str, Any] = {
        "lfn": [f"bmn.run8:f{i}.root" for i in range(len(sizes))],
        "size": pa.array(sizes, pa.int64()),
    }
    if nevents is not None:
        columns["nevents"] = pa.array(nevents, pa.int64())
    if runs is not None:
        columns["run"] = pa.array(runs, pa.int32())
    return pa.table(columns)


def _ours(case: dict[str, Any]) -> list[list[Piece]]:
    rules = dict(case["rules"])
    if case["groups"] is not None:
        rules["boundaries"] = ["run"]
    secondaries = [
        SecondaryDataset(_table(s["sizes"]), s["ratio"], s["nosplit"], s["repeat"])
        for s in case["secondaries"]
    ]
    pieces = split_jobs(
        _table(case["sizes"], case["nevents"], case["groups"]), secondaries=secondaries, **rules
    ).pieces.to_pydict()
    jobs: list[list[Piece]] = []
    events_mode = "n_events_per_job" in rules
    for row, job in enumerate(pieces["job"]):
        if job == len(jobs):
            jobs.append([])
        first, count = pieces["first_event"][row], pieces["n_events"][row]
        if not events_mode or pieces["dataset"][row] != 0:
            first = count = None
        jobs[job].append((pieces["dataset"][row], pieces["file"][row], first, count))
    return [sorted(job, key=_order) for job in jobs]


def _theirs(result: dict[str, Any], events_mode: bool) -> list[list[Piece]]:
    jobs = []
    for job in result["jobs"]:
        pieces = []
        for dataset, file, first, count in job:
            if events_mode and dataset == 0 and first is None:
                # JEDI leaves a file without events uncut and unnumbered: bmnflow's (0, 0).
                first, count = 0, 0
            pieces.append((dataset, file, first, count))
        jobs.append(sorted(pieces, key=_order))
    return jobs


def _order(piece: Piece) -> tuple[int, int, int]:
    return (piece[0], piece[1], piece[2] or 0)


def _compare(cases: list[dict[str, Any]], jedi: Callable) -> None:
    results = jedi(cases)
    for index, (case, result) in enumerate(zip(cases, results, strict=True)):
        events_mode = "n_events_per_job" in case["rules"]
        ours, theirs = _ours(case), _theirs(result, events_mode)
        if ours != theirs:
            differ = next(
                (j for j, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b),
                min(len(ours), len(theirs)),
            )
            pytest.fail(
                f"case {index} ({case['rules']}, {len(case['sizes'])} files): "
                f"{len(ours)} jobs vs JEDI's {len(theirs)}; first difference at job {differ}: "
                f"{ours[differ] if differ < len(ours) else None} vs "
                f"{theirs[differ] if differ < len(theirs) else None}"
            )


RULE_KINDS = ["files", "gb", "events", "events_per_file", "max_files", "defaults"]


@pytest.mark.parametrize("kind", [*RULE_KINDS, "events_gb_max_files"])
def test_jobs_agree_with_jedi(kind: str, jedi: Callable) -> None:
    cases = [_case(kind, seed, boundaries=False, secondaries=False) for seed in range(25)]
    _compare(cases, jedi)


@pytest.mark.parametrize("kind", RULE_KINDS)
def test_jobs_agree_with_jedi_at_boundaries(kind: str, jedi: Callable) -> None:
    cases = [_case(kind, 1000 + seed, boundaries=True, secondaries=False) for seed in range(25)]
    _compare(cases, jedi)


@pytest.mark.parametrize("kind", ["files", "gb", "events", "max_files", "defaults"])
def test_secondaries_agree_with_jedi(kind: str, jedi: Callable) -> None:
    cases = [_case(kind, 2000 + seed, boundaries=False, secondaries=True) for seed in range(25)]
    _compare(cases, jedi)


def test_observed_jedi_splits_of_23_files_of_3_gb(jedi: Callable) -> None:
    sizes = [3_000_000_000] * 23
    rules = [{"n_files_per_job": 5}, {"n_gb_per_job": 10}, {"max_files_per_job": 4}]
    results = jedi([{"rules": r, "sizes": sizes} for r in rules])
    jedi_counts = [[len(job) for job in result["jobs"]] for result in results]
    ours = [split_jobs(_table(sizes), **r).jobs["n_files"].to_pylist() for r in rules]
    assert jedi_counts == [[5, 5, 5, 5, 3], [3] * 7 + [2], [4, 4, 4, 4, 4, 3]]
    assert ours == jedi_counts
