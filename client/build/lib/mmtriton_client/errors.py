"""The client's one error tree; tritonclient exceptions are converted here, with ``from e``.

ClientError
 ├─ InvalidInputError        the request is wrong (checked locally, or INVALID_ARGUMENT/400)
 ├─ ServerUnavailableError   cannot connect / UNAVAILABLE / 503 (the only errors retried)
 ├─ DeadlineExceededError    the per-call timeout or overall deadline passed
 └─ InferenceError           anything else the server reported
"""

from __future__ import annotations

import socket


class ClientError(Exception):
    """Base of every error this SDK raises."""


class InvalidInputError(ClientError):
    """The input cannot be served; retrying will not help."""


class ServerUnavailableError(ClientError):
    """The server could not be reached or is not ready."""


class DeadlineExceededError(ClientError):
    """The request did not finish in time."""


class InferenceError(ClientError):
    """The server failed the request for another reason."""


_UNAVAILABLE = ("UNAVAILABLE", "503", "failed to connect", "connection refused", "connect call failed",
                "cannot connect", "name resolution", "connection reset", "broken pipe")
_DEADLINE = ("DEADLINE_EXCEEDED", "deadline exceeded", "timed out", "timeout")


def convert(error: BaseException) -> ClientError:
    """Map a tritonclient / transport exception to our tree (call as ``raise convert(e) from e``)."""
    if isinstance(error, ClientError):
        return error
    status, text = _describe(error)
    blob = f"{status} {text}".lower()
    if "invalid_argument" in blob or status == "400":
        return InvalidInputError(text)
    if isinstance(error, (TimeoutError, socket.timeout)) or any(k.lower() in blob for k in _DEADLINE):
        return DeadlineExceededError(text or "request timed out")
    if isinstance(error, (ConnectionError, OSError)) or any(k.lower() in blob for k in _UNAVAILABLE):
        return ServerUnavailableError(text or "server unavailable")
    return InferenceError(text or repr(error))


def _describe(error: BaseException) -> tuple[str, str]:
    status = getattr(error, "status", None)
    status = status() if callable(status) else status
    message = getattr(error, "message", None)
    message = message() if callable(message) else message
    return str(status or ""), str(message or error)
