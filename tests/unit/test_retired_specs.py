"""A container no longer declared is removed with its last spec's pre_stop hooks, which the
last-applied records keep across restarts and for the CLI."""

from reconciler.agent.lastapplied import record
from reconciler.agent.rollbacks import Rollbacks
from reconciler.fields import Hook
from reconciler.model import ContainerSpec, DesiredState

WEB = ContainerSpec("web", "localhost/demo:1", pre_stop=(Hook(("sh", "-c", "echo bye")),))


def rollbacks_with(spec: ContainerSpec, secrets=()) -> Rollbacks:
    rollbacks = Rollbacks(None)
    rollbacks.applied = {"c1": {"name": spec.name, "spec": record(spec, secrets, rollbacks.key())}}
    return rollbacks


def test_the_last_applied_spec_of_a_container_no_longer_declared_is_retired_with_its_hooks():
    assert rollbacks_with(WEB).retired(DesiredState()) == {"container/web": WEB}


def test_a_container_still_declared_is_not_retired():
    assert rollbacks_with(WEB).retired(DesiredState(containers={"web": WEB})) == {}


def test_a_record_that_hides_an_env_file_value_is_left_out():
    hidden = ContainerSpec("web", "localhost/demo:1", env={"TOKEN": "s3cret"}, pre_stop=WEB.pre_stop)
    assert rollbacks_with(hidden, secrets=("s3cret",)).retired(DesiredState()) == {}
