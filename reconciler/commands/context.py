"""What the commands share: reading the desired state and reaching the engine, each failure
printed as a clear message for the user rather than raised."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reconciler import grantfiles, log
from reconciler.agent.rollbacks import cli_options
from reconciler.agent.statedir import StateDir, StateDirError, default_state_dir
from reconciler.commands.render import problems_json
from reconciler.control.paths import default_socket
from reconciler.desired import hosts, profiles
from reconciler.desired.filesources import process_key
from reconciler.desired.loader import HashKey, load
from reconciler.desired.problems import Problem
from reconciler.desired.targets import HOST
from reconciler.desired.validated import FILE_NAME, ValidationCache
from reconciler.hostpaths import missing_bind_sources
from reconciler.images.authenticated import Authenticated
from reconciler.images.credentials import CredentialsError, credentials_for, read_config
from reconciler.images.newer import NewerChecks, Records
from reconciler.images.usage import Usage
from reconciler.model import DesiredState
from reconciler.options import PlanOptions
from reconciler.swarm import checks as swarm_checks
from reconciler.swarm.cluster_key import ClusterKey
from runtime import EngineError, Runtime, connect
from runtime.base import RegistryAuth
from runtime.registry import RegistryClient, RegistryError
from runtime.swarm_base import SwarmRuntime


def setup(args) -> None:
    log.configure(getattr(args, "log_level", "info"), sys.stderr)


def state_dir(args) -> StateDir:
    """The agent's state directory: `--state-dir`, else the default for `--namespace` and `--engine`.
    Raises StateDirError when it holds a later layout."""
    return StateDir(args.state_dir or default_state_dir(args.namespace, args.engine))


def socket_path(args) -> Path:
    """The agent's control socket: `--api-socket`, else the default for `--namespace` and `--engine`."""
    return Path(args.api_socket) if args.api_socket else default_socket(args.namespace, args.engine)


def pass_options(args, desired: DesiredState) -> PlanOptions:
    """The rules of a pass the CLI runs or previews: its flags, the completion records and the
    agent's holds and quarantines the state directory has, the `pull = "newer"` images its check
    records say are not due, the images its push records say were pushed, and the long-form bind
    sources this host lacks (local engine only), so `plan` shows what the agent would do.
    Raises StateDirError when the state directory holds a later layout."""
    state = state_dir(args)
    return PlanOptions(
        prune_volumes=getattr(args, "prune_volumes", False),
        allow_empty=getattr(args, "allow_empty", False),
        completed=state.completed(),
        held=state.holds(),
        missing_paths=missing_bind_sources(desired.containers.values(), args.engine),
        not_due=NewerChecks(records=state).not_due(desired),
        pushed=Usage(state).pushed(),
        adopt=frozenset(getattr(args, "adopt", None) or ()),
        adopted=state.adopted(),
        **cli_options(state, desired),
        **grantfiles.folder_options(args.namespace, args.engine, getattr(args, "secrets_dir", None)),
    )


def newer_checks(args, records: Records) -> NewerChecks:
    """The `pull = "newer"` checks of the agent (one for its lifetime) or of `apply`: one registry
    client, so auth tokens are reused while the process lives; the check records of `records` (the
    state directory, so `pull_interval` spans passes and restarts); the credentials of
    `--registry-config` (else Docker's default config file), looked up at each check."""
    config = args.registry_config
    return NewerChecks(RegistryClient(), records, credentials=lambda ref: check_credentials(ref, config))


def check_credentials(ref: str, config: str | None) -> RegistryAuth | None:
    """`credentials_for(ref, config)`, a failing lookup being that image's failed check: RegistryError
    "REF: registry credentials: ..." naming the file or helper, never a secret."""
    try:
        return credentials_for(ref, config)
    except CredentialsError as error:
        raise RegistryError(f"{ref}: registry credentials: {error}") from None


def validation_cache(args) -> ValidationCache | None:
    """The validation cache in the state directory, when that directory exists and this release
    can use it (the CLI never creates it; a later layout is reported by `pass_options`)."""
    try:
        state = state_dir(args)
    except (StateDirError, OSError):
        return None
    return ValidationCache(state.path / FILE_NAME) if state.path.is_dir() else None


def hash_key(args) -> bytes:
    """The key of secrets' keyed hashes: the state directory's (made there on first use, so that
    `plan`, `apply` and the agent hash alike), else this process's when that directory is unusable
    (its error is reported by `pass_options`)."""
    try:
        return state_dir(args).hash_key()
    except (StateDirError, OSError):
        return process_key()


def build_allow(args) -> tuple[Path, ...]:
    """The folders of `--build-allow`: outside the desired-state folder, a build may read there."""
    return tuple(Path(folder).absolute() for folder in getattr(args, "build_allow", None) or ())


def cluster_key_source(args, manager: SwarmRuntime | None) -> ClusterKey | None:
    """The key source of secrets' keyed hashes when it is not the state directory's: on `--target
    swarm` with a Swarm `manager` reached, the cluster's (`swarm.cluster_key`), so that every agent
    and `apply` of the cluster names a secret alike. None: the state directory's (`hash_key`), on
    the host target and for `validate --target swarm`, which reaches no engine and creates nothing."""
    return ClusterKey(manager, args.namespace) if args.target == "swarm" and manager is not None else None


def load_desired(args, as_json: bool = False, key: HashKey | None = None) -> DesiredState | None:
    """The desired state in `args.dir`, or None after printing every problem (on stderr, or
    with `as_json` as one JSON error object on stdout, for scripts that parse the output).
    Files that did not change since they last passed the schema check skip it (`validated`).
    `key` gives the key of secrets' keyed hashes (None: the state directory's, `hash_key`). On the
    host target a Swarm-only value one host cannot run is one of the problems (`desired.targets`)."""
    cache = validation_cache(args)
    result = load(Path(args.dir), env_file=args.env_file, validated=cache, build_allow=build_allow(args),
                  hash_key=key or (lambda: hash_key(args)), target=getattr(args, "target", HOST))
    if cache is not None:
        cache.save()
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _print_problems(result.errors, as_json)
    return result.state if not result.errors else None


def _print_problems(problems: Sequence[Problem], as_json: bool) -> None:
    if problems and as_json:
        print(problems_json("the desired state is invalid", problems))
    for problem in problems if not as_json else ():
        print(problem, file=sys.stderr)


def host_view(args, desired: DesiredState, as_json: bool = False) -> DesiredState | None:
    """The view of `--host-id` (default: this host's name, see `hosts`), or None after printing
    each reference of it to a resource the files declare for other hosts only."""
    host_id = args.host_id or hosts.default_host_id()
    place = hosts.placer(Path(args.dir))
    problems = hosts.check_view(desired, host_id, place)
    _print_problems(problems, as_json)
    return hosts.select(desired, host_id) if not problems else None


def swarm_view(args, desired: DesiredState, as_json: bool = False) -> DesiredState | None:
    """The desired state for `--target swarm` (every resource: `hosts` are placement constraints
    there, not a host filter), or None after printing what Swarm cannot run
    (`reconciler.swarm.checks`); its warnings go to stderr either way."""
    errors, warnings = swarm_checks.problems(desired, hosts.placer(Path(args.dir)))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _print_problems(errors, as_json)
    return desired if not errors else None


def given_profiles(args) -> tuple[str, ...]:
    """The profiles given: each `--profile`, else the comma-separated names of $RECONCILER_PROFILES
    (`desired.profiles`), sorted, each once. Raises ValueError naming a malformed name there."""
    named = args.profiles if args.profiles is not None else profiles.from_environment(os.environ.get(profiles.ENV))
    return tuple(sorted(set(named)))


def profile_view(args, desired: DesiredState, as_json: bool = False) -> DesiredState | None:
    """The view of the profiles given (`given_profiles`), or None after printing each reference of
    it to a container it leaves out (or a malformed $RECONCILER_PROFILES). A profile no container
    names is a warning: it activates nothing."""
    try:
        given = given_profiles(args)
    except ValueError as error:
        _print_problems([Problem("", None, f"${profiles.ENV}", str(error))], as_json)
        return None
    for name in profiles.unknown(desired, given):
        print(f"warning: profile {name!r}: no container has it, so it activates nothing", file=sys.stderr)
    problems = profiles.check_view(desired, given, hosts.placer(Path(args.dir)))
    _print_problems(problems, as_json)
    return profiles.select(desired, given) if not problems else None


def open_engine(args, as_json: bool = False) -> Runtime | None:
    """A runtime for `--engine` (default $DOCKER_HOST, else the local socket) whose pulls carry the
    credentials of `--registry-config` (see `registry_runtime`), or None after printing why it
    cannot be reached or the named registry config cannot be read."""
    try:
        runtime = connect(args.engine)
        runtime.ping()
    except EngineError as error:
        message = f"engine {args.engine or 'at the local socket'} unreachable: {error}"
        print(f"error: {message}", file=sys.stderr)
        if as_json:
            print(problems_json(message, []))
        return None
    try:
        return registry_runtime(args, runtime)
    except CredentialsError as error:
        print(f"error: --registry-config: {error}", file=sys.stderr)
        if as_json:
            print(problems_json(f"--registry-config: {error}", []))
        return None


def registry_runtime(args, runtime: Runtime) -> Runtime:
    """`runtime`, its pulls with the credentials of `--registry-config` (else Docker's default
    config file, read at each pull). A file named explicitly is read now: CredentialsError naming
    it when it is missing or malformed (a broken default file fails only the pulls that read it)."""
    if args.registry_config:
        read_config(args.registry_config)
    return Authenticated(runtime, args.registry_config)


def prepare(args, as_json: bool = False) -> tuple[DesiredState, Runtime] | None:
    """Logging set up, the desired state loaded (this host's view) and the engine reached; None after
    printing why not."""
    setup(args)
    desired = load_desired(args, as_json)
    desired = host_view(args, desired, as_json) if desired is not None else None
    desired = profile_view(args, desired, as_json) if desired is not None else None
    runtime = open_engine(args, as_json) if desired is not None else None
    return (desired, runtime) if runtime is not None else None


def colour(stream=sys.stdout) -> bool:
    return stream.isatty()
