"""Chromium's reports turned into HTTP heads and TLS details for the WARC records.

What the browser changed is said in the head itself: a body that arrived decoded keeps
its original `Content-Encoding`, `Transfer-Encoding` and `Content-Length` as `X-Orig-…`
headers, as web-archiving tools do; HTTP/2 and HTTP/3 header lists are written as
HTTP/1.1 lines (the real protocol goes in `WARC-Protocol`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from archivers.exchange import TlsInfo
from storage.records import utcnow

DECODED_HEADERS = ("content-encoding", "transfer-encoding", "content-length")


def response_head(response: dict[str, Any], raw_head: str | None,
                  raw_headers: dict[str, str] | None) -> tuple[bytes, str | None]:
    """The head as Chromium received it (raw text for HTTP/1.x), decoded-body headers
    renamed; and the note saying so, if any were."""
    if raw_head and str(response.get("protocol", "")).startswith("http/1"):
        lines = raw_head.split("\r\n")
        status_line, header_lines = lines[0], [x for x in lines[1:] if x]
        pairs = [(n.strip(), v.strip()) for n, _, v in
                 (line.partition(":") for line in header_lines)]
    else:
        status = response.get("status", 0)
        status_line = f"HTTP/1.1 {status} {response.get('statusText') or ''}".rstrip()
        pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in
                 header_pairs(raw_headers or response.get("headers", {}))]
    encoded = is_encoded(pairs)
    renamed, decoded = [], []
    for name, value in pairs:
        if encoded and name.lower() in DECODED_HEADERS:
            renamed.append((f"X-Orig-{name}", value))
            decoded.append(f"{name}: {value}")
        else:
            renamed.append((name, value))
    note = ("body as decoded by the browser; original " + ", ".join(decoded)
            + " kept as X-Orig- headers") if decoded else None
    text = status_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in renamed) + "\r\n"
    return text.encode("utf-8", "surrogateescape"), note


def request_head(method: str, url: str, headers: dict[str, str]) -> bytes:
    """The request as Chromium reports it sent it, as HTTP/1.1 lines."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1"]
    if not any(name.lower() in ("host", ":authority") for name in headers):
        lines.append(f"Host: {parts.netloc}")
    for name, value in headers.items():
        if name.startswith(":"):
            continue  # HTTP/2 pseudo-headers: said by the request line and Host
        lines += [f"{name}: {v}" for v in str(value).split("\n")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def wall(event: dict[str, Any]) -> datetime:
    wall = event.get("wallTime")
    return datetime.fromtimestamp(wall, UTC) if wall else utcnow()


def header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def header_pairs(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """CDP joins repeated headers with newlines; split them back into repeats."""
    return [(name.encode("latin-1", "replace"), v.encode("latin-1", "replace"))
            for name, value in headers.items() for v in str(value).split("\n")]


def is_encoded(pairs: list[tuple[str, str]]) -> bool:
    for name, value in pairs:
        low = name.lower()
        if low == "content-encoding" and value.strip().lower() not in ("", "identity"):
            return True
        if low == "transfer-encoding" and "chunked" in value.lower():
            return True
    return False


def warc_protocol(protocol: str | None) -> str:
    if not protocol:
        return "http/1.1"
    return {"h2": "h2", "h3": "h3", "http/2.0": "h2", "http/1.0": "http/1.0"}.get(
        protocol.lower(), protocol.lower())


def tls_info(details: dict[str, Any] | None, alpn: str | None) -> TlsInfo | None:
    if not details:
        return None
    version = str(details.get("protocol", "")).replace("TLS ", "TLSv")
    cipher = details.get("cipher", "")
    if details.get("keyExchangeGroup"):
        cipher = f"{cipher} ({details['keyExchangeGroup']})"
    return TlsInfo(
        version=version, cipher=cipher, alpn=alpn, chain_pem=[], verified=True,
        details={
            "subject": details.get("subjectName"), "issuer": details.get("issuer"),
            "valid_from": epoch(details.get("validFrom")),
            "valid_to": epoch(details.get("validTo")),
            "san": details.get("sanList"), "key_exchange": details.get("keyExchange"),
            "certificate_transparency": details.get("certificateTransparencyCompliance"),
            "checked_by": "Chromium (test roots trusted through SAKSI_EXTRA_CA when set)",
        },
    )


def pem(der_base64: str) -> str:
    body = "\n".join(der_base64[i:i + 64] for i in range(0, len(der_base64), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def epoch(value: Any) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
