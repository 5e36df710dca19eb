"""How much gridsim's FTS tracks, and how fast: jobs and files held in flight per GB of
memory, submissions and Rucio-style status queries per second, and transfers completed per
second. Prints the figures; asserts nothing.

Capacity: 10k FTS jobs of 10 files (100k files) are submitted to a grid whose transfers take
an hour, so that all of them stay in flight; the grid's resident memory is read before and
after. Throughput: a second grid with no simulated delay copies small files between the
storage folders as fast as it can.

    python bench/gridsim_capacity.py [--jobs 10000] [--files-per-job 10] [--transfers 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bmnflow.testing.gridsim import GridSim

LINKS = [
    ("LHEP_ONLINE", "LHEP_DISK"),
    ("LHEP_DISK", "DLNP_DISK"),
    ("LHEP_DISK", "DLNP_TAPE"),
    ("DLNP_DISK", "DLNP_TAPE"),
]
#: What Rucio's conveyor-poller asks for on every poll of up to 100 jobs.
RUCIO_FIELDS = (
    "file_state,dest_surl,finish_time,start_time,staging_start,staging_finished,reason,"
    "source_surl,file_metadata"
)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def job_body(grid: GridSim, job: int, files: int) -> dict:
    """A job as Rucio's conveyor builds it: sizes, checksums, ~300 bytes of metadata a file."""
    source_rse, destination_rse = LINKS[job % len(LINKS)]
    entries = []
    for i in range(files):
        name = f"run8_{job:06d}_{i:03d}.raw"
        metadata = {
            "request_id": uuid.uuid4().hex,
            "scope": "bmn.run8",
            "name": name,
            "activity": "Data rebalancing",
            "src_rse": source_rse,
            "dst_rse": destination_rse,
            "filesize": 2_000_000_000,
            "adler32": "0cc737eb",
            "src_type": "DISK",
            "dst_type": "DISK",
        }
        entries.append(
            {
                "sources": [grid.pfn(source_rse, f"bmn.run8/ab/cd/{name}")],
                "destinations": [grid.pfn(destination_rse, f"bmn.run8/ab/cd/{name}")],
                "filesize": 2_000_000_000,
                "checksum": "ADLER32:0cc737eb",
                "metadata": metadata,
                "activity": "Data rebalancing",
            }
        )
    params = {
        "verify_checksum": "both",
        "overwrite": False,
        "priority": 3,
        "job_metadata": {"issuer": "rucio", "multi_sources": False},
    }
    return {"files": entries, "params": params}


def submit_all(grid: GridSim, bodies: list[dict], threads: int = 8) -> list[str]:
    """Submits the jobs from a few threads, one HTTP session each; returns the job ids."""
    local = threading.local()

    def submit(body: dict) -> str:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.post(f"{grid.fts_url}/jobs", json=body, timeout=60)
        answer.raise_for_status()
        return answer.json()["job_id"]

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(submit, bodies))


def capacity(root: Path, jobs: int, files_per_job: int) -> None:
    config = {"fts": {"link_concurrency": 1, "transfer_overhead_ms": 3_600_000}}
    with GridSim(root=root, config=config) as grid:
        assert grid.pid is not None
        idle = rss_bytes(grid.pid)
        bodies = [job_body(grid, j, files_per_job) for j in range(jobs)]
        start = time.perf_counter()
        job_ids = submit_all(grid, bodies)
        submit_seconds = time.perf_counter() - start
        loaded = rss_bytes(grid.pid)

        session = requests.Session()
        start = time.perf_counter()
        in_flight_files = 0
        for chunk in range(0, len(job_ids), 100):
            ids = ",".join(job_ids[chunk : chunk + 100])
            answer = session.get(f"{grid.fts_url}/jobs/{ids}", params={"files": RUCIO_FIELDS})
            for job in answer.json():
                in_flight_files += sum(
                    f["file_state"] in ("SUBMITTED", "ACTIVE") for f in job["files"]
                )
        poll_seconds = time.perf_counter() - start
        active_jobs = len(session.get(f"{grid.fts_url}/jobs", timeout=120).json())

    files = jobs * files_per_job
    per_file = (loaded - idle) / files
    print(f"capacity: {jobs} FTS jobs, {files} files submitted")
    print(f"  in flight after submission: {active_jobs} jobs, {in_flight_files} files")
    print(
        f"  submit: {submit_seconds:.1f} s = {jobs / submit_seconds:.0f} jobs/s, "
        f"{files / submit_seconds:.0f} files/s (8 client threads)"
    )
    print(
        f"  poll (100 jobs a request, Rucio's ?files=): {poll_seconds:.1f} s = "
        f"{jobs / poll_seconds:.0f} jobs/s, {files / poll_seconds:.0f} files/s"
    )
    print(
        f"  memory: {idle / 2**20:.0f} MiB idle, {loaded / 2**20:.0f} MiB loaded, "
        f"{per_file:.0f} B a file (with its job's share)"
    )
    print(
        f"  per GB of memory: {1e9 / per_file:,.0f} files, "
        f"{1e9 / (per_file * files_per_job):,.0f} jobs of {files_per_job} files"
    )


def throughput(root: Path, transfers: int) -> None:
    config = {"fts": {"time_scale": 0.0, "link_concurrency": 32}}
    with GridSim(root=root, config=config) as grid:
        sources = []
        for i in range(100):
            path = grid.storage_path("LHEP_DISK") / f"src/f{i}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(bytes([i]) * 4096)
            sources.append(grid.pfn("LHEP_DISK", f"src/f{i}"))
        bodies = []
        for job in range(transfers // 10):
            files = [
                {
                    "sources": [sources[(job * 10 + i) % len(sources)]],
                    "destinations": [grid.pfn("DLNP_DISK", f"dst/{job}/f{i}")],
                }
                for i in range(10)
            ]
            bodies.append({"files": files})
        start = time.perf_counter()
        submit_all(grid, bodies)
        session = requests.Session()
        while session.get(f"{grid.fts_url}/jobs").json():
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        done = session.get(
            f"{grid.fts_url}/jobs", params={"state_in": "FINISHED", "time_window": "1"}
        ).json()
    print(f"throughput: {transfers} transfers of 4 KiB (real copies with ADLER32 and fsync)")
    print(
        f"  all {len(done)} jobs FINISHED in {seconds:.1f} s = "
        f"{transfers / seconds:.0f} files/s, {len(done) / seconds:.0f} jobs/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--files-per-job", type=int, default=10)
    parser.add_argument("--transfers", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gridsim-bench-") as folder:
        capacity(Path(folder) / "capacity", args.jobs, args.files_per_job)
        throughput(Path(folder) / "throughput", args.transfers)


if __name__ == "__main__":
    main()
