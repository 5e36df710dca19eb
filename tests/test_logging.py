"""Core log events arrive in Python logging under bmnflow.* loggers, with their fields."""

from __future__ import annotations

import logging

import pytest

import bmnflow
from bmnflow import errors
from bmnflow._core import diagnostics


def test_core_events_reach_python_logging(caplog):
    caplog.set_level(logging.DEBUG, logger="bmnflow")
    bmnflow.sync_log_level()

    diagnostics.log("info", "rule created", {"rule_id": "abc123", "scope": "bmn.run8"})

    records = [r for r in caplog.records if r.getMessage().startswith("rule created")]
    assert len(records) == 1
    record = records[0]
    assert record.name == "bmnflow.diagnostics"
    assert record.levelno == logging.INFO
    assert "rule_id=abc123" in record.getMessage()
    assert record.bmnflow["fields"] == "rule_id=abc123 scope=bmn.run8"


def test_levels_below_the_threshold_are_not_forwarded(caplog):
    caplog.set_level(logging.WARNING, logger="bmnflow")
    bmnflow.sync_log_level()

    diagnostics.log("info", "quiet event")
    diagnostics.log("warning", "loud event")

    messages = [r.getMessage() for r in caplog.records if r.name.startswith("bmnflow")]
    assert "loud event fields=" in messages
    assert not any(m.startswith("quiet event") for m in messages)


def test_retry_warnings_name_the_request(caplog):
    caplog.set_level(logging.WARNING, logger="bmnflow")
    bmnflow.sync_log_level()

    # Nothing listens on port 9 of loopback: the connection is refused and retried once.
    with pytest.raises(errors.TransportError):
        diagnostics.http_get("http://127.0.0.1:9/x", retries=1)

    retries = [r for r in caplog.records if r.name == "bmnflow.http.endpoint"]
    assert len(retries) == 1
    assert "request failed, retrying" in retries[0].getMessage()
    assert "127.0.0.1:9" in retries[0].getMessage()
