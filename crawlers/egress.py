"""The egress guard: which addresses Saksi may connect to, decided after resolution.

A link in a report can point anywhere, including at the collector's own network (cloud
metadata at 169.254.169.254, an admin page on 10.0.0.1). So every host is resolved here,
every address it resolves to is checked, and the fetcher connects to the checked address
itself, never resolving again (no DNS-rebinding window). Only globally routable unicast
addresses pass, unless the operator allows more with `network.allow_addresses`
(`SAKSI_ALLOW_ADDRESSES`). `network.host_map` (`SAKSI_HOST_MAP`) pins named hosts to an
address, which is how tests serve real-looking URLs from loopback; pinned addresses are
checked like any other.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Anything made only of digits, hex, octal and dots that is not a plain dotted quad is
# an "odd" IPv4 literal (0x7f.1, 2130706433, 0177.0.0.1): resolvers and browsers read
# them as addresses, people reading the report do not. Refuse them outright.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.I)
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_DOTTED_QUAD = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


class EgressRefused(Exception):
    """The target may not be fetched; the message says why, in one line."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    address: str  # the checked address to connect to
    mapped: bool = False  # True when SAKSI_HOST_MAP decided it


def refusal_reason(addr: IPAddress) -> str | None:
    """Why an address is not globally routable unicast, or None if it is."""
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            inner = refusal_reason(embedded)
            if inner:
                return f"{inner} (embedded in IPv6 {addr})"
        if addr.scope_id:
            return "scoped IPv6 address"
    checks = (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("unspecified", addr.is_unspecified),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
        ("carrier-grade NAT", isinstance(addr, ipaddress.IPv4Address) and addr in _CGNAT),
        ("site-local", isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address"
    if not addr.is_global:
        return "not a globally routable address"
    return None


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if addr.ipv4_mapped:
        return addr.ipv4_mapped
    if addr.sixtofour:
        return addr.sixtofour
    if addr.teredo:
        return addr.teredo[1]
    for net in _NAT64:
        if addr in net:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    # IPv4-compatible (deprecated) ::a.b.c.d
    if int(addr) >> 32 == 0 and int(addr) > 0xFFFF:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def check_host_syntax(host: str) -> None:
    """Refuse hosts that are addresses in disguise before anything resolves them."""
    bare = host.strip("[]").lower()
    if not bare:
        raise EgressRefused("URL has no host")
    if ":" in bare:  # IPv6 literal
        try:
            ipaddress.IPv6Address(bare)
        except ValueError as exc:
            raise EgressRefused(f"malformed IPv6 literal '{host}'") from exc
        return
    if _NUMERIC_HOST.match(bare) and not _DOTTED_QUAD.match(bare.rstrip(".")):
        raise EgressRefused(f"ambiguous numeric host '{host}' (write the address as a.b.c.d)")


class AddressPolicy:
    """Decides, per host and address, whether Saksi may connect."""

    def __init__(self, allow: list[str] | None = None, host_map: dict[str, str] | None = None):
        self.allowed_networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self.allowed_hosts: set[str] = set()
        for entry in allow or []:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self.allowed_networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.allowed_hosts.add(entry.lower().rstrip("."))
        self.host_map: dict[str, tuple[str, int | None]] = {}
        for host, target in (host_map or {}).items():
            self.host_map[host.lower().rstrip(".")] = _parse_map_target(host, target)

    def check_address(self, host: str, address: str) -> None:
        addr = ipaddress.ip_address(address)
        if host.lower().rstrip(".") in self.allowed_hosts:
            return
        if any(addr in net for net in self.allowed_networks if net.version == addr.version):
            return
        reason = refusal_reason(addr)
        if reason:
            raise EgressRefused(
                f"refused {host} -> {address}: {reason} (allow it with SAKSI_ALLOW_ADDRESSES)"
            )

    async def resolve(self, host: str, port: int) -> Target:
        """The first address of `host` that passes the policy, to connect to directly."""
        check_host_syntax(host)
        key = host.lower().strip("[]").rstrip(".")
        if key in self.host_map:
            address, mapped_port = self.host_map[key]
            self.check_address(host, address)
            return Target(host, mapped_port or port, address, mapped=True)
        try:
            literal = ipaddress.ip_address(key)
        except ValueError:
            literal = None
        if literal is not None:
            self.check_address(host, str(literal))
            return Target(host, port, str(literal))
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(key, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise LookupError(f"cannot resolve host '{host}': {exc.strerror}") from exc
        refusals: list[str] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = sockaddr[0]
            try:
                self.check_address(host, address)
            except EgressRefused as exc:
                refusals.append(str(exc))
                continue
            return Target(host, port, address)
        raise EgressRefused(refusals[0] if refusals else f"no usable address for '{host}'")


def _parse_map_target(host: str, target: str) -> tuple[str, int | None]:
    target = target.strip()
    if target.startswith("["):
        address, _, rest = target[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else None
    elif target.count(":") == 1:
        address, _, port_text = target.partition(":")
        port = int(port_text)
    else:
        address, port = target, None
    try:
        ipaddress.ip_address(address)
    except ValueError as exc:
        raise ValueError(
            f"SAKSI_HOST_MAP: '{host}' must map to an IP address, not {target!r}") from exc
    return address, port
