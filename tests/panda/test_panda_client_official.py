"""The official ``panda-client`` from PyPI against gridsim's PanDA, through its own
functions, run in the separate environment of the official clients."""

from __future__ import annotations

import json
import subprocess
import textwrap
import uuid
from pathlib import Path

from conftest import PAYLOADS

from bmnflow.testing.gridsim import GridSim

CLIENT_PYTHON = Path(__file__).parents[2] / ".venv-clients" / "bin" / "python"

#: Submits a Monte Carlo task, submits it again, waits, and reads it back, printing JSON.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    from pandaclient import Client

    url, name, payload = sys.argv[1:4]
    params = {
        "taskName": name, "userName": "someone", "vo": "bmn", "prodSourceLabel": "user",
        "taskPriority": 1000, "architecture": "x86_64-el9", "transUses": "", "transHome": "",
        "transPath": payload, "processingType": "mcgen", "taskType": "anal",
        "uniqueTaskName": True, "noInput": True, "nEvents": 20, "nEventsPerJob": 10,
        "jobParameters": [
            {"type": "constant", "value": "--out ${OUTPUT0}"},
            {"type": "template", "param_type": "number",
             "value": "--events ${MAXEVENTS} --first ${FIRSTEVENT} --seed ${RNDMSEED}"},
            {"type": "template", "param_type": "output", "dataset": "bmn.mc:" + name,
             "value": name + ".${SN/P}.txt", "hidden": True},
        ],
        "log": {"type": "template", "param_type": "log", "dataset": "bmn.mc:" + name + ".log",
                "value": name + ".log.${SN/P}.tgz"},
    }
    out = {"alive": Client.hello()}
    out["submit"] = Client.insertTaskParams(params)
    out["again"] = Client.insertTaskParams(params)
    task_id = int(out["submit"][1][1].split("jediTaskID=")[1].split()[0])
    for _ in range(300):
        status = Client.getTaskStatus(task_id)
        if status[1] in ("done", "finished", "failed", "broken"):
            break
        time.sleep(0.2)
    out["status"] = status
    out["job_ids"] = Client.getPandaIDsWithTaskID(task_id)
    code, jobs = Client.getJobStatus(out["job_ids"][1])
    out["jobs"] = [[job.PandaID, job.jobStatus, [f.lfn for f in job.Files]] for job in jobs]
    out["details"] = Client.getJediTaskDetails({"jediTaskID": task_id}, True, True)
    out["params"] = Client.getTaskParamsMap(task_id)
    out["kill_done"] = Client.killTask(task_id)
    print("RESULT " + json.dumps(out))
    """
)


def test_panda_client_submits_and_reads_a_task(grid: GridSim, tmp_path: Path) -> None:
    name = f"bmn.mc.pc.{uuid.uuid4().hex[:8]}"
    env = {
        "PANDA_URL": f"{grid.url}/server/panda",
        "PANDA_URL_SSL": f"{grid.url}/server/panda",
        "PANDACACHE_URL": f"{grid.url}/server/panda",
        "PANDA_BEHIND_REAL_LB": "1",
        "PANDA_CONFIG_ROOT": str(tmp_path),
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [str(CLIENT_PYTHON), "-c", SCRIPT, grid.url, name, str(PAYLOADS / "mcgen.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stdout + run.stderr
    out = json.loads(lines[0].removeprefix("RESULT "))

    assert out["alive"][0] == 0
    status, (code, message) = out["submit"]
    assert (status, code) == (0, 0)
    assert "jediTaskID=" in message
    task_id = int(message.split("jediTaskID=")[1].split()[0])
    # The same unique name while the task is active is refused, naming the task.
    status, (code, message) = out["again"]
    assert code in (2, 0)
    assert f"jediTaskID={task_id}" in message

    assert out["status"] == [0, "done"]
    assert len(out["job_ids"][1]) == 2
    assert sorted(job[1] for job in out["jobs"]) == ["finished", "finished"]
    lfns = {lfn for job in out["jobs"] for lfn in job[2]}
    assert f"{name}.000001.txt" in lfns
    assert f"{name}.000002.txt" in lfns
    details = out["details"][1]
    assert details["status"] == "done"
    assert sorted(details["PandaID"]) == sorted(out["job_ids"][1])
    assert out["params"][1]["taskName"] == name
    assert out["params"][1]["userName"] == "gridsim", "the server names the owner"
    assert out["kill_done"][1][0] is False, "a done task cannot be killed"

    produced = grid.storage_path("LHEP_DISK") / "bmn.mc" / f"{name}.000002.txt"
    assert produced.read_text().splitlines()[0] == "event 11 seed 2"
