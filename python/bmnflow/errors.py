"""The exceptions bmnflow raises; every Rust core error becomes one of these.

Each carries the service that failed, the server's own exception class (Rucio's
``ExceptionClass``, for example) and HTTP status when there were any, and for partial failures
``details`` saying exactly what was done and what was not.
"""

from __future__ import annotations

import builtins
from typing import Any


class BmnflowError(Exception):
    """Base of every bmnflow exception.

    :param message: What went wrong, with the ids of the objects concerned.
    :param service: The service that failed (``rucio``, ``panda``, ``fts``, ``http``, ...).
    :param server_class: The server's own exception class, when it sent one.
    :param status: The HTTP status of the failing answer, when there was one.
    :param details: For partial failures, what was and was not done.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        server_class: str | None = None,
        status: int | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.server_class = server_class
        self.status = status
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        # Airflow pickles exceptions across processes; keep the keyword-only fields.
        state = {
            "service": self.service,
            "server_class": self.server_class,
            "status": self.status,
            "details": self.details,
        }
        return (_rebuild, (type(self), self.message, state))


def _rebuild(cls: type[BmnflowError], message: str, state: dict[str, Any]) -> BmnflowError:
    return cls(message, **state)


class ConfigurationError(BmnflowError):
    """The connection or parameters are unusable: bad URL, unreadable certificate, ..."""


class AuthenticationError(BmnflowError):
    """The service refused the credentials, or none could be obtained."""


class NotFoundError(BmnflowError):
    """The object asked for does not exist, or no longer exists."""


class AlreadyExistsError(BmnflowError):
    """The object to be created exists already."""


class InvalidInputError(BmnflowError, ValueError):
    """The request is malformed; raised before anything is sent whenever bmnflow can tell."""


class ServerError(BmnflowError):
    """The service failed while handling a well-formed request."""


class TransportError(BmnflowError, ConnectionError):
    """No answer arrived: connection refused or reset, TLS failure."""


class TimeoutError(BmnflowError, builtins.TimeoutError):
    """The request or the wait took longer than allowed."""


class InternalError(BmnflowError):
    """A bug in bmnflow itself (a Rust panic, for example); never the caller's fault."""


__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "BmnflowError",
    "ConfigurationError",
    "InternalError",
    "InvalidInputError",
    "NotFoundError",
    "ServerError",
    "TimeoutError",
    "TransportError",
]
