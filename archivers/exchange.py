"""What a fetcher hands the archivers: one HTTP exchange as it crossed the wire.

The response is not parsed into a model and rebuilt; its bytes sit in a spool file
exactly as received (status line, headers in their order and spelling, chunk framing,
still-encoded body), hashed while they were written. The parsed fields beside it are
for indexes and people, never a source for the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class TlsInfo:
    version: str
    cipher: str
    alpn: str | None
    chain_pem: list[str]  # leaf first, as the server sent it
    verified: bool
    details: dict | None = None  # subject, issuer, validity, as the browser reported them


@dataclass
class Exchange:
    url: str
    method: str
    request_head: bytes  # request line + headers exactly as written to the socket
    request_body: bytes
    sent_at: datetime  # when the request went out (the WARC-Date of both records)
    ip_address: str
    port: int
    protocol: str  # "http/1.1" (WARC-Protocol)
    tls: TlsInfo | None = None
    response_spool: Path | None = None  # raw response bytes as received
    response_bytes: int = 0
    head_length: int = 0  # status line + header lines + blank line
    status: int | None = None
    reason: str = ""
    http_version: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    block_sha256: str = ""  # over every spooled byte
    payload_sha256: str = ""  # over the bytes after the head, as stored
    truncated: str | None = None  # WARC-Truncated reason: length | time | disconnect
    error: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # anything reconstructed, said plainly

    @property
    def got_response(self) -> bool:
        return self.status is not None

    def header(self, name: bytes) -> bytes | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


@dataclass
class PageArtifact:
    """Something the browser made of the page (screenshot, DOM, text, page info), in a
    work file hashed as it was written. Sealed as an artifact of its own and as a WARC
    resource or metadata record tied to the page."""

    kind: str  # screenshot | screenshot-viewport | dom | text | page-info | pdf
    path: Path
    name: str
    media_type: str
    sha256: str
    bytes: int
    page_url: str
    made_at: datetime
