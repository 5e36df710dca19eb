"""Registers the BM@N topology in the staging Rucio server, with gridsim as storage and FTS.

Scopes ``bmn.run8`` and ``bmn.mc``; the RSEs LHEP_ONLINE, LHEP_DISK, DLNP_DISK and
DLNP_TAPE, each with an http protocol under gridsim's ``/storage/<rse>/`` (third-party copy
read and write on the wan), the ``fts`` attribute naming gridsim's FTS and the ``type``
attribute (disk or tape); distances between all pairs; no quota for the root account.

Runs once per staging deployment, in a Rucio image, through the REST API as the root
identity of rucio.cfg's ``[bootstrap]`` section. Re-runs add nothing: what exists is kept.

    python3 bmn_topology.py --rucio-url http://rucio-server --gridsim-url http://gridsim:8780
"""

from __future__ import annotations

import argparse
import configparser
import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

RSES = ("LHEP_ONLINE", "LHEP_DISK", "DLNP_DISK", "DLNP_TAPE")
SCOPES = ("bmn.run8", "bmn.mc")
ACCOUNT = "root"


class Rucio:
    """The few REST calls the topology needs, as one userpass identity of ``root``.

    :param url: The server's base URL.
    :param username: The userpass identity.
    :param password: Its password.
    """

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url.rstrip("/")
        self.token = self._authenticate(username, password)
        #: Objects the server accepted (attributes and quotas are set again, so they always
        #: count), and objects it already had.
        self.written = 0
        self.existing = 0

    def _authenticate(self, username: str, password: str) -> str:
        headers = {
            "X-Rucio-Account": ACCOUNT,
            "X-Rucio-Username": username,
            "X-Rucio-Password": password,
        }
        request = urllib.request.Request(f"{self.url}/auth/userpass", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.headers["X-Rucio-Auth-Token"]

    def create(self, path: str, body: dict[str, Any] | None = None) -> None:
        """POSTs ``body`` to ``path``; an answer that the object exists counts as done."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body or {}).encode(),
            method="POST",
            headers={"X-Rucio-Auth-Token": self.token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60):
                self.written += 1
        except urllib.error.HTTPError as error:
            if error.code != 409:
                detail = error.read().decode(errors="replace")
                raise SystemExit(f"POST {path}: HTTP {error.code}: {detail}") from error
            self.existing += 1


def protocol(gridsim_url: str, rse: str) -> dict[str, Any]:
    """The http protocol of ``rse``: gridsim's storage endpoint named after it."""
    url = urlsplit(gridsim_url)
    operations = {"read": 1, "write": 1, "delete": 1}
    return {
        "scheme": url.scheme,
        "hostname": url.hostname,
        "port": url.port or (443 if url.scheme == "https" else 80),
        "prefix": f"/storage/{rse.lower()}/",
        "impl": "rucio.rse.protocols.webdav.Default",
        "domains": {
            "lan": operations,
            "wan": {**operations, "third_party_copy_read": 1, "third_party_copy_write": 1},
        },
    }


def register(rucio: Rucio, gridsim_url: str) -> None:
    """Creates every part of the topology that does not exist yet."""
    for scope in SCOPES:
        rucio.create(f"/scopes/{ACCOUNT}/{scope}")
    for rse in RSES:
        rucio.create(f"/rses/{rse}", {"deterministic": True})
        scheme = urlsplit(gridsim_url).scheme
        rucio.create(f"/rses/{rse}/protocols/{scheme}", protocol(gridsim_url, rse))
        # The conveyor asks each RSE which FTS serves it.
        rucio.create(f"/rses/{rse}/attr/fts", {"value": f"{gridsim_url}/fts"})
        tier = "tape" if rse.endswith("TAPE") else "disk"
        rucio.create(f"/rses/{rse}/attr/type", {"value": tier})
        rucio.create(f"/accounts/{ACCOUNT}/limits/local/{rse}", {"bytes": -1})
    for source in RSES:
        for destination in RSES:
            if source != destination:
                rucio.create(f"/rses/{source}/distances/{destination}", {"distance": 1})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rucio-url", default="http://rucio-server")
    parser.add_argument("--gridsim-url", default="http://gridsim:8780")
    parser.add_argument("--config", default="/opt/rucio/etc/rucio.cfg")
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for Rucio")
    args = parser.parse_args(argv)

    config = configparser.ConfigParser(interpolation=None)
    config.read(args.config)
    username = config.get("bootstrap", "userpass_identity")
    password = config.get("bootstrap", "userpass_pwd")

    # The server may still be starting its WSGI processes when its container reports healthy.
    deadline = time.monotonic() + args.wait
    while True:
        try:
            rucio = Rucio(args.rucio_url, username, password)
            break
        except urllib.error.HTTPError as error:
            raise SystemExit(f"Rucio refused the root identity {username!r}: {error}") from error
        except (urllib.error.URLError, ConnectionError) as error:
            if time.monotonic() > deadline:
                raise SystemExit(f"Rucio at {args.rucio_url} did not answer: {error}") from error
            time.sleep(2)
    register(rucio, args.gridsim_url.rstrip("/"))
    print(
        f"BM@N topology on {args.rucio_url}: {rucio.written} written, "
        f"{rucio.existing} already there"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
