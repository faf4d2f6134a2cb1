"""The notification config file: what it accepts, and each mistake as FILE:LINE: key.path."""

import base64
import logging
import os
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from reconciler.notify.config import ConfigError, load
from reconciler.notify.events import KINDS
from reconciler.notify.targets import AppriseTarget, WebhookTarget

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def write(folder: Path, text: str, mode: int = 0o600, secret: str = SECRET) -> Path:
    (folder / "hook.secret").write_text(secret + "\n")
    os.chmod(folder / "hook.secret", 0o600)
    path = folder / "notify.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return [str(p) for p in caught.value.problems]


def test_a_webhook_and_an_apprise_url_are_read_with_every_kind_by_default(tmp_path):
    path = write(tmp_path, '[[webhook]]\nurl = "http://127.0.0.1:9/x"\nsecret_file = "hook.secret"\n\n'
                           '[[apprise]]\nurl = "json://127.0.0.1:9/"\nevents = ["quarantined"]\n')
    config = load(path)
    webhook, chat = config.targets
    assert isinstance(webhook, WebhookTarget) and webhook.events == frozenset(KINDS)
    assert isinstance(chat, AppriseTarget) and chat.events == {"quarantined"}


def test_durations_are_read_in_seconds(tmp_path):
    path = write(tmp_path, 'rate_limit = "2m"\nengine_unreachable_after = "30s"\n'
                           '[[apprise]]\nurl = "json://127.0.0.1:9/"\n')
    config = load(path)
    assert (config.rate_limit, config.engine_unreachable_after) == (120.0, 30.0)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_file_group_or_others_may_read_is_refused(tmp_path, mode):
    path = write(tmp_path, '[[apprise]]\nurl = "json://127.0.0.1:9/"\n', mode=mode)
    [problem] = problems(path)
    assert f"mode {mode:04o}" in problem and "chmod 600" in problem


def test_a_secret_file_others_may_read_is_refused_at_its_key(tmp_path):
    path = write(tmp_path, '[[webhook]]\nurl = "http://127.0.0.1:9/x"\nsecret_file = "hook.secret"\n')
    os.chmod(tmp_path / "hook.secret", 0o644)
    [problem] = problems(path)
    assert problem.startswith(f"{path}:3: webhook[0].secret_file: ") and "mode 0644" in problem


def test_an_unknown_event_kind_is_an_error_at_its_line(tmp_path):
    path = write(tmp_path, '[[apprise]]\nurl = "json://127.0.0.1:9/"\n\n[[apprise]]\nurl = "json://127.0.0.1:9/"\n'
                           'events = ["quarantine"]\n')
    [problem] = problems(path)
    assert problem.startswith(f"{path}:6: apprise[1].events: unknown event kind 'quarantine'")


def test_an_unknown_key_is_an_error_at_its_line(tmp_path):
    path = write(tmp_path, '[[webhook]]\nurl = "http://127.0.0.1:9/x"\nsecret_file = "hook.secret"\nsecret = "x"\n')
    assert problems(path) == [f"{path}:4: webhook[0].secret: unknown key (known: events, secret_file, url)"]


def test_a_secret_that_is_not_a_standard_webhooks_secret_is_refused_without_showing_it(tmp_path):
    path = write(tmp_path, '[[webhook]]\nurl = "http://127.0.0.1:9/x"\nsecret_file = "hook.secret"\n',
                 secret="whsec_hunter2xy")  # 9 base64 characters: no byte string is written so
    [problem] = problems(path)
    assert "not a Standard Webhooks secret" in problem and "hunter2" not in problem


@pytest.mark.parametrize("size", [16, 24, 31, 32, 33, 64])
@pytest.mark.parametrize("padded", [True, False])
def test_a_secret_of_any_length_standardwebhooks_takes_is_read(tmp_path, size, padded):
    """The documented `printf 'whsec_%s\\n' "$(head -c 32 /dev/urandom | base64)"` (padded base64
    of 32 bytes) and every other length, padded or not, as the standardwebhooks package reads it."""
    encoded = base64.b64encode(os.urandom(size)).decode()
    secret = "whsec_" + (encoded if padded else encoded.rstrip("="))
    Webhook(secret)  # the package a receiver uses takes it
    path = write(tmp_path, '[[webhook]]\nurl = "http://127.0.0.1:9/x"\nsecret_file = "hook.secret"\n', secret=secret)
    [target] = load(path).targets
    assert isinstance(target, WebhookTarget)


def test_an_apprise_url_of_no_known_service_is_refused_without_showing_it(tmp_path):
    path = write(tmp_path, '[[apprise]]\nurl = "nosuchservice://token-abc123@host/"\n')
    [problem] = problems(path)
    assert problem.startswith(f"{path}:2: apprise[0].url: ") and "token-abc123" not in problem


def test_a_webhook_url_must_be_http(tmp_path):
    path = write(tmp_path, '[[webhook]]\nurl = "ftp://example.com/"\nsecret_file = "hook.secret"\n')
    assert problems(path) == [f"{path}:2: webhook[0].url: must be an http:// or https:// URL"]


def test_a_toml_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, '[[apprise]]\nurl = "json://127.0.0.1:9/\n')
    [problem] = problems(path)
    assert problem.startswith(f"{path}:2: TOML syntax error")


def test_a_file_without_targets_is_refused(tmp_path):
    path = write(tmp_path, 'rate_limit = "1m"\n')
    assert problems(path) == [f"{path}: no [[webhook]] or [[apprise]] table: nothing would be notified"]


def test_a_bad_duration_is_an_error_at_its_line(tmp_path):
    path = write(tmp_path, '\nrate_limit = "soon"\n[[apprise]]\nurl = "json://127.0.0.1:9/"\n')
    [problem] = problems(path)
    assert problem.startswith(f"{path}:2: rate_limit: ")


@pytest.mark.parametrize("url", ["TokenA-SECRETAAA/TokenB-SECRETBBB",
                                 "slack://TokenA-SECRETAAA/TokenB-SECRETBBB/TokenC-SECRETCCC"])
def test_an_apprise_url_refused_shows_no_token_in_the_error_nor_in_any_log(tmp_path, caplog, capsys, url):
    caplog.set_level(logging.DEBUG)
    path = write(tmp_path, f'[[apprise]]\nurl = "{url}"\n')
    [problem] = problems(path)
    assert problem.startswith(f"{path}:2: apprise[0].url: ")
    shown = problem + caplog.text + "".join(capsys.readouterr())
    assert "SECRET" not in shown
