"""Benchmark: register and list 100k files with bmnflow and with the official rucio-clients.

Both run against the same real Rucio server (started here by the test harness), each in its own
process and with a fresh scope, doing the same work: create a dataset, register the files'
replicas on LHEP_ONLINE and attach them (in requests of 990 files), then list the dataset's
replicas. Each client process reports its own wall time and CPU time (all its threads), so
the server's work is not counted as client CPU. Not part of ``make test``.

    .venv/bin/python bench/rucio_register_list.py [--files 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bmnflow.testing.rucio_server import RucioServer

ROOT = Path(__file__).resolve().parent.parent
CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
CHUNK = 990

# Each client script reads: server URL, password, scope, the files (Parquet, or the JSON
# next to it); prints one JSON line. Reading the files is not timed.
BMNFLOW = textwrap.dedent(
    """
    import json, sys, time
    import pyarrow.parquet as pq
    from bmnflow._core import RucioClient

    url, password, scope, path = sys.argv[1:5]
    files = pq.read_table(path)
    started, cpu = time.perf_counter(), time.process_time()
    client = RucioClient(url, "root", username="root", password=password, chunk_size=990)
    client.create_dataset(f"{scope}:bench")
    registered = client.register_files(f"{scope}:bench", "LHEP_ONLINE", files)
    register = (time.perf_counter() - started, time.process_time() - cpu)

    started, cpu = time.perf_counter(), time.process_time()
    listed = client.list_replicas([f"{scope}:bench"]).num_rows
    listing = (time.perf_counter() - started, time.process_time() - cpu)
    print(json.dumps({"registered": registered, "listed": listed,
                      "register": register, "list": listing}))
    """
)

RUCIO_CLIENTS = textwrap.dedent(
    """
    import json, sys, time
    from rucio.client import Client

    url, password, scope, path = sys.argv[1:5]
    with open(path.replace(".parquet", ".json")) as file:
        rows = json.load(file)
    started, cpu = time.perf_counter(), time.process_time()
    client = Client(rucio_host=url, auth_host=url, account="root", auth_type="userpass",
                    creds={"username": "root", "password": password})
    client.add_dataset(scope, "bench")
    for start in range(0, len(rows), 990):
        chunk = [{"scope": scope, "name": r["name"], "bytes": r["bytes"],
                  "adler32": r["adler32"]} for r in rows[start:start + 990]]
        client.add_files_to_dataset(scope, "bench", chunk, rse="LHEP_ONLINE")
    register = (time.perf_counter() - started, time.process_time() - cpu)

    started, cpu = time.perf_counter(), time.process_time()
    listed = sum(1 for _ in client.list_replicas([{"scope": scope, "name": "bench"}]))
    listing = (time.perf_counter() - started, time.process_time() - cpu)
    print(json.dumps({"registered": len(rows), "listed": listed,
                      "register": register, "list": listing}))
    """
)


def bmn_files(count: int) -> pa.Table:
    """RAW file names of one run, in parts, with sizes and checksums of their own."""
    names = [f"mpd_run_Top_8123_ev{i // 100}_p{i % 100}.data" for i in range(count)]
    return pa.table(
        {
            "name": names,
            "bytes": [2_000_000_000 + i for i in range(count)],
            "adler32": [f"{zlib.adler32(n.encode()):08x}" for n in names],
        }
    )


def run(python: Path, script: str, server: RucioServer, scope: str, path: Path) -> dict:
    server.add_scope(scope)
    result = subprocess.run(
        [str(python), "-c", script, server.url, server.password, scope, str(path)],
        env=server.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{scope} failed: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()

    with RucioServer() as server:
        assert server.workdir is not None
        path = server.workdir / "files.parquet"
        files = bmn_files(args.files)
        pq.write_table(files, path)
        # The official client's environment has no pyarrow: it reads the same rows as JSON.
        path.with_suffix(".json").write_text(json.dumps(files.to_pylist()))
        stamp = int(time.time()) % 100000
        results = {
            "bmnflow": run(Path(sys.executable), BMNFLOW, server, f"b.{stamp}", path),
            "rucio-clients": run(CLIENTS_PYTHON, RUCIO_CLIENTS, server, f"r.{stamp}", path),
        }

    print(f"{args.files} files, requests of {CHUNK}, one Rucio server (gunicorn, SQLite)")
    print(f"{'client':<15}{'step':<10}{'wall s':>10}{'client CPU s':>14}{'files':>10}")
    for name, result in results.items():
        for step, count in (("register", "registered"), ("list", "listed")):
            wall, cpu = result[step]
            print(f"{name:<15}{step:<10}{wall:>10.2f}{cpu:>14.2f}{result[count]:>10}")
    ours, theirs = results["bmnflow"], results["rucio-clients"]
    for step in ("register", "list"):
        wall = theirs[step][0] / ours[step][0]
        cpu = theirs[step][1] / max(ours[step][1], 1e-3)
        print(f"{step}: rucio-clients / bmnflow = {wall:.2f}x wall, {cpu:.2f}x client CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
