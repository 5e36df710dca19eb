"""The sensor that waits for a Rucio rule to be OK, deferring to the triggerer by default."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator, Context

from bmnflow import errors
from bmnflow.errors import BmnflowError
from bmnflow.hooks.rucio import RucioHook
from bmnflow.triggers.rucio import RucioRuleTrigger, summary


class RucioRuleFailedError(BmnflowError):
    """A rule that will not reach OK by itself: SUSPENDED, or STUCK past the grace."""


class RucioRuleSensor(BaseSensorOperator):
    """Waits until a replication rule is OK; fails when it is SUSPENDED or stays STUCK.

    A STUCK rule may still be repaired by the judge-repairer, so it fails only after
    ``stuck_grace`` seconds, with the rule's error and lock counts in the message.

    :param rule_id: The rule, usually ``RucioAddRuleOperator``'s return value.
    :param stuck_grace: Seconds a rule may stay STUCK before the sensor fails.
    :param max_poll_interval: The longest interval between polls when deferred; the first
        is ``poke_interval``.
    :param deferrable: Wait in the triggerer (default) instead of holding a worker slot.
    :param rucio_conn_id: The Airflow connection of the Rucio server.
    """

    template_fields: Sequence[str] = ("rule_id",)

    def __init__(
        self,
        *,
        rule_id: str,
        stuck_grace: float = 600.0,
        max_poll_interval: float = 60.0,
        deferrable: bool = True,
        rucio_conn_id: str = RucioHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 5.0)
        super().__init__(**kwargs)
        self.rule_id = rule_id
        self.stuck_grace = stuck_grace
        self.max_poll_interval = max_poll_interval
        self.deferrable = deferrable
        self.rucio_conn_id = rucio_conn_id
        self._stuck_since: float | None = None
        self._last_rule: dict[str, Any] = {}

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        # A rule that is OK already needs no trip through the triggerer.
        if self.poke(context):
            return summary(self._last_rule)
        self.defer(
            trigger=RucioRuleTrigger(
                rule_id=self.rule_id,
                rucio_conn_id=self.rucio_conn_id,
                poll_interval=float(self.poke_interval),
                max_poll_interval=self.max_poll_interval,
                stuck_grace=self.stuck_grace,
                timeout=float(self.timeout) if self.timeout else None,
            ),
            method_name="execute_complete",
        )

    def poke(self, context: Context) -> bool:
        rule = RucioHook(self.rucio_conn_id).client.get_rule(self.rule_id)
        self._last_rule = rule
        state = rule["state"]
        self.log.info(
            "rule %s is %s (locks: %s ok, %s replicating, %s stuck)",
            self.rule_id,
            state,
            rule["locks_ok_cnt"],
            rule["locks_replicating_cnt"],
            rule["locks_stuck_cnt"],
        )
        if state == "OK":
            return True
        if state == "STUCK":
            self._stuck_since = self._stuck_since or time.monotonic()
            if time.monotonic() - self._stuck_since < self.stuck_grace:
                return False
        elif state != "SUSPENDED":
            self._stuck_since = None
            return False
        raise RucioRuleFailedError(
            f"rule {self.rule_id} is {state}: {rule.get('error') or 'no error given'} "
            f"(locks: {rule['locks_ok_cnt']} ok, {rule['locks_replicating_cnt']} replicating, "
            f"{rule['locks_stuck_cnt']} stuck)",
            service="rucio",
            details=summary(rule),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Ends the task with the trigger's event: the rule when OK, else its error."""
        if event["status"] == "success":
            self.log.info("rule %s is OK", self.rule_id)
            return event["rule"]
        details = event.get("details")
        error_class = getattr(errors, event["error_class"], None)
        rule_failed = isinstance(details, dict) and details.get("state") in ("STUCK", "SUSPENDED")
        known = isinstance(error_class, type) and issubclass(error_class, BmnflowError)
        if rule_failed or not known:
            error_class = RucioRuleFailedError
        raise error_class(
            event["message"],
            service="rucio",
            server_class=event.get("server_class"),
            details=details,
        )
