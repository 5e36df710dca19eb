"""The Airflow hook of a PanDA server: a connection turned into a ``bmnflow`` PanDA client."""

from __future__ import annotations

import functools
from typing import Any

from airflow.sdk import BaseHook

import bmnflow
from bmnflow._core import PandaClient
from bmnflow.errors import ConfigurationError


class PandaHook(BaseHook):
    """Reaches a PanDA server through an Airflow connection of type ``panda``.

    The connection's host is the server URL (``https://pandaserver.jinr.ru:25443``).
    Credentials are an OIDC id token, as a token file (extra ``token_file``, re-read when it
    changes) or in the password field, sent with the VO and role of the extras ``vo`` and
    ``role``; or an X.509 proxy (extra ``proxy``). Other extras: ``ca_dir`` (the grid CA
    folder), ``verify_tls``, ``monitor_url`` (the PanDA monitor, for links to tasks).

    :param panda_conn_id: The Airflow connection id.
    """

    conn_name_attr = "panda_conn_id"
    default_conn_name = "panda_default"
    conn_type = "panda"
    hook_name = "PanDA"

    def __init__(self, panda_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.panda_conn_id = panda_conn_id
        bmnflow.sync_log_level()

    @functools.cached_property
    def client(self) -> PandaClient:
        """The client of the connection, built once per hook."""
        connection = self.get_connection(self.panda_conn_id)
        return client_from(connection, connection.extra_dejson)

    def get_conn(self) -> PandaClient:
        """The client of the connection (Airflow's name for it)."""
        return self.client

    async def aget_client(self) -> PandaClient:
        """The client, built without blocking the event loop (for triggers)."""
        connection = await BaseHook.aget_connection(self.panda_conn_id)
        extra = await connection.aextra_dejson() if hasattr(connection, "aextra_dejson") else None
        return client_from(connection, extra if extra is not None else connection.extra_dejson)

    def monitor_url(self) -> str | None:
        """The PanDA monitor's base URL from the ``monitor_url`` extra, if any."""
        url = self.get_connection(self.panda_conn_id).extra_dejson.get("monitor_url")
        return str(url).rstrip("/") if url else None

    def test_connection(self) -> tuple[bool, str]:
        """Calls ``system/is_alive``: proves the URL and TLS settings."""
        try:
            self.client.is_alive()
        except Exception as error:
            return False, str(error)
        return True, "the PanDA server is alive"


def task_url(monitor_url: str | None, task_id: int) -> str | None:
    """The PanDA monitor page of a task, when the connection names the monitor."""
    if not monitor_url:
        return None
    return f"{monitor_url.rstrip('/')}/task/{task_id}/"


def client_from(connection: Any, extra: dict[str, Any]) -> PandaClient:
    """A client for an Airflow connection of type ``panda`` and its decoded extras."""
    if not connection.host:
        raise ConfigurationError(
            f"connection {connection.conn_id!r} has no host: set the PanDA server URL"
        )
    url = connection.host
    if "://" not in url:
        url = f"https://{url}"
    if connection.port and url.count(":") < 2:
        url = f"{url}:{connection.port}"

    token = connection.password or None
    token_file = extra.get("token_file") or None
    proxy = extra.get("proxy") or None
    vo = extra.get("vo") or None
    if (token or token_file) and not vo:
        raise ConfigurationError(
            f"connection {connection.conn_id!r}: an OIDC token needs the vo extra (sent as Origin)"
        )
    return PandaClient(
        url,
        vo=vo,
        role=extra.get("role") or None,
        token=token if not token_file else None,
        token_file=token_file,
        proxy=proxy,
        ca_dir=extra.get("ca_dir") or None,
        verify_tls=_flag(extra.get("verify_tls", True)),
    )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off")
    return bool(value)
