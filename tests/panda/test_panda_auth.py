"""OIDC authentication against gridsim's PanDA: a token file re-read when it changes, an
expired token refused by the client, the VO checked from ``Origin``, and calls without
credentials refused as insecure."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import mc_spec

from bmnflow._core import PandaClient
from bmnflow.errors import AuthenticationError
from bmnflow.testing.gridsim import GridSim


def jwt(exp: float, name: str = "bmn tester") -> str:
    """An unsigned id token: the client reads its expiry, gridsim compares it as configured."""

    def encode(claims: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    header = encode({"alg": "RS256", "typ": "JWT"})
    payload = encode({"sub": "u-42", "name": name, "exp": int(exp), "groups": ["bmn"]})
    return f"{header}.{payload}.c2lnbmF0dXJl"


VALID = jwt(time.time() + 3600)


@pytest.fixture(scope="module")
def token_grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GridSim]:
    root = tmp_path_factory.mktemp("panda-auth")
    config = {
        "auth": {"tokens": [VALID]},
        "panda": {"storage": "LHEP_DISK", "scratch": str(root / "scratch"), "vos": ["bmn"]},
    }
    with GridSim(root=root, config=config) as grid:
        yield grid


def test_a_token_file_is_used_and_reread_when_renewed(token_grid: GridSim, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(VALID)
    client = PandaClient(token_grid.url, vo="bmn", token_file=token_file)

    task_id = client.submit_spec(mc_spec())["task_id"]
    assert client.task_parameters(task_id)["userName"] == "Bmn Tester"

    token_file.write_text(jwt(time.time() - 60))
    with pytest.raises(AuthenticationError, match="expired"):
        client.task_status(task_id)

    token_file.write_text(VALID + "\n")
    assert client.task_status(task_id) in {"registered", "defined", "ready", "running", "done"}


def test_an_unknown_vo_is_refused(token_grid: GridSim) -> None:
    client = PandaClient(token_grid.url, vo="atlas", token=VALID)
    with pytest.raises(AuthenticationError, match="Unknown vo"):
        client.task_job_ids(1)


def test_calls_without_credentials_are_insecure(token_grid: GridSim) -> None:
    client = PandaClient(token_grid.url)
    client.is_alive()
    with pytest.raises(AuthenticationError, match="SSL secure connection is required"):
        client.task_status(1)
