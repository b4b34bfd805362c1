"""``ikm token`` issues tokens the services accept: issuer, audience and a bounded lifetime."""

from __future__ import annotations

import jwt
import pytest
from typer.testing import CliRunner

from ikm_cli.main import app
from ikmkit.auth import TokenVerifier
from ikmkit.service.settings import DEV_JWT_SECRET, ServiceSettings


def test_ikm_token_conforms_to_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IKM_JWT_SECRET", raising=False)
    monkeypatch.setenv("IKM_JWT_AUDIENCE", "ikm-staging")
    result = CliRunner().invoke(app, ["token", "regional", "--province", "34"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "ikm-staging" and claims["iss"] == "ikm-platform"
    assert 0 < claims["exp"] - claims["iat"] <= ServiceSettings().jwt_max_lifetime
    verifier = TokenVerifier.from_settings(ServiceSettings(env="development"))
    principal, _ = verifier.caller(token)
    assert (principal.role, principal.province) == ("regional", "34")
    assert verifier.secret == DEV_JWT_SECRET


def test_ikm_token_refuses_a_lifetime_over_the_maximum() -> None:
    result = CliRunner().invoke(app, ["token", "ministry", "--ttl", str(13 * 3600)])
    assert result.exit_code != 0
    assert "IKM_JWT_MAX_LIFETIME" in result.output


@pytest.mark.parametrize(
    ("role", "option"),
    [("regional", "--province"), ("enterprise", "--nib"), ("partner", "--partner-id")],
)
def test_ikm_token_refuses_a_scoped_role_without_its_scope(role: str, option: str) -> None:
    """Every service answers 401 to a regional token without a province (and the like): the
    token was printed, and its user learnt of it at the first call."""
    result = CliRunner().invoke(app, ["token", role])
    assert result.exit_code == 2, result.output
    assert option in result.output
