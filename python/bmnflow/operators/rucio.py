"""Operators that create datasets, register files and add rules in Rucio."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from bmnflow.errors import AlreadyExistsError
from bmnflow.hooks.rucio import FilesInput, RucioHook
from bmnflow.links.rucio import RULE_URL_KEY, RucioRuleLink, rule_url


class RucioCreateDatasetOperator(BaseOperator):
    """Creates a Rucio dataset (or container), such as ``bmn.run8:raw.run8123``.

    :param did: ``scope:name`` of the new dataset.
    :param meta: Metadata to set on it, such as ``{"run_number": 8123}``.
    :param lifetime: Seconds until the server deletes it; never when unset.
    :param container: Create a container instead of a dataset.
    :param exists_ok: Succeed when it exists already, so that a retried task completes.
    :param rucio_conn_id: The Airflow connection of the Rucio server.
    """

    template_fields: Sequence[str] = ("did", "meta")

    def __init__(
        self,
        *,
        did: str,
        meta: dict[str, Any] | None = None,
        lifetime: int | None = None,
        container: bool = False,
        exists_ok: bool = True,
        rucio_conn_id: str = RucioHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.did = did
        self.meta = meta
        self.lifetime = lifetime
        self.container = container
        self.exists_ok = exists_ok
        self.rucio_conn_id = rucio_conn_id

    def execute(self, context: Context) -> str:
        client = RucioHook(self.rucio_conn_id).client
        create = client.create_container if self.container else client.create_dataset
        try:
            create(self.did, meta=self.meta, lifetime=self.lifetime)
            self.log.info("created %s", self.did)
        except AlreadyExistsError:
            if not self.exists_ok:
                raise
            self.log.info("%s exists already", self.did)
        return self.did


class RucioRegisterFilesOperator(BaseOperator):
    """Registers replicas of files on an RSE and attaches the files to a dataset.

    Safe to retry: files registered already with the same size and checksum count as done,
    so a re-run after a partial failure registers only what is missing. A file registered
    with another checksum fails the task, naming it (``details`` of the error).

    :param dataset: ``scope:name`` of the dataset; its scope is the files' default scope.
    :param rse: The RSE holding the files, such as ``LHEP_ONLINE``.
    :param files: Rows with ``name``, ``bytes``, ``adler32`` and optionally ``scope``,
        ``md5``, ``pfn``, ``events``; an Arrow table of those columns; or a Parquet file.
    :param rucio_conn_id: The Airflow connection of the Rucio server.
    """

    template_fields: Sequence[str] = ("dataset", "rse", "files")

    def __init__(
        self,
        *,
        dataset: str,
        rse: str,
        files: FilesInput,
        rucio_conn_id: str = RucioHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        self.rse = rse
        self.files = files
        self.rucio_conn_id = rucio_conn_id

    def execute(self, context: Context) -> int:
        registered = RucioHook(self.rucio_conn_id).register_files(
            self.dataset, self.rse, self.files
        )
        self.log.info("%d files registered on %s in %s", registered, self.rse, self.dataset)
        return registered


class RucioAddRuleOperator(BaseOperator):
    """Adds a replication rule, or finds the identical one that exists already.

    Returns the rule id (the first, when several DIDs are given) and links to it in the Rucio
    web UI when the connection's ``webui_url`` extra is set.

    :param dids: ``scope:name`` of the DID, or a list of them (one rule each).
    :param rse_expression: Where the copies live, such as ``DLNP_TAPE``.
    :param copies: How many copies.
    :param lifetime: Seconds until the rule expires; never when unset.
    :param grouping: ``DATASET`` (default), ``ALL`` or ``NONE``.
    :param activity: The transfer activity.
    :param comment: A free comment.
    :param asynchronous: Let the judge-injector evaluate the rule later.
    :param rucio_conn_id: The Airflow connection of the Rucio server.
    """

    template_fields: Sequence[str] = ("dids", "rse_expression", "comment")
    operator_extra_links = (RucioRuleLink(),)

    def __init__(
        self,
        *,
        dids: str | list[str],
        rse_expression: str,
        copies: int = 1,
        lifetime: int | None = None,
        grouping: str | None = None,
        activity: str | None = None,
        comment: str | None = None,
        asynchronous: bool = False,
        rucio_conn_id: str = RucioHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dids = dids
        self.rse_expression = rse_expression
        self.copies = copies
        self.lifetime = lifetime
        self.grouping = grouping
        self.activity = activity
        self.comment = comment
        self.asynchronous = asynchronous
        self.rucio_conn_id = rucio_conn_id

    def execute(self, context: Context) -> str:
        hook = RucioHook(self.rucio_conn_id)
        dids = [self.dids] if isinstance(self.dids, str) else list(self.dids)
        rule_ids = hook.client.add_rule(
            dids,
            self.rse_expression,
            copies=self.copies,
            lifetime=self.lifetime,
            grouping=self.grouping,
            activity=self.activity,
            comment=self.comment,
            asynchronous=self.asynchronous,
        )
        for did, rule_id in zip(dids, rule_ids, strict=True):
            self.log.info("rule %s: %s on %s", rule_id, did, self.rse_expression)
        url = rule_url(hook.webui_url(), rule_ids[0])
        if url:
            context["ti"].xcom_push(key=RULE_URL_KEY, value=url)
        return rule_ids[0]
