"""Bearer-token authentication (JWT) and the caller every endpoint sees.

Two kinds of token are accepted, chosen by the token's ``alg`` header:
- HS256, signed with ``IKM_JWT_SECRET`` (``ikm token``, service-to-service, development);
- RS256/ES256 from an identity provider (e.g. Keycloak), whose public keys come from
  ``IKM_JWT_JWKS_URL`` (cached; an unknown ``kid`` refreshes at most every 30 s).
Every token must carry ``sub``, ``iss`` (the configured issuer of its kind), ``aud``
(``IKM_JWT_AUDIENCE``), ``iat`` and ``exp`` with ``exp - iat <= IKM_JWT_MAX_LIFETIME``.

Roles (claim ``role``, or exactly one of them among Keycloak's ``realm_access.roles``):
- ``ministry``: Ditjen IKMA officers, everything;
- ``regional``: a Disperindag officer; claim ``province`` scopes reads and actions;
- ``partner``: claim ``partner_id``: its own record and MoUs;
- ``enterprise``: claim ``nib``: its own enterprise;
- ``service``: another system or service.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from contracts.values import ROLES, Role
from ikmkit.service.errors import Forbidden, Unauthorized
from ikmkit.service.settings import ServiceSettings

log = logging.getLogger(__name__)

ISSUER = "ikm-platform"
AUDIENCE = "ikm-platform"
MAX_LIFETIME_SECONDS = 12 * 3600
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ["sub", "iss", "aud", "iat", "exp"]
LEEWAY_SECONDS = 30  # clock skew between the identity provider and the services
JWKS_REFRESH_COOLDOWN = 30.0
JWKS_LIFESPAN = 300.0
JWKS_STALE_MAX = 24 * 3600.0
"""How long an identity provider that does not answer is trusted on the keys it last published."""
CACHE_SIZE = 4096


@dataclass(frozen=True)
class Caller:
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
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "role": role,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    for name, value in (("province", province), ("nib", nib), ("partner_id", partner_id)):
        if value is not None:
            claims[name] = value
    return jwt.encode(claims, secret, algorithm="HS256")


def _refused(reason: str, rule: str) -> Unauthorized:
    return Unauthorized(f"invalid bearer token: {reason}", rule=rule)


class JwksKeys:
    """An identity provider's signing keys by ``kid``, read again every ``JWKS_LIFESPAN``
    seconds, and at once (at most once per ``JWKS_REFRESH_COOLDOWN``) for a ``kid`` not seen.

    When the provider does not answer, the keys it last published keep serving (for up to
    ``JWKS_STALE_MAX``) and it is asked again once per cooldown: before, every new token was
    refused until it answered, for the whole platform, each refusal after the fetch's timeout.
    Called off the event loop (``caller_for``), from several threads."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched = float("-inf")  # time.monotonic() of the last read that answered
        self._asked = float("-inf")  # of the last read tried
        self._failure: str | None = None  # why the last read failed, if it did
        self._lock = threading.Lock()

    def key_for(self, kid: object) -> jwt.PyJWK:
        if not isinstance(kid, str) or not kid:
            raise _refused("no kid in the token header", "kid")
        with self._lock:
            now = time.monotonic()
            if self._due(kid, now):
                self._read(now)
            key = self._keys.get(kid)
            if key is not None and now - self._fetched <= JWKS_STALE_MAX:
                return key
            if self._failure is not None:
                raise _refused(f"identity provider keys unavailable ({self._failure})", "jwks")
            raise _refused(f"unknown signing key {kid!r}", "kid")

    def _due(self, kid: str, now: float) -> bool:
        cooled = now - self._asked >= JWKS_REFRESH_COOLDOWN
        if now - self._fetched > JWKS_LIFESPAN:  # time to read again, unless it just failed
            return self._failure is None or cooled
        return kid not in self._keys and cooled

    def _read(self, now: float) -> None:
        self._asked = now
        try:
            keys = self._client.get_signing_keys(refresh=True)
        except jwt.PyJWKClientError as exc:  # unreachable, an error status, no usable key
            if self._failure is None:
                log.warning("identity provider keys not read (%s); the last ones serve", exc)
            self._failure = str(exc)
            return
        self._keys = {key.key_id: key for key in keys if key.key_id}
        self._fetched, self._failure = now, None


@dataclass(frozen=True, eq=False)
class TokenVerifier:
    """Checks signature, issuer, audience and lifetime; maps claims to a ``Caller``."""

    secret: str | None
    issuer: str = ISSUER
    audience: str = AUDIENCE
    max_lifetime: int = MAX_LIFETIME_SECONDS
    jwks: JwksKeys | None = None
    jwks_issuer: str | None = None
    _cache: OrderedDict[str, tuple[Caller, float]] = field(default_factory=OrderedDict, repr=False)

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenVerifier:
        return cls(
            secret=settings.hs256_secret(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_lifetime=settings.jwt_max_lifetime,
            jwks=JwksKeys(settings.jwt_jwks_url) if settings.jwt_jwks_url else None,
            jwks_issuer=settings.jwt_jwks_issuer,
        )

    def claims(self, token: str) -> dict[str, Any]:
        """Verified claims; may fetch the JWKS (blocking) for an asymmetric token."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused(str(exc), "malformed") from exc
        alg = header.get("alg")
        key, issuer = self._key(alg, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[str(alg)],
                issuer=issuer,
                audience=self.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise _refused(str(exc), _rule_of(exc)) from exc
        for name in ("exp", "iat"):  # PyJWT's checks read "123" as 123; JSON numbers only here
            if type(claims[name]) not in (int, float):
                raise _refused(f"{name} is not a number (NumericDate)", "malformed")
        lifetime = claims["exp"] - claims["iat"]
        if lifetime > self.max_lifetime:
            raise _refused(
                f"lifetime {lifetime}s exceeds the maximum {self.max_lifetime}s "
                "(IKM_JWT_MAX_LIFETIME)",
                "lifetime",
            )
        return claims

    def _key(self, alg: object, kid: object) -> tuple[Any, str | None]:
        if alg == "HS256" and self.secret is not None:
            return self.secret, self.issuer
        if alg in ASYMMETRIC_ALGORITHMS and self.jwks is not None:
            return self.jwks.key_for(kid), self.jwks_issuer
        accepted = (["HS256"] if self.secret is not None else []) + (
            list(ASYMMETRIC_ALGORITHMS) if self.jwks is not None else []
        )
        raise _refused(f"algorithm {alg!r} not accepted (accepted: {accepted})", "algorithm")

    def caller(self, token: str) -> tuple[Caller, float]:
        claims = self.claims(token)
        return caller_of(claims), float(claims["exp"])

    def cached(self, token: str) -> tuple[Caller, float] | None:
        hit = self._cache.get(token)
        if hit is not None:
            self._cache.move_to_end(token)
        return hit

    def remember(self, token: str, verified: tuple[Caller, float]) -> None:
        self._cache[token] = verified
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)


def _rule_of(exc: jwt.PyJWTError) -> str:
    rules: list[tuple[type[jwt.PyJWTError], str]] = [
        (jwt.ExpiredSignatureError, "expired"),
        (jwt.ImmatureSignatureError, "not_yet_valid"),
        (jwt.InvalidAudienceError, "audience"),
        (jwt.InvalidIssuerError, "issuer"),
        (jwt.MissingRequiredClaimError, "missing_claim"),
        (jwt.InvalidSignatureError, "signature"),
        (jwt.InvalidAlgorithmError, "algorithm"),
    ]
    return next((rule for kind, rule in rules if isinstance(exc, kind)), "malformed")


def caller_of(claims: dict[str, Any]) -> Caller:
    role = claims.get("role") or _realm_role(claims)
    if role not in ROLES:
        raise Unauthorized(f"token has unknown role {role!r}", rule="role")
    if role == "regional" and not claims.get("province"):
        raise Unauthorized("a regional token needs a province claim", rule="role")
    if role == "enterprise" and not claims.get("nib"):
        raise Unauthorized("an enterprise token needs a nib claim", rule="role")
    if role == "partner" and not claims.get("partner_id"):
        raise Unauthorized("a partner token needs a partner_id claim", rule="role")
    return Caller(
        subject=str(claims.get("sub", "")),
        role=role,
        province=_text(claims.get("province")),
        nib=_text(claims.get("nib")),
        partner_id=_text(claims.get("partner_id")),
    )


def _realm_role(claims: dict[str, Any]) -> str | None:
    """Keycloak without a ``role`` mapper: the one IKM role among the realm roles."""
    access = claims.get("realm_access")
    roles = access.get("roles", []) if isinstance(access, dict) else []
    ours = [r for r in roles if r in ROLES] if isinstance(roles, list) else []
    if len(ours) > 1:
        raise Unauthorized(f"token has several IKM roles {sorted(ours)}", rule="role")
    return ours[0] if ours else None


def _text(value: object) -> str | None:
    # Keycloak user attributes may arrive as one-element lists when "multivalued" is on.
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return None if value is None else str(value)


class BearerCaller(SecurityBase):
    """The caller of a request, read from its ``Authorization: Bearer`` header in one
    dependency. FastAPI solves each dependency on every request (~10 µs each); an
    ``HTTPBearer`` under the caller's dependency cost a second solve. Being a
    ``SecurityBase`` itself, it is what the OpenAPI document lists as the ``HTTPBearer``
    scheme, as ``HTTPBearer`` was."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(description="JWT issued by `ikm token` or the IdP")
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> Caller:
        # async: a sync dependency would cost a threadpool hop on every request.
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        token = token.strip()
        if not token or scheme.lower() != "bearer":
            raise Unauthorized("missing bearer token", rule="missing")
        return await caller_for(request.app.state.token_verifier, token)


async def caller_for(verifier: TokenVerifier, token: str) -> Caller:
    """The verified caller of ``token``, from the verifier's cache when it has it."""
    verified = verifier.cached(token)
    if verified is None:
        if verifier.jwks is None:
            verified = verifier.caller(token)
        else:  # a JWKS fetch blocks: keep it off the event loop
            verified = await asyncio.to_thread(verifier.caller, token)
        verifier.remember(token, verified)
    caller, expires = verified
    if expires + LEEWAY_SECONDS <= time.time():  # a cached verification must not outlive it
        raise _refused("Signature has expired", "expired")
    return caller


current_caller = BearerCaller()

CurrentCaller = Annotated[Caller, Depends(current_caller)]
