"""The Airflow hook of an FTS3 server: a connection turned into a ``bmnflow`` FTS client."""

from __future__ import annotations

import functools
import json
import os
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import BaseHook

import bmnflow
from bmnflow._core import fts as _fts
from bmnflow.errors import ConfigurationError, InvalidInputError

#: The authentication types a connection may name in its ``auth_type`` extra.
AUTH_TYPES = ("none", "token", "certificate")

#: Transfers: rows (dicts), an Arrow table, or the path of a Parquet file.
TransfersInput = list[dict[str, Any]] | pa.Table | str | os.PathLike[str]

#: The port of the FTS web monitor next to the REST port 8446, by FTS convention.
WEB_MONITOR_PORT = 8449


class FtsHook(BaseHook):
    """Reaches an FTS3 server through an Airflow connection of type ``fts``.

    The connection's host is the REST endpoint URL (``https://fts.example:8446``); for
    ``auth_type`` ``token`` the password holds the bearer token. Extras: ``auth_type``
    (``none``, ``token`` or ``certificate``), ``certificate`` and ``key`` (PEM paths; an X.509
    proxy holds both), ``ca_dir``, ``verify_tls``, ``web_monitor`` (URL of a job page with
    ``{job_id}``, for links).

    :param fts_conn_id: The Airflow connection id.
    """

    conn_name_attr = "fts_conn_id"
    default_conn_name = "fts_default"
    conn_type = "fts"
    hook_name = "FTS"

    def __init__(self, fts_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.fts_conn_id = fts_conn_id
        bmnflow.sync_log_level()

    @functools.cached_property
    def client(self) -> _fts.FtsClient:
        """The client of the connection, built once per hook."""
        connection = self.get_connection(self.fts_conn_id)
        return client_from(connection, connection.extra_dejson)

    def get_conn(self) -> _fts.FtsClient:
        """The client of the connection (Airflow's name for it)."""
        return self.client

    async def aget_client(self) -> _fts.FtsClient:
        """The client, built without blocking the event loop (for triggers)."""
        connection = await BaseHook.aget_connection(self.fts_conn_id)
        extra = await connection.aextra_dejson() if hasattr(connection, "aextra_dejson") else None
        return client_from(connection, extra if extra is not None else connection.extra_dejson)

    def test_connection(self) -> tuple[bool, str]:
        """Asks ``whoami``: proves the URL and the credentials."""
        try:
            who = self.whoami()
        except Exception as error:
            return False, str(error)
        return True, f"FTS sees {who.get('user_dn')} of {', '.join(who.get('vos') or [])}"

    def web_monitor_url(self, job_id: str) -> str:
        """The FTS web monitor's page of a job."""
        connection = self.get_connection(self.fts_conn_id)
        template = connection.extra_dejson.get("web_monitor")
        if template:
            return str(template).format(job_id=job_id)
        host = urlsplit(endpoint_url(connection)).hostname
        return f"https://{host}:{WEB_MONITOR_PORT}/fts3/ftsmon/#/job/{job_id}"

    # -- operations used by operators, sensors and tools -----------------------------------

    def whoami(self) -> dict[str, Any]:
        """What FTS knows of the caller: ``user_dn``, ``vos``, ``delegation_id``, ..."""
        return json.loads(self.client.whoami())

    def job_statuses(self, job_ids: list[str], *, files: bool = False) -> list[dict[str, Any]]:
        """The jobs (100 a query); unknown ones have ``http_status`` ``404 Not Found``."""
        return json.loads(self.client.job_statuses(list(job_ids), files=files))

    def list_jobs(self, states: list[str], *, limit: int | None = None) -> list[dict[str, Any]]:
        """The caller's jobs in ``states`` (FTS's default, the active ones, when empty)."""
        return json.loads(self.client.list_jobs(list(states), limit=limit))

    def cancel_jobs(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """Cancels jobs; those already terminal are left as they are."""
        return json.loads(self.client.cancel_jobs(list(job_ids)))

    def plan(
        self, transfers: TransfersInput, request_key: str, options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Validates and plans transfers without sending anything; the FTS jobs it would send."""
        return json.loads(_fts.plan(transfer_batches(transfers), request_key, json.dumps(options)))

    def transfer_step(
        self, transfers: TransfersInput, request_key: str, options: dict[str, Any]
    ) -> tuple[dict[str, Any], pa.Table]:
        """One step of a bulk transfer: finds what was submitted before under ``request_key``,
        resubmits recoverable failures, submits what the per-link limits allow.

        :return: The report (``summary``, ``progress``, ``job_ids``) and the per-file table.
        """
        report, batch = self.client.transfer_step(
            transfer_batches(transfers), request_key, json.dumps(options)
        )
        return json.loads(report), pa.Table.from_batches([batch])

    def transfer(
        self,
        transfers: TransfersInput,
        request_key: str,
        options: dict[str, Any],
        *,
        poll_interval: float = 10.0,
        timeout: float | None = None,
    ) -> tuple[dict[str, Any], pa.Table]:
        """A whole bulk transfer, blocking until every file has its final outcome."""
        report, batch = self.client.transfer(
            transfer_batches(transfers),
            request_key,
            json.dumps(options),
            poll_interval=poll_interval,
            timeout=timeout,
        )
        return json.loads(report), pa.Table.from_batches([batch])


def endpoint_url(connection: Any) -> str:
    """The REST endpoint URL of a connection: its host, with scheme and port if missing."""
    if not connection.host:
        raise ConfigurationError(
            f"connection {connection.conn_id!r} has no host: set the FTS endpoint URL"
        )
    url = str(connection.host)
    if "://" not in url:
        url = f"https://{url}"
    if connection.port and url.count(":") < 2:
        url = f"{url}:{connection.port}"
    return url


def client_from(connection: Any, extra: dict[str, Any]) -> _fts.FtsClient:
    """A client for an Airflow connection of type ``fts`` and its decoded extras."""
    auth_type = str(extra.get("auth_type") or "none").lower()
    if auth_type not in AUTH_TYPES:
        raise ConfigurationError(
            f"connection {connection.conn_id!r}: auth_type {auth_type!r} must be one of "
            f"{', '.join(AUTH_TYPES)}"
        )
    if auth_type == "token" and not connection.password:
        raise ConfigurationError(
            f"connection {connection.conn_id!r}: auth_type token needs the token as password"
        )
    if auth_type == "certificate" and not extra.get("certificate"):
        raise ConfigurationError(
            f"connection {connection.conn_id!r}: auth_type certificate needs the "
            "certificate extra (an X.509 proxy path)"
        )
    return _fts.FtsClient(
        endpoint_url(connection),
        token=connection.password if auth_type == "token" else None,
        certificate=extra.get("certificate") if auth_type == "certificate" else None,
        key=extra.get("key") or None,
        ca_dir=extra.get("ca_dir") or None,
        verify_tls=_flag(extra.get("verify_tls", True)),
    )


def transfer_batches(transfers: TransfersInput) -> list[pa.RecordBatch]:
    """The transfers as Arrow record batches, from rows, a table or a Parquet path.

    Rows are dicts with ``sources`` (a list) or ``source``, ``destination``, and optionally
    ``filesize``, ``checksum``, ``metadata`` (a dict), ``activity``, ``source_storage``,
    ``destination_storage``.
    """
    if isinstance(transfers, str | os.PathLike):
        table = pq.read_table(transfers)
    elif isinstance(transfers, pa.Table):
        table = transfers
    elif isinstance(transfers, list):
        rows = [_row(row, index) for index, row in enumerate(transfers)]
        # Every key of any row becomes a column; pyarrow alone would take the first row's.
        columns = dict.fromkeys(key for row in rows for key in row)
        table = pa.table({key: [row.get(key) for row in rows] for key in columns})
    else:
        raise InvalidInputError(
            f"transfers must be rows, an Arrow table or a Parquet path, not {type(transfers)}"
        )
    return table.combine_chunks().to_batches()


def _row(row: dict[str, Any], index: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InvalidInputError(f"transfer {index} is a {type(row).__name__}, not a dict")
    metadata = row.get("metadata")
    if metadata is None or isinstance(metadata, str):
        return row
    return {**row, "metadata": json.dumps(metadata, separators=(",", ":"))}


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off")
    return bool(value)
