"""Image references as the engine parses them: the distribution reference grammar as Docker 20.10
(API 1.41) vendors it (github.com/docker/distribution/reference, regexp.go and normalize.go's
ParseNormalizedNamed).

    reference := name [":" tag] ["@" digest]
    name      := [domain "/"] path-component ["/" path-component]*
    domain    := host [":" port]; the first component is one when it holds "." or ":", is
                 "localhost", or has a capital letter; a host is dot-separated names of letters,
                 digits and '-': IPv6 addresses ("[::1]:5000") came to the grammar later than
                 the version Docker 20.10 vendors, which answers "invalid reference format"
    path-component := [a-z0-9]+ separated by ".", "_", "__" or dashes: lowercase only
    tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: capitals are fine in a tag
    digest    := sha256:64, sha384:96 or sha512:128 lowercase hex digits (go-digest)

The name is at most 255 characters. The value is kept as written.
"""

from __future__ import annotations

import re

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?"
_IPV6_DOMAIN = re.compile(r"\[[^]/]*\](?::[0-9]*)?/")
_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?",
    re.ASCII,
)
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_NAME_MAX = 255
_LONGEST = _NAME_MAX + 1 + 128 + 1 + len("sha512:") + 128  # anything longer cannot be valid
_FORM = "expected [registry[:port]/]name[:tag][@sha256:digest]"


def image_reference(value: str) -> str:
    """The reference as written, or ValueError saying what the engine would refuse in it."""
    if len(value) > _LONGEST:
        raise ValueError(f"is not an image reference: longer than any valid one ({_LONGEST} characters)")
    match = _REFERENCE.fullmatch(value)
    if match is None:
        raise ValueError(f"'{value}' is not an image reference: {_why(value)}")
    if len(match["name"]) > _NAME_MAX:
        raise ValueError(f"'{value}' is not an image reference: the name is longer than {_NAME_MAX} characters")
    if match["digest"]:
        algorithm, _, digits = match["digest"].partition(":")
        if len(digits) != _DIGEST_LENGTHS.get(algorithm) or digits != digits.lower():
            raise ValueError(f"'{value}' has a bad digest: expected sha256: and 64 lowercase hex digits"
                             " (or sha384:/sha512: and 96/128)")
    return value


def _why(value: str) -> str:
    if any(character.isspace() for character in value):
        return "it holds a space"
    if _IPV6_DOMAIN.match(value):
        return ("an IPv6 registry address is not in the reference grammar of Docker 20.10 (API 1.41):"
                " name the registry by a host name instead (an /etc/hosts entry will do)")
    name, tagged = _split(value)
    if _REFERENCE.fullmatch(name.lower() + tagged):
        return "the repository name must be lowercase (a tag may have capitals)"
    return _FORM


def _split(value: str) -> tuple[str, str]:
    """(the name, the rest: ":tag" and "@digest"), splitting where ParseNormalizedNamed does."""
    domain, slash, remainder = value.partition("/")
    if not slash or not (any(c in domain for c in ".:") or domain == "localhost" or domain.lower() != domain):
        domain, slash, remainder = "", "", value
    cut = min((i for i in (remainder.find(":"), remainder.find("@")) if i >= 0), default=len(remainder))
    return domain + slash + remainder[:cut], remainder[cut:]
