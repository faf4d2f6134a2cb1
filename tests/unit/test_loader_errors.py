"""Every kind of bad input is reported as FILE:LINE: key.path: message, all at once, never a traceback."""

from reconciler.desired.loader import load_file
from tests.unit.desired import errors, write


def test_a_toml_syntax_error_names_the_line_and_column(tmp_path):
    assert errors(tmp_path, {"web.toml": '[container.web]\nimage = "x\n'}) == [
        "web.toml:2: TOML syntax error: Illegal character '\\n' (column 11)"
    ]


def test_a_truncated_file_is_a_syntax_error(tmp_path):
    assert errors(tmp_path, {"web.toml": '[container.web]\nimage = "demo"\nports = ["80",'}) == [
        "web.toml:3: TOML syntax error: Invalid value at the end of the file"
    ]


def test_a_file_that_is_not_utf8_names_the_line_of_the_bad_byte(tmp_path):
    assert errors(tmp_path, {"web.toml": b'[container.web]\nimage = "caf\xe9"\n'}) == [
        "web.toml:2: file is not valid UTF-8 (byte 0xe9 at column 13)"
    ]


def test_an_unreadable_file_is_an_error(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    decl = load_file(tmp_path, "dir.toml", {})
    assert [str(e) for e in decl.errors] == ["dir.toml: cannot read: Is a directory"]
    assert not decl.valid and decl.specs == ()


def test_an_unknown_kind_suggests_the_closest_one(tmp_path):
    assert errors(tmp_path, {"a.toml": "[containers.web]\nimage = 'demo'\n"}) == [
        "a.toml:1: containers: unknown kind 'containers' (did you mean 'container'?)"
    ]


def test_an_unknown_key_is_placed_on_its_line_and_suggests_the_closest_key(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\n\nrestrat = 'always'\n"}) == [
        "a.toml:4: container.web.restrat: unknown key 'restrat' (did you mean 'restart'?)"
    ]


def test_an_unknown_key_in_a_nested_table_is_placed_on_its_line(tmp_path):
    text = "[container.web]\nimage = 'demo'\n[container.web.healthcheck]\ntest = 'true'\nretry = 3\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:5: container.web.healthcheck.retry: unknown key 'retry' (did you mean 'retries'?)"
    ]


def test_a_missing_image_is_reported_at_the_container(tmp_path):
    assert errors(tmp_path, {"a.toml": "# web\n[container.web]\npull = 'always'\n"}) == [
        "a.toml:2: container.web: missing required key 'image'"
    ]


def test_a_wrong_type_names_what_was_expected_and_what_was_found(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\ninit = 'yes'\n"}) == [
        "a.toml:3: container.web.init: expected a boolean, got a string"
    ]


def test_a_bad_enum_value_lists_the_choices_and_suggests_one(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\nstate = 'runing'\n"}) == [
        'a.toml:3: container.web.state: "runing" is not one of running, stopped, completed (did you mean \'running\'?)'
    ]


def test_a_bad_dependency_condition_suggests_the_closest(tmp_path):
    text = "[container.web]\nimage = 'demo'\ndepends_on = { db = 'healty' }\n[container.db]\nimage = 'demo'\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        'a.toml:3: container.web.depends_on.db: "healty" is not one of started, healthy, completed, '
        "service_started, service_healthy, service_completed_successfully (did you mean 'healthy'?)"
    ]


def test_a_bad_duration_says_what_a_duration_looks_like(tmp_path):
    text = "[container.web]\nimage = 'demo'\nstop_timeout = '10 seconds'\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        'a.toml:3: container.web.stop_timeout: "10 seconds" is not a duration such as "5s", "1m30s", "500ms",'
        " or a whole number of seconds"
    ]


def test_a_bad_size_says_what_a_size_looks_like(tmp_path):
    text = "[container.web]\nimage = 'demo'\nresources = { memory = '64 megs' }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        'a.toml:3: container.web.resources.memory: "64 megs" is not a size such as "64m", "1g", "512k", "100b",'
        " or a whole number of bytes"
    ]


def test_a_malformed_port_is_placed_at_its_element_in_a_multiline_array(tmp_path):
    text = "[container.web]\nimage = 'demo'\nports = [\n  '80:80',\n  '80:80:80:80',\n]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        'a.toml:5: container.web.ports[1]: "80:80:80:80" is not a port such as "8080", "8080:80",'
        ' "127.0.0.1:8080:80" or "53:53/udp"'
    ]


def test_a_port_out_of_range_is_an_error(tmp_path):
    text = "[container.web]\nimage = 'demo'\nports = ['127.0.0.1:70000:80', { target = 0 }]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.ports[0]: port 70000 is out of range (1-65535)",
        "a.toml:3: container.web.ports[1].target: 0 is less than the minimum 1",
    ]


def test_an_invalid_name_says_what_names_may_be(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.w]\nimage = 'demo'\n[network._x]\n"}) == [
        "a.toml:1: container.w: invalid name 'w': expected a name of at least 2 characters: letters, digits,"
        " '_', '.' or '-', starting with a letter or digit",
        "a.toml:3: network._x: invalid name '_x': expected a name of at least 2 characters: letters, digits,"
        " '_', '.' or '-', starting with a letter or digit",
    ]


def test_every_error_of_every_file_is_reported_at_once(tmp_path):
    files = {
        "a.toml": "[container.web]\nimage = 'demo'\npull = 'sometimes'\ntty = 1\n",
        "b.toml": "[volume.data]\ndriver = ''\n[network.net]\ninternal = 'no'\n",
        "c.toml": "[[container]]\n",
    }
    assert errors(tmp_path, files) == [
        'a.toml:3: container.web.pull: "sometimes" is not one of missing, always, never, newer',
        "a.toml:4: container.web.tty: expected a boolean, got an integer",
        "b.toml:2: volume.data.driver: must not be empty",
        "b.toml:4: network.net.internal: expected a boolean, got a string",
        "c.toml:1: container: expected a table, got an array",
    ]


def test_a_kind_that_is_not_a_table_is_an_error(tmp_path):
    assert errors(tmp_path, {"a.toml": "container = 'web'\n"}) == [
        "a.toml:1: container: expected a table, got a string"
    ]


def test_a_toml_date_is_reported_as_a_wrong_type(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 2024-01-01\n"}) == [
        "a.toml:2: container.web.image: expected a string, got a date or time"
    ]


def test_an_unsplittable_command_string_is_an_error(tmp_path):
    text = "[container.web]\nimage = 'demo'\ncommand = \"sh -c 'echo\"\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.command: cannot split the command line: No closing quotation"
    ]


def test_the_reconciler_label_prefix_is_reserved(tmp_path):
    text = "[volume.data]\nlabels = { 'io.reconciler.managed' = 'x' }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:2: volume.data.labels.\"io.reconciler.managed\": the label prefix 'io.reconciler.' is reserved"
        " for the reconciler"
    ]


def test_a_predefined_network_name_is_an_error(tmp_path):
    assert errors(tmp_path, {"a.toml": "[network.host]\n"}) == [
        "a.toml:1: network.host: 'host' is a network the engine predefines; use network_mode = \"host\" instead"
    ]


def test_network_addresses_must_fit_the_subnet(tmp_path):
    text = "[network.net]\nsubnet = '10.0.0.0/24'\ngateway = '10.0.1.1'\nip_range = '10.0.0.1/28'\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: network.net.gateway: 10.0.1.1 is not inside the subnet 10.0.0.0/24",
        "a.toml:4: network.net.ip_range: 10.0.0.1/28 has host bits set",
    ]


def test_a_gateway_without_a_subnet_is_an_error(tmp_path):
    assert errors(tmp_path, {"a.toml": "[network.net]\ngateway = '10.0.1.1'\n"}) == [
        "a.toml:2: network.net.gateway: gateway needs a subnet"
    ]


def test_network_mode_excludes_networks_and_host_mode_excludes_ports(tmp_path):
    text = "[container.web]\nimage = 'demo'\nnetwork_mode = 'host'\nnetworks = ['net']\nports = [80]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.network_mode: network_mode and networks exclude each other",
        'a.toml:5: container.web.ports: ports cannot be published with network_mode = "host"',
    ]


def test_a_mount_target_used_twice_is_an_error(tmp_path):
    text = "[container.web]\nimage = 'demo'\nmounts = ['/a:/data', { type = 'tmpfs', target = '/data/' }]\n"
    assert errors(tmp_path, {"a.toml": text}) == ["a.toml:3: container.web.mounts[1]: /data is already a mount target"]


def test_a_host_port_published_twice_is_an_error(tmp_path):
    text = "[container.web]\nimage = 'demo'\nports = ['8080:80', { target = 81, published = 8080 }]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.ports[1]: host port 8080/tcp on all addresses is already published by this"
        " container on all addresses (a.toml:3, ports[0])"
    ]


def test_a_tmpfs_mount_with_a_source_and_a_volume_mount_without_one_are_errors(tmp_path):
    text = """\
        [container.web]
        image = 'demo'
        mounts = [
          { type = 'tmpfs', source = 'x', target = '/a' },
          { type = 'volume', target = '/b' },
          { type = 'bind', source = 'relative', target = '/c' },
        ]
        """
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:4: container.web.mounts[0]: a tmpfs mount has no source",
        "a.toml:5: container.web.mounts[1]: a volume mount needs a source",
        "a.toml:6: container.web.mounts[2]: a bind mount's source must be a path starting with /, ./ or ../,"
        " not 'relative'",
    ]


def test_healthcheck_needs_a_test_and_a_command_after_cmd(tmp_path):
    text = "[container.web]\nimage = 'demo'\nhealthcheck = { interval = '5s' }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.healthcheck: missing required key 'test' (or disable = true)"
    ]
    text = "[container.web]\nimage = 'demo'\nhealthcheck = { test = ['CMD'] }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.healthcheck.test: CMD needs a command after it"
    ]


def test_a_healthcheck_test_list_must_start_with_cmd_cmd_shell_or_none(tmp_path):
    text = "[container.web]\nimage = 'demo'\nhealthcheck = { test = ['curl', 'x'] }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        'a.toml:3: container.web.healthcheck.test[0]: "curl" is not one of CMD, CMD-SHELL, NONE'
    ]


def test_resource_limits_the_engine_would_refuse_are_errors(tmp_path):
    text = "[container.web]\nimage = 'demo'\nresources = { memory = '4m', memory_reservation = '8m', cpus = 0 }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.resources.cpus: 0 is less than the minimum 0.01",
        "a.toml:3: container.web.resources.memory: must be at least 6m: the engine refuses less",
        "a.toml:3: container.web.resources.memory_reservation: must not be more than memory",
    ]


def test_a_soft_ulimit_above_the_hard_one_is_an_error(tmp_path):
    text = "[container.web]\nimage = 'demo'\nulimits = { nofile = { soft = 4096, hard = 1024 }, nproc = 10 }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.ulimits.nofile: soft limit 4096 is more than the hard limit 1024"
    ]


def test_an_unknown_ulimit_suggests_the_closest(tmp_path):
    text = "[container.web]\nimage = 'demo'\nulimits = { nofiles = 1024 }\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.ulimits.nofiles: unknown key 'nofiles' (did you mean 'nofile'?)"
    ]


def test_a_fractional_stop_timeout_is_an_error(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\nstop_timeout = '1.5s'\n"}) == [
        "a.toml:3: container.web.stop_timeout: must be a whole number of seconds"
    ]


def test_an_invalid_dns_address_is_an_error(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\ndns = ['1.1.1.1', '999.1.1.1']\n"}) == [
        "a.toml:3: container.web.dns[1]: '999.1.1.1' is not an IP address"
    ]


def test_errors_in_one_resource_do_not_hide_those_of_another(tmp_path):
    files = {"a.toml": "[container.web]\nimage = 1\n[container.db]\nimage = 'demo'\nports = ['99999']\n"}
    assert errors(tmp_path, files) == [
        "a.toml:2: container.web.image: expected a string, got an integer",
        "a.toml:5: container.db.ports[0]: port 99999 is out of range (1-65535)",
    ]


def test_a_file_with_errors_declares_nothing(tmp_path):
    write(tmp_path, {"a.toml": "[container.web]\nimage = 'demo'\n[container.db]\nimage = 1\n"})
    decl = load_file(tmp_path, "a.toml", {})
    assert decl.specs == ()
    assert not decl.valid


def test_every_missing_required_key_is_named(tmp_path):
    text = "[container.web]\nimage = 'demo'\nmounts = [{ read_only = true }]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.mounts[0]: missing required key 'type'",
        "a.toml:3: container.web.mounts[0]: missing required key 'target'",
    ]


# -- every error of a resource, whether the schema or the normaliser finds it -------------------


def test_a_schema_error_hides_no_other_error_of_its_resource(tmp_path):
    text = ("[container.web]\nimage = 'demo'\nresources = { cpus = 1e300, memory = '99999999999999999999g' }\n"
            "stop_timeout = 99999999999999999\nrestart = 'on-failure:99999999999999999999'\n")
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:3: container.web.resources.cpus: 1e+300 is more than the maximum 9223372036",
        "a.toml:3: container.web.resources.memory: must be at most 9223372036854775807 bytes, the engine's"
        " largest size (int64)",
        "a.toml:4: container.web.stop_timeout: must be at most 2562047h47m16s, the engine's longest duration"
        " (int64 nanoseconds)",
        "a.toml:5: container.web.restart: the retry count must be at most 9223372036854775807 (int64)",
    ]


def test_every_item_of_a_list_is_checked_in_index_order_beside_one_the_schema_refuses(tmp_path):
    devices = [f"dev{n}" for n in range(9)] + [""]
    text = f"[container.web]\nimage = 'demo'\ndevices = {devices!r}\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        *(f"a.toml:3: container.web.devices[{n}]: the host device 'dev{n}' must be an absolute path" for n in range(9)),
        "a.toml:3: container.web.devices[9]: must not be empty",
    ]


def test_a_value_the_schema_refuses_raises_no_second_error_about_its_absence(tmp_path):
    text = ("[container.web]\nimage = 1\nhealthcheck = { test = 1, interval = '500us' }\n"
            "logging = { driver = 2 }\nuser = 'a:b:c'\n"
            "[network.front]\nsubnet = 'x'\ngateway = '10.0.0.1'\n")
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:2: container.web.image: expected a string, got an integer",
        "a.toml:3: container.web.healthcheck.interval: must be at least 1ms: the engine refuses shorter durations",
        "a.toml:3: container.web.healthcheck.test: expected a string or an array, got an integer",
        "a.toml:4: container.web.logging.driver: expected a string, got an integer",
        "a.toml:5: container.web.user: 'a:b:c' is not a user: expected \"name\", \"uid\", \"name:group\" or"
        " \"uid:gid\"",
        "a.toml:7: network.front.subnet: \"x\" is not an IP network such as \"172.30.0.0/24\"",
    ]


def test_a_missing_image_hides_no_other_error(tmp_path):
    assert errors(tmp_path, {"a.toml": "[container.web]\nuser = 'a:b:c'\n"}) == [
        "a.toml:1: container.web: missing required key 'image'",
        "a.toml:2: container.web.user: 'a:b:c' is not a user: expected \"name\", \"uid\", \"name:group\" or"
        " \"uid:gid\"",
    ]
