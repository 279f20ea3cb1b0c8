"""WARC 1.1 writing: SHA-256 digests, one fast gzip member per record, streamed.

Written here rather than with warcio's WARCWriter because warcio re-serialises HTTP
headers (it would rewrite what crossed the wire), computes SHA-1 unless patched, and
compresses at zlib level 9 (about 20 MB/s here). The blocks written below are copied
from the exchange spool byte for byte; digests were computed while the bytes arrived
and are checked again as they are copied. warcio remains the reader and checker.

Payload digest scope: the bytes after the HTTP head as stored (chunk framing included
when the server sent chunked), which is what warcio, pywb and `warcio check` compute.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from isal import isal_zlib

from .exchange import Exchange, PageArtifact

COPY_CHUNK = 1024 * 1024
GZIP_LEVEL = 1  # isal levels 0-3; 1 keeps HTML small at several hundred MB/s


class Sink(Protocol):
    def write(self, data: bytes | bytearray | memoryview) -> int: ...

    def tell(self) -> int: ...


class DigestMismatch(Exception):
    """A spool file changed between capture and archiving."""


def record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_label(hex_digest: str) -> str:
    return f"sha256:{hex_digest}"


class WarcWriter:
    """Appends WARC records to a binary sink, each as its own gzip member."""

    def __init__(self, sink: Sink, gzip: bool = True, level: int = GZIP_LEVEL):
        self.sink = sink
        self.gzip = gzip
        self.level = level
        self.last_span = (0, 0)  # (offset, length) of the last record in the file

    def write_record(
        self,
        headers: list[tuple[str, str]],
        block: Iterable[bytes],
        block_length: int,
    ) -> None:
        """Write one record. `headers` must not contain Content-Length (added here)."""
        start = self.sink.tell()
        self._write(headers, block, block_length)
        self.last_span = (start, self.sink.tell() - start)

    def _write(self, headers: list[tuple[str, str]], block: Iterable[bytes],
               block_length: int) -> None:
        head = ["WARC/1.1"]
        head += [f"{name}: {value}" for name, value in headers]
        head.append(f"Content-Length: {block_length}")
        prefix = ("\r\n".join(head) + "\r\n\r\n").encode("utf-8")
        if not self.gzip:
            self.sink.write(prefix)
            for piece in block:
                self.sink.write(piece)
            self.sink.write(b"\r\n\r\n")
            return
        comp = isal_zlib.compressobj(self.level, isal_zlib.DEFLATED, 31)
        self.sink.write(comp.compress(prefix))
        for piece in block:
            out = comp.compress(piece)
            if out:
                self.sink.write(out)
        self.sink.write(comp.compress(b"\r\n\r\n") + comp.flush())

    def write_bytes_record(self, headers: list[tuple[str, str]], block: bytes,
                           digest: bool = True) -> None:
        if digest:
            headers = headers + [("WARC-Block-Digest",
                                  sha256_label(hashlib.sha256(block).hexdigest()))]
        self.write_record(headers, [block], len(block))


def spool_blocks(path: str, expected_sha256: str, expected_bytes: int) -> Iterable[bytes]:
    """Stream a spool file, re-hashing it; raises DigestMismatch at the end if changed."""
    sha = hashlib.sha256()
    seen = 0
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            sha.update(chunk)
            seen += len(chunk)
            yield chunk
    if seen != expected_bytes or sha.hexdigest() != expected_sha256:
        raise DigestMismatch(f"spool {path} changed after capture")


def exchange_records(writer: WarcWriter, ex: Exchange, warcinfo_id: str
                     ) -> tuple[str, tuple[int, int] | None]:
    """Write the request and response records of one exchange; returns the response
    record's id and its (offset, length) in the file, for the index."""
    span = None
    response_id = record_id()
    request_id = record_id()
    date = warc_date(ex.sent_at)
    common = [("WARC-Target-URI", ex.url), ("WARC-Date", date),
              ("WARC-Warcinfo-ID", warcinfo_id), ("WARC-IP-Address", ex.ip_address)]
    protocols = [("WARC-Protocol", ex.protocol)]
    if ex.tls:
        protocols.append(("WARC-Protocol", ex.tls.version.lower().replace("v", "/")))
    if ex.response_spool is not None and ex.got_response:
        headers = [("WARC-Type", "response"), ("WARC-Record-ID", response_id), *common,
                   *protocols]
        if ex.tls and ex.tls.cipher:
            headers.append(("WARC-Cipher-Suite", ex.tls.cipher))
        headers += [
            ("Content-Type", "application/http;msgtype=response"),
            ("WARC-Block-Digest", sha256_label(ex.block_sha256)),
            ("WARC-Payload-Digest", sha256_label(ex.payload_sha256)),
        ]
        if ex.truncated:
            headers.append(("WARC-Truncated", ex.truncated))
        writer.write_record(
            headers,
            spool_blocks(str(ex.response_spool), ex.block_sha256, ex.response_bytes),
            ex.response_bytes,
        )
        span = writer.last_span
    request_block = ex.request_head + ex.request_body
    req_headers = [("WARC-Type", "request"), ("WARC-Record-ID", request_id), *common,
                   *protocols]
    if ex.got_response:
        req_headers.append(("WARC-Concurrent-To", response_id))
    req_headers.append(("Content-Type", "application/http;msgtype=request"))
    writer.write_bytes_record(req_headers, request_block)
    return response_id, span


def warcinfo_record(writer: WarcWriter, filename: str, fields: list[tuple[str, str]],
                    moment: datetime) -> str:
    rid = record_id()
    body = "".join(f"{k}: {_one_line(v)}\r\n" for k, v in fields).encode("utf-8")
    writer.write_bytes_record(
        [("WARC-Type", "warcinfo"), ("WARC-Record-ID", rid), ("WARC-Date", warc_date(moment)),
         ("WARC-Filename", filename), ("Content-Type", "application/warc-fields")],
        body,
    )
    return rid


def metadata_record(writer: WarcWriter, target_uri: str, refers_to: str | None,
                    warcinfo_id: str, body: bytes, moment: datetime,
                    content_type: str = "application/json") -> str:
    rid = record_id()
    headers = [("WARC-Type", "metadata"), ("WARC-Record-ID", rid),
               ("WARC-Target-URI", target_uri), ("WARC-Date", warc_date(moment)),
               ("WARC-Warcinfo-ID", warcinfo_id)]
    if refers_to:
        headers.append(("WARC-Concurrent-To", refers_to))
    headers.append(("Content-Type", content_type))
    writer.write_bytes_record(headers, body)
    return rid


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def page_record(writer: WarcWriter, item: PageArtifact, page_id: str, warcinfo_id: str,
                refers_to: str | None) -> str:
    """A browser artifact as a `resource` record (page info as `metadata`), tied to the
    page by `WARC-Page-ID`; the block is re-hashed from the work file as it is copied."""
    rid = record_id()
    kind = "metadata" if item.kind == "page-info" else "resource"
    headers = [("WARC-Type", kind), ("WARC-Record-ID", rid),
               ("WARC-Target-URI", f"urn:{item.kind}:{item.page_url}"),
               ("WARC-Date", warc_date(item.made_at)), ("WARC-Warcinfo-ID", warcinfo_id),
               ("WARC-Page-ID", page_id)]
    if refers_to:
        headers.append(("WARC-Concurrent-To", refers_to))
    headers += [("Content-Type", item.media_type),
                ("WARC-Block-Digest", sha256_label(item.sha256))]
    writer.write_record(headers, spool_blocks(str(item.path), item.sha256, item.bytes),
                        item.bytes)
    return rid
