"""Submits 1k PanDA tasks and polls them to their end, with bmnflow and with the official
``panda-client``, against the same gridsim in one run; prints wall time and client CPU.

Each task is a one-job Monte Carlo task whose payload is ``/bin/true``, so that the server
spends little time per task and the clients' own cost shows. Both legs submit one task at a
time (the server takes one task per call) and then poll until every task is final: bmnflow
with one bulk ``task/get_tasks_modified_since`` call per round, panda-client with its
``getTaskStatus`` per task and round, as its users do. Client CPU is the CPU time of the
client process around the work alone (interpreter start and imports excluded); panda-client
runs in its own environment (``.venv-clients``).

    python bench/panda_tasks.py [--tasks 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

from bmnflow._core import PandaClient
from bmnflow.testing.gridsim import GridSim

ROOT = Path(__file__).resolve().parents[1]
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
FINAL = {"done", "finished", "failed", "aborted", "broken", "exhausted"}


def task_parameters(name: str) -> dict[str, Any]:
    """A one-job Monte Carlo task running ``/bin/true``."""
    return {
        "taskName": name,
        "userName": "bench",
        "vo": "bmn",
        "prodSourceLabel": "user",
        "taskPriority": 1000,
        "architecture": "x86_64-el9",
        "transUses": "",
        "transHome": "",
        "transPath": "/bin/true",
        "processingType": "mcgen",
        "taskType": "anal",
        "uniqueTaskName": True,
        "noInput": True,
        "nEvents": 1,
        "nEventsPerJob": 1,
        "jobParameters": [{"type": "constant", "value": "--events ${MAXEVENTS}"}],
        "log": {
            "type": "template",
            "param_type": "log",
            "dataset": "bmn.mc:bench.log",
            "value": f"{name}.log.${{SN/P}}.tgz",
        },
    }


# Runs inside .venv-clients: the same tasks through panda-client's own functions.
PANDA_CLIENT_LEG = textwrap.dedent(
    """
    import json, os, sys, time
    from pandaclient import Client

    names = json.loads(sys.argv[1])
    template = json.loads(sys.argv[2])
    final = set(json.loads(sys.argv[3]))
    start_wall, start_cpu = time.monotonic(), time.process_time()
    task_ids = []
    for name in names:
        params = dict(template, taskName=name)
        params["log"] = dict(template["log"], value=name + ".log.${SN/P}.tgz")
        status, (code, message) = Client.insertTaskParams(params)
        assert status == 0 and code == 0, message
        task_ids.append(int(message.split("jediTaskID=")[1].split()[0]))
    polls, pending = 0, set(task_ids)
    while pending:
        for task_id in list(pending):
            polls += 1
            status, task_status = Client.getTaskStatus(task_id)
            if task_status in final:
                pending.discard(task_id)
        if pending:
            time.sleep(0.5)
    print("RESULT " + json.dumps({"wall": time.monotonic() - start_wall,
                                  "cpu": time.process_time() - start_cpu, "polls": polls}))
    """
)


def bmnflow_leg(url: str, names: list[str]) -> dict[str, float]:
    """Submits and polls with bmnflow's client in this process."""
    client = PandaClient(url)
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 60))
    start_wall, start_cpu = time.monotonic(), time.process_time()
    task_ids = set()
    for name in names:
        submission = client.submit_task(task_parameters(name))
        task_ids.add(submission["task_id"])
    polls = 0
    while True:
        polls += 1
        tasks = client.tasks_modified_since(since)
        done = {t["jediTaskID"] for t in tasks if t["status"] in FINAL} & task_ids
        if done == task_ids:
            break
        time.sleep(0.5)
    return {
        "wall": time.monotonic() - start_wall,
        "cpu": time.process_time() - start_cpu,
        "polls": polls,
    }


def panda_client_leg(url: str, names: list[str]) -> dict[str, float]:
    """Submits and polls with panda-client in its own environment."""
    env = {
        "PANDA_URL": f"{url}/server/panda",
        "PANDA_URL_SSL": f"{url}/server/panda",
        "PANDACACHE_URL": f"{url}/server/panda",
        "PANDA_BEHIND_REAL_LB": "1",
        "PATH": "/usr/bin:/bin",
        "HOME": tempfile.mkdtemp(prefix="panda-client-home-"),
    }
    template = task_parameters("template")
    run = subprocess.run(
        [
            str(CLIENTS_PYTHON),
            "-c",
            PANDA_CLIENT_LEG,
            json.dumps(names),
            json.dumps(template),
            json.dumps(sorted(FINAL)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-panda-") as root:
        config = {
            "panda": {
                "storage": "LHEP_DISK",
                "slots": args.slots,
                "scratch": str(Path(root) / "scratch"),
            }
        }
        with GridSim(root=Path(root), config=config) as grid:
            run = uuid.uuid4().hex[:8]
            results = {}
            for leg, function in (("bmnflow", bmnflow_leg), ("panda-client", panda_client_leg)):
                names = [f"bench.{leg}.{run}.{i:05d}" for i in range(args.tasks)]
                results[leg] = function(grid.url, names)

    ours, theirs = results["bmnflow"], results["panda-client"]
    print(f"{args.tasks} tasks submitted and polled to their end, gridsim with {args.slots} slots")
    print(f"{'client':<14}{'wall s':>10}{'client CPU s':>15}{'status calls':>15}")
    for leg, result in results.items():
        print(f"{leg:<14}{result['wall']:>10.2f}{result['cpu']:>15.2f}{result['polls']:>15}")
    print(f"wall ratio (panda-client / bmnflow): {theirs['wall'] / ours['wall']:.2f}")
    print(f"client CPU ratio (panda-client / bmnflow): {theirs['cpu'] / ours['cpu']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
