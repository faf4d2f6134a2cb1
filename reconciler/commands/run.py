"""`reconciler run`: the agent. Converges on start, then on every change, until SIGTERM/SIGINT.

The loop runs in a thread of its own; this one takes SIGTERM, SIGINT and SIGHUP synchronously:
they are blocked in every thread and fetched with `sigtimedwait`. A handler of the classic kind
could run only once the loop's thread woke from its wait (up to an interval later) when the
signal landed just before that wait began, and a SIGHUP was then seen seconds late.
"""

from __future__ import annotations

import os
import signal
import ssl
import sys
import threading
from pathlib import Path

from reconciler import masking
from reconciler.agent.approvals import Gate
from reconciler.agent.follow import Follower
from reconciler.agent.lock import DEFAULT_ENGINE, Locked, acquire, lock_path
from reconciler.agent.loop import Agent
from reconciler.agent.statedir import StateDirError
from reconciler.agent.status import Status, StatusServer, check_host_name, default_status_file, parse_address
from reconciler.commands.cli import AGENT_SIGNALS, DEFAULT_DIR
from reconciler.commands.context import (
    build_allow,
    cluster_key_source,
    given_profiles,
    newer_checks,
    registry_runtime,
    setup,
    socket_path,
    state_dir,
)
from reconciler.commands.run_swarm import swarm_passes
from reconciler.control.server import ControlServer, group_id, tls_context
from reconciler.desired.envfile import values_of
from reconciler.desired.hosts import default_host_id
from reconciler.desired.units import duration
from reconciler.images.credentials import CredentialsError
from reconciler.notify import moments
from reconciler.notify.config import ConfigError
from reconciler.notify.config import load as load_notify_config
from reconciler.notify.notifier import Notifier
from reconciler.source.git import Credentials, GitError, check_url
from reconciler.source.hook import HookServer, parse_hook_address
from reconciler.source.repository import GitSource, Verification
from runtime import connect

MIN_INTERVAL = 1.0  # seconds: a shorter resync period would keep the agent passing without a pause
MIN_POLL = 1.0  # seconds: the shortest git poll interval
SIGNALS = AGENT_SIGNALS  # blocked by cli.main already, before this module loads


def run(args) -> int:
    setup(args)
    try:
        interval = duration(args.interval)
    except ValueError as error:
        print(f"error: --interval: {error}", file=sys.stderr)
        return 1
    if interval < MIN_INTERVAL:
        print(f"error: --interval {args.interval}: must be at least {MIN_INTERVAL:g}s", file=sys.stderr)
        return 1
    try:
        check_git_options(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        notify = load_notify_config(Path(args.notify_config)) if args.notify_config else None
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: --notify-config: {problem}", file=sys.stderr)
        return 1
    try:
        acquire(lock_path(args.namespace, args.engine))
    except (Locked, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        state = state_dir(args)
        state.create()
    except (StateDirError, OSError) as error:
        print(f"error: state directory: {error}", file=sys.stderr)
        return 1
    try:
        source = git_source(args, state.path / "git") if args.git else None
    except (GitError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        runtime = registry_runtime(args, connect(args.engine))
    except CredentialsError as error:
        print(f"error: --registry-config: {error}", file=sys.stderr)
        return 1
    try:
        profiles = given_profiles(args)
    except ValueError as error:
        print(f"error: $RECONCILER_PROFILES: {error}", file=sys.stderr)
        return 1
    swarm = swarm_passes(args) if args.target == "swarm" else None
    if args.target == "swarm" and swarm is None:
        return 1
    directory = source.root if source else Path(args.dir)
    status = Status(args.namespace, str(directory), interval,
                    args.status_file or default_status_file(args.namespace))
    status.profiles = profiles
    status.target = args.target
    try:
        hosts = [check_host_name(name) for name in args.status_host]
    except ValueError as error:
        print(f"error: --status-host: {error}", file=sys.stderr)
        return 1
    try:
        server = StatusServer(status, args.status_addr, hosts)
    except (OSError, ValueError) as error:
        print(f"error: --status-addr {args.status_addr}: {error}", file=sys.stderr)
        return 1
    agent = Agent(directory, runtime, args.namespace, status, interval, args.env_file,
                  args.allow_empty, engine=args.engine or DEFAULT_ENGINE, state_dir=state,
                  host_id=None if swarm else args.host_id or default_host_id(), profiles=profiles,
                  image_retention=args.image_retention,
                  checks=newer_checks(args, state), swarm=swarm)
    agent.desired.build_allow = build_allow(args)
    agent.desired.key = cluster_key_source(args, swarm.runtime if swarm is not None else None)
    if getattr(args, "approve", None):
        try:
            agent.gate = Gate(args.approve, state)
        except StateDirError as error:
            print(f"error: state directory: {error}", file=sys.stderr)
            server.stop()
            return 1
        status.approve = args.approve
        status.set_pending_plan(agent.gate.shown())
    if notify is not None:
        agent.notifier = Notifier(notify.targets, status.metrics, args.namespace, agent.host_id or default_host_id(),
                                  window=notify.rate_limit)
        agent.engine_watch = moments.EngineWatch(notify.engine_unreachable_after)
    agent.secrets_dir = getattr(args, "secrets_dir", None)
    if source is not None:
        agent.follower = Follower(source, duration(args.poll), agent.trigger.fire,
                                  lambda outcome: status.metrics.fetches.labels(outcome).inc())
    try:
        hook = _hook_server(args, agent)
    except (OSError, ValueError) as error:
        print(f"error: --hook-addr {args.hook_addr}: {error}", file=sys.stderr)
        server.stop()
        return 1
    control = _control_server(args, agent)
    if control is None:
        server.stop()
        return 1
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # before any thread starts, so every one inherits it
    server.start()
    control.start()
    if hook is not None:
        hook.start()
    if agent.notifier is not None:
        agent.notifier.start()
    try:
        return _run_taking_signals(agent)
    finally:
        if hook is not None:
            hook.stop()
        control.stop()
        server.stop()
        if agent.notifier is not None:
            agent.notifier.stop()  # last: it waits out what is left of the allowance drained at SIGTERM


def check_git_options(args) -> None:
    """Refuse git and webhook options that would be silently ignored, and files that cannot be
    read, before anything starts. Raises ValueError naming the option ("--verify-commits goes
    with --git", "--git-ssh-key /etc/key: No such file or directory"); never shows a file's content."""
    if args.hook_secret_file and not args.hook_addr:
        raise ValueError("--hook-secret-file goes with --hook-addr")
    if not args.git:
        given = next((option for option, value in _git_only(args) if value), None)
        if given is not None:
            raise ValueError(f"{given} goes with --git")
    for option, value in _FILE_OPTIONS:
        _check_readable(option, getattr(args, value))
    _check_readable("--gpg-home", args.gpg_home, folder=True)


# (option, argparse destination) of every option naming a file to read
_FILE_OPTIONS = (("--git-ssh-key", "git_ssh_key"), ("--git-known-hosts", "git_known_hosts"),
                 ("--git-token-file", "git_token_file"), ("--allowed-signers", "allowed_signers"),
                 ("--hook-secret-file", "hook_secret_file"))


def _git_only(args) -> list[tuple[str, object]]:
    """(option, whether it was given) for each option that takes effect only with --git."""
    return [("--ref", args.ref), ("--path", args.path != "."), ("--poll", args.poll != "1m"),
            ("--verify-commits", args.verify_commits), ("--allowed-signers", args.allowed_signers),
            ("--gpg-home", args.gpg_home), ("--git-ssh-key", args.git_ssh_key),
            ("--git-known-hosts", args.git_known_hosts), ("--git-token-file", args.git_token_file),
            ("--git-username", args.git_username != "git"), ("--allow-rewind", args.allow_rewind),
            ("--hook-addr", args.hook_addr), ("--hook-secret-file", args.hook_secret_file)]


def _check_readable(option: str, value: str | None, folder: bool = False) -> None:
    """Raise ValueError unless `value` (when given) is a file (a folder when `folder`) this process
    can read; the message names the option and the path."""
    if not value:
        return
    if not folder and os.path.isdir(value):
        raise ValueError(f"{option} {value}: a folder, not a file")
    try:
        if folder:
            os.listdir(value)
        else:
            os.close(os.open(value, os.O_RDONLY | os.O_NONBLOCK))
    except OSError as error:
        raise ValueError(f"{option} {value}: {error.strerror or error}") from None


def git_source(args, home: Path) -> GitSource:
    """The repository `run --git` follows (docs/git.md), logging commit subjects with every value of
    the env file masked. Raises ValueError for options that do not go together, GitError for a URL
    with credentials in it."""
    if args.dir != DEFAULT_DIR:
        raise ValueError(f"give either DIR ({args.dir}) or --git, not both")
    check_url(args.git)
    if args.verify_commits and not (args.allowed_signers or args.gpg_home):
        raise ValueError("--verify-commits needs --allowed-signers FILE (SSH signatures) or --gpg-home DIR (GPG)")
    if (args.allowed_signers or args.gpg_home or args.allow_rewind) and not args.verify_commits:
        raise ValueError("--allowed-signers, --gpg-home and --allow-rewind go with --verify-commits")
    if Path(args.path).is_absolute() or ".." in Path(args.path).parts:
        raise ValueError(f"--path {args.path}: a folder inside the repository, relative to its root")
    if duration(args.poll) < MIN_POLL:
        raise ValueError(f"--poll {args.poll}: must be at least {MIN_POLL:g}s")
    paths = {name: Path(value).absolute() if value else None for name, value in (
        ("ssh_key", args.git_ssh_key), ("known_hosts", args.git_known_hosts), ("token_file", args.git_token_file),
        ("allowed_signers", args.allowed_signers), ("gpg_home", args.gpg_home))}
    credentials = Credentials(paths["ssh_key"], paths["known_hosts"], paths["token_file"], args.git_username)
    verification = Verification(paths["allowed_signers"], paths["gpg_home"], args.allow_rewind) \
        if args.verify_commits else None
    source = GitSource(args.git, args.ref, args.path, home, credentials, verification)
    source.mask = lambda text: masking.mask(text, values_of(args.env_file))
    return source


def _hook_server(args, agent: Agent) -> HookServer | None:
    """The webhook listener of `--hook-addr`, or None without one. Raises ValueError, OSError."""
    if not args.hook_addr or agent.follower is None:  # a hook without --git: refused by check_git_options
        return None
    secret = Path(args.hook_secret_file) if args.hook_secret_file else None
    return HookServer(parse_hook_address(args.hook_addr), secret, agent.follower.request,
                      count=lambda outcome: agent.status.metrics.hook_requests.labels(outcome).inc())


def _control_server(args, agent: Agent) -> ControlServer | None:
    """The control API on its socket (and on TLS TCP when asked), or None after saying why not."""
    tls_options = (args.api_tls_cert, args.api_tls_key, args.api_tls_ca)
    if args.api_tcp and not all(tls_options):
        print("error: --api-tcp needs --api-tls-cert, --api-tls-key and --api-tls-ca: TCP control is only "
              "offered with TLS client certificates", file=sys.stderr)
        return None
    try:
        group = group_id(args.api_group)
        tls = tls_context(*tls_options) if args.api_tcp else None
        tcp = parse_address(args.api_tcp) if args.api_tcp else None
        return ControlServer(agent, socket_path(args), group, tcp, tls)
    except KeyError:
        print(f"error: --api-group {args.api_group}: no such group", file=sys.stderr)
    except (OSError, ValueError, ssl.SSLError) as error:
        print(f"error: control API: {error}", file=sys.stderr)
    return None


def _run_taking_signals(agent: Agent) -> int:
    """The agent's loop in a thread; SIGHUP fires a pass, SIGTERM and SIGINT stop it. The loop's
    exit code, or 1 when it died of an exception; should the main thread fail, the loop is stopped
    before the error goes on."""
    codes: list[int] = []
    loop = threading.Thread(target=lambda: codes.append(agent.run()), name="agent-loop")
    loop.start()
    try:
        while loop.is_alive():
            received = signal.sigtimedwait(SIGNALS, 0.1)
            if received is None or received.si_signo not in SIGNALS:
                continue  # the wait ended with no signal of ours (under load it may answer si_signo 0)
            if received.si_signo == signal.SIGHUP:
                agent.reload()
            else:
                agent.stop(f"signal:{signal.Signals(received.si_signo).name}")
    except BaseException:
        agent.stop("crash")  # never leave the loop running in a process whose main thread is gone
        loop.join()
        raise
    return codes[0] if codes else 1
