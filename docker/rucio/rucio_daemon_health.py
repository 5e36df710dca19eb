"""Health check of a Rucio daemon container: has a daemon on this host renewed its heartbeat?

Every Rucio daemon thread renews a heartbeat row (executable, host, pid, thread) in the Rucio
database while it works. A daemon whose process is alive but stuck, or cut off from the
database, stops renewing it; a process check alone would call that daemon healthy.

Runs inside the ``rucio/rucio-daemons`` image, whose Python has Rucio and its configuration:

    python3 rucio_daemon_health.py --max-age 900

Exit status 0 when a heartbeat of this host is younger than ``--max-age`` seconds, else 1,
with one line saying why.
"""

from __future__ import annotations

import argparse
import datetime
import socket
import sys


def newest_heartbeat_age(hostname: str) -> float | None:
    """Seconds since the newest heartbeat of ``hostname``, or None when it has none."""
    from rucio.core.heartbeat import list_heartbeats

    # Rucio stores naive UTC timestamps. The image's Python may predate datetime.UTC (3.11).
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)  # noqa: UP017
    beats = [row["updated_at"] for row in list_heartbeats() if row["hostname"] == hostname]
    if not beats:
        return None
    return (now - max(beats)).total_seconds()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--max-age",
        type=float,
        default=900.0,
        help="seconds a heartbeat may be old; above the longest daemon sleep (default 900)",
    )
    # Rucio's daemons register under the fully qualified name, as here.
    parser.add_argument("--hostname", default=socket.getfqdn(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    try:
        age = newest_heartbeat_age(args.hostname)
    except Exception as error:  # any failure to read the database is unhealthy
        print(f"unhealthy: cannot read heartbeats: {type(error).__name__}: {error}")
        return 1
    if age is None:
        print(f"unhealthy: no heartbeat from {args.hostname}")
        return 1
    if age > args.max_age:
        print(f"unhealthy: newest heartbeat from {args.hostname} is {age:.0f} s old")
        return 1
    print(f"healthy: heartbeat from {args.hostname} {age:.0f} s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
