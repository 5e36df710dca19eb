"""The trigger that waits in the triggerer for a Rucio rule to be OK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from bmnflow.errors import BmnflowError


class RucioRuleTrigger(BaseTrigger):
    """Waits for a rule to be OK, polling it from the Rust core without blocking the loop.

    Its kwargs carry the connection id, never a credential. Waiting is read-only, so the
    trigger may run twice or be rebuilt after a triggerer restart without harm.

    :param rule_id: The rule.
    :param rucio_conn_id: The Airflow connection of the Rucio server.
    :param poll_interval: The first interval between polls, in seconds; it grows by half each
        poll up to ``max_poll_interval``.
    :param max_poll_interval: The longest interval between polls, in seconds.
    :param stuck_grace: Seconds a rule may stay STUCK (the judge may repair it) before the
        wait fails.
    :param timeout: Seconds after which the wait fails; none when unset.
    """

    def __init__(
        self,
        rule_id: str,
        rucio_conn_id: str,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        stuck_grace: float = 600.0,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.rule_id = rule_id
        self.rucio_conn_id = rucio_conn_id
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.stuck_grace = stuck_grace
        self.timeout = timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "rule_id": self.rule_id,
                "rucio_conn_id": self.rucio_conn_id,
                "poll_interval": self.poll_interval,
                "max_poll_interval": self.max_poll_interval,
                "stuck_grace": self.stuck_grace,
                "timeout": self.timeout,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from bmnflow.hooks.rucio import RucioHook

        try:
            client = await RucioHook(rucio_conn_id=self.rucio_conn_id).aget_client()
            answer = await client.wait_rule_async(
                self.rule_id,
                poll_min=self.poll_interval,
                poll_max=self.max_poll_interval,
                stuck_grace=self.stuck_grace,
                timeout=self.timeout,
            )
        except BmnflowError as error:
            self.log.info("rule %s: %s", self.rule_id, error.message)
            yield TriggerEvent(
                {
                    "status": "error",
                    "rule_id": self.rule_id,
                    "error_class": type(error).__name__,
                    "server_class": error.server_class,
                    "message": error.message,
                    "details": error.details,
                }
            )
            return
        rule = json.loads(answer)
        self.log.info("rule %s is %s", self.rule_id, rule["state"])
        yield TriggerEvent({"status": "success", "rule_id": self.rule_id, "rule": summary(rule)})


def summary(rule: dict[str, Any]) -> dict[str, Any]:
    """The fields of a rule worth keeping in XCom and events."""
    keys = (
        "id",
        "scope",
        "name",
        "rse_expression",
        "copies",
        "state",
        "locks_ok_cnt",
        "locks_replicating_cnt",
        "locks_stuck_cnt",
        "error",
        "expires_at",
    )
    return {key: rule.get(key) for key in keys}
