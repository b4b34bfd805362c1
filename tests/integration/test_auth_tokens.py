"""Bearer tokens: issuer, audience and lifetime are checked; RS256/ES256 tokens are verified
against an identity provider's JWKS served by a real HTTP server on 127.0.0.1.

Every refusal is a 401 naming its reason (``unauthorized.<rule>``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from ikmkit.auth import CurrentCaller, TokenVerifier, issue_token
from ikmkit.service.http import install_error_handlers
from ikmkit.service.settings import ServiceSettings

ISSUER = "https://sso.example.go.id/realms/ikm"
AUDIENCE = "ikm-platform"
SECRET = "a-test-secret-of-at-least-thirty-two-characters"


@dataclass
class IdentityProvider:
    """Signing keys and a JWKS endpoint, as Keycloak's realm ``certs`` serves them."""

    rsa_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ec_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    fetches: int = 0
    url: str = ""
    down: bool = False  # its endpoint answers 503, as during an outage

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key()))
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"},
                {**ec_jwk, "kid": "ec-1", "alg": "ES256", "use": "sig"},
            ]
        }

    def token(self, alg: str = "RS256", kid: str | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "f3b1c2d4-officer",
            "iss": ISSUER,
            "aud": [AUDIENCE, "account"],
            "iat": now,
            "exp": now + 300,
            "role": "regional",
            "province": "34",
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.rsa_key if alg == "RS256" else self.ec_key
        kid = kid or ("rsa-1" if alg == "RS256" else "ec-1")
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})

    def public_pem(self) -> bytes:
        return self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            provider.fetches += 1
            if provider.down:
                self.send_error(503)
                return
            body = json.dumps(provider.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_port}/protocol/openid-connect/certs"
    yield provider
    server.shutdown()
    server.server_close()


def app_for(settings: ServiceSettings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier.from_settings(settings)

    @app.get("/me")
    async def me(principal: CurrentCaller) -> dict[str, Any]:
        return {"role": principal.role, "province": principal.province, "sub": principal.subject}

    return app


@pytest.fixture
async def client(idp: IdentityProvider) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServiceSettings(
        env="production",
        jwt_secret=SECRET,
        jwt_jwks_url=idp.url,
        jwt_jwks_issuer=ISSUER,
        event_signing_key=base64.b64encode(bytes(32)).decode(),
    )
    transport = httpx.ASGITransport(app=app_for(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        yield http


async def call(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/me", headers={"Authorization": f"Bearer {token}"})


def refused(response: httpx.Response, rule: str) -> bool:
    return response.status_code == 401 and f"unauthorized.{rule}" in response.text


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_identity_provider_tokens_are_accepted_and_mapped(
    client: httpx.AsyncClient, idp: IdentityProvider, alg: str
) -> None:
    response = await call(client, idp.token(alg))
    assert response.status_code == 200, response.text
    assert response.json() == {"role": "regional", "province": "34", "sub": "f3b1c2d4-officer"}


async def test_keycloak_realm_role_and_list_attributes_are_mapped(
    client: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    token = idp.token(
        role=None,
        province=["35"],
        realm_access={"roles": ["offline_access", "regional", "uma_authorization"]},
    )
    response = await call(client, token)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "regional" and response.json()["province"] == "35"


def hs256_signed_with(key: bytes, claims: dict[str, Any]) -> str:
    """An HS256 token whose HMAC key is ``key`` (PyJWT refuses to build this one)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': 'rsa-1'})}.{part(claims)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def unsigned(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, None, algorithm="none")


async def test_bad_tokens_are_refused_with_their_reason(
    client: httpx.AsyncClient, idp: IdentityProvider
) -> None:
    now = int(time.time())
    good = jwt.decode(idp.token(), options={"verify_signature": False})
    cases = {
        "audience": idp.token(aud="someone-else"),
        "issuer": idp.token(iss="https://evil.example/realms/ikm"),
        "expired": idp.token(iat=now - 7200, exp=now - 3600),
        "lifetime": idp.token(exp=now + 13 * 3600),
        "missing_claim": idp.token(exp=None),
        "kid": idp.token(kid="rotated-away"),
        "algorithm": unsigned(good),
        "signature": hs256_signed_with(idp.public_pem(), good),
    }
    outcomes = {rule: await call(client, token) for rule, token in cases.items()}
    wrong = {rule: (r.status_code, r.text) for rule, r in outcomes.items() if not refused(r, rule)}
    assert wrong == {}
    assert refused(await call(client, idp.token(iat=None)), "missing_claim")


@pytest.mark.parametrize("time_claim", ["exp", "iat"])
async def test_a_time_written_as_text_is_refused_not_a_500(
    client: httpx.AsyncClient, idp: IdentityProvider, time_claim: str
) -> None:
    """PyJWT reads ``"1767225600"`` as a number when it checks expiry; the lifetime's
    subtraction did not (TypeError: a 500 for a token its provider signed)."""
    now = int(time.time())
    text = {"exp": str(now + 300), "iat": str(now)}[time_claim]
    response = await call(client, idp.token(**{time_claim: text}))
    assert refused(response, "malformed"), (response.status_code, response.text)
    assert time_claim in response.json()["detail"]


async def test_algorithm_confusion_is_refused_without_a_shared_secret(
    idp: IdentityProvider,
) -> None:
    """JWKS only (no IKM_JWT_SECRET): an HS256 token keyed with the public key has no path."""
    settings = ServiceSettings(env="production", jwt_jwks_url=idp.url, jwt_jwks_issuer=ISSUER)
    transport = httpx.ASGITransport(app=app_for(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        good = jwt.decode(idp.token(), options={"verify_signature": False})
        response = await call(http, hs256_signed_with(idp.public_pem(), good))
        assert refused(response, "algorithm"), response.text
        assert (await call(http, idp.token("ES256"))).status_code == 200


async def test_keys_are_fetched_once_and_unknown_kids_do_not_hammer_the_provider(
    idp: IdentityProvider,
) -> None:
    settings = ServiceSettings(env="production", jwt_jwks_url=idp.url, jwt_jwks_issuer=ISSUER)
    transport = httpx.ASGITransport(app=app_for(settings))
    before = idp.fetches
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        for index in range(20):
            assert (await call(http, idp.token(sub=f"user-{index}"))).status_code == 200
        for index in range(20):
            assert refused(await call(http, idp.token(kid=f"forged-{index}")), "kid")
    assert idp.fetches - before == 1


async def test_an_identity_provider_outage_does_not_refuse_the_keys_it_published(
    idp: IdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key set is read again every few minutes; when the provider did not answer then,
    every new token was refused (401) until it came back, for the whole platform, and each
    refusal first waited out the fetch's timeout. Its last keys serve until it answers: a
    token of a key it published passes, one of a key never seen is refused as unverifiable,
    and the provider is asked again once per cooldown, not on every request."""
    monkeypatch.setattr("ikmkit.auth.JWKS_LIFESPAN", 0.2)
    settings = ServiceSettings(env="production", jwt_jwks_url=idp.url, jwt_jwks_issuer=ISSUER)
    transport = httpx.ASGITransport(app=app_for(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        assert (await call(http, idp.token(sub="before-the-outage"))).status_code == 200
        idp.down = True
        try:
            await asyncio.sleep(0.3)  # the key set is due to be read again
            asked = idp.fetches
            for index in range(5):
                answer = await call(http, idp.token(sub=f"during-{index}"))
                assert answer.status_code == 200, answer.text
            assert refused(await call(http, idp.token(kid="rotated-2")), "jwks")
            assert idp.fetches - asked == 1
        finally:
            idp.down = False


async def test_hs256_tokens_need_audience_issuer_and_a_bounded_lifetime(
    client: httpx.AsyncClient,
) -> None:
    assert (await call(client, issue_token(SECRET, subject="cli", role="ministry"))).is_success
    legacy = jwt.encode(  # today's `ikm token` shape: no audience
        {"sub": "cli", "role": "ministry", "iss": "ikm-platform", "iat": 0, "exp": 2**31},
        SECRET,
        algorithm="HS256",
    )
    assert refused(await call(client, legacy), "missing_claim")
    week = issue_token(SECRET, subject="cli", role="ministry", ttl_seconds=7 * 86400)
    assert refused(await call(client, week), "lifetime")
    other = issue_token(SECRET, subject="cli", role="ministry", audience="another-platform")
    assert refused(await call(client, other), "audience")
    forged = issue_token("a-different-secret-of-thirty-two-chars!", subject="x", role="ministry")
    assert refused(await call(client, forged), "signature")
