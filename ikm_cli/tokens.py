"""Bearer tokens the services accept, issued without importing the services' stack.

The claims are exactly those of ``ikmkit.auth.issue_token`` (HS256; ``sub``, ``role``,
``iss``, ``aud``, ``iat``, ``exp`` and the scope claims). The signature is computed here
with the standard library: importing PyJWT (and the cryptography it loads) alone costs
more than ``ikm token``'s whole start-up budget, and HS256 is one HMAC. Issuer, audience
and the longest lifetime are read from the variables the services read
(``IKM_JWT_ISSUER``, ``IKM_JWT_AUDIENCE``, ``IKM_JWT_MAX_LIFETIME``, ``IKM_JWT_SECRET``);
``tests/unit/test_cli_tokens.py`` proves the defaults and the roles equal the services'.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass

ROLES = ("ministry", "regional", "partner", "enterprise", "service")
DEV_JWT_SECRET = "dev-only-insecure-secret-change-me"
# The claim each scoped role needs (``ikmkit.auth.caller_of`` refuses the token without it).
SCOPE_CLAIMS = {"regional": "province", "enterprise": "nib", "partner": "partner_id"}
DEFAULT_TTL = 8 * 3600


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    issuer: str
    audience: str
    max_lifetime: int

    @classmethod
    def from_env(cls) -> TokenSettings:
        env = os.environ
        return cls(
            secret=env.get("IKM_JWT_SECRET") or DEV_JWT_SECRET,
            issuer=env.get("IKM_JWT_ISSUER", "ikm-platform"),
            audience=env.get("IKM_JWT_AUDIENCE", "ikm-platform"),
            max_lifetime=int(env.get("IKM_JWT_MAX_LIFETIME", str(12 * 3600))),
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, object]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def sign_hs256(claims: dict[str, object], secret: str) -> str:
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def issue_token(
    *,
    subject: str,
    role: str,
    province: str | None = None,
    nib: str | None = None,
    partner_id: str | None = None,
    ttl_seconds: int = DEFAULT_TTL,
    settings: TokenSettings | None = None,
) -> str:
    """A token for ``role`` signed with ``IKM_JWT_SECRET`` (default: the development secret)."""
    settings = settings or TokenSettings.from_env()
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "role": role,
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    for name, value in (("province", province), ("nib", nib), ("partner_id", partner_id)):
        if value is not None:
            claims[name] = value
    return sign_hs256(claims, settings.secret)
