"""Keys whose values the engine shows in the clear to anyone who can inspect a container, network
or volume (`docker inspect`, `docker ps --format`), and so must never take a value from the env
file (DESIGN section 11: no secret ever in a label): `labels` (of every kind) and a container's
`annotations`. Build arguments are refused the same way (`desired.builds`); `env` is where a
secret from the env file belongs. Label files are not interpolated, so they cannot hold one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.desired.resource import Resource


def refuse_env_file_values(r: Resource, key: str) -> None:
    """Report each value under `key` of `r` that interpolation took from the env file, at its line."""
    under = (*r.path, key)
    for path in r.report.secret_paths:
        if tuple(path[: len(under)]) == under:
            r.error(tuple(path[len(r.path):]), f"{key} must not take a value from the env file: the engine shows "
                    f"{key} in the clear (docker inspect); give the secret to the container in env or as a secret")
