"""The Compose keys that have no equivalent here, and why: an unknown key that a Compose user
would write gets its reason instead of a bare "unknown key" (docs/format.md, "Compose keys",
has the whole table, with every key that does have an equivalent).

Keys and their meaning are the Compose specification's (compose-spec 05-services.md,
06-networks.md, 07-volumes.md, and the top-level elements of 01-status.md through 04-version).
"""

from __future__ import annotations

_WINDOWS = "Windows-only (Hyper-V isolation and Windows containers)"
_NAME = "the table's name is the {kind}'s name: [{kind}.NAME]"
_SWARM_FILE = ("{kind} objects are Swarm's (docker stack deploy); on one host the reconciler writes the {kind}'s "
               "file itself, from `file`, `environment` or (a config) `content`")
_EXTERNAL = ("declare the {kind} made outside the reconciler here with `adopt = true`: the reconciler takes it "
             "over as it is (docs/adoption.md)")

# Compose keys whose meaning is written another way here.
WRITTEN_AS: dict[str, dict[str, str]] = {
    "": {
        "services": "[container.NAME] tables",
        "networks": "[network.NAME] tables",
        "volumes": "[volume.NAME] tables",
    },
    "container": {
        "deploy": "keys of the container itself (docs/format.md, Compose keys): replicas, mode, update "
                  "(update_config), resources (resources.limits and reservations), restart (restart_policy), "
                  "hosts (placement); there is no deploy table",
    },
    "network": {
        "driver_opts": "options",
        "ipam": "subnet, gateway and ip_range",
    },
    "volume": {
        "driver_opts": "options",
    },
}

WHY_NOT: dict[str, dict[str, str]] = {
    "": {
        "name": "the project's name: the reconciler's --namespace plays that part",
        "version": "the Compose file format's version: TOML files here have one format",
        "include": "Compose's project machinery: every TOML file of the directory is read, subfolders included",
    },
    "container": {
        "develop": "development-only (Compose Watch syncs files into a running service)",
        "attach": "development-only (which services' logs `docker compose up` follows)",
        "use_api_socket": "development-only (Docker Desktop hands the engine's socket and credentials to a container)",
        "credential_spec": _WINDOWS,
        "isolation": _WINDOWS,
        "cpu_count": _WINDOWS,
        "cpu_percent": _WINDOWS,
        "extends": "Compose's project machinery: write the merged service",
        "links": "legacy container links: put both containers on a network, with `aliases` for other names",
        "external_links": "legacy container links: put both containers on a network, with `aliases` for other names",
        "scale": "one container per name: declare each container",
        "container_name": _NAME.format(kind="container"),
        "provider": "a Compose provider service is run by a plugin, not as a container",
        "models": "Compose's AI models are run by Docker Model Runner, not as containers",
        "pull_refresh_after": "it goes with pull_policy = \"refresh\", which Compose's specification does not define "
                              "yet: write pull_policy = \"every_<duration>\" (or pull = \"newer\" with pull_interval)",
    },
    "network": {
        "external": _EXTERNAL.format(kind="network"),
        "name": _NAME.format(kind="network"),
    },
    "volume": {
        "external": _EXTERNAL.format(kind="volume"),
        "name": _NAME.format(kind="volume"),
    },
    "secret": {key: _SWARM_FILE.format(kind="secret") for key in
               ("name", "labels", "external", "driver", "driver_opts", "template_driver")},
    "config": {key: _SWARM_FILE.format(kind="config") for key in ("name", "labels", "external", "template_driver")},
}


def compose_hint(kind: str, key: str) -> str | None:
    """What to write instead of the Compose key `key` of a `kind` resource ("" for a top-level
    element), or why it has no equivalent here; None when Compose has no such key."""
    written = WRITTEN_AS.get(kind, {}).get(key)
    if written:
        return f"Compose's '{key}' is written as {written} here"
    why = WHY_NOT.get(kind, {}).get(key)
    return f"Compose's '{key}' has no equivalent here: {why}" if why else None
