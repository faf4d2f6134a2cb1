"""What a no-op Swarm plan computes per service: the canonical form of a spec once, for both its
hash and its keys (the ownership labels every rendered service carries)."""

from __future__ import annotations

from reconciler import model
from reconciler.model import ContainerSpec, Source
from reconciler.ownership import owned_labels
from reconciler.swarm.service_spec import render
from runtime.swarm_base import ObservedNode


def counting_canonical(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = model.canonical

    def canonical(spec, form=model.FORM):
        calls.append(spec.name)
        return real(spec, form)

    monkeypatch.setattr(model, "canonical", canonical)
    return calls


def test_the_ownership_labels_compute_the_canonical_form_once(monkeypatch):
    calls = counting_canonical(monkeypatch)
    owned_labels(ContainerSpec(name="web", image="localhost/demo:1", source=Source("a.toml", 1)), "ns")
    assert calls == ["web"]


def test_rendering_a_service_computes_its_canonical_form_once(monkeypatch):
    calls = counting_canonical(monkeypatch)
    spec = ContainerSpec(name="web", image="localhost/demo:1", source=Source("a.toml", 1))
    render(spec, "ns", "sha256:" + "a" * 64, (ObservedNode("n1", "node-1"),))
    assert calls == ["web"]


def test_the_keys_of_a_spec_are_those_of_its_canonical_form_computed_afresh():
    spec = ContainerSpec(name="web", image="localhost/demo:1", env={"A": "1"}, source=Source("a.toml", 1))
    fresh = ContainerSpec(name="web", image="localhost/demo:1", env={"A": "1"}, source=Source("a.toml", 1))
    model.spec_hash(spec)
    assert model.spec_keys(spec) == model.spec_keys(fresh) and model.spec_keys(spec) == model.spec_keys(spec)
