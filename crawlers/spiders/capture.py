"""The capture spider: one request per pending capture, each redirect hop followed by
Scrapy and recorded by the wire handler.

Run by `saksi capture`, or directly: `scrapy crawl capture -a urls=URL1,URL2
[-a case=K] [-a note=…]`, which registers and seals the captures the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from twisted.python.failure import Failure

from crawlers.handler import CAPTURE_META
from crawlers.session import CaptureSession, one_line


class CaptureSpider(scrapy.Spider):
    name = "capture"

    def __init__(self, session: CaptureSession | None = None, urls: str | None = None,
                 case: str | None = None, note: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if session is None:
            session = _standalone_session(urls, case, note)
        self.session = session

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        """Standalone `scrapy crawl`: take limits from Saksi's settings too."""
        super().update_settings(settings)
        if not settings.getbool("SAKSI_CONFIGURED"):
            from config import load_settings
            from crawlers.settings import scrapy_settings

            settings.setdict(scrapy_settings(load_settings()), priority="spider")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # Leased in groups (one catalog transaction each); Scrapy pulls start requests
        # as download slots free up, so a group is fetched soon after it is leased.
        queue = list(self.session.queue_captures)
        group = 2 * self.session.settings.limits.concurrent_requests
        for first in range(0, len(queue), group):
            for active in self.session.lease(queue[first:first + group]):
                yield scrapy.Request(
                    active.url, callback=self.parse, errback=self.failed, dont_filter=True,
                    # A cookie jar of its own: one capture's cookies never reach another.
                    meta={CAPTURE_META: active.capture.id, "dont_retry": True,
                          "cookiejar": active.capture.id},
                )

    def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Any:
        yield {"type": "capture_done", "session": self.session,
               "capture_id": response.meta[CAPTURE_META]}

    def failed(self, failure: Failure) -> Any:
        request = getattr(failure, "request", None)
        capture_id = request.meta.get(CAPTURE_META) if request is not None else None
        if capture_id is None:
            return
        exc = failure.value
        if isinstance(exc, IgnoreRequest) and "redirect" in str(exc).lower():
            error = (f"too many redirects (limit {self.session.settings.limits.max_redirects},"
                     " limits.max_redirects)")
        else:
            error = one_line(str(exc) or type(exc).__name__)
        yield {"type": "capture_done", "session": self.session, "capture_id": capture_id,
               "error": error}

    def closed(self, reason: str) -> None:
        self.session.pool.close()
        self.session.interrupt_unfinished(reason)
        if getattr(self.session, "standalone", False):
            self.session.close()


def _standalone_session(urls: str | None, case: str | None,
                        note: str | None) -> CaptureSession:
    """`scrapy crawl capture -a urls=…`: open the store from Saksi's settings."""
    from archivers.evidence import Evidence
    from config import load_settings
    from crawlers.session import recover_interrupted, register_captures

    if not urls:
        raise ValueError("give the URLs to capture: scrapy crawl capture -a urls=URL1,URL2")
    evidence = Evidence.open(load_settings())
    recover_interrupted(evidence)
    captures = register_captures(evidence, [u for u in urls.split(",") if u.strip()],
                                 case, note, "static")
    session = CaptureSession(evidence, captures)
    session.standalone = True  # type: ignore[attr-defined]
    return session
