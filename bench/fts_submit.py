"""Plans and submits 100k FTS transfers against gridsim with bmnflow and with the official
``fts3`` Python client ("easy" API), in one run; prints wall time and client CPU of each.

Both clients get the same transfers (four links, checksums, sizes, a little metadata) cut the
same way (200 files per FTS job) and submit them to the same gridsim, whose transfers are
slowed down so that the server spends its time on submissions. Each starts from its own
natural input, prepared before the clock starts: an Arrow table for bmnflow (as Rucio listings
and the splitter hand it over), a list of dicts for the fts3 client. A third line shows
bmnflow starting from the same list of dicts, the conversion to Arrow included. Client CPU is
the CPU time of the submitting process around the work alone (imports, interpreter start and
the garbage left by preparing the input excluded); the fts3 client runs in its own environment
(``.venv-clients``) as a subprocess.

    python bench/fts_submit.py [--files 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from pathlib import Path

from bmnflow._core import fts
from bmnflow.hooks.fts import transfer_batches
from bmnflow.testing.gridsim import GridSim

ROOT = Path(__file__).resolve().parents[1]
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
LINKS = [
    ("LHEP_ONLINE", "DLNP_DISK"),
    ("LHEP_ONLINE", "DLNP_TAPE"),
    ("LHEP_DISK", "DLNP_DISK"),
    ("LHEP_DISK", "DLNP_TAPE"),
]
FILES_PER_JOB = 200

# Runs inside .venv-clients: groups the same rows by link, 200 files per job, and submits each
# job with the client's own job builder and submission call.
OFFICIAL = textwrap.dedent(
    """
    import gc, json, sys, time
    import fts3.rest.client.easy as fts3

    endpoint, rows_path = sys.argv[1:3]
    rows = json.load(open(rows_path))
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    context = fts3.Context(endpoint, fts_access_token="bench", verify=False)
    groups = {}
    for row in rows:
        groups.setdefault((row["source_storage"], row["destination_storage"]), []).append(row)
    job_ids = []
    for link_rows in groups.values():
        for start in range(0, len(link_rows), 200):
            transfers = [
                fts3.new_transfer(r["sources"][0], r["destination"], checksum=r["checksum"],
                                  filesize=r["filesize"], metadata=r["metadata"])
                for r in link_rows[start:start + 200]
            ]
            job = fts3.new_job(transfers, verify_checksum="both", overwrite=False, priority=3)
            job_ids.append(fts3.submit(context, job))
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                      "jobs": len(job_ids)}))
    """
)


def make_rows(grid: GridSim, count: int, prefix: str) -> list[dict]:
    """``count`` transfers over the four links; the source files need not exist."""
    rows = []
    for i in range(count):
        source, destination = LINKS[i % len(LINKS)]
        name = f"bmn.run8/raw/{prefix}/mpd_run_Top_8{i // 1000:03d}_ev0_p{i % 1000}.data"
        rows.append(
            {
                "sources": [grid.pfn(source, name)],
                "destination": grid.pfn(destination, name),
                "filesize": 1_000_000_000 + i,
                "checksum": f"ADLER32:{zlib.adler32(name.encode()):08x}",
                "metadata": {"scope": "bmn.run8", "name": name.rsplit("/", 1)[1]},
                "source_storage": source,
                "destination_storage": destination,
            }
        )
    return rows


def run_bmnflow(grid: GridSim, rows: list[dict], *, from_rows: bool) -> dict:
    client = fts.FtsClient(grid.fts_url, token="bench", verify_tls=False)
    options = {
        "max_files_per_job": FILES_PER_JOB,
        "max_active_jobs_per_link": 1_000_000,
        "params": {"verify_checksum": "both", "overwrite": False, "priority": 3},
    }
    table = None if from_rows else transfer_batches(rows)
    key = f"bench/fts_submit/{from_rows}"
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    batches = transfer_batches(rows) if table is None else table
    report, _ = client.transfer_step(batches, key, json.dumps(options))
    result = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
    progress = json.loads(report)["progress"]
    return {**result, "jobs": progress["submitted"] + progress["adopted"]}


def run_official(grid: GridSim, rows: list[dict], workdir: Path) -> dict:
    rows_path = workdir / "rows.json"
    rows_path.write_text(json.dumps(rows))
    result = subprocess.run(
        [str(CLIENTS_PYTHON), "-c", OFFICIAL, grid.fts_url, str(rows_path)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    if not CLIENTS_PYTHON.exists():
        sys.exit("needs the official clients: run `make clients-env`")

    with tempfile.TemporaryDirectory() as tmp:
        # Transfers crawl (a second of work lasts a day), so the server only takes submissions.
        config = {"fts": {"time_scale": 86_400.0, "link_concurrency": 1}}
        with GridSim(root=Path(tmp) / "grid", config=config) as grid:
            ours = run_bmnflow(grid, make_rows(grid, args.files, "arrow"), from_rows=False)
            ours_rows = run_bmnflow(grid, make_rows(grid, args.files, "rows"), from_rows=True)
            theirs = run_official(grid, make_rows(grid, args.files, "official"), Path(tmp))

    print(f"FTS plan + submit of {args.files} transfers in jobs of {FILES_PER_JOB}, gridsim:")
    lines = (
        ("bmnflow (Arrow table)", ours),
        ("bmnflow (list of dicts)", ours_rows),
        ("fts3 easy API (dicts)", theirs),
    )
    for name, figures in lines:
        print(
            f"  {name:24s} {figures['jobs']:5d} FTS jobs  wall {figures['wall']:7.2f} s  "
            f"client CPU {figures['cpu']:7.2f} s"
        )
    for name, figures in (("Arrow table", ours), ("list of dicts", ours_rows)):
        print(
            f"  ratios fts3 / bmnflow ({name}): wall {theirs['wall'] / figures['wall']:.1f}x, "
            f"client CPU {theirs['cpu'] / max(figures['cpu'], 1e-9):.1f}x"
        )


if __name__ == "__main__":
    main()
