"""Scrapy download handler for http/https that records every exchange as it crossed
the wire.

Registered in `crawlers.settings` under DOWNLOAD_HANDLERS, so every request of the crawl
(the requested URL, each redirect hop, robots.txt when enabled) goes through the egress
guard and the wire recorder. Scrapy still runs its middlewares (redirects, cookies) on
the parsed response it gets back; the archive never comes from that parsed copy.
"""

from __future__ import annotations

import gzip
import ipaddress
import zlib
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from archivers.exchange import Exchange
from storage.records import utcnow

from .egress import EgressRefused
from .wire import WireError, exchange

CAPTURE_META = "saksi_capture"


# Said of an exchange fetched for the post's media after its page was captured.
MEDIA_NOTE = "media of the post, fetched after the page (it was not loaded whole)"


class CaptureFetchError(Exception):
    """A fetch that got no HTTP response; the message is the capture's error line."""


class WireRecordingHandler(BaseDownloadHandler):
    """Fetches through the egress guard and the wire recorder; hands each exchange to the
    capture session and gives Scrapy a parsed copy of the response head."""

    lazy = False

    async def download_request(self, request: Request) -> Response:
        spider = self.crawler.spider
        session = getattr(spider, "session", None)
        if session is None:
            raise CaptureFetchError("the capture spider has no session")
        capture_id = request.meta.get(CAPTURE_META)
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https"):
            raise CaptureFetchError(f"refused {request.url}: only http and https are fetched")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            target = await session.policy.resolve(parts.hostname or "", port)
        except (EgressRefused, LookupError) as exc:  # refused, or the name does not resolve
            self._note_failure(session, capture_id, request, str(exc))
            raise CaptureFetchError(str(exc)) from None
        spool = session.spool_path(capture_id)
        headers = [(bytes(k), bytes(v)) for k, values in request.headers.items()
                   for v in values]
        try:
            record, body = await exchange(
                request.url, target, headers, spool, session.budget(capture_id),
                session.ssl_context, method=request.method, keep_body=capture_id is None,
                connections=session.connections, proxy=session.proxy, pool=session.pool,
            )
        except WireError as exc:
            self._note_failure(session, capture_id, request, str(exc), target.address)
            raise CaptureFetchError(str(exc)) from None
        if request.meta.get("saksi_media"):
            record.notes.append(MEDIA_NOTE)
        session.record_exchange(capture_id, record)
        if capture_id is None:  # internal fetch (robots.txt): Scrapy needs it decoded
            return _scrapy_response(request, record, *_decoded(record, body))
        return _scrapy_response(request, record, body)

    @staticmethod
    def _note_failure(session, capture_id, request: Request, error: str,
                      address: str = "") -> None:
        """Keep a trace of the failed exchange (no response, nothing to archive)."""
        if capture_id is None:
            return
        session.record_exchange(capture_id, Exchange(
            url=request.url, method=request.method, request_head=b"", request_body=b"",
            sent_at=utcnow(), ip_address=address, port=0, protocol="http/1.1", error=error,
        ))


def _decoded(record: Exchange, body: bytes) -> tuple[bytes, set[bytes]]:
    """Decode a small internal body (robots.txt); never used for evidence."""
    coding = (record.header(b"content-encoding") or b"").strip().lower()
    try:
        if coding in (b"gzip", b"x-gzip"):
            return gzip.decompress(body), {b"content-encoding"}
        if coding == b"deflate":
            return zlib.decompress(body), {b"content-encoding"}
        if coding == b"br":
            import brotli  # optional: only for robots.txt served with br

            return brotli.decompress(body), {b"content-encoding"}
    except Exception:  # a broken robots.txt counts as none
        return b"", {b"content-encoding"}
    return body, set()


def _scrapy_response(request: Request, record: Exchange, body: bytes,
                     drop: set[bytes] | None = None) -> Response:
    """What Scrapy's middlewares need (status, headers, URL). The body is given only for
    internal fetches: capture bodies stay in the spool, not in memory."""
    headers = Headers()
    for name, value in record.headers:
        if drop and name.lower() in drop:
            continue
        headers.appendlist(name, value)
    cls = responsetypes.from_args(headers=headers, url=request.url)
    flags = [f"truncated:{record.truncated}"] if record.truncated else []
    return cls(
        url=request.url, status=record.status or 0, headers=headers, body=body,
        flags=flags, request=request, ip_address=_ip(record.ip_address),
        protocol=record.http_version,
    )


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None
