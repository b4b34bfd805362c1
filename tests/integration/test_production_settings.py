"""IKM_ENV=production (the default) refuses development defaults at start-up; proper
production settings start a real service (embedded broker, SQLite) that accepts its tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from ikmkit.auth import issue_token
from ikmkit.messaging.signing import generate_keypair
from ikmkit.service.runtime import ServiceDefinition, create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET, UnsafeSettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training_definition
from services.training.settings import TrainingSettings
from tests.conftest import make_store
from tests.support.service import running_service

ROOT = Path(__file__).resolve().parents[2]
SECRET = "production-secret-0123456789-abcdefghijkl"


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IKM_ENV", raising=False)
    assert RegistrySettings().env == "production"
    with pytest.raises(UnsafeSettings) as refused:
        create_service_app(registry_definition(RegistrySettings()))
    message = str(refused.value)
    assert "IKM_ENV=production" in message
    assert "neither IKM_JWT_SECRET nor IKM_JWT_JWKS_URL" in message
    assert "REGISTRY_EVENT_SIGNING_KEY is unset" in message


def test_production_refuses_the_development_secret_and_unsigned_events() -> None:
    signing, _ = generate_keypair()
    cases = {
        "IKM_JWT_SECRET is the published development secret": RegistrySettings(
            env="production", jwt_secret=DEV_JWT_SECRET, event_signing_key=signing
        ),
        "IKM_JWT_SECRET is shorter than 32": RegistrySettings(
            env="production", jwt_secret="short", event_signing_key=signing
        ),
        "REGISTRY_EVENT_SIGNING_KEY is unset": RegistrySettings(
            env="production", jwt_secret=SECRET
        ),
    }
    for reason, settings in cases.items():
        with pytest.raises(UnsafeSettings, match=reason):
            create_service_app(registry_definition(settings))


def test_malformed_keys_are_refused_in_every_environment() -> None:
    settings = RegistrySettings(
        env="development", event_signing_key="bm90IGEga2V5", event_public_keys={"x": "abc"}
    )
    with pytest.raises(UnsafeSettings) as refused:
        create_service_app(registry_definition(settings))
    assert "REGISTRY_EVENT_SIGNING_KEY is not a base64 raw 32-byte" in str(refused.value)
    assert "IKM_EVENT_PUBLIC_KEYS['x']" in str(refused.value)


def test_the_service_process_exits_naming_the_setting(tmp_path: Path) -> None:
    """What an operator sees: uvicorn (as the image runs it) exits non-zero at once."""
    env = {
        **os.environ,
        "IKM_ENV": "production",
        "IKM_JWT_SECRET": DEV_JWT_SECRET,
        "IKM_DATA_DIR": str(tmp_path),
    }
    env.pop("REGISTRY_EVENT_SIGNING_KEY", None)
    command = [sys.executable, "-m", "uvicorn", "services.registry.main:create_app", "--factory"]
    done = subprocess.run(
        [*command, "--port", "0"],
        check=False,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "refuses to start with IKM_ENV=production" in done.stderr
    assert "IKM_JWT_SECRET is the published development secret" in done.stderr


def production_subsidy(kafka: str, tmp_path: Path, *, public_keys_of: str) -> ServiceDefinition:
    """Subsidy with every production secret set, and one producer's public key."""
    settings = SubsidySettings(
        env="production",
        kafka_bootstrap_servers=kafka,
        jwt_secret=SECRET,
        event_signing_key=generate_keypair()[0],
        event_public_keys={public_keys_of: generate_keypair()[1]},
    )
    return subsidy_definition(settings, store=make_store("sqlite", tmp_path, None))


async def test_a_consumer_needs_the_public_keys_of_its_producers(
    kafka: str, tmp_path: Path
) -> None:
    definition = production_subsidy(kafka, tmp_path, public_keys_of="training")
    with pytest.raises(UnsafeSettings, match="IKM_EVENT_PUBLIC_KEYS has no key for registry"):
        async with running_service(definition):
            pass


async def test_proper_production_settings_start_and_accept_their_tokens(
    kafka: str, tmp_path: Path
) -> None:
    definition = production_subsidy(kafka, tmp_path, public_keys_of="registry")
    async with running_service(definition) as subsidy:
        assert (await subsidy.client.get("/healthz")).status_code == 200
        good = issue_token(SECRET, subject="officer", role="ministry")
        dev = issue_token(DEV_JWT_SECRET, subject="officer", role="ministry")
        ok = await subsidy.client.get("/programs", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200, ok.text
        bad = await subsidy.client.get("/programs", headers={"Authorization": f"Bearer {dev}"})
        assert bad.status_code == 401


def test_production_refuses_any_secret_left_at_its_published_default() -> None:
    signing, public = generate_keypair()
    settings = TrainingSettings(
        env="production",
        jwt_secret=SECRET,
        event_signing_key=signing,
        event_public_keys={"registry": public},
    )
    with pytest.raises(UnsafeSettings) as refused:
        create_service_app(training_definition(settings))
    assert "TRAINING_CERTIFICATE_KEY is its published development default" in str(refused.value)
    assert "TRAINING_PSEUDONYM_KEY is its published development default" in str(refused.value)
    fixed = settings.model_copy(
        update={"certificate_key": SecretStr("c" * 40), "pseudonym_key": SecretStr("p" * 40)}
    )
    assert fixed.production_problems() == []


def test_production_refuses_an_smtp_password_sent_in_clear() -> None:
    """SMTP AUTH with ``NOTIFY_SMTP_SECURITY=none`` sent the relay's password, then every
    e-mail (names, addresses: personal data), over the network as plain text."""
    from services.notify.main import definition as notify_definition
    from services.notify.settings import NotifySettings

    signing, public = generate_keypair()
    settings = NotifySettings(
        env="production",
        jwt_secret=SECRET,
        event_signing_key=signing,
        event_public_keys={s: public for s in ("registry", "subsidy", "training", "insights")},
        smtp_host="smtp.example.go.id",
        smtp_username="ikm",
        smtp_password=SecretStr("relay-password"),
        smtp_security="none",
    )
    with pytest.raises(UnsafeSettings, match="NOTIFY_SMTP_USERNAME is set but NOTIFY_SMTP_SECU"):
        create_service_app(notify_definition(settings))
    for security in ("starttls", "tls"):
        assert settings.model_copy(update={"smtp_security": security}).production_problems() == []
    loopback = settings.model_copy(update={"smtp_host": "127.0.0.1"})  # a relay on the node
    assert loopback.production_problems() == []
