"""Fixtures of the deployment tests: the parsed Dockerfile and compose file, a prepared copy
of docker/ as an operator sets it up."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from deployment_files import DOCKER, Deployment, Dockerfile, parse_dockerfile


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile((DOCKER / "Dockerfile").read_text())


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    base = tmp_path_factory.mktemp("deployment")
    root = base / "docker"
    shutil.copytree(DOCKER, root, ignore=shutil.ignore_patterns("secrets", ".env", "*.pyc"))
    (base / "dags").mkdir()
    grid_dir = base / "grid"
    grid_dir.mkdir()

    env = (root / "examples" / ".env.example").read_text()
    setting = "BMNFLOW_GRID_CREDENTIALS_DIR"
    env = re.sub(rf"(?m)^{setting}=.*$", f"{setting}={grid_dir}", env)
    (root / ".env").write_text(env)
    shutil.copy(root / "examples" / "connections.env.example", root / "connections.env")
    subprocess.run(
        ["sh", str(root / "init-secrets.sh"), "--staging"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Deployment(root, grid_dir)
