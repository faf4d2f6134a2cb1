"""The one error boundary of the Docker adapter: docker/requests errors -> runtime.base errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import requests
import urllib3.exceptions

from runtime.base import Conflict, EngineError, EngineUnavailable, Forbidden, InvalidSpec, NotFound

# Server errors that say the engine (or what it depends on) is down, not that the request is bad.
_DOWN_STATUSES = frozenset({502, 503, 504})
_DOWN_MESSAGES = (
    "connection refused",
    "connection reset",
    "i/o timeout",
    "deadline exceeded",
    "transport is closing",
    "daemon is shutting down",
    "is the docker daemon running",
    "fetching server api version",
)
# Podman 4.3 answers these with a 500 and its own words, where Docker answers 409 and 403
_CONFLICT_MESSAGES = ("is already in use", "already exists", "container state improper", "with more than one tag",
                      "update out of sequence")  # Swarm's answer (500) to an update at a stale version
_FORBIDDEN_MESSAGES = ("network is being used", "network is already connected", "has dependent containers")
# and this one (a container removed while it was being read), where Docker answers 404
_GONE_MESSAGES = ("no such container",)
_TRANSPORT_ERRORS = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    ConnectionError,
)


def _message(error: Exception) -> str:
    explanation = getattr(error, "explanation", None)
    return str(explanation or error)


def translate(error: Exception) -> EngineError:
    """The runtime error that stands for `error` (a docker, requests or socket error)."""
    message = _message(error)
    if isinstance(error, docker.errors.APIError) and error.status_code is not None:
        status = error.status_code
        if status == 404 or (status == 500 and _says(message, _GONE_MESSAGES)):
            return NotFound(message)
        if status == 403 or (status == 500 and _says(message, _FORBIDDEN_MESSAGES)):
            return Forbidden(message)
        if status == 409 or (status == 500 and _says(message, _CONFLICT_MESSAGES)):
            return Conflict(message)
        if status in _DOWN_STATUSES or (status >= 500 and _says(message, _DOWN_MESSAGES)):
            return EngineUnavailable(message)
        return InvalidSpec(message)
    if isinstance(error, _TRANSPORT_ERRORS) or _says(message, _DOWN_MESSAGES):
        return EngineUnavailable(message)
    return InvalidSpec(message)


def _says(message: str, fragments: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(fragment in lowered for fragment in fragments)


@contextmanager
def engine_errors() -> Iterator[None]:
    """Re-raise any docker/requests/socket error as the matching runtime.base exception."""
    try:
        yield
    except EngineError:
        raise
    except (docker.errors.DockerException, *_TRANSPORT_ERRORS) as error:
        raise translate(error) from error
