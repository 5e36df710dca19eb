"""How many PanDA jobs gridsim's PanDA tracks, and how fast: jobs defined per second and held
in flight per GB of memory. Prints the figures; asserts nothing.

Ten Monte Carlo tasks of 1000 one-event jobs are submitted to a site with four slots whose
payload sleeps for ten minutes, so that four jobs run and the rest wait activated: every
job stays in flight. The rate counts from the first submission until the server lists all
jobs; the grid's resident memory is read before and after. The tasks are killed at the end,
which also measures how fast a kill ends thousands of jobs.

    python bench/gridsim_panda_capacity.py [--tasks 10] [--jobs-per-task 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from bmnflow._core import PandaClient
from bmnflow.testing.gridsim import GridSim


def rss_bytes(pid: int) -> int:
    """The resident memory of a process, from ``/proc``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def spec(name: str, jobs: int) -> dict:
    return {
        "name": name,
        "vo": "bmn",
        "processing_type": "mcgen",
        "transformation": {"kind": "script", "path": "/bin/sleep"},
        "output_dataset": f"bmn.mc:{name}",
        "log_dataset": f"bmn.mc:{name}.log",
        "job_parameters": "600 ${MAXEVENTS}",
        "split": {"total_events": jobs, "events_per_job": 1},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--jobs-per-task", type=int, default=1000)
    args = parser.parse_args()
    total = args.tasks * args.jobs_per_task

    with tempfile.TemporaryDirectory(prefix="bench-panda-capacity-") as root:
        config = {"panda": {"storage": "LHEP_DISK", "slots": 4, "scratch": f"{root}/scratch"}}
        with GridSim(root=Path(root), config=config) as grid:
            client = PandaClient(grid.url)
            idle = rss_bytes(grid.pid)
            run = uuid.uuid4().hex[:8]
            start = time.monotonic()
            task_ids = [
                client.submit_spec(spec(f"bench.capacity.{run}.{i}", args.jobs_per_task))["task_id"]
                for i in range(args.tasks)
            ]
            while sum(len(client.task_job_ids(t)) for t in task_ids) < total:
                time.sleep(0.05)
            defined = time.monotonic() - start
            loaded = rss_bytes(grid.pid)

            start = time.monotonic()
            for task_id in task_ids:
                client.kill_task(task_id)
            while any(client.task_status(t) != "aborted" for t in task_ids):
                time.sleep(0.05)
            killed = time.monotonic() - start

    per_job = (loaded - idle) / total
    print(f"{total} PanDA jobs in flight ({args.tasks} tasks), 4 running, the rest activated")
    print(f"jobs defined per second: {total / defined:,.0f} ({defined:.2f} s for all)")
    print(f"memory: {idle / 2**20:.1f} MiB idle, {loaded / 2**20:.1f} MiB loaded")
    print(f"per job: {per_job / 1024:.2f} KiB, {2**30 / per_job:,.0f} jobs per GB")
    print(f"kill of every task to aborted: {killed:.2f} s ({total / killed:,.0f} jobs/s)")


if __name__ == "__main__":
    main()
