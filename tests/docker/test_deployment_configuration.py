"""What the containers read at run time: Airflow's secrets through its `_CMD` options, the
passwords each database and its clients share, the connection and gridsim examples."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from deployment_files import DOCKER, Deployment
from sqlalchemy.engine import make_url

from bmnflow.get_provider_info import get_provider_info
from bmnflow.testing.rucio_server import BMN_RSES

#: The Airflow options compose.yaml gives through `_CMD`, readable without the Celery provider.
_CORE_SECRET_OPTIONS = [
    ("database", "sql_alchemy_conn"),
    ("core", "fernet_key"),
    ("api", "secret_key"),
    ("api_auth", "jwt_secret"),
]


def _secret(deployment: Deployment, name: str) -> str:
    return (deployment.secrets / name).read_text()


def test_airflow_reads_each_secret_file_verbatim(
    deployment: Deployment, services: dict[str, Any], tmp_path: Path
):
    compose_env = services["airflow-scheduler"]["environment"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    for key, value in compose_env.items():
        env[key] = str(value).replace("/run/secrets/", f"{deployment.secrets}/")
    env["AIRFLOW_HOME"] = str(tmp_path)
    # Reads the configuration only: no engine for a database that does not exist here.
    env["_AIRFLOW__AS_LIBRARY"] = "1"
    script = (
        "import json\nfrom airflow.configuration import conf\n"
        f"print(json.dumps({{f'{{s}}.{{k}}': conf.get(s, k) for s, k in {_CORE_SECRET_OPTIONS}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    values = json.loads(result.stdout.strip().splitlines()[-1])

    # Airflow keeps a command's output byte for byte: a trailing newline in a secret file
    # would end up in the database name or the keys.
    for option, value in values.items():
        assert value == value.strip(), option
    assert make_url(values["database.sql_alchemy_conn"]).database == "airflow"
    assert values["database.sql_alchemy_conn"] == _secret(deployment, "airflow_db_uri")
    assert values["core.fernet_key"] == _secret(deployment, "fernet_key")
    assert values["api.secret_key"] == _secret(deployment, "api_secret_key")
    assert values["api_auth.jwt_secret"] == _secret(deployment, "jwt_secret")
    # A key Fernet refuses would stop every Airflow component at start.
    token = Fernet(values["core.fernet_key"]).encrypt(b"connection extra")
    assert Fernet(values["core.fernet_key"]).decrypt(token) == b"connection extra"


def test_each_database_and_its_clients_share_one_password(
    deployment: Deployment, services: dict[str, Any]
):
    postgres = services["postgres"]["environment"]
    for name in ("airflow_db_uri", "celery_result_backend"):
        uri = urlsplit(_secret(deployment, name))
        assert uri.hostname == "postgres", name
        assert uri.username == postgres["POSTGRES_USER"], name
        assert uri.path == f"/{postgres['POSTGRES_DB']}", name
        assert uri.password == _secret(deployment, "postgres_password"), name

    requirepass = re.search(r"(?m)^requirepass (\S+)$", _secret(deployment, "redis.conf"))
    broker = urlsplit(_secret(deployment, "celery_broker_url"))
    assert broker.hostname == "redis"
    assert broker.password == requirepass[1]

    rucio_db = services["rucio-db"]["environment"]
    rucio_cfg = configparser.ConfigParser()
    rucio_cfg.read_string(_secret(deployment, "rucio.cfg"))
    uri = urlsplit(rucio_cfg["database"]["default"])
    assert uri.hostname == "rucio-db"
    assert uri.username == rucio_db["POSTGRES_USER"]
    assert uri.path == f"/{rucio_db['POSTGRES_DB']}"
    assert uri.password == _secret(deployment, "rucio_db_password")
    assert rucio_cfg["bootstrap"]["userpass_pwd"] == _secret(deployment, "rucio_root_password")


def _connections(text: str) -> dict[str, str]:
    """The ``AIRFLOW_CONN_<ID>`` values of an env file, by connection id, unquoted."""
    found = {}
    for match in re.finditer(r"(?m)^AIRFLOW_CONN_(\w+)=(.+)$", text):
        found[match[1].lower()] = match[2].strip("'")
    return found


def _connection(conn_id: str, value: str):
    from airflow.models.connection import Connection

    if value.startswith("{"):
        return Connection.from_json(value, conn_id=conn_id)
    return Connection(conn_id=conn_id, uri=value)


def _check_against_the_provider_forms(connection) -> None:
    forms = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    assert connection.conn_type in forms
    # Every extra is a field of the provider's connection form for that type.
    assert set(connection.extra_dejson) <= set(forms[connection.conn_type]["conn-fields"])


PRODUCTION_CONNECTIONS = _connections((DOCKER / "examples" / "connections.env.example").read_text())


@pytest.mark.parametrize("conn_id", sorted(PRODUCTION_CONNECTIONS))
def test_production_connections_carry_no_secret_and_name_mounted_files(
    services: dict[str, Any], conn_id: str
):
    connection = _connection(conn_id, PRODUCTION_CONNECTIONS[conn_id])

    _check_against_the_provider_forms(connection)
    assert connection.password is None
    assert connection.login is None
    assert connection.host.startswith("https://")

    # Every credential file it names is inside a read-only mount of Airflow and the sidecar.
    paths = [v for v in connection.extra_dejson.values() if str(v).startswith("/")]
    assert paths
    for reader in ("airflow-worker", "airflow-triggerer", "bmnflow-sidecar"):
        mounts = [v["target"] for v in services[reader]["volumes"] if isinstance(v, dict)]
        for path in paths:
            assert any(path == m or path.startswith(f"{m}/") for m in mounts), (reader, path)


def test_production_connections_cover_every_service(services: dict[str, Any]):
    assert set(PRODUCTION_CONNECTIONS) == {"rucio_default", "panda_default", "fts_default"}


def test_staging_connections_reach_the_stand_ins_with_the_bootstrapped_identity(
    deployment: Deployment, services: dict[str, Any]
):
    text = _secret(deployment, "staging-connections.env")
    staging = {k: _connection(k, v) for k, v in _connections(text).items()}
    assert set(staging) == set(PRODUCTION_CONNECTIONS)

    listens = {"rucio-server": 80, "gridsim": 8780}
    for connection in staging.values():
        _check_against_the_provider_forms(connection)
        url = urlsplit(connection.host)
        service = url.hostname
        assert "staging" in services[service]["profiles"]
        assert (url.port or connection.port) == listens[service]

    rucio = staging["rucio_default"]
    rucio_cfg = configparser.ConfigParser()
    rucio_cfg.read_string(_secret(deployment, "rucio.cfg"))
    assert rucio.login == rucio_cfg["bootstrap"]["userpass_identity"]
    assert rucio.password == _secret(deployment, "rucio_root_password")
    assert staging["fts_default"].host.endswith("/fts")


def test_the_gridsim_example_serves_the_bmn_rses_from_its_volume(services: dict[str, Any]):
    config = tomllib.loads((DOCKER / "examples" / "gridsim.toml.example").read_text())
    gridsim = services["gridsim"]
    listen = gridsim["command"][gridsim["command"].index("--listen") + 1]
    port = int(listen.rpartition(":")[2])
    volume = next(v for v in gridsim["volumes"] if str(v).startswith("gridsim-storage:"))
    storage_root = volume.split(":")[1]

    assert [s["name"] for s in config["storage"]] == list(BMN_RSES)
    for storage in config["storage"]:
        lower = storage["name"].lower()
        assert storage["url"] == f"http://gridsim:{port}/storage/{lower}"
        assert storage["path"] == f"{storage_root}/{lower}"
    # The staging Rucio's RSEs name the same endpoints.
    topology = services["rucio-topology"]["command"]
    assert topology[topology.index("--gridsim-url") + 1] == f"http://gridsim:{port}"
    secret_target = next(s["target"] for s in gridsim["secrets"] if s["source"] == "gridsim_toml")
    assert gridsim["command"][gridsim["command"].index("--config") + 1] == secret_target
