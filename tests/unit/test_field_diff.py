"""Per-field diffs with values (reconciler.fielddiff), as printed: every kind of field, and secrets."""

from __future__ import annotations

import dataclasses
import json

from reconciler.agent.lastapplied import record
from reconciler.fielddiff import AppliedRecords, FieldDiff, diff_specs, diff_values, observed_diff, spec_view, view
from reconciler.fields import Blkio, FileGrant, Healthcheck, Mount, PortMapping, Resources
from reconciler.model import ContainerSpec, Source, spec_hash

KEY = b"k" * 32
PASSWORD = "hunter2-canary"
BASE = ContainerSpec(name="web", image="localhost/demo:1", source=Source("web.toml", 1),
                     env={"GREETING": "hello"}, ports=(PortMapping(80, host_ip="127.0.0.1", host_port=8080),),
                     mounts=(Mount("volume", "/srv", "data"),), dns=("1.1.1.1",))


def printed(old: ContainerSpec, new: ContainerSpec, secrets: frozenset[str] = frozenset()) -> list[str]:
    return [str(d) for d in diff_specs(record(old, secrets, KEY), new, secrets, KEY)]


def change(**fields) -> ContainerSpec:
    return dataclasses.replace(BASE, **fields)


def test_a_changed_scalar_shows_both_values_quoted():
    assert printed(BASE, change(image="localhost/demo:2")) == ['image: "localhost/demo:1" -> "localhost/demo:2"']


def test_a_changed_table_entry_is_named_by_its_key():
    assert printed(BASE, change(env={"GREETING": "bonjour"})) == ['env.GREETING: "hello" -> "bonjour"']


def test_a_key_added_to_a_table_and_one_removed_are_plus_and_minus_lines():
    assert printed(BASE, change(env={"NAME": "x"})) == ['- env.GREETING: "hello"', '+ env.NAME: "x"']


def test_a_key_that_is_no_bare_toml_key_is_quoted_in_the_path():
    assert printed(BASE, change(labels={"com.example.tier": "front"})) == ['+ labels."com.example.tier": "front"']


def test_a_changed_port_is_shown_in_the_short_form():
    new = change(ports=(PortMapping(80, host_ip="127.0.0.1", host_port=8081),))
    assert printed(BASE, new) == ['ports[0]: "127.0.0.1:8080:80" -> "127.0.0.1:8081:80"']


def test_ports_with_a_protocol_an_ipv6_address_or_no_host_port_keep_compose_short_forms():
    new = change(ports=(PortMapping(80, host_ip="127.0.0.1", host_port=8080), PortMapping(53, "udp", "::1", 5353),
                        PortMapping(9000)))
    assert printed(BASE, new) == ['+ ports[1]: "[::1]:5353:53/udp"', '+ ports[2]: "9000"']


def test_a_list_item_added_after_others_is_one_plus_line_with_its_new_index():
    new = change(mounts=(*BASE.mounts, Mount("bind", "/etc/app", "/srv/app", read_only=True),
                         Mount("volume", "/cache", "cache")))
    assert printed(BASE, new) == ['+ mounts[1]: { type = "bind", target = "/etc/app", source = "/srv/app", '
                                  'read_only = true }',
                                  '+ mounts[2]: { type = "volume", target = "/cache", source = "cache" }']


def test_an_item_removed_from_the_front_of_a_list_is_one_minus_line_not_a_change_of_each():
    old = change(dns=("1.1.1.1", "8.8.8.8", "9.9.9.9"))
    assert printed(old, change(dns=("8.8.8.8", "9.9.9.9"))) == ['- dns[0]: "1.1.1.1"']


def test_a_changed_field_of_a_list_item_is_named_down_to_the_field():
    new = change(mounts=(Mount("volume", "/srv", "data", read_only=True),))
    assert printed(BASE, new) == ["mounts[0].read_only: false -> true"]


def test_a_nested_table_field_and_sizes_in_units():
    old = change(resources=Resources(memory=64 * 1024**2), healthcheck=Healthcheck(("CMD", "true")))
    new = change(resources=Resources(memory=128 * 1024**2, pids_limit=100),
                 healthcheck=Healthcheck(("CMD", "true"), interval=10.0))
    assert printed(old, new) == ["healthcheck.interval: 30.0 -> 10.0", 'resources.memory: "64m" -> "128m"',
                                 "+ resources.pids_limit: 100"]


def test_limits_written_at_the_top_level_are_named_as_the_file_writes_them():
    new = change(resources=Resources(cpu_shares=512, blkio=Blkio(weight=300)))
    assert printed(BASE, new) == ["+ blkio_config: { weight = 300 }", "+ cpu_shares: 512"]


def test_a_whole_table_set_is_shown_without_its_empty_entries():
    new = change(healthcheck=Healthcheck(("CMD", "true")))
    assert printed(BASE, new) == ['+ healthcheck: { test = ["CMD", "true"], interval = 30.0, timeout = 30.0, '
                                  'retries = 3, start_period = 0.0 }']


def test_fields_outside_the_hash_are_not_shown():
    new = change(state="stopped", restart="always", pull="always", source=Source("other.toml", 3))
    assert printed(BASE, new) == ['restart: "no" -> "always"']


def test_equal_specs_have_no_difference():
    assert printed(BASE, dataclasses.replace(BASE, source=Source("moved.toml", 9))) == []


def test_a_changed_secret_value_is_said_changed_and_never_shown():
    old = change(env={"DB_PASSWORD": PASSWORD})
    new = change(env={"DB_PASSWORD": PASSWORD + "-new"})
    lines = printed(old, new, frozenset({PASSWORD, PASSWORD + "-new"}))
    assert lines == ["env.DB_PASSWORD: (secret changed)"]


def test_an_unchanged_secret_is_no_difference():
    spec = change(env={"DB_PASSWORD": PASSWORD})
    assert printed(spec, dataclasses.replace(spec, image="localhost/demo:2"), frozenset({PASSWORD})) == [
        'image: "localhost/demo:1" -> "localhost/demo:2"']


def test_an_added_secret_and_a_string_holding_one_are_shown_as_secret():
    new = change(env={"GREETING": "hello", "DB_PASSWORD": PASSWORD}, command=("run", f"--password={PASSWORD}"))
    lines = printed(BASE, new, frozenset({PASSWORD}))
    assert lines == ['+ command: ["run", (secret)]', "+ env.DB_PASSWORD: (secret)"]


def test_a_value_recorded_in_clear_that_is_secret_now_is_hidden_too():
    old = change(env={"TOKEN": PASSWORD})
    lines = printed(old, change(env={}), frozenset())
    assert lines == [f'- env.TOKEN: "{PASSWORD}"']
    hidden = [str(d) for d in diff_specs(record(old, (), KEY), change(env={}), frozenset({PASSWORD}), KEY)]
    assert hidden == ["- env.TOKEN: (secret)"]


def test_the_json_of_a_secret_difference_holds_no_value():
    old, new = change(env={"DB_PASSWORD": PASSWORD}), change(env={"DB_PASSWORD": "other-" + PASSWORD})
    diffs = diff_specs(record(old, {PASSWORD, "other-" + PASSWORD}, KEY), new, {PASSWORD, "other-" + PASSWORD}, KEY)
    data = [d.data() for d in diffs]
    assert data == [{"path": "env.DB_PASSWORD", "op": "~", "old": "(secret)", "new": "(secret)", "secret": True,
                     "text": "env.DB_PASSWORD: (secret changed)"}]
    assert PASSWORD not in json.dumps(data) and "hmac" not in json.dumps(data)


def test_a_changed_secret_file_value_is_the_grant_said_changed_without_its_hashes():
    grant = FileGrant("db", "/run/secrets/db", digest="hmac-sha256:" + "1" * 64)
    old, new = change(secrets=(grant,)), change(secrets=(dataclasses.replace(grant, digest="hmac-sha256:" + "2" * 64),))
    data = [d.data() for d in diff_specs(record(old, (), KEY), new, (), KEY)]
    assert data == [{"path": "secrets[0]", "op": "~", "old": "(secret)", "new": "(secret)", "secret": True,
                     "text": "secrets[0]: (secret changed)"}]


def test_a_record_of_an_earlier_release_without_a_later_key_counts_it_at_its_default():
    old = record(BASE, (), KEY)
    del old["dns_search"], old["annotations"]
    assert diff_specs(old, BASE, (), KEY) == ()


def test_a_record_that_is_no_spec_is_refused_with_value_error():
    try:
        view({"image": ["not", "a", "string"], "env": 3})
    except ValueError as error:
        assert "not a record of a ContainerSpec" in str(error)
    else:
        raise AssertionError("accepted")


def test_views_of_observed_state_compare_only_what_they_hold():
    desired = spec_view(change(env={"GREETING": "bonjour"}), (), KEY)
    seen = {"env": {"GREETING": "hello", "PATH": "/bin"}}
    assert [str(d) for d in diff_values(seen, {"env": desired["env"]})] == [
        'env.GREETING: "hello" -> "bonjour"', '- env.PATH: "/bin"']


def test_applied_records_give_a_diff_only_for_the_container_and_spec_they_recorded():
    records = AppliedRecords({"c1": {"name": "web", "spec_hash": spec_hash(BASE), "spec": record(BASE, (), KEY)}},
                             frozenset(), KEY)
    new = change(dns=())
    assert records.diff("c1", spec_hash(BASE), new) == (FieldDiff("dns[0]", "1.1.1.1", None, "-"),)
    assert records.diff("c2", spec_hash(BASE), new) == ()
    assert records.diff("c1", "another-hash", new) == ()


def test_applied_records_never_show_their_key_or_secrets_in_repr():
    records = AppliedRecords({}, frozenset({PASSWORD}), KEY)
    assert PASSWORD not in repr(records) and repr(KEY) not in repr(records)


def drift(seen: dict, spec: ContainerSpec, secrets: frozenset[str] = frozenset()) -> list[str]:
    return [str(d) for d in observed_diff(seen, spec, secrets, KEY)]


def test_drift_shows_what_the_engine_holds_then_what_the_spec_declares():
    seen = {"env": {"GREETING": "bonjour"}, "command": ("sleep", "60")}
    assert drift(seen, change(command=("sleep", "3600"))) == [
        'command[1]: "60" -> "3600"', 'env.GREETING: "bonjour" -> "hello"']


def test_drift_compares_only_the_entries_the_engine_view_holds():
    spec = change(env={"GREETING": "hello", "MODE": "fast"})
    assert drift({"env": {"GREETING": "hello", "EXTRA": "1", "MODE": None}}, spec) == [
        '- env.EXTRA: "1"', '+ env.MODE: "fast"']


def test_drift_of_a_secret_shows_neither_the_value_seen_nor_the_declared_one():
    spec = change(env={"TOKEN": PASSWORD})
    lines = drift({"env": {"TOKEN": "an-old-token-set-by-hand"}}, spec, frozenset({PASSWORD}))
    assert lines == ["env.TOKEN: (secret changed)"]


def test_drift_hides_a_secret_the_engine_holds_where_the_spec_does_not_declare_it():
    assert drift({"env": {"LEAKED": f"x{PASSWORD}"}}, BASE, frozenset({PASSWORD})) == ["- env.LEAKED: (secret)"]
