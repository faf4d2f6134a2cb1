"""The in-memory engine's test controls: `MemoryControls`, the part of `MemoryRuntime` a unit
test drives besides the Runtime calls.

`engine_call` is how every Runtime call reaches the engine: recorded in `calls` (method,
arguments with defaults filled in), then refused as the engine would (down: `available = False`,
or a failure queued by `fail_next`). The mixin adds listening to events as they happen, how a
started container behaves (`on_start`), changes made by the engine itself (`restart_by_engine`)
and out-of-band changes "by hand" (`kill`, `set_health`, `remove_by_hand`, `disconnect_by_hand`,
`add_unowned`). It works on `MemoryRuntime`'s state and lookups (`containers`, `volumes`,
`_container`, `_end`, `_emit`, ...).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping

from reconciler.model import ContainerSpec
from runtime.base import EngineUnavailable, Event, ExecResult
from runtime.memory_objects import KILL_EXIT_CODE, Behaviour, MemoryContainer, MemoryVolume


def engine_call(method):
    """Log the call, then raise what the engine would: down, or an injected failure."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        with self._lock:
            self.calls.append((method.__name__, tuple(bound.arguments.values())[1:]))
            if not self.available:
                raise EngineUnavailable("the in-memory engine is down")
            pending = self._failures.get(method.__name__)
            if pending:
                raise pending.pop(0)
            return method(self, *args, **kwargs)

    return wrapper


class MemoryControls:
    def fail_next(self, method: str, error: Exception) -> None:
        """The next call of `method` raises `error` instead of acting (queued, one per call)."""
        with self._lock:
            self._failures.setdefault(method, []).append(error)

    def listen(self, callback: Callable[[Event], object]) -> None:
        """Hand every later event to `callback` as it happens, in the thread that caused it: a
        unit test's stand-in for the event stream an agent reads in a thread of its own."""
        self._listeners.append(callback)

    def calls_to(self, method: str) -> list[tuple]:
        return [args for name, args in self.calls if name == method]

    def on_start(self, spec_name: str, exit_code: int | None = None, health: str = "healthy") -> None:
        """How containers of spec `spec_name` behave when started: exit at once with `exit_code`,
        or keep running with `health` (when they have a healthcheck)."""
        self._behaviours[spec_name] = Behaviour(exit_code, health)

    def on_exec(self, command: tuple[str, ...], exit_code: int | None, output: str = "") -> None:
        """How `command` run with exec (`exec_hook`) ends: with `exit_code` and `output`, or with
        `exit_code` None still running at its time limit. Any other command ends at once with 0."""
        self._exec_outcomes[tuple(command)] = ExecResult(exit_code, output, 0.0)

    def kill(self, ref: str, exit_code: int = KILL_EXIT_CODE) -> None:
        """The container dies on its own (or is killed by hand)."""
        with self._lock:
            self._end(self._container(ref), exit_code, ("kill", "die"))

    def restart_by_engine(self, ref: str, times: int = 1, restarting: bool = False) -> None:
        """The engine's restart policy brings the container back `times` times after it died
        (a "die" event each time): its restart count rises by `times`, and it runs again, or
        with `restarting` it waits for the next restart (state "restarting")."""
        with self._lock:
            container = self._container(ref)
            for _ in range(times):
                container.state = "running"
                self._end(container, 1, ("die",))
            container.restart_count += times
            container.state = "restarting" if restarting else "running"
            container.started = self._tick()
            container.exit_code = None
            container.health = "starting" if container.spec.healthcheck and not restarting else None
            if not restarting:
                self._emit(container.event("start"))

    def set_health(self, ref: str, health: str) -> None:
        with self._lock:
            container = self._container(ref)
            container.health = health
            self._emit(container.event("health_status"))

    def remove_by_hand(self, kind: str, ref: str) -> None:
        """Remove any resource, owned or not, as a user would (the engine's own checks apply)."""
        with self._lock:
            if kind == "container":
                self._remove_container(self._container(ref))
            elif kind == "network":
                self._remove_network(self._network(ref))
            else:
                self._remove_volume(self._volume(ref))

    def disconnect_by_hand(self, network: str, container: str) -> None:
        with self._lock:
            self._disconnect(self._network(network), self._container(container))

    def add_unowned(self, kind: str, name: str, labels: Mapping[str, str] | None = None,
                    spec: ContainerSpec | None = None, volumes: Mapping[str, str] | None = None) -> str:
        """A resource nobody here created (no namespace label unless `labels` gives one); a
        container made as from `spec` (its image, command, env, ports...), with `volumes`
        (container path -> volume name: named or anonymous) mounted."""
        with self._lock:
            labels = dict(labels or {})
            if kind == "container":
                spec = spec or ContainerSpec(name=name, image="unowned")
                container = MemoryContainer(self._new_id(), name, spec, labels, "sha256:unowned",
                                            self._tick(), state="running", volumes=dict(volumes or {}))
                self.containers[container.id] = container
                self._emit(container.event("create"))
                return container.id
            if kind == "network":
                network = self._add_network(self._new_id(), name, labels)
                self._emit(network.event("create"))
                return network.id
            self.volumes[name] = MemoryVolume(name, "local", labels, created=str(self._tick()))
            self._emit(Event("volume", "create", name, name))
            return name
