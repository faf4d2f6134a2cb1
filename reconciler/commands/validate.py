"""`reconciler validate [DIR] [--env-file FILE] [--build-allow DIR] [--host-id ID | --inventory FILE] [--profile NAME]
[--target host|swarm]`: exit 0 when DIR is a valid desired state for the target, 1 if not.

Problems go to stderr as FILE:LINE: key.path: message (warnings prefixed "warning: "); a valid
directory gets a one-line summary on stdout. Besides the whole directory, the views of hosts are
checked (`reconciler.desired.hosts`): of `--host-id`, of each host of `--inventory`, or else of
each host id written literally in some `hosts` pattern. So are the views of profiles
(`reconciler.desired.profiles`): that of the profiles given, else the view without any profile and
that of each profile alone. On the host target a Swarm-only value (`replicas`, `mode`) is an
error of its file, reported with every other error of the files (`desired.targets`); `--target
swarm` checks what Swarm cannot run (`reconciler.swarm.checks`) instead of the views of hosts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.commands.context import build_allow, given_profiles
from reconciler.desired import hosts, profiles
from reconciler.desired.loader import load
from reconciler.desired.problems import LoadFailure
from reconciler.model import DesiredState
from reconciler.swarm import checks as swarm_checks


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _counts(state: DesiredState) -> str:
    """"2 containers, 1 network, 0 volumes", with secrets and configs when some are declared."""
    grants = [_plural(len(found), kind) for found, kind in ((state.secrets, "secret"), (state.configs, "config"))
              if found]
    return ", ".join([_plural(len(state.containers), "container"), _plural(len(state.networks), "network"),
                      _plural(len(state.volumes), "volume"), *grants])


def _invalid(count: int) -> int:
    print(f"invalid: {_plural(count, 'error')}", file=sys.stderr)
    return 1


def run(args) -> int:
    result = load(Path(args.dir), env_file=args.env_file, build_allow=build_allow(args), target=args.target)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in result.errors:
        print(error, file=sys.stderr)
    if result.state is None:
        return _invalid(len(result.errors))
    state = result.state
    if args.target == "swarm":
        return _swarm(args, state, f"{_counts(state)} in {_plural(len(result.files), 'file')}")
    try:
        host_ids = _host_ids(args, state)
    except LoadFailure as failure:
        print(failure.problem, file=sys.stderr)
        return _invalid(1)
    place = hosts.placer(Path(args.dir))
    if args.inventory:
        for spec in hosts.unmatched(state, host_ids):
            print(f"warning: {place(spec, (spec.kind, spec.name, 'hosts'), 'matches no host of the inventory')}",
                  file=sys.stderr)
    try:
        views = _profile_views(args, state)
    except ValueError as error:
        print(f"${profiles.ENV}: {error}", file=sys.stderr)
        return _invalid(1)
    problems = sorted({*(p for host_id in host_ids for p in hosts.check_view(state, host_id, place)),
                       *(p for view in views for p in profiles.check_view(state, view, place))},
                      key=lambda p: (p.file, p.line or 0, p.key, p.message))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return _invalid(len(problems))
    whole = f"{_counts(state)} in {_plural(len(result.files), 'file')}"
    if len(views) > 1:
        whole += f"; profiles {', '.join(profiles.declared(state))}, each alone"
    elif views and views[0]:
        whole += f"; with profiles {', '.join(views[0])}: {_counts(profiles.select(state, views[0]))}"
    if args.host_id:
        print(f"ok: host {args.host_id}: {_counts(hosts.select(state, args.host_id))} (of {whole})")
    else:
        print(f"ok: {whole}" + (f"; the views of {', '.join(host_ids)}" if host_ids else ""))
    return 0


def _swarm(args, state: DesiredState, whole: str) -> int:
    """`--target swarm`: what Swarm cannot run (`reconciler.swarm.checks`) and the profile views;
    no host views, since `hosts` are placement constraints there (`--host-id` and `--inventory` are
    refused with it: `commands.target_options`)."""
    place = hosts.placer(Path(args.dir))
    errors, warnings = swarm_checks.problems(state, place)
    try:
        views = _profile_views(args, state)
    except ValueError as error:
        print(f"${profiles.ENV}: {error}", file=sys.stderr)
        return _invalid(1)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    problems = sorted({*errors, *(p for view in views for p in profiles.check_view(state, view, place))},
                      key=lambda p: (p.file, p.line or 0, p.key, p.message))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return _invalid(len(problems))
    print(f"ok: swarm: {whole}")
    return 0


def _host_ids(args, state: DesiredState) -> tuple[str, ...]:
    """Whose views to check: `--host-id`, the hosts of `--inventory`, else those `hosts` name
    literally. Raises LoadFailure when the inventory cannot be read."""
    if args.host_id:
        return (args.host_id,)
    if args.inventory:
        return hosts.read_inventory(args.inventory)
    return hosts.named_hosts(state)


def _profile_views(args, state: DesiredState) -> list[tuple[str, ...]]:
    """Which profile views to check: that of the profiles given (`--profile`, $RECONCILER_PROFILES),
    else the view without any and that of each profile alone. Raises ValueError for a malformed
    $RECONCILER_PROFILES."""
    given = given_profiles(args)
    if given:
        for name in profiles.unknown(state, given):
            print(f"warning: profile {name!r}: no container has it, so it activates nothing", file=sys.stderr)
        return [given]
    return profiles.views(state)
