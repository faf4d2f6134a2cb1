"""The pure parts of the registry client (runtime/registry.py): challenges, Accept, names, schemes."""

from __future__ import annotations

from runtime.registry import ACCEPT, ImageName, insecure, parse_challenge, parse_name, repo_digest

DIGEST = "sha256:" + "1" * 64


def test_a_bearer_challenge_gives_its_realm_service_and_scope():
    header = 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull"'
    assert parse_challenge(header) == ("bearer", {"realm": "https://auth.example/token",
                                                  "service": "registry.example", "scope": "repository:app:pull"})


def test_a_basic_challenge_gives_its_realm():
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})


def test_challenge_values_may_be_bare_or_hold_escaped_quotes_and_commas():
    assert parse_challenge('Bearer realm=https://a/t, scope="repository:a:pull,push"')[1] == {
        "realm": "https://a/t", "scope": "repository:a:pull,push"}
    assert parse_challenge(r'Basic realm="say \"hi\""')[1] == {"realm": 'say "hi"'}


def test_no_challenge_is_no_scheme():
    assert parse_challenge("") == ("", {})


def test_accept_names_indexes_and_manifest_lists_before_single_manifests():
    assert ACCEPT.split(", ") == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]


def test_names_split_as_docker_normalises_them():
    assert parse_name("127.0.0.1:5000/team/app:1") == ImageName("127.0.0.1:5000", "team/app", "1")
    assert parse_name("nginx") == ImageName("docker.io", "library/nginx", "latest")
    assert parse_name("user/app:2") == ImageName("docker.io", "user/app", "2")
    assert parse_name("localhost/app") == ImageName("localhost", "app", "latest")
    assert parse_name(f"reg.example/app:1@{DIGEST}") == ImageName("reg.example", "app", DIGEST)


def test_the_repo_digest_is_the_one_of_the_references_repository():
    digests = (f"reg.example/other@sha256:{'2' * 64}", f"reg.example/app@{DIGEST}")
    assert repo_digest("reg.example/app:1", digests) == DIGEST
    assert repo_digest("reg.example/none:1", digests) is None


def test_loopback_registries_are_spoken_to_over_plain_http_others_over_https():
    assert insecure("127.0.0.1:5000")
    assert insecure("127.3.2.1")
    assert insecure("localhost:5000")
    assert not insecure("registry.example:5000")
    assert not insecure("docker.io")
