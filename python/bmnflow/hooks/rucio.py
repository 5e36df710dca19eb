"""The Airflow hook of a Rucio server: a connection turned into a ``bmnflow`` Rucio client."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import BaseHook

import bmnflow
from bmnflow._core import RucioClient
from bmnflow.errors import ConfigurationError

#: The authentication types a connection may name in its ``auth_type`` extra.
AUTH_TYPES = ("userpass", "oidc", "x509")

#: Files to register: rows (dicts), an Arrow table or record batch, or a Parquet file.
FilesInput = list[dict[str, Any]] | pa.Table | pa.RecordBatch | str | os.PathLike[str]


class RucioHook(BaseHook):
    """Reaches a Rucio server through an Airflow connection of type ``rucio``.

    The connection's host is the server URL; login and password are the userpass identity
    (for ``auth_type`` ``oidc`` the password holds the JWT). Extras: ``account`` (default: the
    login), ``auth_type`` (``userpass``, ``oidc`` or ``x509``), ``vo``, ``ca_dir``,
    ``client_cert`` and ``client_key`` (an X.509 proxy), ``verify_tls``, ``webui_url`` (for
    links to rules), ``chunk_size`` and ``concurrency`` (bulk calls).

    :param rucio_conn_id: The Airflow connection id.
    """

    conn_name_attr = "rucio_conn_id"
    default_conn_name = "rucio_default"
    conn_type = "rucio"
    hook_name = "Rucio"

    def __init__(self, rucio_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.rucio_conn_id = rucio_conn_id
        bmnflow.sync_log_level()

    @functools.cached_property
    def client(self) -> RucioClient:
        """The client of the connection, built once per hook."""
        connection = self.get_connection(self.rucio_conn_id)
        return client_from(connection, connection.extra_dejson)

    def get_conn(self) -> RucioClient:
        """The client of the connection (Airflow's name for it)."""
        return self.client

    async def aget_client(self) -> RucioClient:
        """The client, built without blocking the event loop (for triggers)."""
        connection = await BaseHook.aget_connection(self.rucio_conn_id)
        return client_from(connection, await connection.aextra_dejson())

    def webui_url(self) -> str | None:
        """The Rucio web UI's base URL from the connection's ``webui_url`` extra, if any."""
        url = self.get_connection(self.rucio_conn_id).extra_dejson.get("webui_url")
        return str(url).rstrip("/") if url else None

    def test_connection(self) -> tuple[bool, str]:
        """Lists the account's subscriptions: proves the URL, credentials and account."""
        try:
            self.client.list_subscriptions()
        except Exception as error:
            return False, str(error)
        return True, f"authenticated to Rucio as {self.client.account}"

    # -- operations used by operators, sensors and tools -----------------------------------

    def register_files(self, dataset: str, rse: str, files: FilesInput) -> int:
        """Registers replicas of ``files`` on ``rse`` and attaches them to ``dataset``.

        :param dataset: ``scope:name`` of the dataset; its scope is the files' default scope.
        :param rse: The RSE holding the files.
        :param files: Rows with ``name``, ``bytes``, ``adler32`` and optionally ``scope``,
            ``md5``, ``pfn``, ``events``; or an Arrow table or Parquet file of those columns.
        :return: How many files are registered.
        """
        return self.client.register_files(dataset, rse, files_table(files))

    def get_subscription(self, name: str) -> dict[str, Any]:
        """The account's subscription ``name``; :class:`~bmnflow.errors.NotFoundError` if none."""
        return self.client.get_subscription(name)

    def add_subscription(
        self, name: str, *, filter: dict, replication_rules: list, comments: str
    ) -> str:
        """Creates a subscription of the connection's account; returns its id."""
        return self.client.add_subscription(name, filter, replication_rules, comments=comments)

    def update_subscription(
        self, name: str, *, filter: dict, replication_rules: list, comments: str
    ) -> None:
        """Replaces the filter, rules and comment of the account's subscription ``name``."""
        self.client.update_subscription(name, filter, replication_rules, comments=comments)


def client_from(connection: Any, extra: dict[str, Any]) -> RucioClient:
    """A client for an Airflow connection of type ``rucio`` and its decoded extras."""
    if not connection.host:
        raise ConfigurationError(
            f"connection {connection.conn_id!r} has no host: set the Rucio server URL"
        )
    url = connection.host
    if "://" not in url:
        url = f"https://{url}"
    if connection.port and url.count(":") < 2:
        url = f"{url}:{connection.port}"
    auth_type = str(extra.get("auth_type") or "userpass").lower()
    if auth_type not in AUTH_TYPES:
        raise ConfigurationError(
            f"connection {connection.conn_id!r}: auth_type {auth_type!r} must be one of "
            f"{', '.join(AUTH_TYPES)}"
        )
    account = extra.get("account") or connection.login
    if not account:
        raise ConfigurationError(f"connection {connection.conn_id!r} names no Rucio account")

    options: dict[str, Any] = {}
    for key in ("chunk_size", "concurrency"):
        if extra.get(key) is not None:
            options[key] = int(extra[key])
    return RucioClient(
        url,
        account,
        auth_type=auth_type,
        username=connection.login,
        password=connection.password if auth_type == "userpass" else None,
        token=connection.password if auth_type == "oidc" else None,
        vo=extra.get("vo") or None,
        ca_dir=extra.get("ca_dir") or None,
        client_cert=extra.get("client_cert") or None,
        client_key=extra.get("client_key") or None,
        verify_tls=_flag(extra.get("verify_tls", True)),
        **options,
    )


def files_table(files: FilesInput) -> pa.Table:
    """The files as an Arrow table, from rows, a table or record batch, or a Parquet path."""
    if isinstance(files, pa.Table):
        return files
    if isinstance(files, pa.RecordBatch):
        return pa.Table.from_batches([files])
    if isinstance(files, str | os.PathLike):
        return pq.read_table(Path(files))
    return pa.Table.from_pylist(list(files))


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off")
    return bool(value)
