"""The webhook's pure parts: the forges' signatures, the secret file, loopback, throttle and flood counts."""

from __future__ import annotations

import hashlib
import hmac
from email.message import Message

import pytest

from reconciler.source.hook import (
    Flood,
    HookServer,
    Throttle,
    check_signature,
    is_loopback,
    parse_hook_address,
    read_secret,
)

SECRET = b"canary-hook-secret"
BODY = b'{"ref": "refs/heads/main"}'


def hmac_hex(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def headers(**values: str) -> Message:
    """Request headers as http.server gives them (looked up without regard to case)."""
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def test_a_github_signature_of_the_body_proves_the_secret():
    assert check_signature(SECRET, BODY, headers(x_hub_signature_256="sha256=" + hmac_hex(SECRET, BODY))) == (
        True, "X-Hub-Signature-256")


def test_a_github_signature_of_another_body_is_a_bad_signature():
    signed = headers(x_hub_signature_256="sha256=" + hmac_hex(SECRET, BODY))
    assert check_signature(SECRET, BODY + b" ", signed) == (False, "bad signature")


def test_a_github_signature_without_its_sha256_prefix_is_a_bad_signature():
    assert check_signature(SECRET, BODY, headers(x_hub_signature_256=hmac_hex(SECRET, BODY)))[0] is False


def test_a_github_signature_made_with_another_secret_is_a_bad_signature():
    signed = headers(x_hub_signature_256="sha256=" + hmac_hex(b"other", BODY))
    assert check_signature(SECRET, BODY, signed) == (False, "bad signature")


def test_the_gitlab_token_equal_to_the_secret_proves_it():
    assert check_signature(SECRET, BODY, headers(x_gitlab_token=SECRET.decode())) == (True, "X-Gitlab-Token")


def test_a_gitlab_token_that_differs_is_a_bad_signature():
    assert check_signature(SECRET, BODY, headers(x_gitlab_token="canary-hook-secreT")) == (False, "bad signature")


@pytest.mark.parametrize("header", ["X-Gitea-Signature", "X-Forgejo-Signature"])
def test_a_gitea_or_forgejo_signature_is_the_bare_hex_hmac_of_the_body(header):
    signed = Message()
    signed[header] = hmac_hex(SECRET, BODY)
    assert check_signature(SECRET, BODY, signed) == (True, header)


def test_headers_are_found_whatever_their_case():
    signed = Message()
    signed["x-hub-signature-256"] = "sha256=" + hmac_hex(SECRET, BODY)
    assert check_signature(SECRET, BODY, signed)[0] is True


def test_no_signature_header_is_a_missing_signature():
    assert check_signature(SECRET, BODY, headers(content_type="application/json")) == (False, "missing signature")


def test_a_non_ascii_signature_is_refused_not_raised():
    assert check_signature(SECRET, BODY, headers(x_gitlab_token="caf\u00e9"))[0] is False


def test_the_secret_file_loses_one_trailing_newline_only(tmp_path):
    (tmp_path / "secret").write_bytes(b"s3cret\n\n")
    assert read_secret(tmp_path / "secret") == b"s3cret\n"


def test_the_secret_file_loses_a_trailing_crlf(tmp_path):
    (tmp_path / "secret").write_bytes(b"s3cret\r\n")
    assert read_secret(tmp_path / "secret") == b"s3cret"


def test_an_empty_secret_file_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "secret").write_bytes(b"\n")
    with pytest.raises(ValueError, match="secret.* is empty"):
        read_secret(tmp_path / "secret")


def test_a_missing_secret_file_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match=f"{tmp_path}/absent: No such file"):
        read_secret(tmp_path / "absent")


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.org", False), ("localhost.evil", False),
])
def test_only_loopback_addresses_and_localhost_are_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_listener_off_loopback_without_a_secret_is_refused_before_it_binds():
    with pytest.raises(ValueError, match="0.0.0.0:9111 needs a secret .*--hook-secret-file"):
        HookServer(("0.0.0.0", 9111), None, on_hook=lambda: None)


def test_an_empty_secret_file_is_refused_when_the_listener_is_made(tmp_path):
    (tmp_path / "secret").write_text("")
    with pytest.raises(ValueError, match="is empty"):
        HookServer(("127.0.0.1", 0), tmp_path / "secret", on_hook=lambda: None)


def test_a_hook_address_that_is_not_host_port_is_an_error_naming_the_hook():
    with pytest.raises(ValueError, match="hook address 'nowhere' is not HOST:PORT"):
        parse_hook_address("nowhere")


def test_a_bare_port_listens_on_loopback():
    assert parse_hook_address(":9111") == ("127.0.0.1", 9111)


def test_the_first_trigger_is_due_at_once():
    assert Throttle(1.0).ask(now=100.0) == 0.0


def test_a_trigger_within_the_window_is_due_at_its_end():
    throttle = Throttle(1.0)
    throttle.ask(now=100.0)
    throttle.fired(now=100.0)
    assert throttle.ask(now=100.25) == pytest.approx(0.75)


def test_asks_while_a_trigger_is_pending_coalesce_into_it():
    throttle = Throttle(1.0)
    throttle.ask(now=100.0)
    assert [throttle.ask(now=100.0 + i / 10) for i in range(5)] == [None] * 5


def test_after_the_window_a_trigger_is_due_at_once_again():
    throttle = Throttle(1.0)
    throttle.ask(now=100.0)
    throttle.fired(now=100.0)
    assert throttle.ask(now=101.5) == 0.0


def test_a_negative_rate_is_refused():
    with pytest.raises(ValueError, match="negative"):
        Throttle(-1.0)


def test_flood_counts_each_client_apart_within_one_second():
    flood = Flood()
    assert [flood.count("10.0.0.1", 5.1), flood.count("10.0.0.1", 5.5), flood.count("10.0.0.2", 5.9)] == [1, 2, 1]


def test_flood_counts_start_afresh_each_second():
    flood = Flood()
    flood.count("10.0.0.1", 5.1)
    flood.count("10.0.0.1", 5.2)
    assert flood.count("10.0.0.1", 6.0) == 1
