"""Compose's lifecycle hooks (`post_start`, `pre_stop`): the plan's steps that run them, and how the
executor carries one out.

Every time the reconciler starts a container it runs the container's `post_start` hooks right
after, in order; every time it stops or removes a running one it runs its `pre_stop` hooks right
before. Each hook is one exec in the container (`Runtime.exec_hook`), waited for at most the
container's `update.timeout`. As Kubernetes and Compose treat them: a failing `post_start` (an exit
code other than 0, or still running at the limit) fails the start, so the plan's rollback for that
step runs (a replacement is rolled back, the old container keeps running; a container started
without one is stopped again, and the next pass starts it anew); a failing `pre_stop` is logged
(`container.hook_failed`) and the stop goes on. A container that is not running when its hook is
due (it exited at once) runs none: its start's own wait judges it. The failure message has the
exit code and the last lines of output, with every secret's text and every env-file value masked
(`reconciler.masking`); never the command.
"""

from __future__ import annotations

import structlog

from reconciler import masking
from reconciler.model import ContainerSpec
from reconciler.tasks import Action, Step
from runtime.base import Conflict, EngineError, EngineUnavailable, ExecResult, NotFound, Runtime

log = structlog.get_logger("reconciler.hooks")

LAST_LINES = 5  # lines of a failed hook's output in its failure message
LINE_WIDTH = 200  # characters kept of each of them

class HookFailed(EngineError):
    """A `post_start` hook ended with an exit code other than 0, or did not end in time."""


def post_start(target: str, spec: ContainerSpec) -> list[Action]:
    """The steps that run `spec`'s post_start hooks in the container `target`, in order."""
    return [Action(Step.POST_START, target, spec=spec, index=index, timeout=spec.update.timeout)
            for index in range(len(spec.post_start))]


def pre_stop(target: str, spec: ContainerSpec | None) -> list[Action]:
    """The steps that run `spec`'s pre_stop hooks in the container `target`, in order (none without
    a spec). A container that is gone meanwhile has nothing to run."""
    hooks = spec.pre_stop if spec is not None else ()
    return [Action(Step.PRE_STOP, target, spec=spec, index=index, timeout=spec.update.timeout, gone_ok=True)
            for index in range(len(hooks))]


def run_hook(action: Action, runtime: Runtime, secrets: frozenset[str] = frozenset()) -> None:
    """Carry out a POST_START or PRE_STOP step: exec the hook and log `container.hook_ran`. Raises
    HookFailed for a failing post_start; a failing pre_stop is logged and returns. NotFound (the
    container is gone) and EngineUnavailable propagate. `secrets` (the desired state's
    `secret_values`) and the texts of the container's secrets are masked in the output."""
    spec = action.spec
    assert isinstance(spec, ContainerSpec) and action.timeout is not None
    kind = "post_start" if action.step is Step.POST_START else "pre_stop"
    hook = (spec.post_start if action.step is Step.POST_START else spec.pre_stop)[action.index]
    where = {"container": spec.name, "hook": kind, "index": action.index}
    try:
        result = runtime.exec_hook(action.target, hook, action.timeout)
    except Conflict as error:
        log.info("container.hook_skipped", **where, reason=f"not running: {error}")
        return
    except (NotFound, EngineUnavailable):
        raise
    except EngineError as error:
        if kind == "post_start":
            raise
        log.warning("container.hook_failed", **where, error=masking.mask(str(error), secrets | masking.of_spec(spec)))
        return
    log.info("container.hook_ran", **where, exit_code=result.exit_code, seconds=round(result.seconds, 3))
    if result.exit_code == 0:
        return
    why = failure(kind, action.index, result, action.timeout, secrets | masking.of_spec(spec))
    if kind == "post_start":
        raise HookFailed(why)
    log.warning("container.hook_failed", **where, error=why)


def failure(kind: str, index: int, result: ExecResult, timeout: float, secrets: frozenset[str]) -> str:
    """"post_start hook 1 exited with code 3: LAST | LINES" or "... did not end within 60s: ...",
    each of `secrets` masked in the output."""
    ended = f"did not end within {timeout:g}s" if result.exit_code is None else f"exited with code {result.exit_code}"
    lines = [line.strip()[:LINE_WIDTH] for line in masking.mask(result.output, secrets).splitlines() if line.strip()]
    tail = ": " + " | ".join(lines[-LAST_LINES:]) if lines else ""
    return f"{kind} hook {index + 1} {ended}{tail}"
