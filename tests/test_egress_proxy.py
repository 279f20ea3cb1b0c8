"""Saksi's egress proxy: the browser's only way out, with the address rule applied."""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl

import pytest

from crawlers.egress import AddressPolicy
from crawlers.egress_proxy import EgressProxy


@pytest.fixture()
def proxy(site):
    policy = AddressPolicy(["127.0.0.1/32"], {"news.example.id": f"127.0.0.1:{site.https_port}"})
    with EgressProxy(policy) as running:
        yield running


def _send(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(data)
    return sock


def _read_all(sock) -> bytes:
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


def test_connect_tunnel_reaches_the_mapped_address_without_interception(proxy, site):
    sock = _send(proxy.port, b"CONNECT news.example.id:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    ctx = ssl.create_default_context(cafile=site.ca_pem_path)
    tls = ctx.wrap_socket(sock, server_hostname="news.example.id")
    tls.sendall(b"GET /page2?via=proxy HTTP/1.1\r\nHost: news.example.id\r\n"
                b"Connection: close\r\n\r\n")
    assert _read_all(tls) == site.sent("/page2?via=proxy")[0]  # the site's own bytes
    assert proxy.tunnels[-1].address == "127.0.0.1"


@pytest.mark.parametrize("request_line,target", [
    (b"CONNECT 127.0.0.2:443 HTTP/1.1", "127.0.0.2:443"),
    (b"GET http://127.0.0.3/admin HTTP/1.1", "http://127.0.0.3/admin"),
    (b"CONNECT [::1]:80 HTTP/1.1", "[::1]:80"),
])
def test_refused_targets_get_403_and_are_listed(proxy, request_line, target):
    sock = _send(proxy.port, request_line + b"\r\nHost: x\r\n\r\n")
    reply = _read_all(sock)
    assert reply.startswith(b"HTTP/1.1 403") and b"loopback" in reply
    assert proxy.refused[-1].target == target and "loopback" in proxy.refused[-1].reason
    assert proxy.tunnels == []


def test_plain_http_is_forwarded_in_origin_form(proxy, site):
    url = site.http_url("/query?lewat=proxy")
    sock = _send(proxy.port, f"GET {url} HTTP/1.1\r\nHost: x\r\n"
                             "Proxy-Connection: keep-alive\r\n\r\n".encode())
    assert _read_all(sock) == site.sent("/query?lewat=proxy")[0]
    received = site.received("/query?lewat=proxy")[0]
    assert received.startswith(b"GET /query?lewat=proxy HTTP/1.1\r\n")
    assert b"Proxy-Connection" not in received


def test_chromium_goes_out_only_through_the_proxy(proxy, site):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from playwright.sync_api import sync_playwright

    # Chromium trusts the test CA only through the SPKI of the server's certificate.
    sock = socket.create_connection(("127.0.0.1", site.https_port))
    ctx = ssl.create_default_context(cafile=site.ca_pem_path)
    with ctx.wrap_socket(sock, server_hostname="news.example.id") as tls:
        der = tls.getpeercert(binary_form=True)
    leaf = x509.load_der_x509_certificate(der)
    leaf_spki = base64.b64encode(hashlib.sha256(
        leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ).digest()).decode()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", proxy={"server": proxy.url},
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic",
                  f"--ignore-certificate-errors-spki-list={leaf_spki}",
                  "--proxy-bypass-list=<-loopback>"])
        page = browser.new_page()
        page.goto("https://news.example.id/page2?dari=chromium")
        assert "Berita" in page.content() or page.title()
        with pytest.raises(Exception, match="ERR_"):
            page.goto("http://127.0.0.7/")  # refused by the proxy, never fetched
        browser.close()
    assert any(t.host == "news.example.id" for t in proxy.tunnels)
    assert any("127.0.0.7" in r.target for r in proxy.refused)
    assert site.received("/page2?dari=chromium")
