"""The CLI's side of the control API: JSON calls to the agent's unix socket.

`NoAgent` when nothing answers there (no agent runs for that namespace and engine), `Refused`
when the socket is not ours to use, `CallFailed` when the agent answers with an error; each
carries a message for the user.
"""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path
from typing import Any

CONNECT_TIMEOUT = 5.0  # seconds to reach the agent; a call then waits as long as its pass takes


class ControlError(Exception):
    """Base of the client's errors; the message is for the user."""


class NoAgent(ControlError):
    """No agent answers on the socket."""


class Refused(ControlError):
    """The socket exists but this user may not use it."""


class CallFailed(ControlError):
    """The agent answered with an error; `body` is its answer (None when it was not JSON)."""

    def __init__(self, code: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.body = body


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(str(self._path))
        sock.settimeout(self.timeout)
        self.sock = sock


class AgentClient:
    """Calls to the agent whose control socket is `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def call(self, method: str, route: str, body: dict[str, Any] | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """The answer body of `method route` (e.g. "POST", "/v1/sync"); raises ControlError."""
        connection = _UnixConnection(self.path, timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        try:
            connection.request(method, route, body=data, headers=headers)
            response = connection.getresponse()
            code, raw = response.status, response.read()
        except (FileNotFoundError, ConnectionRefusedError):
            raise NoAgent(f"no agent answers on {self.path}") from None
        except PermissionError:
            raise Refused(f"{self.path}: permission denied (the agent's user, root or its --api-group may "
                          "control it)") from None
        except (OSError, http.client.HTTPException) as error:
            raise NoAgent(f"the agent on {self.path} did not answer: {error}") from None
        finally:
            connection.close()
        try:
            answer = json.loads(raw)
        except ValueError:
            raise CallFailed(code, f"the agent answered {code} with no JSON") from None
        if code != 200:
            raise CallFailed(code, (answer.get("error") or {}).get("message") or f"HTTP {code}", answer)
        return answer
