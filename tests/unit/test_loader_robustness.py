"""Whatever a file holds, loading it gives problems, never an exception; and what validates maps
to an engine request body the engine can take (finite numbers, integers within int64)."""

import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.desired.loader import load_file
from reconciler.desired.schema import SCHEMA_PATH
from runtime.docker_specs import container_body

_SCHEMA = json.loads(SCHEMA_PATH.read_text())
_KEYS = sorted({key for d in _SCHEMA["$defs"].values() for key in d.get("properties", {})} | {"soft", "hard"})
_NAMES = st.sampled_from(["web", "db", "front", "data", "x", "web-data"])
_SCALARS = st.one_of(
    st.integers(-2, 70000), st.booleans(), st.floats(),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, 3.0, 0.001]),
    st.sampled_from(["", "5s", "64m", "8080:80", "data:/srv", "/a:/b:ro", "healthy", "container:db",
                     "front", "CMD", "${X}", "${X:?no}", "$$", "1.2.3.4", "10.0.0.0/8", "on-failure:2", "a=b",
                     "0s", "500us", "99999999999g", "9" * 30 + "h", "/dev/null:r", "SIGTERM",
                     "on-failure:" + "9" * 20]),
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
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf: TOML's own spelling
    return json.dumps(value)


def _integers(value) -> list[int]:
    if isinstance(value, dict):
        return [i for item in value.values() for i in _integers(item)]
    if isinstance(value, list):
        return [i for item in value for i in _integers(item)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_DOCUMENTS)
def test_any_document_loads_into_specs_or_problems(tmp_path_factory, document):
    root = tmp_path_factory.mktemp("fuzz")
    text = "\n".join(f"{kind} = {_toml(resources)}" for kind, resources in document.items())
    (root / "a.toml").write_text(text)
    decl = load_file(root, "a.toml", {})
    assert all(problem.file == "a.toml" and problem.message for problem in decl.errors)
    assert decl.specs == () if decl.errors else len(decl.specs) == sum(map(len, document.values()))


def _optional(keys: str, values) -> st.SearchStrategy:
    return st.fixed_dictionaries({}, optional=dict.fromkeys(keys.split(), values))


_TMPFS = st.fixed_dictionaries({"type": st.just("tmpfs"), "target": st.just("/t")}, optional={"tmpfs_size": _SCALARS})
_CONTAINERS = st.fixed_dictionaries({"image": st.just("demo")}, optional={
    "healthcheck": st.fixed_dictionaries({"test": st.just("true")}, optional=dict.fromkeys(
        ["interval", "timeout", "start_period", "retries"], _SCALARS)),
    "resources": _optional("memory memory_reservation cpus pids_limit shm_size", _SCALARS),
    "ulimits": st.dictionaries(st.sampled_from(["nofile", "nproc"]), _SCALARS | _optional("soft hard", _SCALARS)),
    "update": _optional("timeout", _SCALARS),
    "mounts": st.lists(_SCALARS | _TMPFS, max_size=2),
    **dict.fromkeys(["ports", "devices"], st.lists(_SCALARS, max_size=2)),
    **dict.fromkeys(["stop_timeout", "stop_signal", "restart"], _SCALARS),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_CONTAINERS)
def test_any_container_that_validates_maps_to_a_body_the_engine_takes(tmp_path_factory, body):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "a.toml").write_text(f"container = {{ web = {_toml(body)} }}")
    decl = load_file(root, "a.toml", {})
    for spec in decl.specs:
        request, _ = container_body(spec, {}, "1.44")
        json.dumps(request, allow_nan=False)
        assert all(-(2**63) <= number < 2**63 for number in _integers(request))
