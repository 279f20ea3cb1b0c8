"""The address rule: only globally routable addresses, whatever form they take.

Pure functions: nothing here opens a connection (private ranges are never targets)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from crawlers.egress import AddressPolicy, EgressRefused, check_host_syntax, refusal_reason


@pytest.mark.parametrize("address,reason", [
    ("127.0.0.1", "loopback"),
    ("127.9.9.9", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 form of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ("198.18.0.1", "private"),  # benchmarking range
    ("192.0.2.10", "private"),  # documentation range
])
def test_non_global_addresses_are_refused_with_the_reason(address, reason):
    why = refusal_reason(ipaddress.ip_address(address))
    assert why is not None and reason in why


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_global_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["0x7f.1", "2130706433", "0177.0.0.1", "127.1", "0x7f000001",
                                  "012.1.2.3"])
def test_odd_ip_literals_are_refused_before_resolution(host):
    with pytest.raises(EgressRefused):
        check_host_syntax(host)


@pytest.mark.parametrize("host", ["example.org", "127.0.0.1", "1.2.3.4", "[::1]", "xn--p1ai",
                                  "123.example.org"])
def test_normal_hosts_pass_the_syntax_check(host):
    check_host_syntax(host)


def test_allow_list_takes_cidrs_and_host_names():
    policy = AddressPolicy(["127.0.0.0/8", "intranet.example"])
    policy.check_address("a", "127.0.0.5")
    policy.check_address("intranet.example", "10.0.0.7")
    with pytest.raises(EgressRefused, match="SAKSI_ALLOW_ADDRESSES"):
        policy.check_address("b", "10.0.0.7")


def test_host_map_pins_the_address_and_it_is_still_checked():
    policy = AddressPolicy([], {"news.example.id": "10.9.9.9:8443"})
    with pytest.raises(EgressRefused, match="private"):
        asyncio.run(policy.resolve("news.example.id", 443))
    allowed = AddressPolicy(["10.9.9.9/32"], {"news.example.id": "10.9.9.9:8443"})
    target = asyncio.run(allowed.resolve("NEWS.example.id", 443))
    assert (target.address, target.port, target.mapped) == ("10.9.9.9", 8443, True)


def test_resolution_of_localhost_is_refused_by_default():
    with pytest.raises(EgressRefused, match="loopback"):
        asyncio.run(AddressPolicy().resolve("localhost", 80))


def test_host_map_rejects_names_as_targets():
    with pytest.raises(ValueError, match="must map to an IP address"):
        AddressPolicy([], {"a.example": "b.example:80"})
