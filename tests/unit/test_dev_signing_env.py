"""`ikm dev up` and the e2e stacks sign every service's events and give consumers the keys."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from ikm_cli.dev import SERVICES, _service_env
from ikm_cli.devkeys import KEYS_FILE, signing_env, stored_private_key
from ikmkit.messaging.signing import generate_keypair, signer_from_key, verify_signature


def test_each_service_gets_a_key_and_every_consumer_all_public_keys(tmp_path: Path) -> None:
    env = _service_env("127.0.0.1:9092", tmp_path, {})
    public = json.loads(env["IKM_EVENT_PUBLIC_KEYS"])
    assert set(public) == set(SERVICES)
    for service in SERVICES:
        private = env[f"{service.upper()}_EVENT_SIGNING_KEY"]
        assert verify_signature(public[service], "digest", signer_from_key(private)("digest"))
    assert len({env[f"{s.upper()}_EVENT_SIGNING_KEY"] for s in SERVICES}) == len(SERVICES)


def test_keys_survive_a_restart_and_stay_private(tmp_path: Path) -> None:
    first = signing_env(SERVICES, tmp_path, {})
    again = signing_env(SERVICES, tmp_path, {})
    assert first == again  # republished events keep verifying after `down` / `up`
    assert stat.S_IMODE((tmp_path / KEYS_FILE).stat().st_mode) == 0o600
    assert stored_private_key("registry", tmp_path) == first["REGISTRY_EVENT_SIGNING_KEY"]
    assert stored_private_key("registry", tmp_path / "elsewhere") is None


def test_keys_in_the_environment_win(tmp_path: Path) -> None:
    private, public = generate_keypair()
    env = signing_env(SERVICES, tmp_path, {"REGISTRY_EVENT_SIGNING_KEY": private})
    assert env["REGISTRY_EVENT_SIGNING_KEY"] == private
    assert json.loads(env["IKM_EVENT_PUBLIC_KEYS"])["registry"] == public
