"""Whatever a file holds, loading it gives problems, never an exception."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.desired.loader import load_file
from reconciler.desired.schema import SCHEMA_PATH

_SCHEMA = json.loads(SCHEMA_PATH.read_text())
_KEYS = sorted({key for d in _SCHEMA["$defs"].values() for key in d.get("properties", {})} | {"soft", "hard"})
_NAMES = st.sampled_from(["web", "db", "front", "data", "x", "web-data"])
_SCALARS = st.one_of(
    st.integers(-2, 70000), st.booleans(), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "5s", "64m", "8080:80", "data:/srv", "/a:/b:ro", "healthy", "container:db",
                     "front", "CMD", "${X}", "${X:?no}", "$$", "1.2.3.4", "10.0.0.0/8", "on-failure:2", "a=b"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS) | _NAMES, inner, max_size=4),
    max_leaves=12,
)
_DOCUMENTS = st.dictionaries(
    st.sampled_from(["container", "network", "volume", "contaner"]),
    st.dictionaries(_NAMES, st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6), max_size=3),
    max_size=3,
)


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_DOCUMENTS)
def test_any_document_loads_into_specs_or_problems(tmp_path_factory, document):
    root = tmp_path_factory.mktemp("fuzz")
    text = "\n".join(f"{kind} = {_toml(resources)}" for kind, resources in document.items())
    (root / "a.toml").write_text(text)
    decl = load_file(root, "a.toml", {})
    assert decl.valid == (decl.errors == ())
    assert all(str(problem) for problem in decl.errors)
