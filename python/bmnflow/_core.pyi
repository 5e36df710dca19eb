"""Type stubs of the Rust extension ``bmnflow._core``."""

from collections.abc import Awaitable
from os import PathLike
from typing import Any

from pyarrow import RecordBatch, Table

__version__: str

def set_log_level(level: int) -> None:
    """Sets the lowest Python logging level that the core forwards."""

def shutdown() -> None:
    """Stops every call from Rust threads into Python (called at interpreter exit)."""

class diagnostics:
    @staticmethod
    def panic(message: str) -> None:
        """Panics on the calling thread; raises ``bmnflow.errors.InternalError``."""
    @staticmethod
    def panic_blocking(message: str) -> None:
        """Panics inside a runtime task; raises ``bmnflow.errors.InternalError``."""
    @staticmethod
    def panic_async(message: str) -> Awaitable[bool]:
        """Panics inside an awaited Rust future when ``message`` is not empty; else true."""
    @staticmethod
    def sleep(seconds: float) -> Awaitable[float]:
        """Sleeps in Rust; cancelling the awaitable cancels the sleep."""
    @staticmethod
    def sleep_blocking(seconds: float) -> float:
        """Sleeps in Rust with the interpreter released."""
    @staticmethod
    def sleeps_dropped() -> int:
        """How many ``sleep`` awaitables were cancelled before their end."""
    @staticmethod
    def log(level: str, message: str, fields: dict[str, object] | None = None) -> None:
        """Emits one core log event from a runtime thread."""
    @staticmethod
    def http_get(
        url: str,
        *,
        timeout: float = 10.0,
        verify_tls: bool = True,
        ca_dir: str | PathLike[str] | None = None,
        retries: int = 0,
    ) -> tuple[int, str]:
        """Fetches ``url`` through the core's HTTP layer."""

class fts:
    class FtsClient:
        """A client of one FTS3 REST endpoint; structured answers are JSON text."""

        def __init__(
            self,
            url: str,
            *,
            token: str | None = None,
            certificate: str | PathLike[str] | None = None,
            key: str | PathLike[str] | None = None,
            ca_dir: str | PathLike[str] | None = None,
            ca_file: str | PathLike[str] | None = None,
            verify_tls: bool = True,
            timeout: float = 120.0,
            retries: int = 5,
        ) -> None: ...
        def whoami(self) -> str:
            """``GET /whoami`` as JSON."""
        def submit(self, submission: str) -> str:
            """``POST /jobs`` of a JSON submission; returns the job id."""
        def job_statuses(self, job_ids: list[str], *, files: bool = False) -> str:
            """Bulk ``GET /jobs/a,b,...`` as a JSON list; unknown jobs carry ``404``."""
        def job_files(self, job_id: str) -> str:
            """``GET /jobs/{id}/files`` as JSON."""
        def list_jobs(self, states: list[str], *, limit: int | None = None) -> str:
            """``GET /jobs?state_in=...`` as JSON."""
        def cancel_jobs(self, job_ids: list[str]) -> str:
            """``DELETE /jobs/a,b,...``; the cancelled jobs as JSON."""
        def cancel_files(self, job_id: str, file_ids: list[int]) -> None:
            """``DELETE /jobs/{id}/files/a,b,...``."""
        def set_priority(self, job_id: str, priority: int) -> None:
            """``POST /jobs/{id}`` with a new priority (1 to 5)."""
        def transfer_step(
            self, transfers: list[RecordBatch], request_key: str, options: str
        ) -> tuple[str, RecordBatch]:
            """One step of a bulk transfer: ``(report_json, per-file batch)``."""
        def transfer(
            self,
            transfers: list[RecordBatch],
            request_key: str,
            options: str,
            *,
            poll_interval: float = 2.0,
            timeout: float | None = None,
        ) -> tuple[str, RecordBatch]:
            """A whole bulk transfer, blocking: ``(report_json, per-file batch)``."""
        def wait_jobs(
            self,
            job_ids: list[str],
            *,
            wait_for: str = "all",
            poll_interval: float = 2.0,
            timeout: float | None = None,
        ) -> Awaitable[str]:
            """Waits until all (or any) jobs are terminal; JSON ``terminal/active/missing``."""

    @staticmethod
    def plan(transfers: list[RecordBatch], request_key: str, options: str) -> str:
        """Validates and plans transfers without sending anything; the FTS jobs as JSON."""

# -- Rucio ------------------------------------------------------------------------------------

class RucioClient:
    """A Rucio client; DIDs are ``scope:name`` strings, listings are ``pyarrow.Table``s."""

    def __init__(
        self,
        url: str,
        account: str,
        *,
        auth_type: str = "userpass",
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        vo: str | None = None,
        ca_dir: str | PathLike[str] | None = None,
        client_cert: str | PathLike[str] | None = None,
        client_key: str | PathLike[str] | None = None,
        verify_tls: bool = True,
        chunk_size: int = 500,
        concurrency: int = 4,
        timeout: float = 120.0,
    ) -> None: ...
    @property
    def account(self) -> str: ...
    def create_dataset(
        self, did: str, *, meta: dict[str, Any] | None = None, lifetime: int | None = None
    ) -> None: ...
    def create_container(
        self, did: str, *, meta: dict[str, Any] | None = None, lifetime: int | None = None
    ) -> None: ...
    def attach(self, parent: str, children: list[str]) -> None: ...
    def detach(self, parent: str, children: list[str]) -> None: ...
    def close(self, did: str) -> None: ...
    def list_content(self, did: str) -> list[dict[str, Any]]: ...
    def get_metadata(self, did: str) -> dict[str, Any]: ...
    def set_metadata(self, did: str, meta: dict[str, Any]) -> None: ...
    def add_replicas(
        self, rse: str, files: Table | RecordBatch, *, default_scope: str | None = None
    ) -> int: ...
    def register_files(
        self,
        dataset: str,
        rse: str,
        files: Table | RecordBatch,
        *,
        default_scope: str | None = None,
    ) -> int: ...
    def list_replicas(
        self, dids: list[str], *, rse_expression: str | None = None, all_states: bool = False
    ) -> Table: ...
    def list_files(self, did: str) -> Table: ...
    def add_rule(
        self,
        dids: list[str],
        rse_expression: str,
        *,
        copies: int = 1,
        lifetime: int | None = None,
        grouping: str | None = None,
        weight: str | None = None,
        activity: str | None = None,
        asynchronous: bool = False,
        comment: str | None = None,
        account: str | None = None,
    ) -> list[str]: ...
    def get_rule(self, rule_id: str) -> dict[str, Any]: ...
    def get_rule_async(self, rule_id: str) -> Awaitable[str]:
        """The rule as JSON text."""
    def list_rules(self, did: str) -> list[dict[str, Any]]: ...
    def delete_rule(self, rule_id: str, *, purge_replicas: bool = False) -> None: ...
    def update_rule_lifetime(self, rule_id: str, lifetime: int | None) -> None: ...
    def wait_rule(
        self,
        rule_id: str,
        *,
        poll_min: float = 2.0,
        poll_max: float = 60.0,
        stuck_grace: float = 600.0,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def wait_rule_async(
        self,
        rule_id: str,
        *,
        poll_min: float = 2.0,
        poll_max: float = 60.0,
        stuck_grace: float = 600.0,
        timeout: float | None = None,
    ) -> Awaitable[str]:
        """Waits for the rule to be OK; the rule as JSON text."""
    def add_subscription(
        self,
        name: str,
        filter: dict[str, Any],
        replication_rules: list[dict[str, Any]],
        *,
        comments: str | None = None,
        lifetime: int | None = None,
        retroactive: bool = False,
    ) -> str: ...
    def update_subscription(
        self,
        name: str,
        filter: dict[str, Any],
        replication_rules: list[dict[str, Any]],
        *,
        comments: str | None = None,
        lifetime: int | None = None,
        retroactive: bool = False,
    ) -> None: ...
    def get_subscription(self, name: str, *, account: str | None = None) -> dict[str, Any]: ...
    def list_subscriptions(self, *, account: str | None = None) -> list[dict[str, Any]]: ...

# -- PanDA -------------------------------------------------------------------------------

class PandaClient:
    """A PanDA ``/api/v1`` client; blocking methods, and async twins for triggers."""

    def __init__(
        self,
        url: str,
        *,
        vo: str | None = None,
        role: str | None = None,
        token: str | None = None,
        token_file: str | PathLike[str] | None = None,
        proxy: str | PathLike[str] | None = None,
        ca_dir: str | PathLike[str] | None = None,
        verify_tls: bool = True,
        timeout: float = 120.0,
        retries: int = 5,
    ) -> None: ...
    def submit_spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Validates, renders and submits a BM@N task spec.

        :returns: ``{task_id, created, code, message}``.
        """
    def submit_task(
        self, task_parameters: dict[str, Any], parent_task_id: int | None = None
    ) -> dict[str, Any]:
        """Submits task parameters as they are."""
    def task_status(self, task_id: int) -> str: ...
    def task_status_async(self, task_id: int) -> Awaitable[str]: ...
    def task_details(
        self, task_id: int, include_parameters: bool = False, include_status: bool = True
    ) -> dict[str, Any]: ...
    def task_parameters(self, task_id: int) -> dict[str, Any]: ...
    def task_job_ids(self, task_id: int) -> list[int]: ...
    def tasks_modified_since(
        self,
        since: str,
        source_label: str = "user",
        full: bool = False,
        min_task_id: int | None = None,
    ) -> list[dict[str, Any]]: ...
    def kill_task(self, task_id: int, broadcast: bool = False) -> str: ...
    def kill_task_async(self, task_id: int, broadcast: bool = False) -> Awaitable[str]: ...
    def finish_task(self, task_id: int, soft: bool = False, broadcast: bool = False) -> str: ...
    def retry_task(self, task_id: int, new_parameters: dict[str, Any] | None = None) -> str: ...
    def job_descriptions(self, job_ids: list[int]) -> list[dict[str, Any] | None]: ...
    def job_statuses(self, job_ids: list[int]) -> list[dict[str, Any]]: ...
    def kill_jobs(self, job_ids: list[int], code: int | None = None) -> list[bool]: ...
    def is_alive(self) -> None: ...
    def task_outcome(self, task_id: int) -> dict[str, Any]:
        """Status, jobs by state, output and log datasets, errors of failed jobs."""
    def task_outcome_async(self, task_id: int) -> Awaitable[str]:
        """The outcome as JSON text."""
    def wait_for_task(
        self, task_id: int, initial: float = 5.0, max_interval: float = 60.0
    ) -> Awaitable[str]:
        """Polls until the task's status is final; returns it."""

def validate_task_spec(spec: dict[str, Any]) -> None:
    """Raises ``InvalidInputError`` listing every problem of a task spec."""

def render_task_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The PanDA task parameters of a validated task spec."""

class split:
    @staticmethod
    def split_files(
        files: object,
        secondaries: list[tuple[object, float | None, bool, bool]],
        *,
        n_files_per_job: int | None = None,
        n_gb_per_job: float | None = None,
        n_events_per_job: int | None = None,
        max_files_per_job: int | None = None,
        n_events_per_file: int | None = None,
        output_allowance: int | None = None,
        boundaries: list[str] = ...,
    ) -> tuple[Any, Any]:
        """Splits an Arrow file list into jobs: ``(pieces, jobs)`` as pyarrow Tables."""
    @staticmethod
    def monte_carlo(
        n_events: int, n_events_per_job: int, *, first_event: int = 1, seed_offset: int = 0
    ) -> Any:
        """Cuts Monte Carlo events into jobs: a pyarrow Table with first event and seed."""

class watch:
    @staticmethod
    def wait_some(
        kind: str, conn_id: str, connection: str, ids: list[str], timeout: float
    ) -> Awaitable[str]:
        """Waits through the process's watcher until any of ``ids`` ended or ``timeout``
        seconds passed; the report as JSON ``{"ended": {...}, "pending": {...}}``.
        ``connection`` is the Airflow connection in its JSON form."""
    @staticmethod
    def stats() -> str:
        """The process watcher's counters per endpoint and kind, as JSON."""
