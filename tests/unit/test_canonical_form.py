"""The canonical form is versioned (DESIGN section 12): upgrading never replaces what did not change.

tests/unit/golden/form1-labels.json holds the labels that the release before form 2 gave to the
resources of tests/unit/golden/form1/ (recorded once, from that release's code). Planned with
today's code against an engine holding those labels, nothing changes, except where form 2
deliberately changed the canonical form (devices), and there the plan says so.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from reconciler.commands.render import plan_text
from reconciler.converge import make_plan
from reconciler.desired import load
from reconciler.model import FORM, LABEL_FORM
from runtime.base import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume

GOLDEN = Path(__file__).parent / "golden"
IMAGE_ID = "sha256:" + "a" * 64


def engine_with_form1_labels(only: set[str] | None = None) -> ObservedState:
    labels = json.loads((GOLDEN / "form1-labels.json").read_text())
    state = load(GOLDEN / "form1").state
    containers, networks, volumes = [], [], []
    for index, spec in enumerate(state.specs()):
        if only is not None and spec.name not in only:
            continue
        own = labels[spec.key]
        if spec.kind == "network":
            networks.append(ObservedNetwork(f"n{index}", spec.name, own))
        elif spec.kind == "volume":
            volumes.append(ObservedVolume(spec.name, own))
        else:
            attached = frozenset(n.name for n in spec.networks) or (
                frozenset() if spec.network_mode else frozenset({"bridge"}))
            containers.append(ObservedContainer(
                id=f"{index:064x}", name=spec.name, labels=own,
                state="exited" if spec.state == "stopped" else "running",
                health="healthy" if spec.healthcheck else None, image_id=IMAGE_ID, networks=attached,
                created=1.0, exit_code=137 if spec.state == "stopped" else None,
            ))
    return ObservedState(tuple(containers), tuple(networks), tuple(volumes),
                         images={"localhost/demo:1": IMAGE_ID})


def test_every_key_of_form1_plans_no_change_with_todays_code():
    desired = load(GOLDEN / "form1").state
    desired = type(desired)(
        containers={k: v for k, v in desired.containers.items() if k != "dev"},
        networks=desired.networks, volumes=desired.volumes,
    )
    observed = engine_with_form1_labels(only=set(desired.containers) | set(desired.networks) | set(desired.volumes))
    plan = make_plan(desired, observed, "golden")
    assert plan_text(plan) == "No changes: the engine matches the desired state."


def test_a_container_whose_canonical_form_changed_is_replaced_and_the_plan_says_why():
    desired = load(GOLDEN / "form1").state
    text = plan_text(make_plan(desired, engine_with_form1_labels(), "golden"))
    assert text.splitlines() == [
        f"~ recreate container dev (canonical form changed: 1 -> {FORM}: devices)",
        "Plan: 1 to recreate.",
    ]


def test_what_the_reconciler_creates_carries_the_form_version():
    from reconciler.ownership import owned_labels

    desired = load(GOLDEN / "form1").state
    assert {owned_labels(spec, "ns")[LABEL_FORM] for spec in desired.specs()} == {str(FORM)}


def test_an_edit_of_a_container_made_at_an_older_form_is_an_edit_not_a_form_change():
    desired = load(GOLDEN / "form1").state
    db = desired.containers["db"]
    edited = type(desired)(containers={**desired.containers, "db": dataclasses.replace(db, env={"A": "b"})},
                           networks=desired.networks, volumes=desired.volumes)
    lines = plan_text(make_plan(edited, engine_with_form1_labels(), "golden")).splitlines()
    assert "~ recreate container db (spec changed: env)" in lines
