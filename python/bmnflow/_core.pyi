"""Type stubs of the Rust extension ``bmnflow._core``."""

from collections.abc import Awaitable
from os import PathLike

__version__: str

def set_log_level(level: int) -> None:
    """Sets the lowest Python logging level that the core forwards."""

def stop_logging() -> None:
    """Stops forwarding core log events to Python (called at interpreter exit)."""

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
