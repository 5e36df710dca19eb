"""The wheel the Dockerfile builds, built here the same way, installs into a fresh virtual
environment next to apache-airflow 3.3 and is found there by Airflow as a provider.

The build reuses the project's target folder, so it takes seconds after `make build`; the
install takes Airflow's pins from requirements/dev.lock as constraints, which uv serves from
its cache when they were installed before.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
from deployment_files import REPO, tool

from bmnflow import __version__

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _run(args: list[str | Path], *, timeout: float, **kwargs: Any) -> CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )
    assert result.returncode == 0, f"{args[:3]}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    maturin = tool("maturin")
    assert maturin is not None, "maturin is part of requirements/dev.lock"
    out = tmp_path_factory.mktemp("wheel")
    # The Dockerfile's command, with the output folder of this test.
    command = [str(maturin), "build", "--release", "--locked", "--out", str(out)]
    for _ in range(3):
        result = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=1500, check=False
        )
        # maturin stages the library in target/maturin/, which a concurrent `maturin
        # develop` on the same target folder (a developer's `make build`) may replace.
        if result.returncode == 0 or "target/maturin/" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-4000:]
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def airflow_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = tool("uv")
    assert uv is not None, "uv is part of requirements/dev.lock"
    venv = tmp_path_factory.mktemp("airflow") / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], timeout=120)
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            venv / "bin" / "python",
            "--constraint",
            REPO / "requirements" / "dev.lock",
            "apache-airflow==3.3.2",
            wheel,
        ],
        timeout=900,
    )
    return venv


def test_the_wheel_is_one_abi3_wheel_with_the_extension_and_the_provider_entry_point(
    wheel: Path,
):
    name, version, python, abi, platform = wheel.stem.split("-")
    assert (name, version) == ("apache_airflow_providers_bmnflow", __version__)
    # One wheel for every CPython from 3.11: the Airflow image's 3.12 included.
    assert (python, abi) == ("cp311", "abi3")
    assert platform.endswith("x86_64")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"{name}-{version}.dist-info/entry_points.txt").decode()
    assert {"bmnflow/_core.abi3.so", "bmnflow/_core.pyi", "bmnflow/py.typed"} <= names
    groups = configparser.ConfigParser()
    groups.read_string(entry_points)
    provider = groups["apache_airflow_provider"]["provider_info"]
    assert provider == "bmnflow.get_provider_info:get_provider_info"


def test_airflow_lists_bmnflow_among_its_providers(airflow_venv: Path, tmp_path: Path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
    }
    result = _run(
        [airflow_venv / "bin" / "airflow", "providers", "list", "--output", "json"],
        env=env,
        timeout=300,
    )
    # Airflow may print warnings before the JSON document.
    providers = json.loads(result.stdout[result.stdout.index("[") :])
    found = {p["package_name"]: p["version"] for p in providers}
    assert found.get("apache-airflow-providers-bmnflow") == __version__, found

    versions = _run(
        [airflow_venv / "bin" / "python", "-c", "import airflow; print(airflow.__version__)"],
        env=env,
        timeout=120,
    )
    assert versions.stdout.strip().splitlines()[-1] == "3.3.2"


#: Loads the installed extension and crosses its bridge: a Rust panic raised as the Python
#: exception of bmnflow's hierarchy.
_BRIDGE_CHECK = """
import bmnflow
from bmnflow._core import diagnostics
from bmnflow.errors import InternalError

try:
    diagnostics.panic("wheel check")
except InternalError:
    print("panic mapped")
print(bmnflow.__file__)
"""


def test_the_installed_extension_loads_and_maps_a_panic(airflow_venv: Path):
    # Run outside the repository so that Python cannot import the source tree's package.
    result = _run(
        [airflow_venv / "bin" / "python", "-c", _BRIDGE_CHECK],
        cwd=airflow_venv,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "panic mapped"
    assert lines[1].startswith(str(airflow_venv))
