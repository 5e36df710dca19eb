"""`make demo`: one BM@N run from the DAQ to DST on the embedded grid, driven by Airflow.

Starts gridsim (FTS, PanDA, storage), the real Rucio server with its daemons running
continuously, the sidecar when it is built, and Airflow (api-server, dag-processor,
scheduler, triggerer); applies the data policies; then writes one run's RAW files to the
online storage as the DAQ does, and only watches: the chain starts by itself. Progress is
printed as Airflow tasks change state, a summary at the end. Everything is stopped at the
end unless ``--keep`` (or ``KEEP=1``); ``python scripts/demo.py stop`` stops a kept one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from bmnflow.testing.embedded_grid import REPO_DAGS, EmbeddedGrid
from bmnflow.testing.rucio_server import free_port

REPO = Path(__file__).resolve().parents[1]
CHAIN = ("bmn_raw_ingest", "bmn_run_processing")
PIDS = "demo-pids.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run", choices=("run", "stop"))
    parser.add_argument("--dir", type=Path, default=REPO / ".demo", help="working folder")
    parser.add_argument("--run", type=int, default=8123, help="run number")
    parser.add_argument("--parts", type=int, default=4, help="RAW files of the run")
    parser.add_argument("--events-per-part", type=int, default=250)
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the chain")
    parser.add_argument("--keep", action="store_true", default=os.environ.get("KEEP") == "1")
    args = parser.parse_args(argv)

    if args.action == "stop":
        return stop_kept(args.dir)
    stop_kept(args.dir)
    shutil.rmtree(args.dir, ignore_errors=True)
    demo = Demo(args)
    try:
        return demo.run()
    finally:
        if args.keep:
            demo.keep()
        else:
            demo.stop()


class Demo:
    """One demo: the grid, the run it closes, and what it prints."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.grid = EmbeddedGrid(root=args.dir.resolve(), dags_folder=REPO_DAGS)
        self.sidecar: subprocess.Popen[bytes] | None = None
        self.sidecar_url: str | None = None
        self.t0 = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] {message}", flush=True)

    def run(self) -> int:
        self.say(f"starting gridsim, Rucio and its daemons, Airflow in {self.args.dir}")
        self.grid.start(airflow=False)
        self.start_sidecar()
        self.start_airflow()
        self.apply_policies()
        self.wait_for_dags()

        marker = self.grid.close_run(
            self.args.run, parts=self.args.parts, events_per_part=self.args.events_per_part
        )
        closed_at = time.monotonic()
        self.say(f"DAQ closed run {self.args.run}: {len(marker['files'])} RAW files on LHEP_ONLINE")

        ok = self.follow(self.args.timeout)
        chain = time.monotonic() - closed_at
        self.summary(marker, chain)
        return 0 if ok else 1

    # -- starting --------------------------------------------------------------------------

    def start_sidecar(self) -> None:
        binary = REPO / "target" / "release" / "bmnflow-sidecar"
        if not binary.exists():
            self.say("no bmnflow-sidecar build: triggers wait in-process")
            return
        port = free_port()
        env = {**os.environ, **_conn_env(self.grid.connections())}
        log = (self.grid.root / "sidecar.log").open("ab")
        self.sidecar = subprocess.Popen(
            [str(binary), "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.sidecar_url = f"http://127.0.0.1:{port}"
        self.say(f"sidecar on {self.sidecar_url}")

    def start_airflow(self) -> None:
        env = {"BMNFLOW_SIDECAR_URL": self.sidecar_url} if self.sidecar_url else {}
        airflow = self.grid.start_airflow(extra_env=env)
        self.say(f"Airflow up: {airflow.url}")

    def apply_policies(self) -> None:
        from bmnflow.hooks.rucio import RucioHook
        from bmnflow.policy import apply_policies, load_policies

        os.environ.update(_conn_env(self.grid.connections()))
        applied = apply_policies(
            RucioHook("rucio_default"), load_policies(REPO_DAGS / "policies.toml")
        )
        self.say("policies applied as subscriptions: " + ", ".join(a.subscription for a in applied))

    def wait_for_dags(self, timeout: float = 300) -> None:
        airflow = self.grid.airflow
        assert airflow is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            parsed = {row[0] for row in airflow.query("SELECT dag_id FROM dag", ())}
            if set(CHAIN) <= parsed:
                self.say("DAGs parsed: " + ", ".join(sorted(parsed)))
                return
            time.sleep(1)
        raise TimeoutError(f"Airflow did not parse {CHAIN} within {timeout} s")

    # -- following -------------------------------------------------------------------------

    def follow(self, timeout: float) -> bool:
        """Prints each task's state changes until bmn_run_processing has finished."""
        airflow = self.grid.airflow
        assert airflow is not None
        seen: dict[tuple[str, str, str], str | None] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for dag_id in CHAIN:
                for run in airflow.dag_runs(dag_id):
                    for task, state in sorted(airflow.task_states(dag_id, run["run_id"]).items()):
                        key = (dag_id, run["run_id"], task)
                        if seen.get(key, "unseen") != state and state is not None:
                            self.say(f"{dag_id:<20} {task:<28} {state}")
                        seen[key] = state
            runs = airflow.dag_runs("bmn_run_processing")
            finished = [r for r in runs if r["state"] in ("success", "failed")]
            failed = [r for dag in CHAIN for r in airflow.dag_runs(dag) if r["state"] == "failed"]
            if failed:
                self.say(f"a DAG run failed: {failed[0]['run_id']}; see {airflow.log_dir}")
                return False
            if finished:
                return True
            time.sleep(2)
        self.say(f"the chain did not finish within {timeout:.0f} s")
        return False

    # -- summary ---------------------------------------------------------------------------

    def summary(self, marker: dict, chain_seconds: float) -> None:
        airflow, rucio, gridsim = self.grid.airflow, self.grid.rucio, self.grid.gridsim
        assert airflow is not None
        assert rucio is not None
        assert gridsim is not None
        run = self.args.run
        print("\n==== summary " + "=" * 66)
        files = marker["files"]
        print(
            f"run {run}: {len(files)} RAW files, {sum(f['bytes'] for f in files)} bytes, "
            f"{sum(f['events'] for f in files)} events"
        )
        raw_events = sum(f["events"] for f in files)
        dst_events = self.dst_events()
        if dst_events is not None:
            verdict = "every RAW event" if dst_events == raw_events else "NOT all RAW events"
            print(f"DST: {dst_events} events ({verdict})")

        for task_id in ("raw_to_digi", "digi_to_dst"):
            for outcome in _xcom(airflow, "bmn_run_processing", task_id):
                print(
                    f"PanDA task {outcome['task_id']} ({task_id}): {outcome['status']}, "
                    f"jobs {outcome['jobs_by_state']}"
                )
        transfers = _fts_files(gridsim.fts_url)
        print(
            f"FTS: {len(transfers)} transfers, states {_count(t['file_state'] for t in transfers)}"
        )

        for stage in ("raw", "digi", "dst"):
            try:
                rules = rucio.call("GET", f"/dids/bmn.run8/{stage}.run{run}/rules")
            except urllib.error.HTTPError:
                rules = []
            described = ", ".join(
                f"{r['rse_expression']} {r['state']} ({r['locks_ok_cnt']} locks)" for r in rules
            )
            print(f"rules of {stage}.run{run}: {described or 'none'}")

        print("durations:")
        for dag_id in CHAIN:
            for dag_run in airflow.dag_runs(dag_id):
                print(f"  {dag_id}: {_seconds(dag_run):.1f} s")
                for ti in sorted(airflow.task_instances(dag_id, dag_run["run_id"]),
                                 key=lambda t: t["start_date"] or ""):  # fmt: skip
                    if ti["task_id"].startswith(
                        ("wait", "raw_to", "digi_to", "register", "dst_rule")
                    ):
                        print(f"    {ti['task_id']:<26} {_seconds(ti):6.1f} s  {ti['state']}")
        print(f"chain, from the run's closing to the last rule OK: {chain_seconds:.1f} s")

        print("where to look:")
        print(f"  Airflow UI      {airflow.url}  (logs in {airflow.log_dir})")
        if self.sidecar_url:
            print(f"  sidecar status  {self.sidecar_url}/status")
        print(f"  manifest        {self.grid.manifests / f'run{run}.lineage.parquet'}")
        print(f"  Rucio server    {rucio.url}  (daemon logs in {rucio.log_dir})")
        print(f"  storage         {gridsim.root / 'storage'}")

    def dst_events(self) -> int | None:
        sys.path.insert(0, str(REPO_DAGS / "payloads"))
        import bmnio

        assert self.grid.rucio is not None
        assert self.grid.gridsim is not None
        try:
            entries = self.grid.rucio.call("GET", f"/replicas/bmn.run8/dst.run{self.args.run}")
        except Exception:
            return None
        total = 0
        for entry in entries:
            pfn = next(iter(entry["rses"].values()))[0]
            total += len(bmnio.event_ids_of(self.grid.gridsim.path_of(pfn)))
        return total

    # -- stopping --------------------------------------------------------------------------

    def stop(self) -> None:
        if self.sidecar is not None:
            os.killpg(self.sidecar.pid, signal.SIGTERM)
            self.sidecar.wait()
        self.grid.stop()
        self.say("stopped every process")

    def keep(self) -> None:
        groups = self.grid.process_groups()
        if self.sidecar is not None:
            groups.append(self.sidecar.pid)
        (self.args.dir / PIDS).write_text(json.dumps(groups))
        self.say(
            f"kept running ({len(groups)} process groups); "
            f"stop with: python scripts/demo.py stop --dir {self.args.dir}"
        )


def stop_kept(folder: Path) -> int:
    pid_file = folder / PIDS
    if not pid_file.exists():
        return 0
    for group in json.loads(pid_file.read_text()):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    pid_file.unlink()
    return 0


def _conn_env(connections: dict[str, dict]) -> dict[str, str]:
    return {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in connections.items()}


def _xcom(airflow: Any, dag_id: str, task_id: str) -> list[dict]:
    rows = airflow.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND key = 'return_value'",
        (dag_id, task_id),
    )
    values = []
    for (value,) in rows:
        decoded = json.loads(value) if isinstance(value, (str, bytes)) else value
        if isinstance(decoded, dict):
            values.append(decoded)
    return values


def _fts_files(fts_url: str) -> list[dict]:
    states = "SUBMITTED,READY,ACTIVE,STAGING,FINISHED,FAILED,FINISHEDDIRTY,CANCELED"
    jobs = _get(f"{fts_url}/jobs?state_in={states}&limit=500")
    return [f for job in jobs for f in _get(f"{fts_url}/jobs/{job['job_id']}/files")]


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _seconds(row: dict) -> float:
    if not row.get("start_date") or not row.get("end_date"):
        return 0.0
    start = datetime.fromisoformat(str(row["start_date"]))
    end = datetime.fromisoformat(str(row["end_date"]))
    return (end - start).total_seconds()


if __name__ == "__main__":
    sys.exit(main())
