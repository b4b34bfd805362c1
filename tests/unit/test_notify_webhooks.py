"""Standard Webhooks signing (checked with the ``standardwebhooks`` library) and the SSRF
guard's address rules."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from ikmkit.service.errors import InvalidInput
from services.notify.domain import webhooks
from services.notify.domain.destinations import AllowList, refusal
from services.notify.domain.webhooks import Subscription
from services.notify.senders import Resolver, WebhookGuard

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BODY = b'{"id":"e1","data":{"name":"CV Maju \xc3\xa9"}}'


def subscription(secret: str) -> Subscription:
    return Subscription(
        id="s", url="https://hooks.example/x", event_types=["X"], secret=secret, created_at=NOW
    )


def test_generated_secrets_sign_as_the_library_verifies() -> None:
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    timestamp = str(int(time.time()))
    headers = webhooks.signed_headers(subscription(secret), BODY, timestamp, "n-1")
    assert headers["webhook-id"] == "n-1" and headers["webhook-timestamp"] == timestamp
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == {"id": "e1", "data": {"name": "CV Maju é"}}
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "n-2"})


def test_a_plain_secret_is_its_utf8_bytes() -> None:
    """Subscriptions made before the standard keep their secret: the key is its UTF-8."""
    timestamp = str(int(time.time()))
    headers = webhooks.signed_headers(subscription("s" * 16), BODY, timestamp, "n-1")
    Webhook(("s" * 16).encode()).verify(BODY, headers)
    Webhook("whsec_" + base64.b64encode(b"s" * 16).decode()).verify(BODY, headers)


def test_the_signature_recipe_and_our_own_verifier() -> None:
    import hashlib
    import hmac

    mac = hmac.new(b"s3cret-s3cret-16", b"n-1.1700000000." + BODY, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    assert webhooks.webhook_signature("s3cret-s3cret-16", "n-1", "1700000000", BODY) == expected
    headers = {"webhook-id": "n-1", "webhook-timestamp": "1700000000"}
    ok = webhooks.verify_webhook_signature
    signed = {**headers, "webhook-signature": f"v1,AAAA {expected}"}
    assert ok("s3cret-s3cret-16", signed, BODY, now=1700000100)
    assert not ok("other-secret-16!", signed, BODY, now=1700000100)
    assert not ok("s3cret-s3cret-16", signed, BODY + b" ", now=1700000100)
    assert not ok("s3cret-s3cret-16", signed, BODY, now=1700001000)  # stale


@pytest.mark.parametrize(
    "secret", ["whsec_", "whsec_!!notbase64", "whsec_" + base64.b64encode(b"x" * 16).decode()]
)
def test_malformed_whsec_secrets_are_refused(secret: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        webhooks.check_secret(secret)
    assert (caught.value.field, caught.value.rule) == ("secret", "webhook_secret_format")
    webhooks.check_secret("whsec_" + base64.b64encode(b"x" * 24).decode())
    webhooks.check_secret("a passphrase of 16+ chars")


# --- the SSRF guard ---------------------------------------------------------------------------

NOTHING = AllowList.parse("")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),  # unique-local
        ("100.64.0.1", "reserved"),  # carrier-grade NAT: not global
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("::ffff:127.0.0.1", "loopback"),
    ],
)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    why = refusal(address, [address], NOTHING)
    assert why is not None and f"a {kind} address" in why


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:bd1"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal("hooks.example", [address], NOTHING) is None


def test_a_name_with_any_private_address_is_refused() -> None:
    why = refusal("hooks.example", ["93.184.215.14", "10.0.0.7"], NOTHING)
    assert why == (
        "hooks.example resolves to 10.0.0.7, which is a private address"
        " (allow it in NOTIFY_WEBHOOK_ALLOWED_HOSTS)"
    )


def test_the_operator_allows_hosts_and_networks() -> None:
    allowed = AllowList.parse(" Hooks.Internal. , 127.0.0.1, 10.1.0.0/16,[::1],")
    assert refusal("hooks.internal", ["10.9.9.9"], allowed) is None
    assert refusal("127.0.0.1", ["127.0.0.1"], allowed) is None
    assert refusal("127.0.0.2", ["127.0.0.2"], allowed) is not None
    assert refusal("a.example", ["10.1.200.3"], allowed) is None
    assert refusal("a.example", ["10.2.0.1"], allowed) is not None
    assert refusal("::1", ["::1"], allowed) is None


def resolver(table: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


async def test_the_guard_resolves_names_and_names_field_and_rule() -> None:
    table = {
        "evil.example": ["10.0.0.5"],
        "good.example": ["93.184.215.14"],
        "v6.example": ["fd12::1"],
    }
    guard = WebhookGuard(NOTHING, resolver(table))
    for url, rule in [
        ("https://evil.example/hook", "webhook_private_address"),
        ("http://v6.example:8080/x", "webhook_private_address"),
        ("http://127.0.0.1:9/x", "webhook_private_address"),
        ("http://[::1]/x", "webhook_private_address"),
        ("http://[::ffff:169.254.169.254]/x", "webhook_private_address"),
        ("https://nowhere.example/x", "webhook_unresolvable_host"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            await guard.check(url)
        assert (caught.value.field, caught.value.rule) == ("url", rule), url
    assert await guard.addresses("https://good.example/hook") == ["93.184.215.14"]
    allowed = WebhookGuard(AllowList.parse("evil.example,127.0.0.0/8"), resolver(table))
    await allowed.check("https://evil.example/hook")
    assert await allowed.addresses("http://127.0.0.1:9/x") == ["127.0.0.1"]


async def test_the_guard_checks_again_when_dns_changes() -> None:
    table = {"flip.example": ["93.184.215.14"]}
    guard = WebhookGuard(NOTHING, resolver(table))
    await guard.check("https://flip.example/x")
    table["flip.example"] = ["192.168.0.10"]
    with pytest.raises(InvalidInput):
        await guard.addresses("https://flip.example/x")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.id/in", "https://hooks.example.id/in"),
        ("https://u:p%40ss@hooks.example.id/in", "https://u:***@hooks.example.id/in"),
        ("https://u@hooks.example.id/in", "https://u@hooks.example.id/in"),
        ("https://h.example.id/in?token=a&flag&x=", "https://h.example.id/in?token=***&flag&x=***"),
        ("http://u:p@[::1]:8080/p?k=v#frag", "http://u:***@[::1]:8080/p?k=***#frag"),
    ],
)
def test_a_subscription_url_shows_no_credentials(url: str, shown: str) -> None:
    assert webhooks.mask_url(url) == shown
    assert webhooks.mask_url(shown) == shown  # masking twice changes nothing
