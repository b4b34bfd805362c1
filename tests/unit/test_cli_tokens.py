"""The CLI's own token issuer (standard library, for start-up time) matches the services'."""

from __future__ import annotations

import jwt
import pytest

from contracts.values import ROLES
from ikm_cli import tokens
from ikm_cli.tokens import TokenSettings, issue_token
from ikmkit import auth
from ikmkit.service.errors import Unauthorized
from ikmkit.service.settings import DEV_JWT_SECRET, ServiceSettings

JWT_ENV = ("IKM_JWT_SECRET", "IKM_JWT_ISSUER", "IKM_JWT_AUDIENCE", "IKM_JWT_MAX_LIFETIME")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in JWT_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_roles_and_defaults_are_the_services(clean_env: pytest.MonkeyPatch) -> None:
    assert tuple(ROLES) == tokens.ROLES
    assert tokens.DEV_JWT_SECRET == DEV_JWT_SECRET
    services = ServiceSettings(env="development")
    assert TokenSettings.from_env() == TokenSettings(
        secret=services.hs256_secret() or "",
        issuer=services.jwt_issuer,
        audience=services.jwt_audience,
        max_lifetime=services.jwt_max_lifetime,
    )


def test_settings_follow_the_services_variables(clean_env: pytest.MonkeyPatch) -> None:
    values = {"IKM_JWT_SECRET": "s" * 40, "IKM_JWT_ISSUER": "iss", "IKM_JWT_AUDIENCE": "aud"}
    for name, value in {**values, "IKM_JWT_MAX_LIFETIME": "600"}.items():
        clean_env.setenv(name, value)
    services = ServiceSettings(env="development")
    settings = TokenSettings.from_env()
    assert (settings.issuer, settings.audience, settings.max_lifetime) == (
        services.jwt_issuer, services.jwt_audience, services.jwt_max_lifetime,
    )  # fmt: skip
    assert settings.secret == services.hs256_secret()


def test_the_token_has_the_claims_of_ikmkits_and_verifies(clean_env: pytest.MonkeyPatch) -> None:
    mine = issue_token(subject="s", role="enterprise", nib="1" * 13, ttl_seconds=60)
    theirs = auth.issue_token(DEV_JWT_SECRET, subject="s", role="enterprise", nib="1" * 13,
                              ttl_seconds=60)  # fmt: skip
    decoded = [jwt.decode(t, options={"verify_signature": False}) for t in (mine, theirs)]
    assert decoded[0].keys() == decoded[1].keys()
    assert {k: v for k, v in decoded[0].items() if k not in ("iat", "exp")} == {
        k: v for k, v in decoded[1].items() if k not in ("iat", "exp")
    }
    assert jwt.get_unverified_header(mine)["alg"] == "HS256"
    verifier = auth.TokenVerifier.from_settings(ServiceSettings(env="development"))
    caller, _ = verifier.caller(mine)
    assert (caller.role, caller.nib, caller.subject) == ("enterprise", "1" * 13, "s")


def test_a_token_signed_with_another_secret_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    forged = issue_token(
        subject="s",
        role="ministry",
        settings=TokenSettings("x" * 40, "ikm-platform", "ikm-platform", 3600),
    )
    verifier = auth.TokenVerifier.from_settings(ServiceSettings(env="development"))
    with pytest.raises(Unauthorized):
        verifier.caller(forged)
