"""Compose's `post_start` and `pre_stop` (compose-spec 05-services.md): lists of hooks, each
`{ command, user, privileged, working_dir, environment }`, as model `Hook`s.

`command` takes the container `command`'s forms (a list as it is, a string split like a shell
does) and must not be empty; `user` the container `user`'s; `environment` a table or a list of
"NAME=value", whose names the engine must be able to take. Values may come from interpolation of
the env file: they are secrets and never appear in a message.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.desired import forms
from reconciler.desired.envfile import NUL_IN_VALUE
from reconciler.desired.resource import Resource
from reconciler.fields import Hook

KINDS = ("post_start", "pre_stop")


NameProblem = Callable[[str], str | None]


def hooks(r: Resource, name_problem: NameProblem) -> dict[str, tuple[Hook, ...]]:
    """{"post_start": hooks, "pre_stop": hooks} for the kinds the body declares; each problem is
    reported at its key path (`post_start[0].command`) and the hook left out. `name_problem` says
    why the engine cannot take an environment variable's name (as for the container's `env`)."""
    found = {}
    for kind in KINDS:
        if kind in r.body:
            found[kind] = tuple(hook for index, item in enumerate(r.body[kind]) if (kind, index) not in r.failed_items
                                and (hook := _hook(r, (kind, index), item, name_problem)) is not None)
    return found


def _hook(r: Resource, at: tuple[str, int], item: dict, name_problem: NameProblem) -> Hook | None:
    before = len(r.report.errors)
    command = r.convert((*at, "command"), forms.argv)
    if command == ():
        r.error((*at, "command"), "must not be empty")
    user = r.convert((*at, "user"), forms.user) if "user" in item else None
    env = forms.string_map(item.get("environment", {}))
    for name, value in env.items():
        problem = name_problem(name) or (f"the value {NUL_IN_VALUE}" if "\0" in value else None)
        if problem:
            r.error((*at, "environment", name), problem)
    if len(r.report.errors) > before or not command:
        return None
    return Hook(command, user, item.get("privileged", False), item.get("working_dir"), env)
