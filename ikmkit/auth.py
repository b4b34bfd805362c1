"""Bearer-token authentication (HS256 JWT) and the principal every endpoint sees.

Roles:
- ``ministry``: Ditjen IKMA officers, everything;
- ``regional``: a Disperindag officer; claim ``province`` scopes reads and actions;
- ``partner``: claim ``partner_id``: its own record and MoUs;
- ``enterprise``: claim ``nib``: its own enterprise;
- ``service``: another system or service.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ikmkit.errors import Forbidden, Unauthorized

Role = Literal["ministry", "regional", "partner", "enterprise", "service"]
ROLES: tuple[Role, ...] = ("ministry", "regional", "partner", "enterprise", "service")
ISSUER = "ikm-platform"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    province: str | None = None
    nib: str | None = None
    partner_id: str | None = None

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not do this; needs one of {', '.join(roles)}")

    def sees_province(self, province: str | None) -> bool:
        """Regional officers see only their own province; other roles are checked elsewhere."""
        return self.role != "regional" or province == self.province


def issue_token(
    secret: str,
    *,
    subject: str,
    role: Role,
    province: str | None = None,
    nib: str | None = None,
    partner_id: str | None = None,
    ttl_seconds: int = 8 * 3600,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "role": role,
        "iss": ISSUER,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    for name, value in (("province", province), ("nib", nib), ("partner_id", partner_id)):
        if value is not None:
            claims[name] = value
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> Principal:
    return _principal(_verified_claims(secret, token))


def _verified_claims(secret: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid bearer token: {exc}") from exc
    return claims


def _principal(claims: dict[str, Any]) -> Principal:
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthorized(f"token has unknown role {role!r}")
    if role == "regional" and not claims.get("province"):
        raise Unauthorized("a regional token needs a province claim")
    if role == "enterprise" and not claims.get("nib"):
        raise Unauthorized("an enterprise token needs a nib claim")
    if role == "partner" and not claims.get("partner_id"):
        raise Unauthorized("a partner token needs a partner_id claim")
    return Principal(
        subject=str(claims.get("sub", "")),
        role=role,
        province=claims.get("province"),
        nib=claims.get("nib"),
        partner_id=claims.get("partner_id"),
    )


_bearer = HTTPBearer(auto_error=False, description="JWT issued by `ikm token`")


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Principal, float]:
    claims = _verified_claims(secret, token)
    return _principal(claims), float(claims.get("exp", 0))


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # async: a sync dependency would cost a threadpool hop on every request.
    if credentials is None:
        raise Unauthorized("missing bearer token")
    secret: str = request.app.state.jwt_secret
    principal, expires = _verified(secret, credentials.credentials)
    if expires <= time.time():  # a cached verification must not outlive the token
        raise Unauthorized("invalid bearer token: Signature has expired")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
