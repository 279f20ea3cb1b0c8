"""Trusted timestamps (RFC 3161): an outside authority's proof that a manifest existed at a
given time.

For every sealed capture Saksi asks each TSA in `timestamps.tsa_urls` for a token over the
SHA-256 of the manifest bytes (with a nonce), checks the reply at once against the roots
in `timestamps.ca_file` (signature, chain, nonce, message) and keeps the whole reply as
`captures/<id>/timestamp-<tsa>.tsr`, with the certificates needed to check it as
`…-chain.pem`, so `openssl ts -verify` can judge it years later. A TSA that fails leaves
a `timestamp.failed` event and `saksi seal --pending` asks again; nothing is skipped
silently. rfc3161-client builds and checks the messages; only the HTTP exchange is here.
"""

from __future__ import annotations

import hashlib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from storage.records import iso

MAX_REPLY_BYTES = 1024 * 1024


class TimestampError(Exception):
    """A TSA gave no usable token: unreachable, refused, or a reply that did not verify."""


@dataclass
class Token:
    tsa_url: str
    reply: bytes  # the TimeStampResp as received (DER)
    chain_pem: bytes  # the TSA certificates in the token, then the trusted roots
    gen_time: str
    serial: str

    def seal_keys(self, capture_id: str) -> tuple[str, str]:
        name = hashlib.sha256(self.tsa_url.encode()).hexdigest()[:12]
        base = f"captures/{capture_id}/timestamp-{name}"
        return f"{base}.tsr", f"{base}-chain.pem"


def load_roots(ca_file: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(Path(ca_file).read_bytes())
    except (OSError, ValueError) as exc:
        raise TimestampError(f"timestamps.ca_file {ca_file}: {exc}") from exc


def obtain(url: str, message: bytes, roots: list[x509.Certificate], timeout: float) -> Token:
    from rfc3161_client import (
        TimestampRequestBuilder,
        VerificationError,
        VerifierBuilder,
        decode_timestamp_response,
    )

    request = TimestampRequestBuilder().data(message).nonce(nonce=True) \
        .cert_request(cert_request=True).build()
    reply = _post(url, request.as_bytes(), timeout)
    try:
        response = decode_timestamp_response(reply)
    except ValueError as exc:
        raise TimestampError(f"{url}: not a timestamp reply ({exc})") from exc
    if response.status not in (0, 1):  # granted, granted with modifications
        said = ", ".join(response.status_string) or f"status {response.status}"
        raise TimestampError(f"{url}: refused ({said})")
    builder = VerifierBuilder.from_request(request)
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, message)
    except (VerificationError, ValueError) as exc:
        raise TimestampError(f"{url}: the token does not verify ({exc})") from exc
    info = response.tst_info
    embedded = [x509.load_der_x509_certificate(der)
                for der in response.signed_data.certificates]
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in embedded + roots)
    return Token(url, reply, chain, iso(info.gen_time.astimezone(UTC)),
                 str(info.serial_number))


def verify_reply(reply: bytes, message: bytes, roots: list[x509.Certificate]) -> str | None:
    """None if a stored reply is a valid token over `message` under these roots."""
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(reply)
        builder = VerifierBuilder()
        for root in roots:
            builder = builder.add_root_certificate(root)
        builder.build().verify_message(response, message)
        return None
    except (VerificationError, ValueError) as exc:
        return f"timestamp token does not verify ({exc})"


def obtain_all(jobs: list[tuple[str, bytes]], urls: list[str], roots: list[x509.Certificate],
               timeout: float) -> dict[tuple[str, str], Token | TimestampError]:
    """Tokens for many (capture id, manifest bytes) from every TSA, a few at a time."""
    work = [(cid, url, message) for cid, message in jobs for url in urls]
    if not work:
        return {}

    def one(item: tuple[str, str, bytes]) -> Token | TimestampError:
        try:
            return obtain(item[1], item[2], roots, timeout)
        except TimestampError as exc:
            return exc

    with ThreadPoolExecutor(min(8, len(work)), "saksi-tsa") as pool:
        results = list(pool.map(one, work))
    return {(cid, url): result for (cid, url, _), result in zip(work, results, strict=True)}


def seal_entry(token: Token, key: str, chain_key: str) -> dict[str, Any]:
    return {"kind": "timestamp", "key": key, "sha256": hashlib.sha256(token.reply).hexdigest(),
            "bytes": len(token.reply), "tsa": token.tsa_url, "gen_time": token.gen_time,
            "serial": token.serial, "chain_key": chain_key,
            "chain_sha256": hashlib.sha256(token.chain_pem).hexdigest()}


def _post(url: str, body: bytes, timeout: float) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/timestamp-query"})
    # The TSA is configured by the operator, not a capture target; proxies from the
    # environment are ignored as everywhere else in Saksi.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            reply = answer.read(MAX_REPLY_BYTES + 1)
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise TimestampError(f"{url}: {' '.join(str(exc).split())}") from exc
    if len(reply) > MAX_REPLY_BYTES:
        raise TimestampError(f"{url}: reply larger than {MAX_REPLY_BYTES} bytes")
    return reply
