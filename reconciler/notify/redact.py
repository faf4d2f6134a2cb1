"""What a notification must not carry: secret values and the credentials of URLs.

The secret values are the project's (`masking`: those of the env file and of declared secrets,
shown as `***`); on top of that, the user and password of any URL in the text (an engine's error
naming a registry as `https://user:token@host/`) are shown as `***`, as git and curl hide them.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from reconciler import masking

_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@:]*(?::[^/\s@]*)?@")


def redact(text: str, secrets: Collection[str]) -> str:
    """`text` with each of `secrets` masked (`masking.mask`) and URL credentials replaced."""
    return _URL_CREDENTIALS.sub(masking.MASK + "@", masking.mask(text, secrets))
