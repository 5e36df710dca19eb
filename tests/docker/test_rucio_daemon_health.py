"""docker/rucio/rucio_daemon_health.py against Rucio's own heartbeat table (SQLite here,
PostgreSQL in the staging deployment): healthy only while this host's daemon beats."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from deployment_files import DOCKER

SCRIPT = DOCKER / "rucio" / "rucio_daemon_health.py"
HOST = "rucio-judge-evaluator-1"


def _rucio(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env={**os.environ, "RUCIO_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def rucio_db(tmp_path: Path) -> tuple[Path, Path]:
    """A Rucio configuration and its database with the heartbeat table, empty."""
    database = tmp_path / "rucio.db"
    config = tmp_path / "rucio.cfg"
    config.write_text(f"[common]\nloglevel = WARNING\n[database]\ndefault = sqlite:///{database}\n")
    created = _rucio(
        config,
        "-c",
        "from rucio.db.sqla.models import Heartbeat\n"
        "from rucio.db.sqla.session import get_engine\n"
        "Heartbeat.__table__.create(get_engine())\n",
    )
    assert created.returncode == 0, created.stderr[-2000:]
    return config, database


def _beat(config: Path, hostname: str) -> None:
    # The same call a daemon's heartbeat thread makes.
    script = (
        "import os\nfrom rucio.core.heartbeat import live\n"
        f"live('judge-evaluator', {hostname!r}, os.getpid())\n"
    )
    result = _rucio(config, "-c", script)
    assert result.returncode == 0, result.stderr[-2000:]


def _check(config: Path) -> subprocess.CompletedProcess[str]:
    return _rucio(config, str(SCRIPT), "--hostname", HOST, "--max-age", "900")


def test_a_daemon_that_beats_is_healthy(rucio_db):
    config, _ = rucio_db
    _beat(config, HOST)
    result = _check(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("healthy")


def test_another_hosts_heartbeat_does_not_count(rucio_db):
    config, _ = rucio_db
    _beat(config, "rucio-reaper-1")
    result = _check(config)
    assert result.returncode == 1
    assert f"no heartbeat from {HOST}" in result.stdout


def test_a_daemon_that_stopped_beating_is_unhealthy(rucio_db):
    config, database = rucio_db
    _beat(config, HOST)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE heartbeats SET updated_at = datetime(updated_at, '-20 minutes')")
    result = _check(config)
    assert result.returncode == 1
    assert "s old" in result.stdout


def test_an_unreadable_database_is_unhealthy(tmp_path: Path):
    config = tmp_path / "rucio.cfg"
    config.write_text(f"[database]\ndefault = sqlite:///{tmp_path / 'empty.db'}\n")
    result = _check(config)
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: cannot read heartbeats")
