"""Authentication against the real server: userpass tokens, re-authentication, raw JWTs."""

from __future__ import annotations

import sqlite3

import pytest

from bmnflow._core import RucioClient
from bmnflow.errors import AuthenticationError, ConfigurationError, InvalidInputError
from bmnflow.testing.rucio_server import RucioServer

pytestmark = pytest.mark.rucio


def _tokens(server: RucioServer) -> int:
    assert server.workdir is not None
    with sqlite3.connect(server.workdir / "rucio.db") as db:
        return db.execute("SELECT COUNT(*) FROM tokens WHERE account = 'root'").fetchone()[0]


def test_one_token_serves_many_calls(rucio_server: RucioServer):
    # Re-authentication after a 401 is tested in the core (rucio::client), where a server can
    # be made to refuse a token; Rucio itself keeps accepting a token it has cached.
    client = RucioClient(rucio_server.url, "root", username="root", password=rucio_server.password)
    before = _tokens(rucio_server)
    for _ in range(3):
        client.list_subscriptions()
    assert _tokens(rucio_server) == before + 1


def test_a_wrong_password_is_cannot_authenticate_and_never_shown(rucio_server: RucioServer):
    client = RucioClient(rucio_server.url, "root", username="root", password="wrong-secret")
    with pytest.raises(AuthenticationError) as caught:
        client.list_subscriptions()
    assert caught.value.server_class == "CannotAuthenticate"
    assert "wrong-secret" not in str(caught.value)


def test_a_raw_jwt_is_sent_as_the_token(rucio_server: RucioServer):
    token = rucio_server.token()
    client = RucioClient(rucio_server.url, "root", auth_type="oidc", token=token)
    assert isinstance(client.list_subscriptions(), list)

    refused = RucioClient(rucio_server.url, "root", auth_type="oidc", token="not-a-token")
    with pytest.raises(AuthenticationError) as caught:
        refused.list_subscriptions()
    assert caught.value.status == 401


def test_incomplete_credentials_are_refused_before_connecting(tmp_path):
    # Port 9 (discard) is never contacted: the configuration is refused first.
    url = "http://127.0.0.1:9"
    with pytest.raises(InvalidInputError, match="user name and a password"):
        RucioClient(url, "root", username="root")
    with pytest.raises(InvalidInputError, match="client certificate"):
        RucioClient(url, "root", auth_type="x509")
    with pytest.raises(ConfigurationError, match="client certificate"):
        RucioClient(url, "root", auth_type="x509", client_cert=tmp_path / "x509up_u0")
    with pytest.raises(InvalidInputError, match="auth_type"):
        RucioClient(url, "root", auth_type="kerberos")
