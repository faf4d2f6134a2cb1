"""Command line: parse arguments, then hand over to `reconciler.commands.<name>.run(args)`.

Global options (`--engine`, `--namespace`, `--state-dir`, `--log-level`) are accepted before or after the
subcommand. Each command returns its exit code; errors reach the user as text, never a traceback.
`--version` prints `reconciler VERSION` (the installed distribution's, else `reconciler.__version__`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from reconciler.commands import target_options

DEFAULT_DIR = "desired-state"
# what `run` takes itself (reconciler.commands.run): blocked before its modules load, so a signal
# sent while the agent starts (importing them takes about half a second) waits for it, never kills it
AGENT_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
COMMANDS = {
    "validate": "check the desired-state files; exit 0 valid, 1 invalid",
    "plan": "show what apply would change and why",
    "apply": "converge the engine to the files once",
    "run": "the agent: converge continuously",
    "status": "show the agent's status",
    "sync": "ask the running agent for a pass now, and show its result",
    "suspend": "stop the running agent from changing anything (it still observes and reports)",
    "resume": "let a suspended agent converge again",
    "retry": "forget a resource's backoff in the running agent, and pass now",
    "import": "write desired-state files from Compose files or from what already runs (docs/import.md)",
    "approve": "apply the plan waiting for approval in the running agent (run --approve), named by its id",
    "reject": "drop the plan waiting for approval in the running agent until the files change",
}
# command -> (module of reconciler.commands, its function), when not (command, "run")
HANDLERS = {**{name: ("control", name) for name in ("sync", "suspend", "resume", "retry")},
            "import": ("importing", "run"), **{name: ("approve", name) for name in ("approve", "reject")}}


def version() -> str:
    """The installed distribution's version, or the package's own when run from a bare checkout."""
    from importlib import metadata

    import reconciler

    try:
        return metadata.version("reconciler")
    except metadata.PackageNotFoundError:
        return reconciler.__version__


class _VersionAction(argparse.Action):
    """`--version`: print `reconciler VERSION` and exit. The version is looked up only then, since
    reading the installed distributions' metadata is a cost every other command would pay."""

    def __init__(self, option_strings: list[str], dest: str) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"reconciler {version()}")
        parser.exit()


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    def default(value):
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--engine", metavar="URL", default=default(os.environ.get("DOCKER_HOST")),
        help="engine API address (default: $DOCKER_HOST, else the local Docker socket)",
    )
    parser.add_argument(
        "--namespace", metavar="NAME",
        default=default(os.environ.get("RECONCILER_NAMESPACE", "default")),
        help="owner label of this agent's resources (default: $RECONCILER_NAMESPACE or 'default')",
    )
    parser.add_argument(
        "--log-level", metavar="LEVEL", default=default("info"),
        choices=["debug", "info", "warning", "error"], help="debug | info | warning | error",
    )
    parser.add_argument(
        "--state-dir", metavar="DIR", default=default(None),
        help="where the agent keeps what it remembers across restarts (default: see docs/agent.md)",
    )
    parser.add_argument(
        "--secrets-dir", metavar="DIR", default=default(None),
        help="where secret and config files are written (default: a tmpfs folder, see docs/format.md)",
    )
    parser.add_argument(
        "--api-socket", metavar="PATH", default=default(None),
        help="the agent's control socket (default: see docs/api.md)",
    )
    parser.add_argument(
        "--registry-config", metavar="FILE", default=default(None),
        help="registry credentials as Docker's config.json holds them (auths, credsStore, credHelpers; "
             "default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json)",
    )


def _dir_and_env(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR",
                        help=f"desired-state directory (default: ./{DEFAULT_DIR})")
    parser.add_argument("--env-file", metavar="FILE",
                        help="KEY=VALUE file for ${VAR} interpolation, kept outside the repository")
    parser.add_argument("--build-allow", action="append", default=[], metavar="DIR",
                        help="a folder outside DIR a build's context or Dockerfile may lie in (repeatable; "
                             "default: only inside DIR)")


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=("host", "swarm"), default="host",
                        help="host: the containers of this host (the default); swarm: services of the Swarm "
                             "the engine manages, hosts being placement constraints (docs/swarm.md)")


def _host_id(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--host-id", metavar="ID",
                        help=f"{what} the resources whose hosts patterns match ID (default: this host's name "
                             "up to the first dot)")


def _profiles(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--profile", action="append", dest="profiles", type=_profile_name, metavar="NAME",
                        help=f"{what} the containers of profile NAME too (repeatable; default: the comma-separated "
                             "names of $RECONCILER_PROFILES); containers without profiles always are")


def _profile_name(value: str) -> str:
    """A --profile NAME in Compose's grammar (`desired.profiles.parse`)."""
    from reconciler.desired.profiles import parse

    try:
        return parse(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _apply_options(parser: argparse.ArgumentParser) -> None:
    """What `apply` and `sync` may be allowed to do."""
    parser.add_argument("--prune-volumes", action="store_true",
                        help="also remove owned volumes that are no longer declared")
    parser.add_argument("--allow-empty", action="store_true",
                        help="allow removing every owned container (empty desired state)")


def _adopt(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--adopt", action="append", default=[], type=_adopt_name, metavar="NAME",
                        help=f"{what} the unowned resource holding declared name NAME (KIND/NAME, or a bare name "
                             "for any kind; repeatable), as adopt = true does (docs/adoption.md)")


def _adopt_name(value: str) -> str:
    """An --adopt NAME: `container/web`, `volume/data`, `network/front`, or a bare name."""
    kind, slash, name = value.partition("/")
    if slash and (kind not in ("container", "volume", "network") or not name or "/" in name):
        raise argparse.ArgumentTypeError(f"{value!r}: give KIND/NAME (container, volume or network) or a bare NAME")
    return value


def _git_options(parser: argparse.ArgumentParser) -> None:
    """Following a git repository instead of DIR (docs/git.md)."""
    git = parser.add_argument_group("git source (instead of DIR; docs/git.md)")
    git.add_argument("--git", metavar="URL", help="follow this repository (https://, ssh://, git@host:path, file://)")
    git.add_argument("--ref", metavar="BRANCH|TAG", help="the branch or tag to follow (default: the remote's HEAD)")
    git.add_argument("--path", default=".", metavar="SUBDIR",
                     help="the folder of the repository that holds the desired state (default: its root)")
    git.add_argument("--poll", default="1m", metavar="DURATION", help="how often to fetch (default: 1m)")
    git.add_argument("--git-ssh-key", metavar="FILE", help="the SSH private key to fetch with")
    git.add_argument("--git-known-hosts", metavar="FILE",
                     help="the known_hosts file the server's host key is checked against (strictly)")
    git.add_argument("--git-token-file", metavar="FILE", help="a file holding the HTTPS token or password")
    git.add_argument("--git-username", default="git", metavar="NAME",
                     help="the HTTPS user name sent with the token (default: git)")
    git.add_argument("--verify-commits", action="store_true",
                     help="apply only revisions whose head commit (or tag) is signed by an allowed key")
    git.add_argument("--allowed-signers", metavar="FILE", help="SSH allowed signers (git's gpg.ssh.allowedSignersFile)")
    git.add_argument("--gpg-home", metavar="DIR", help="a GPG keyring (GNUPGHOME) of the allowed keys")
    git.add_argument("--allow-rewind", action="store_true",
                     help="under --verify-commits, follow a branch that moves back to an older commit")
    git.add_argument("--hook-addr", metavar="HOST:PORT",
                     help="listen for forge webhooks (POST /hook) that trigger a fetch")
    git.add_argument("--hook-secret-file", metavar="FILE",
                     help="the webhook secret (GitHub's HMAC, GitLab's token); required off loopback")


def _image_count(value: str) -> int:
    """A number of images for --image-retention: a whole number, 0 or more."""
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of images (0 or more)")
    return int(value)


def _import_options(parser: argparse.ArgumentParser) -> None:
    sources = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    text = "the running containers (all of them when no NAME), with their networks and volumes"
    containers = sources.add_parser("containers", help=text, description=text)
    _global_options(containers, defaults=False)
    containers.add_argument("names", nargs="*", metavar="NAME", help="a container's name or id")
    containers.add_argument("--out", default=DEFAULT_DIR, metavar="DIR",
                            help=f"where the TOML files are written (default: ./{DEFAULT_DIR})")
    containers.add_argument("--env-out", metavar="FILE",
                            help="the env file of the containers' env values (default: DIR.env beside DIR)")
    containers.add_argument("--force", action="store_true", help="overwrite files that exist")
    compose = sources.add_parser("compose", help="convert Compose files", description="convert Compose files "
                                 "into desired-state TOML files, as `docker compose up` would run them")
    _global_options(compose, defaults=False)
    compose.add_argument("files", nargs="*", metavar="FILE",
                         help="Compose files, merged in order (default: compose.yaml and its override)")
    compose.add_argument("-f", "--file", dest="file_options", action="append", default=[], metavar="FILE",
                         help="a Compose file, as Compose's -f (repeatable; merged in order after the FILEs)")
    compose.add_argument("--project-directory", metavar="DIR", help="the project directory (default: the first "
                         "file's folder)")
    compose.add_argument("-p", "--project-name", metavar="NAME", help="the project name (default: as Compose picks it)")
    compose.add_argument("--env-file", dest="env_files", action="append", default=[], metavar="FILE",
                         help="Compose's env file for interpolation (repeatable; default: .env of the project)")
    compose.add_argument("--profile", dest="profiles", action="append", default=[], metavar="NAME",
                         help="write only the services of these profiles, and those without (repeatable; default: "
                              "$COMPOSE_PROFILES, else every service, with its profiles)")
    compose.add_argument("--out", default=DEFAULT_DIR, metavar="DIR", help=f"where to write (default: ./{DEFAULT_DIR})")
    compose.add_argument("--env-out", metavar="FILE",
                         help="the env file for values from Compose's env files (default: DIR.env beside --out)")
    compose.add_argument("--force", action="store_true", help="overwrite files that exist")
    _target(compose)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler", description="Converge a container engine to the TOML files in a directory.",
    )
    parser.add_argument("--version", action=_VersionAction)
    _global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers = {name: sub.add_parser(name, help=text, description=text) for name, text in COMMANDS.items()}
    for p in parsers.values():
        _global_options(p, defaults=False)

    _dir_and_env(parsers["validate"])
    views = parsers["validate"].add_mutually_exclusive_group()
    views.add_argument("--host-id", metavar="ID", help="also check the view of host ID (its resources only)")
    views.add_argument("--inventory", metavar="FILE",
                       help="check the view of each host of FILE, a TOML file hosts = [...] kept outside DIR")
    _profiles(parsers["validate"], "check the view with")
    _target(parsers["validate"])

    _dir_and_env(parsers["plan"])
    _host_id(parsers["plan"], "plan")
    _profiles(parsers["plan"], "plan")
    parsers["plan"].add_argument("--json", action="store_true", help="print the plan as JSON")
    parsers["plan"].add_argument("--brief", action="store_true",
                                 help="one line per change, without its engine steps and their branches")
    parsers["plan"].add_argument("--detailed-exitcode", action="store_true",
                                 help="exit 0 when nothing to do, 2 when something will run, 3 when only "
                                      "conflicts or blocked items remain, 1 on error")
    parsers["plan"].add_argument("--prune-volumes", action="store_true",
                                 help="plan the removal of owned volumes no longer declared")
    parsers["plan"].add_argument("--allow-empty", action="store_true",
                                 help="allow a plan that removes every owned container")
    _adopt(parsers["plan"], "plan to take over")
    _target(parsers["plan"])

    _dir_and_env(parsers["apply"])
    _host_id(parsers["apply"], "apply")
    _profiles(parsers["apply"], "apply")
    _apply_options(parsers["apply"])
    _adopt(parsers["apply"], "take over")
    _target(parsers["apply"])

    _dir_and_env(parsers["run"])
    _host_id(parsers["run"], "converge")
    _profiles(parsers["run"], "converge")
    parsers["run"].add_argument("--interval", default="30s", metavar="DURATION",
                                help="full resync period (default: 30s)")
    _target(parsers["run"])
    parsers["run"].add_argument("--status-addr", default="127.0.0.1:9110", metavar="HOST:PORT",
                                help="address of the status page /, /healthz, /status and /metrics "
                                     "(default: 127.0.0.1:9110)")
    parsers["run"].add_argument("--status-host", action="append", default=[], metavar="NAME",
                                help="a DNS name the status address is reached by, which a request's Host "
                                     "header may then carry (repeatable; default: its address, loopback, "
                                     "localhost)")
    parsers["run"].add_argument("--status-file", metavar="FILE",
                                help="where the JSON status is written (default: see docs)")
    parsers["run"].add_argument("--allow-empty", action="store_true",
                                help="allow removing every owned container (empty desired state)")
    parsers["run"].add_argument("--api-group", metavar="GROUP",
                                help="group allowed to use the control socket (default: the agent's own group)")
    parsers["run"].add_argument("--api-tcp", metavar="HOST:PORT",
                                help="also serve the control API on TCP, with TLS client certificates only")
    parsers["run"].add_argument("--api-tls-cert", metavar="FILE", help="the TCP control API's certificate (PEM)")
    parsers["run"].add_argument("--api-tls-key", metavar="FILE", help="its private key (PEM)")
    parsers["run"].add_argument("--api-tls-ca", metavar="FILE",
                                help="the CA that signs the certificates of the clients allowed (PEM)")

    parsers["run"].add_argument("--image-retention", type=_image_count, metavar="N",
                                help="after a replacement, remove the images this namespace pulled or built that no "
                                     "container uses, keeping the N most recently used per repository (default: "
                                     "off, nothing removed; docs/agent.md)")
    parsers["run"].add_argument("--notify-config", metavar="FILE",
                                help="send notifications to the webhooks and Apprise URLs in FILE (TOML, mode 0600; "
                                     "docs/notifications.md)")

    parsers["run"].add_argument("--approve", choices=("changes", "all"), metavar="changes|all",
                                help="wait for a person's approval (reconciler approve ID) before applying the files' "
                                     "changes; with all, before healing drift too (docs/agent.md)")

    _git_options(parsers["run"])

    _apply_options(parsers["sync"])
    parsers["retry"].add_argument("resource", metavar="[KIND/]NAME",
                                  help="container/web, network/front, volume/data (KIND defaults to container)")

    _import_options(parsers["import"])
    for name in ("approve", "reject"):
        parsers[name].add_argument("id", metavar="ID", help="the pending plan's id, as `reconciler status` shows it")

    parsers["status"].add_argument("--json", action="store_true", help="print the raw JSON status")
    parsers["status"].add_argument("--status-file", metavar="FILE",
                                   help="the status file to read (default: see docs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    refused = target_options.refused(args)
    if refused is not None:
        parser.error(refused)
    module, function = HANDLERS.get(args.command, (args.command, "run"))
    if args.command == "run":
        signal.pthread_sigmask(signal.SIG_BLOCK, AGENT_SIGNALS)
    command = importlib.import_module(f"reconciler.commands.{module}")
    try:
        return getattr(command, function)(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `reconciler plan | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
