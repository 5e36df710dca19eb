"""Operator extra links to objects in the Rucio web UI."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

#: The XCom key under which operators push the web UI URL of the rule they made.
RULE_URL_KEY = "rucio_rule_url"


def rule_url(webui_url: str | None, rule_id: str) -> str | None:
    """The web UI page of a rule, when the connection names the web UI."""
    if not webui_url:
        return None
    return f"{webui_url.rstrip('/')}/rule?rule_id={rule_id}"


class RucioRuleLink(BaseOperatorLink):
    """Links a task to the page of the rule it created in the Rucio web UI."""

    name = "Rucio rule"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(ti_key=ti_key, key=RULE_URL_KEY) or ""
