"""Masking secret values in messages (DESIGN section 11): the text of every declared secret and
every value that came from the env file is shown as `***` in any message, log event, status or
plan line, wherever it appears (a hook's or the engine's output included).

Only those values are masked, never the container's plain `env` values (`DEBUG = "1"` is not a
secret, and masking it would mangle every message holding a "1"). A value of at least
`SUBSTRING_MIN` characters is masked wherever it occurs; a shorter one only where it stands as a
whole token (not inside a word or number), since "ab" inside "table" says nothing of the secret.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from reconciler.model import ContainerSpec

MASK = "***"
SUBSTRING_MIN = 4  # characters: a secret value shorter than this is masked only as a whole token
_WORD = r"[A-Za-z0-9_]"


def mask(text: str, secrets: Collection[str]) -> str:
    """`text` with each of `secrets` replaced by MASK, the longest first (see the module's rule)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        if len(secret) >= SUBSTRING_MIN:
            text = text.replace(secret, MASK)
        else:
            text = re.sub(f"(?<!{_WORD}){re.escape(secret)}(?!{_WORD})", MASK, text)
    return text


def pieces(value: bytes) -> frozenset[str]:
    """What of a secret's value a message may show: its text, stripped, and each of its lines (a
    file printed by a hook shows line by line, without its final newline)."""
    text = value.decode(errors="replace")
    return frozenset({text, text.strip(), *(line.strip() for line in text.splitlines())} - {""})


def of_spec(spec: object) -> frozenset[str]:
    """The secret texts a container's messages may show: those of its secrets (not its configs)
    whose value this pass knows."""
    if not isinstance(spec, ContainerSpec):
        return frozenset()
    return frozenset().union(*(pieces(g.value.reveal()) for g in spec.secrets if g.value is not None))
