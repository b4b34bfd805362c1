"""Which webhook destinations notify may call (the SSRF guard's rules). Pure: the addresses
are resolved by the caller (``senders.WebhookGuard``).

A URL is refused when its host is, or resolves to, an address that is not on the public
internet: loopback, link-local, private (RFC 1918, unique-local IPv6 ``fc00::/7``, carrier-grade
NAT ``100.64.0.0/10``), unspecified, multicast or reserved (anything ``ipaddress`` does not
call global; IPv4-mapped IPv6 is judged as the IPv4 address it carries). One private address
among several is enough to refuse. An operator allows chosen destinations with
``NOTIFY_WEBHOOK_ALLOWED_HOSTS``: host names (exact, case-insensitive) and IP addresses or
networks (CIDR), comma-separated. Nothing is allowed by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_ADDRESS = "webhook_private_address"
UNRESOLVABLE = "webhook_unresolvable_host"


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        """``"hooks.internal, 127.0.0.1, 10.1.0.0/16, ::1"`` (blank: nothing allowed)."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for item in (part.strip() for part in setting.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def address_kind(address: Address) -> str | None:
    """Why the address is not a public one (None: it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_kind(address.ipv4_mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for kind, hit in checks:
        if hit:
            return kind
    return None if address.is_global else "reserved"


def literal_address(host: str) -> Address | None:
    """The host as an IP address when it is one (``[::1]`` included), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refusal(host: str, addresses: Iterable[str], allowed: AllowList) -> str | None:
    """Why notify must not call ``host`` at these (resolved) addresses; None when it may."""
    if allowed.allows_host(host):
        return None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        kind = address_kind(address)
        if kind is not None and not allowed.allows_address(address):
            where = host if literal_address(host) else f"{host} resolves to {address}, which"
            return f"{where} is a {kind} address (allow it in NOTIFY_WEBHOOK_ALLOWED_HOSTS)"
    return None
