"""The policy file is checked before use and applied to a real Rucio server idempotently."""

from __future__ import annotations

import json
import re
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from bmnflow.errors import InvalidInputError, NotFoundError
from bmnflow.policy import apply_policies, load_policies, policy_for, policy_matching
from bmnflow.testing.rucio_server import RucioServer

POLICY_FILE = Path(__file__).resolve().parents[2] / "dags" / "policies.toml"


def test_bmn_policies_put_raw_on_tape_and_disk_and_dst_at_both_sites():
    policies = load_policies(POLICY_FILE)

    def where(datatype: str) -> list[str]:
        return [r.rse_expression for r in policy_for(policies, datatype=datatype).rules]

    assert where("raw") == ["DLNP_TAPE", "LHEP_DISK"]
    assert where("dst") == ["LHEP_DISK", "DLNP_DISK"]
    assert where("digi") == ["LHEP_DISK"]
    assert policy_matching(policies, "bmn.run8", "raw.run8123").name == "raw"
    assert policy_matching(policies, "bmn.run8", "dst.run8123").name == "dst"
    assert policy_matching(policies, "bmn.mc", "mc.dcm-qgsm.dst").name == "mc-dst"
    assert policy_matching(policies, "bmn.run8", "other.run8123") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("pattern = '^raw\\.run\\d+$'", "pattern = '^raw(('"), "not a regular expression"),
        (('rse_expression = "DLNP_TAPE"', 'rse_expression = ""'), "rse_expression"),
        (('rse_expression = "DLNP_TAPE"', 'rse_expression = "X"\ncopies = 0'), "copies"),
        (('name = "digi"', 'name = "raw"'), "policy names used twice: ['raw']"),
        (('datatype = "dst"', 'datatype = "dst"\nsite = "x"'), "unknown keys ['site']"),
        (("lifetime = 2592000", "lifetime = -5"), "lifetime"),
    ],
)
def test_bad_policy_files_are_refused_naming_the_fault(tmp_path: Path, change, message):
    text = POLICY_FILE.read_text()
    assert change[0] in text
    bad = tmp_path / "policies.toml"
    bad.write_text(text.replace(change[0], change[1], 1))

    with pytest.raises(InvalidInputError, match=re.escape(message)):
        load_policies(bad)


class HarnessSubscriptions:
    """The three subscription calls over the Rucio harness's REST access (a real server)."""

    def __init__(self, server: RucioServer) -> None:
        self.server = server
        self.account = server.account

    def get_subscription(self, name: str) -> dict[str, Any]:
        try:
            (found,) = self.server.call("GET", f"/subscriptions/{self.account}/{name}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise NotFoundError(f"no subscription {name}") from error
            raise
        return found

    def add_subscription(self, name: str, **options: Any) -> str:
        body = {"options": {**options, "lifetime": None, "retroactive": False, "dry_run": False}}
        return self.server.call("POST", f"/subscriptions/{self.account}/{name}", body)

    def update_subscription(self, name: str, **options: Any) -> None:
        self.server.call("PUT", f"/subscriptions/{self.account}/{name}", {"options": options})


def scoped_policy_file(tmp_path: Path, scope: str) -> Path:
    """The BM@N policies, narrowed to a test's own scope and subscription names."""
    text = POLICY_FILE.read_text()
    text = text.replace('"bmn.run8"', json.dumps("^" + re.escape(scope) + "$"))
    text = text.replace('"bmn.mc"', json.dumps("^" + re.escape(scope) + "-mc$"))
    suffix = scope.split(".")[-1]
    text = re.sub(r'^name = "([^"]+)"', rf'name = "\1-{suffix}"', text, flags=re.M)
    path = tmp_path / "policies.toml"
    path.write_text(text)
    return path


@pytest.mark.rucio
def test_apply_creates_then_changes_nothing_then_updates_what_changed(
    tmp_path: Path, rucio_server: RucioServer, rucio_scope: str
):
    client = HarnessSubscriptions(rucio_server)
    path = scoped_policy_file(tmp_path, rucio_scope)
    policies = load_policies(path)

    first = apply_policies(client, policies)
    assert {a.action for a in first} == {"created"}
    assert {a.action for a in apply_policies(client, policies)} == {"unchanged"}

    path.write_text(
        path.read_text().replace('rse_expression = "DLNP_DISK"', 'rse_expression = "DLNP_TAPE"', 1)
    )
    changed = apply_policies(client, load_policies(path))
    assert [a.policy for a in changed if a.action == "updated"] == [
        f"dst-{rucio_scope.split('.')[-1]}"
    ]
    stored = client.get_subscription(f"bmnflow-dst-{rucio_scope.split('.')[-1]}")
    rses = [r["rse_expression"] for r in json.loads(stored["replication_rules"])]
    assert rses == ["LHEP_DISK", "DLNP_TAPE"]


@pytest.mark.rucio
def test_a_new_raw_dataset_gets_its_rules_from_the_transmogrifier(
    tmp_path: Path, rucio_server: RucioServer, rucio_scope: str
):
    apply_policies(
        HarnessSubscriptions(rucio_server), load_policies(scoped_policy_file(tmp_path, rucio_scope))
    )
    rucio_server.call("POST", f"/dids/{rucio_scope}/raw.run8200", {"type": "DATASET"})
    rucio_server.call("POST", f"/dids/{rucio_scope}/unrelated.run8200", {"type": "DATASET"})

    rucio_server.run_daemon("transmogrifier")

    rules = rucio_server.call("GET", f"/dids/{rucio_scope}/raw.run8200/rules")
    assert sorted(r["rse_expression"] for r in rules) == ["DLNP_TAPE", "LHEP_DISK"]
    assert all(r["subscription_id"] for r in rules)
    assert rucio_server.call("GET", f"/dids/{rucio_scope}/unrelated.run8200/rules") == []


@pytest.mark.rucio
def test_the_cli_applies_policies_through_the_rucio_hook(
    tmp_path: Path, rucio_server: RucioServer, rucio_scope: str, rucio_conn: str, capsys
):
    from bmnflow.policy import main

    path = scoped_policy_file(tmp_path, rucio_scope)

    def apply() -> list[str]:
        assert main(["apply", "--file", str(path), "--conn-id", rucio_conn]) == 0
        # Log records share stdout; the outcome lines name the subscriptions.
        return [x for x in capsys.readouterr().out.splitlines() if x.startswith("bmnflow-")]

    first, second = apply(), apply()

    suffix = rucio_scope.split(".")[-1]
    assert f"bmnflow-raw-{suffix}: created" in first
    assert f"bmnflow-raw-{suffix}: unchanged" in second
    assert len(second) == 5
    assert all(line.endswith(": unchanged") for line in second)
    stored = HarnessSubscriptions(rucio_server).get_subscription(f"bmnflow-raw-{suffix}")
    assert json.loads(stored["filter"])["pattern"] == r"^raw\.run\d+$"
