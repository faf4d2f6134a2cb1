"""Image references and stop signals are checked as the engine parses them, before anything runs."""

import pytest

from tests.unit.desired import container, errors


def _errors(tmp_path, body: str) -> list[str]:
    return errors(tmp_path, {"a.toml": f"[container.web]\n{body}\n"})


@pytest.mark.parametrize("image", [
    "demo", "localhost/demo:1", "registry.example.com:5000/team/app:V1.2-rc_3", "Registry.Example/app",
    "a__b/c--d.e", "redis@sha256:" + "0" * 64, "redis:7@sha512:" + "f" * 128,
])
def test_references_of_the_distribution_grammar_are_accepted(tmp_path, image):
    assert _errors(tmp_path, f"image = '{image}'") == []


@pytest.mark.parametrize(("image", "reason"), [
    ("team/App:1", "the repository name must be lowercase (a tag may have capitals)"),
    ("ghcr.io/Org/app", "the repository name must be lowercase (a tag may have capitals)"),
    ("REDIS", "the repository name must be lowercase (a tag may have capitals)"),
    ("my app:1", "it holds a space"),
    ("app:", "expected [registry[:port]/]name[:tag][@sha256:digest]"),
    ("a___b", "expected [registry[:port]/]name[:tag][@sha256:digest]"),
])
def test_a_reference_that_breaks_the_grammar_is_an_error_saying_why(tmp_path, image, reason):
    assert _errors(tmp_path, f"image = '{image}'") == [
        f"a.toml:2: container.web.image: '{image}' is not an image reference: {reason}"
    ]


@pytest.mark.parametrize("image", ["[::1]:5000/demo:1", "[2001:db8::1]/app", "[fe80::1%eth0]:5000/app"])
def test_an_ipv6_registry_is_refused_as_docker_20_10_refuses_it(tmp_path, image):
    assert _errors(tmp_path, f"image = '{image}'") == [
        f"a.toml:2: container.web.image: '{image}' is not an image reference: an IPv6 registry address is not in"
        " the reference grammar of Docker 20.10 (API 1.41): name the registry by a host name instead (an"
        " /etc/hosts entry will do)"
    ]


@pytest.mark.parametrize("digest", ["sha256:" + "0" * 63, "sha256:" + "A" * 64, "md5:" + "0" * 32])
def test_a_bad_digest_is_an_error(tmp_path, digest):
    assert _errors(tmp_path, f"image = 'redis@{digest}'") == [
        f"a.toml:2: container.web.image: 'redis@{digest}' has a bad digest: expected sha256: and 64 lowercase"
        " hex digits (or sha384:/sha512: and 96/128)"
    ]


def test_a_repository_name_over_255_characters_is_an_error(tmp_path):
    image = "a" * 256
    assert _errors(tmp_path, f"image = '{image}'") == [
        f"a.toml:2: container.web.image: '{image}' is not an image reference: the name is longer than 255 characters"
    ]


def test_an_image_from_the_env_file_is_never_shown(tmp_path):
    write_env = tmp_path / "vars.env"
    write_env.write_text("IMAGE=Secret/Name\n")
    text = "[container.web]\nimage = '${IMAGE}'\n"
    assert errors(tmp_path / "ds", {"a.toml": text}, env_file=str(write_env)) == [
        "a.toml:2: container.web.image: '***' is not an image reference: the repository name must be lowercase"
        " (a tag may have capitals)"
    ]


@pytest.mark.parametrize("signal", ["SIGTERM", "TERM", "sigint", "9", "64", "SIGRTMIN+3", "rtmax-14", "SIGCLD"])
def test_stop_signals_are_names_with_or_without_sig_in_any_case_or_numbers_1_to_64(tmp_path, signal):
    assert container(tmp_path, f"stop_signal = '{signal}'").stop_signal == signal


@pytest.mark.parametrize(("signal", "message"), [
    ("SIGTRM", "unknown signal 'SIGTRM' (did you mean 'SIGTERM'?): expected a name such as SIGTERM,"
               " or a number from 1 to 64"),
    ("QUITT", "unknown signal 'QUITT' (did you mean 'QUIT'?): expected a name such as SIGTERM,"
              " or a number from 1 to 64"),
    ("SIGRTMIN+16", "unknown signal 'SIGRTMIN+16' (did you mean 'SIGRTMIN+6'?): expected a name such as"
                    " SIGTERM, or a number from 1 to 64"),
    ("0", "signal number 0 is out of range (1-64)"),
    ("65", "signal number 65 is out of range (1-64)"),
])
def test_an_unknown_stop_signal_is_an_error_with_the_closest_name(tmp_path, signal, message):
    assert _errors(tmp_path, f"image = 'demo'\nstop_signal = '{signal}'") == [
        f"a.toml:3: container.web.stop_signal: {message}"
    ]
