"""Data policies: where the copies of each data type live, applied as Rucio subscriptions.

The policies are declared once, in a TOML file (``dags/policies.toml`` for BM@N). Each one
becomes a Rucio subscription named ``bmnflow-<policy>``, so that Rucio's transmogrifier gives
every new dataset that matches it its replication rules; DAGs that need a dataset's rules at
once (to wait on them) look them up here too. The rules the two paths create are the same,
and Rucio refuses a second rule of the same account, DID, RSE expression and copies, so they
never duplicate each other.

Command line::

    python -m bmnflow.policy show  --file dags/policies.toml
    python -m bmnflow.policy apply --file dags/policies.toml --conn-id rucio_default
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bmnflow.errors import InvalidInputError, NotFoundError

#: Prefix of the subscriptions bmnflow owns; others of the account are left alone.
SUBSCRIPTION_PREFIX = "bmnflow-"
#: Rucio's activity for rules made by subscriptions, used when a policy rule names none.
DEFAULT_ACTIVITY = "User Subscriptions"
_POLICY_KEYS = {"name", "datatype", "description", "scopes", "pattern", "did_type", "rule"}
_RULE_KEYS = {"rse_expression", "copies", "lifetime", "activity", "grouping", "weight"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}$")


@dataclass(frozen=True)
class PolicyRule:
    """One replication rule of a policy.

    :param rse_expression: Where the copies may live, such as ``DLNP_TAPE``.
    :param copies: How many copies.
    :param lifetime: Seconds until the rule expires; never when ``None``.
    :param activity: The transfer activity, one of the server's (Rucio refuses a subscription
        rule without a known one).
    :param grouping: ``DATASET``, ``ALL`` or ``NONE``.
    :param weight: The RSE attribute that weighs the choice among RSEs.
    """

    rse_expression: str
    copies: int = 1
    lifetime: int | None = None
    activity: str = DEFAULT_ACTIVITY
    grouping: str = "DATASET"
    weight: str | None = None

    def as_rucio(self) -> dict[str, Any]:
        """The rule as a subscription's ``replication_rules`` entry (unset keys left out)."""
        rule: dict[str, Any] = {
            "rse_expression": self.rse_expression,
            "copies": self.copies,
            "grouping": self.grouping,
            "activity": self.activity,
        }
        for key in ("lifetime", "weight"):
            if getattr(self, key) is not None:
                rule[key] = getattr(self, key)
        return rule


@dataclass(frozen=True)
class Policy:
    """The rules of one data type, and which datasets they apply to.

    :param name: Short name; the subscription is ``bmnflow-<name>``.
    :param datatype: The data type DAGs look the policy up by (``raw``, ``dst``, ...).
    :param scopes: Scopes (regular expressions) whose datasets the policy covers.
    :param pattern: Regular expression the dataset name must match from its start.
    :param rules: The replication rules each matching dataset gets.
    :param description: One line for people; becomes the subscription's comment.
    :param did_type: The DID type matched: ``DATASET`` or ``CONTAINER``.
    """

    name: str
    datatype: str
    scopes: tuple[str, ...]
    pattern: str
    rules: tuple[PolicyRule, ...]
    description: str = ""
    did_type: str = "DATASET"

    @property
    def subscription_name(self) -> str:
        """The name of the Rucio subscription that carries this policy."""
        return f"{SUBSCRIPTION_PREFIX}{self.name}"

    def matches(self, scope: str, name: str) -> bool:
        """Whether the dataset ``scope:name`` is covered, as the transmogrifier decides it."""
        scope_ok = any(re.match(s, scope) for s in self.scopes)
        return scope_ok and re.match(self.pattern, name) is not None

    def subscription_filter(self) -> dict[str, Any]:
        """The subscription's filter: scopes, name pattern, DID type."""
        return {"scope": list(self.scopes), "pattern": self.pattern, "did_type": [self.did_type]}

    def replication_rules(self) -> list[dict[str, Any]]:
        """The subscription's ``replication_rules``."""
        return [rule.as_rucio() for rule in self.rules]


def load_policies(path: Path | str) -> list[Policy]:
    """Reads and checks a policy file.

    :raises InvalidInputError: naming the policy and key at fault: unknown keys, missing or
        empty fields, a pattern that is not a regular expression, duplicated names, a rule
        without RSE expression or with fewer than one copy.
    """
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InvalidInputError(f"cannot read the policy file {path}: {error}") from error

    entries = document.get("policy")
    if not isinstance(entries, list) or not entries:
        raise InvalidInputError(f"{path}: no [[policy]] tables")
    unknown = set(document) - {"policy"}
    if unknown:
        raise InvalidInputError(f"{path}: unknown top-level keys {sorted(unknown)}")

    policies = [_policy(path, index, entry) for index, entry in enumerate(entries)]
    names = [p.name for p in policies]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InvalidInputError(f"{path}: policy names used twice: {duplicated}")
    return policies


def _policy(path: Path, index: int, entry: dict[str, Any]) -> Policy:
    where = f"{path}: policy {entry.get('name', f'#{index + 1}')!r}"
    unknown = set(entry) - _POLICY_KEYS
    if unknown:
        raise InvalidInputError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("name", "datatype", "scopes", "pattern", "rule"):
        if not entry.get(key):
            raise InvalidInputError(f"{where}: `{key}` is missing or empty")
    if not _NAME.match(entry["name"]):
        raise InvalidInputError(f"{where}: the name must be lowercase letters, digits, - or _")
    if entry.get("did_type", "DATASET") not in ("DATASET", "CONTAINER"):
        raise InvalidInputError(f"{where}: did_type must be DATASET or CONTAINER")

    scopes = entry["scopes"]
    if isinstance(scopes, str) or not all(isinstance(s, str) for s in scopes):
        raise InvalidInputError(f"{where}: `scopes` must be a list of strings")
    for regex in (*scopes, entry["pattern"]):
        try:
            re.compile(regex)
        except re.error as error:
            message = f"{where}: {regex!r} is not a regular expression: {error}"
            raise InvalidInputError(message) from error

    return Policy(
        name=entry["name"],
        datatype=entry["datatype"],
        scopes=tuple(scopes),
        pattern=entry["pattern"],
        rules=tuple(_rule(where, i, r) for i, r in enumerate(entry["rule"])),
        description=entry.get("description", ""),
        did_type=entry.get("did_type", "DATASET"),
    )


def _rule(where: str, index: int, entry: dict[str, Any]) -> PolicyRule:
    where = f"{where}, rule {index + 1}"
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise InvalidInputError(f"{where}: unknown keys {sorted(unknown)}")
    if not str(entry.get("rse_expression", "")).strip():
        raise InvalidInputError(f"{where}: `rse_expression` is missing or empty")
    copies = entry.get("copies", 1)
    if not isinstance(copies, int) or copies < 1:
        raise InvalidInputError(f"{where}: `copies` must be a whole number of at least 1")
    lifetime = entry.get("lifetime")
    if lifetime is not None and (not isinstance(lifetime, int) or lifetime < 1):
        raise InvalidInputError(f"{where}: `lifetime` must be a positive number of seconds")
    grouping = entry.get("grouping", "DATASET")
    if grouping not in ("DATASET", "ALL", "NONE"):
        raise InvalidInputError(f"{where}: grouping must be DATASET, ALL or NONE")
    return PolicyRule(
        rse_expression=entry["rse_expression"],
        copies=copies,
        lifetime=lifetime,
        activity=entry.get("activity", DEFAULT_ACTIVITY),
        grouping=grouping,
        weight=entry.get("weight"),
    )


def policy_for(policies: Iterable[Policy], *, datatype: str) -> Policy:
    """The one policy of ``datatype``.

    :raises InvalidInputError: when none or several policies have that data type.
    """
    found = [p for p in policies if p.datatype == datatype]
    if len(found) != 1:
        names = [p.name for p in found]
        raise InvalidInputError(f"expected one policy of data type {datatype!r}, found {names}")
    return found[0]


def policy_matching(policies: Iterable[Policy], scope: str, name: str) -> Policy | None:
    """The first policy that covers the dataset ``scope:name``, if any."""
    return next((p for p in policies if p.matches(scope, name)), None)


# -- applying them ----------------------------------------------------------------------------


class SubscriptionClient(Protocol):
    """What :func:`apply_policies` needs of a Rucio client (``RucioHook`` provides it)."""

    def get_subscription(self, name: str) -> dict[str, Any]: ...

    def add_subscription(
        self, name: str, *, filter: dict, replication_rules: list, comments: str
    ) -> str: ...

    def update_subscription(
        self, name: str, *, filter: dict, replication_rules: list, comments: str
    ) -> None: ...


@dataclass(frozen=True)
class Applied:
    """What applying one policy did.

    :param policy: The policy's name.
    :param subscription: The subscription's name.
    :param action: ``created``, ``updated`` or ``unchanged``.
    """

    policy: str
    subscription: str
    action: str


def apply_policies(client: SubscriptionClient, policies: Sequence[Policy]) -> list[Applied]:
    """Creates the subscription of each policy, or updates it where it differs from the file.

    Idempotent: a second application with the same file changes nothing. Each policy is
    applied on its own; when one fails, the error says which were applied before it.
    """
    done: list[Applied] = []
    for policy in policies:
        try:
            done.append(_apply_one(client, policy))
        except Exception as error:
            applied = [f"{a.policy}: {a.action}" for a in done] or ["none"]
            error.add_note(
                f"while applying policy {policy.name!r}; applied before it: {', '.join(applied)}"
            )
            raise
    return done


def _apply_one(client: SubscriptionClient, policy: Policy) -> Applied:
    wanted = {
        "filter": policy.subscription_filter(),
        "replication_rules": policy.replication_rules(),
        "comments": policy.description,
    }
    name = policy.subscription_name
    try:
        current = client.get_subscription(name)
    except NotFoundError:
        client.add_subscription(name, **wanted)
        return Applied(policy.name, name, "created")

    if _stored(current) == wanted:
        return Applied(policy.name, name, "unchanged")
    client.update_subscription(name, **wanted)
    return Applied(policy.name, name, "updated")


def _stored(subscription: dict[str, Any]) -> dict[str, Any]:
    # Rucio returns the filter and the rules as JSON text.
    def decoded(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    return {
        "filter": decoded(subscription.get("filter")),
        "replication_rules": decoded(subscription.get("replication_rules")),
        "comments": subscription.get("comments") or "",
    }


# -- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``show`` the policies of a file, or ``apply`` them through an Airflow connection."""
    parser = argparse.ArgumentParser(prog="python -m bmnflow.policy")
    parser.add_argument("action", choices=["show", "apply"])
    parser.add_argument("--file", type=Path, required=True, help="the policy file")
    parser.add_argument("--conn-id", default="rucio_default", help="Airflow connection id")
    args = parser.parse_args(argv)

    try:
        policies = load_policies(args.file)
    except InvalidInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.action == "show":
        for policy in policies:
            print(json.dumps({"subscription": policy.subscription_name, **_wanted(policy)}))
        return 0

    from bmnflow.hooks.rucio import RucioHook

    for applied in apply_policies(RucioHook(rucio_conn_id=args.conn_id), policies):
        print(f"{applied.subscription}: {applied.action}")
    return 0


def _wanted(policy: Policy) -> dict[str, Any]:
    return {"filter": policy.subscription_filter(), "rules": policy.replication_rules()}


if __name__ == "__main__":
    sys.exit(main())
