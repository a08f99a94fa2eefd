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


_BY_STATUS = {
    "StatusCode.INVALID_ARGUMENT": InvalidInputError, "400": InvalidInputError,
    "StatusCode.UNAVAILABLE": ServerUnavailableError, "503": ServerUnavailableError,
    "StatusCode.DEADLINE_EXCEEDED": DeadlineExceededError, "504": DeadlineExceededError,
}
_UNAVAILABLE = ("failed to connect", "connection refused", "connect call failed", "cannot connect",
                "name resolution", "connection reset", "broken pipe")
_DEADLINE = ("deadline exceeded", "timed out")


def convert(error: BaseException) -> ClientError:
    """Map a tritonclient / transport exception to our tree (call as ``raise convert(e) from e``).

    The status code decides; the exception type next; message keywords only when neither says.
    """
    if isinstance(error, ClientError):
        return error
    status, text = _describe(error)
    if status in _BY_STATUS:
        return _BY_STATUS[status](text)
    if isinstance(error, (TimeoutError, socket.timeout)):
        return DeadlineExceededError(text or "request timed out")
    if isinstance(error, (ConnectionError, OSError)):
        return ServerUnavailableError(text or "server unavailable")
    if not status or status == "None":
        lowered = text.lower()
        if any(k in lowered for k in _UNAVAILABLE):
            return ServerUnavailableError(text)
        if any(k in lowered for k in _DEADLINE):
            return DeadlineExceededError(text)
    return InferenceError(text or repr(error))


def _describe(error: BaseException) -> tuple[str, str]:
    status = getattr(error, "status", None)
    status = status() if callable(status) else status
    message = getattr(error, "message", None)
    message = message() if callable(message) else message
    return str(status or ""), str(message or error)
