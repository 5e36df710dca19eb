"""Benchmark: split 100k, 1M and 10M files with each rule, against PanDA's JEDI and a floor.

For every file-list size and rule, three peers cut the same columns:

- bmnflow's splitter (``bmnflow.split.split_jobs``), fed a pyarrow table;
- a single pyarrow pass over the rule's column (``cumulative_sum`` then integer division),
  the least work any splitter reading that column must do: the floor;
- PanDA's own JEDI JobSplitter (``tests/split/jedi_driver.py`` in ``.venv-jedi``), at the
  sizes it manages in reasonable time (100k files by default). Its time grows linearly with
  the files, so larger lists are compared with its time per file at the largest size run
  (marked ``*``).

Each measurement runs in a fresh process that first loads the file list from an Arrow IPC
file into memory, then resets the kernel's peak-RSS mark (``/proc/self/clear_refs``), so
that the peak growth during the first call is the split's own memory. Times are given for the
first call ("cold", what a task pays: fresh memory must be faulted in) and as the best of
three more ("warm": pyarrow's pool then reuses its pages, while the splitter's buffers come
from the system allocator, which returns large blocks to the kernel). Not part of
``make test``; prints a table.

    .venv/bin/python bench/split.py [--sizes 100000,1000000,10000000] [--jedi-max 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
JEDI_PYTHON = ROOT / ".venv-jedi" / "bin" / "python"
JEDI_DRIVER = ROOT / "tests" / "split" / "jedi_driver.py"
GIB = 1 << 30
REPEATS = 3

#: Rule name -> (bmnflow keyword rules, the column the floor sums, the floor's divisor).
RULES: dict[str, tuple[dict[str, Any], str, int]] = {
    "files_per_job=5": ({"n_files_per_job": 5}, "one", 5),
    "gb_per_job=10": ({"n_gb_per_job": 10}, "size", 10 * GIB),
    "events_per_job=5000": ({"n_events_per_job": 5000}, "nevents", 5000),
    # Files hold 1000 events on average: most are cut into pieces, two jobs per file.
    "events_per_job=500": ({"n_events_per_job": 500}, "nevents", 500),
    "max_files_per_job=4": ({"max_files_per_job": 4}, "one", 4),
    "defaults": ({}, "size", 20 * GIB - (1500 << 20)),
    "gb_per_job=10+run": ({"n_gb_per_job": 10, "boundaries": ["run"]}, "size", 10 * GIB),
}


def make_files(n: int) -> pa.Table:
    """``n`` files of 0-4 GiB and 0-2000 events, in runs of 5000 files (seeded, reproducible)."""
    index = pa.array(range(n), pa.int64())
    sizes = pc.cast(pc.multiply(pc.random(n, initializer=1), 4.0 * GIB), pa.int64(), safe=False)
    events = pc.cast(pc.multiply(pc.random(n, initializer=2), 2000.0), pa.int64(), safe=False)
    lfns = pc.binary_join_element_wise("bmn.run8:raw.", pc.cast(index, pa.string()), ".data", "")
    runs = pc.cast(pc.divide(index, 5000), pa.int32())
    return pa.table({"lfn": lfns, "size": sizes, "nevents": events, "run": runs})


def input_file(n: int, folder: Path) -> Path:
    path = folder / f"files-{n}.arrow"
    if not path.exists():
        table = make_files(n)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return path


def measure(peer: str, rule: str, path: Path) -> dict[str, Any]:
    """Runs in a fresh process: loads the list, then times ``peer`` and its memory growth."""
    with pa.OSFile(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    rules, column, divisor = RULES[rule]
    if peer == "bmnflow":
        from bmnflow.split import split_jobs

        def work(files: pa.Table) -> int:
            return split_jobs(files, **rules).jobs.num_rows
    else:

        def work(files: pa.Table) -> int:
            values = pa.repeat(1, files.num_rows) if column == "one" else files[column]
            jobs = pc.divide(pc.cumulative_sum(values), divisor)
            return jobs[-1].as_py() + 1 if len(jobs) else 0

    # One call on a few rows first, so that neither peer's one-time set-up (pyarrow's kernel
    # registry, the extension's statics) counts as splitting.
    work(table.slice(0, 10))

    Path("/proc/self/clear_refs").write_text("5")
    before = _status_bytes("VmRSS")
    started = time.perf_counter()
    jobs = work(table)
    cold = time.perf_counter() - started
    grown = _status_bytes("VmHWM") - before
    warm = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        work(table)
        warm = min(warm, time.perf_counter() - started)
    return {"cold": cold, "warm": warm, "jobs": jobs, "grown": grown, "input": table.nbytes}


def _status_bytes(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status`` (given there in kB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def run_measure(peer: str, rule: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", peer, rule, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def run_jedi(rule: str, path: Path) -> dict[str, Any]:
    with pa.OSFile(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
    rules = dict(RULES[rule][0])
    boundaries = rules.pop("boundaries", None)
    request = {
        "rules": rules,
        "sizes": table["size"].to_pylist(),
        "nevents": table["nevents"].to_pylist(),
        "groups": table["run"].to_pylist() if boundaries else None,
    }
    done = subprocess.run(
        [str(JEDI_PYTHON), str(JEDI_DRIVER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(done.stdout)
    return {"seconds": answer["seconds"], "jobs": len(answer["jobs"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--jedi-max", type=int, default=100_000)
    parser.add_argument("--measure", nargs=3, metavar=("PEER", "RULE", "PATH"))
    args = parser.parse_args()
    if args.measure:
        peer, rule, path = args.measure
        print(json.dumps(measure(peer, rule, Path(path))))
        return

    sizes = [int(size) for size in args.sizes.split(",")]
    header = (
        f"{'files':>10} {'rule':<20} {'jobs':>9} {'cold s':>8} {'floor':>8} {'x floor':>8} "
        f"{'warm s':>8} {'floor':>8} {'x floor':>8} {'JEDI s':>7} {'x JEDI/file':>12} "
        f"{'mem/input':>9}"
    )
    print(header)
    jedi_per_file: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bmnflow-bench-split-") as folder:
        for n in sizes:
            path = input_file(n, Path(folder))
            for rule in RULES:
                ours = run_measure("bmnflow", rule, path)
                floor = run_measure("floor", rule, path)
                jedi_s, mark = "-", "*"
                if n <= args.jedi_max:
                    jedi = run_jedi(rule, path)
                    if jedi["jobs"] != ours["jobs"]:
                        print(f"  JEDI made {jedi['jobs']} jobs, bmnflow {ours['jobs']}")
                    jedi_s, mark = f"{jedi['seconds']:.2f}", ""
                    jedi_per_file[rule] = jedi["seconds"] / n
                speedup = "-"
                if rule in jedi_per_file:
                    # Against the splitter's cold time: JEDI's is a single call too.
                    speedup = f"{jedi_per_file[rule] / (ours['cold'] / n):,.0f}{mark}"
                print(
                    f"{n:>10} {rule:<20} {ours['jobs']:>9} {ours['cold']:>8.4f} "
                    f"{floor['cold']:>8.4f} {ours['cold'] / floor['cold']:>8.2f} "
                    f"{ours['warm']:>8.4f} {floor['warm']:>8.4f} "
                    f"{ours['warm'] / floor['warm']:>8.2f} {jedi_s:>7} {speedup:>12} "
                    f"{ours['grown'] / ours['input']:>9.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
