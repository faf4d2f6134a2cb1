"""The real-world-style Compose stacks (compose/realworld/*/docker-compose.yml) and what the
tests of `reconciler import compose` need around them: their images, made offline from the demo
image, a copy of a stack per test, and the TOML an import wrote, read back.

Each stack's images are the demo (busybox) image with an entrypoint that waits for SIGTERM and
ignores its arguments (so Prometheus' or gunicorn's flags are taken as they are), and a stub of
each command the stacks' healthchecks run (`curl`, `pg_isready`, `redis-cli`), tagged under every
name the stacks use.
"""

from __future__ import annotations

import io
import re
import shutil
import tomllib
from pathlib import Path

import docker
import pytest
from ruamel.yaml import YAML

from reconciler.desired.aliases import ALIASES
from reconciler.desired.compose_only import WRITTEN_AS
from tests.conftest import DEMO_IMAGE

STACKS = Path(__file__).parent / "compose" / "realworld"
IMAGES = ("localhost/webapp:1.4.2", "localhost/postgres:16-alpine", "localhost/redis:7-alpine",
          "localhost/nginx:1.25-alpine", "localhost/whoami:v1.10", "localhost/prom/prometheus:v2.51.2",
          "localhost/prom/node-exporter:v1.7.0", "localhost/grafana/grafana:10.4.2")
_DOCKERFILE = f"""FROM {DEMO_IMAGE}
RUN for c in curl pg_isready redis-cli; do printf '#!/bin/sh\\nexit 0\\n' > /bin/$c && chmod +x /bin/$c; done
ENTRYPOINT ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait", "stub"]
CMD []
"""
_STACK_VARIABLE = re.compile(r"\$\{STACK(:-[^}]*)?\}")
# the Compose key of a resource whose value is the resource's name here: `[KIND.NAME]`
_NAMED_BY = {"container": "container_name", "network": "name", "volume": "name"}


@pytest.fixture(scope="session")
def stack_images(docker_client: docker.DockerClient) -> tuple[str, ...]:
    """Build the stub image once and tag it under every name in IMAGES."""
    image, _ = docker_client.images.build(fileobj=io.BytesIO(_DOCKERFILE.encode()), rm=True)
    for name in IMAGES:
        repository, tag = name.rsplit(":", 1)
        image.tag(repository, tag)
    return IMAGES


def copy_stack(name: str, into: Path) -> Path:
    """A copy of the stack `name` (its files, .env and configuration folders) under `into`."""
    return Path(shutil.copytree(STACKS / name, into / name))


def read_compose(path: Path, stack: str) -> dict:
    """A Compose file's keys as written, `${STACK...}` replaced by `stack` (the only variable a
    name takes here); values are not interpolated otherwise."""
    return YAML(typ="safe").load(_STACK_VARIABLE.sub(stack, path.read_text()))


def read_tables(out: Path) -> dict[str, dict[str, dict]]:
    """Every table of every TOML file under `out`: kind -> name -> table."""
    tables: dict[str, dict[str, dict]] = {}
    for file in sorted(out.rglob("*.toml")):
        for kind, named in tomllib.loads(file.read_text()).items():
            tables.setdefault(kind, {}).update(named)
    return tables


def toml_key(kind: str, key: str) -> str:
    """The key an imported `kind` table holds for the Compose key `key`: ours where Compose's is
    an alias (aliases.ALIASES) or written another way (compose_only.WRITTEN_AS), else the same."""
    if kind == "container" and key in ALIASES:
        return ALIASES[key].targets[0][0]
    return WRITTEN_AS.get(kind, {}).get(key, key)


def carried(compose: dict, tables: dict[str, dict[str, dict]]) -> dict[str, bool]:
    """For each key of `compose`'s services, networks, volumes, secrets and configs (as
    `services.web.ports`): whether the imported `tables` hold it. A service is the container of
    its `container_name`; a network or volume the table of its `name`."""
    kinds = {"services": "container", "networks": "network", "volumes": "volume", "secrets": "secret",
             "configs": "config"}
    found = {}
    for section, kind in kinds.items():
        for name, body in (compose.get(section) or {}).items():
            table = tables.get(kind, {}).get((body or {}).get(_NAMED_BY.get(kind, ""), name))
            for key in body or {}:
                found[f"{section}.{name}.{key}"] = table is not None and (
                    key == _NAMED_BY.get(kind) or key in table or toml_key(kind, key) in table)
    return found
