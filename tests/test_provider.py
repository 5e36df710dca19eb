"""Airflow's own provider discovery finds bmnflow through the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bmnflow import __version__
from bmnflow.get_provider_info import get_provider_info


def test_provider_info_names_the_distribution():
    info = get_provider_info()
    assert info["package-name"] == "apache-airflow-providers-bmnflow"
    assert info["versions"] == [__version__]


def test_airflow_providers_list_shows_bmnflow(tmp_path: Path):
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
    }
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run(
        [str(airflow), "providers", "list", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Airflow may print warnings before the JSON document.
    providers = json.loads(result.stdout[result.stdout.index("[") :])
    found = {p["package_name"]: p["version"] for p in providers}
    assert found.get("apache-airflow-providers-bmnflow") == __version__, found
