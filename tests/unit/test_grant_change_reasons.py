"""Why a container whose secrets or configs changed is replaced: the plan names which of them."""

from __future__ import annotations

import dataclasses
import json

from reconciler.changes import Reason, spec_changed
from reconciler.fields import FileGrant
from reconciler.model import FORM, LABEL_FORM, LABEL_SPEC_KEYS, ContainerSpec, Source, spec_keys

OLD, NEW = "hmac-sha256:" + "1" * 64, "hmac-sha256:" + "2" * 64
WEB = ContainerSpec(name="web", image="busybox", source=Source("web.toml", 1),
                    secrets=(FileGrant("db", "/run/secrets/db", digest=OLD),),
                    configs=(FileGrant("conf", "/conf", mode=0o444, digest=OLD),))


def cause(before: ContainerSpec, after: ContainerSpec) -> str:
    return str(spec_changed({LABEL_SPEC_KEYS: json.dumps(spec_keys(before)), LABEL_FORM: str(FORM)}, after))


def test_a_changed_config_is_a_config_change():
    after = dataclasses.replace(WEB, configs=(dataclasses.replace(WEB.configs[0], digest=NEW),))
    assert cause(WEB, after) == "config changed: configs"
    labels = {LABEL_SPEC_KEYS: json.dumps(spec_keys(WEB)), LABEL_FORM: str(FORM)}
    assert spec_changed(labels, after).reason is Reason.CONFIG_CHANGED


def test_a_changed_secret_is_a_secret_change():
    after = dataclasses.replace(WEB, secrets=(dataclasses.replace(WEB.secrets[0], digest=NEW),))
    assert cause(WEB, after) == "secret changed: secrets"


def test_a_secret_and_a_config_changed_together_say_secret_changed_naming_both():
    after = dataclasses.replace(WEB, secrets=(dataclasses.replace(WEB.secrets[0], digest=NEW),),
                                configs=(dataclasses.replace(WEB.configs[0], digest=NEW),))
    assert cause(WEB, after) == "secret changed: configs, secrets"
