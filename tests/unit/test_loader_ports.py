"""A host port published twice on overlapping addresses, across containers and files, is an error
at the second one's port line naming the first."""

import pytest

from tests.unit.desired import errors


def _two(first: str, second: str) -> dict[str, str]:
    return {
        "a.toml": f"[container.web]\nimage = 'demo'\nports = ['{first}']\n",
        "b.toml": f"# the api\n[container.api]\nimage = 'demo'\nports = [80, '{second}']\n",
    }


def test_the_same_host_port_on_overlapping_addresses_in_two_files_names_both_containers(tmp_path):
    assert errors(tmp_path, _two("0.0.0.0:80:80", "127.0.0.1:80:8080")) == [
        "b.toml:4: container.api.ports[1]: host port 80/tcp on 127.0.0.1 is already published by container"
        " 'web' on 0.0.0.0 (a.toml:3, ports[0])"
    ]


@pytest.mark.parametrize(("first", "second"), [
    ("80:80", "127.0.0.1:80:80"),  # no address: every IPv4 and IPv6 address
    ("0.0.0.0:80:80", "[::1]:80:80"),  # Docker binds :: alongside 0.0.0.0
    ("80:80", "[::]:80:80"),
    ("[::]:80:80", "[::1]:80:80"),
    ("127.0.0.1:80:80", "127.0.0.1:80:81"),
    ("[2001:db8::1]:80:80", "[2001:db8:0::1]:80:80"),  # the same address, written otherwise
    ("127.0.0.1:80:80", "[::ffff:127.0.0.1]:80:80"),  # an IPv4-mapped IPv6 address is the IPv4 one
    ("[::ffff:0.0.0.0]:80:80", "127.0.0.1:80:80"),
])
def test_overlapping_addresses_collide(tmp_path, first, second):
    assert len(errors(tmp_path, _two(first, second))) == 1


@pytest.mark.parametrize(("first", "second"), [
    ("127.0.0.1:80:80", "127.0.0.2:80:80"),
    ("[::]:80:80", "127.0.0.1:80:80"),  # the IPv6 wildcard alone takes no IPv4 address
    ("[::1]:80:80", "[::2]:80:80"),
    ("80:80/tcp", "80:80/udp"),
    ("80:80", "81:80"),
    ("127.0.0.1::80", "127.0.0.1::80"),  # the engine chooses each host port
])
def test_distinct_bindings_do_not_collide(tmp_path, first, second):
    assert errors(tmp_path, _two(first, second)) == []


def test_an_ipv4_mapped_ipv6_address_binds_the_ipv4_address(tmp_path):
    assert errors(tmp_path, _two("127.0.0.1:18190:80", "[::ffff:127.0.0.1]:18190:80")) == [
        "b.toml:4: container.api.ports[1]: host port 18190/tcp on ::ffff:127.0.0.1 is already published by"
        " container 'web' on 127.0.0.1 (a.toml:3, ports[0])"
    ]
    assert errors(tmp_path / "other", _two("[::ffff:127.0.0.1]:80:80", "[::1]:80:80")) == []


def test_a_port_published_twice_in_one_container_names_its_first_entry(tmp_path):
    text = "[container.web]\nimage = 'demo'\nports = [\n  '127.0.0.1:53:53/udp',\n  '53:5353/udp',\n]\n"
    assert errors(tmp_path, {"a.toml": text}) == [
        "a.toml:5: container.web.ports[1]: host port 53/udp on all addresses is already published by this"
        " container on 127.0.0.1 (a.toml:4, ports[0])"
    ]


def test_each_later_collision_names_the_first_binding(tmp_path):
    files = {name: f"[container.{name}]\nimage = 'demo'\nports = ['8080:80']\n" for name in ("aa", "bb", "cc")}
    assert errors(tmp_path, {f"{name}.toml": text for name, text in files.items()}) == [
        f"{name}.toml:3: container.{name}.ports[0]: host port 8080/tcp on all addresses is already published by"
        " container 'aa' on all addresses (aa.toml:3, ports[0])"
        for name in ("bb", "cc")
    ]
