"""What waiting costs: 2,000 deferred waits on FTS jobs of gridsim that end over a few
minutes, in one run, for three waiting processes side by side:

- ``bmnflow``: bmnflow's ``WaitTrigger`` with the in-process watcher;
- ``sidecar``: the same trigger through ``bmnflow-sidecar``;
- ``http``: ``HttpEventTrigger`` of ``apache-airflow-providers-http``, one per job, with a
  response check on ``job_state``.

Each waiting process runs its 2,000 triggers in one asyncio loop, as a triggerer does, all
polling at the same interval (10 s by default; bmnflow's interval is fixed to it). Each talks
to gridsim through a counting proxy of its own, so the requests gridsim received from each
are counted apart. Printed per process: requests, CPU seconds of the waiting process (and of
the sidecar), and the delay from a job's end (gridsim's ``job_finished``, to the second) to
its trigger's event, for jobs that ended after the process was ready.

    python bench/waiting.py [--jobs 2000] [--interval 10] [--time-scale 12]
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from calendar import timegm
from pathlib import Path
from typing import Any

TERMINAL = {"FINISHED", "FINISHEDDIRTY", "FAILED", "CANCELED"}
VARIANTS = ("bmnflow", "sidecar", "http")


async def job_ended(response: Any) -> bool:
    """The response check of ``HttpEventTrigger``: the job is in a terminal state."""
    body = response.json()
    # The provider hands over a response already read; its json() is then a plain call.
    if inspect.isawaitable(body):
        body = await body
    return body.get("job_state") in TERMINAL


# -- the waiting process ---------------------------------------------------------------------


async def wait_all(variant: str, ids: list[str], interval: float) -> dict[str, Any]:
    """Runs one trigger per job in this process's loop; returns when each has fired."""
    if variant == "http":
        from airflow.providers.http.triggers.http import HttpEventTrigger

        triggers = [
            HttpEventTrigger(
                response_check_path="waiting.job_ended",
                http_conn_id="grid_http",
                method="GET",
                endpoint=f"fts/jobs/{job_id}",
                poll_interval=interval,
            )
            for job_id in ids
        ]
    else:
        from bmnflow.triggers.wait import WaitTrigger

        triggers = [WaitTrigger(kind="fts_job", conn_id="grid_fts", ids=[i]) for i in ids]

    fired: dict[str, float] = {}

    async def run(job_id: str, trigger: Any) -> None:
        async for _event in trigger.run():
            fired[job_id] = time.time()
            return

    tasks = [asyncio.create_task(run(i, t)) for i, t in zip(ids, triggers, strict=True)]
    ready = time.time()
    await asyncio.gather(*tasks)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"fired": fired, "ready": ready, "cpu": usage.ru_utime + usage.ru_stime}


def waiter_main(variant: str, ids_file: str, out_file: str, interval: float) -> None:
    ids = json.loads(Path(ids_file).read_text())
    # Imports are start-up, not waiting: load both kinds of trigger before the baseline.
    import airflow.providers.http.triggers.http  # noqa: F401

    import bmnflow.triggers.wait  # noqa: F401

    usage = resource.getrusage(resource.RUSAGE_SELF)
    baseline = usage.ru_utime + usage.ru_stime
    result = asyncio.run(wait_all(variant, ids, interval))
    result["cpu"] -= baseline
    Path(out_file).write_text(json.dumps(result))


# -- the driver ------------------------------------------------------------------------------


class CountingProxy:
    """Forwards every request to gridsim and counts them."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.requests = 0
        self.port = 0

    async def start(self) -> None:
        import aiohttp
        from aiohttp import web

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256), auto_decompress=False
        )

        async def forward(request: web.Request) -> web.StreamResponse:
            self.requests += 1
            async with self.session.request(
                request.method,
                f"{self.target}{request.rel_url}",
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                data=await request.read(),
            ) as answer:
                body = await answer.read()
                headers = {
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() not in ("transfer-encoding", "content-length", "connection")
                }
                return web.Response(status=answer.status, body=body, headers=headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        await self.session.close()


def submit(grid: Any, count: int) -> list[str]:
    import requests

    session = requests.Session()
    ids = []
    for _ in range(count):
        name = f"bench/{uuid.uuid4().hex}"
        source = grid.storage_path("LHEP_DISK") / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(b"x" * 4096)
        files = [
            {
                "sources": [grid.pfn("LHEP_DISK", name)],
                "destinations": [grid.pfn("DLNP_DISK", name)],
            }
        ]
        answer = session.post(f"{grid.fts_url}/jobs", json={"files": files, "params": {}})
        answer.raise_for_status()
        ids.append(answer.json()["job_id"])
    return ids


def finished_at(grid: Any, ids: list[str]) -> dict[str, float]:
    import requests

    ended = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start : start + 100]
        jobs = requests.get(f"{grid.fts_url}/jobs/{','.join(chunk)}", timeout=60).json()
        for job in jobs if isinstance(jobs, list) else [jobs]:
            stamp = time.strptime(job["job_finished"], "%Y-%m-%dT%H:%M:%S")
            ended[job["job_id"]] = float(timegm(stamp))
    return ended


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(args: argparse.Namespace) -> None:
    from bmnflow.testing.gridsim import GridSim
    from bmnflow.testing.sidecar import Sidecar

    work = Path(tempfile.mkdtemp(prefix="bench-waiting-"))
    config = {"fts": {"time_scale": args.time_scale, "link_concurrency": 4}}
    with GridSim(root=work / "grid", config=config) as grid:
        proxies = {variant: CountingProxy(grid.url) for variant in VARIANTS}
        for proxy in proxies.values():
            await proxy.start()

        def fts_connection(variant: str) -> str:
            host = f"{proxies[variant].url}/fts"
            return json.dumps({"conn_type": "fts", "host": host, "extra": {"auth_type": "none"}})

        sidecar = Sidecar(
            root=work / "sidecar",
            connections={"grid_fts": fts_connection("sidecar")},
            min_interval=args.interval,
            max_interval=args.interval,
        ).start()

        started = time.monotonic()
        ids = submit(grid, args.jobs)
        print(f"{len(ids)} FTS jobs submitted in {time.monotonic() - started:.1f} s")
        ids_file = work / "ids.json"
        ids_file.write_text(json.dumps(ids))

        waiters = {}
        for variant in VARIANTS:
            env = {
                **os.environ,
                "PYTHONPATH": str(Path(__file__).parent),
                "AIRFLOW_CONN_GRID_FTS": fts_connection(variant),
                "AIRFLOW_CONN_GRID_HTTP": proxies[variant].url,
                "BMNFLOW_WATCH_MIN_INTERVAL": str(args.interval),
                "BMNFLOW_WATCH_MAX_INTERVAL": str(args.interval),
            }
            if variant == "sidecar":
                env["BMNFLOW_SIDECAR_URL"] = sidecar.url
            command = [
                sys.executable,
                __file__,
                "--waiter",
                variant,
                "--ids-file",
                str(ids_file),
                "--out",
                str(work / f"{variant}.json"),
                "--interval",
                str(args.interval),
            ]
            log = (work / f"{variant}.log").open("wb")
            waiters[variant] = await asyncio.create_subprocess_exec(
                *command, env=env, stdout=log, stderr=log
            )
        for variant, process in waiters.items():
            code = await process.wait()
            if code != 0:
                raise RuntimeError(f"{variant} waiter failed; see {work / f'{variant}.log'}")
        sidecar_cpu = process_cpu(sidecar.pid)
        sidecar.stop()
        elapsed = time.monotonic() - started

        ended = finished_at(grid, ids)
        span = max(ended.values()) - min(ended.values())
        print(
            f"jobs ended over {span:.0f} s; whole run {elapsed:.0f} s; poll interval "
            f"{args.interval:g} s\n"
        )
        print(
            f"{'waiter':<10}{'requests':>10}{'CPU s':>9}{'p50 delay':>11}{'p95 delay':>11}"
            f"{'max delay':>11}{'jobs timed':>12}"
        )
        figures = {}
        for variant in VARIANTS:
            result = json.loads((work / f"{variant}.json").read_text())
            delays = [result["fired"][i] - ended[i] for i in ids if ended[i] >= result["ready"]]
            delays.sort()
            p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
            figures[variant] = (proxies[variant].requests, result["cpu"])
            print(
                f"{variant:<10}{proxies[variant].requests:>10}{result['cpu']:>9.1f}"
                f"{statistics.median(delays) if delays else float('nan'):>11.1f}"
                f"{p95:>11.1f}{max(delays) if delays else float('nan'):>11.1f}"
                f"{len(delays):>12}"
            )
        print(f"\nsidecar process CPU: {sidecar_cpu:.1f} s")
        for variant in ("bmnflow", "sidecar"):
            requests_ratio = figures["http"][0] / max(figures[variant][0], 1)
            cpu_ratio = figures["http"][1] / max(figures[variant][1], 1e-3)
            print(
                f"http / {variant}: {requests_ratio:.0f}x the requests, "
                f"{cpu_ratio:.1f}x the CPU of the waiting process"
            )
        print(
            "(delays: gridsim stamps job ends to the second; jobs that ended before a "
            "waiter was ready are left out of its delays)"
        )
        for proxy in proxies.values():
            await proxy.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=12.0,
        help="gridsim's slowdown: 12 makes 2,000 small jobs end over ~5 min",
    )
    parser.add_argument("--waiter", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.waiter:
        waiter_main(args.waiter, args.ids_file, args.out, args.interval)
    else:
        asyncio.run(drive(args))


if __name__ == "__main__":
    main()
