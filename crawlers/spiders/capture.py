"""The capture spider: one request per pending capture, each redirect hop followed by
Scrapy and recorded by the wire handler.

Run by `saksi capture`, or directly: `scrapy crawl capture -a urls=URL1,URL2
[-a case=K] [-a note=…]`, which registers and seals the captures the same way.
"""

from __future__ import annotations

import asyncio
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
                if active.capture.mode == "browser":
                    yield self._browser_request(active)
                    continue
                yield scrapy.Request(
                    active.url, callback=self.parse, errback=self.failed, dont_filter=True,
                    # A cookie jar of its own: one capture's cookies never reach another.
                    meta={CAPTURE_META: active.capture.id, "dont_retry": True,
                          "cookiejar": active.capture.id},
                )

    def _browser_request(self, active: Any) -> scrapy.Request:
        """A capture for Chromium: its own context (no cookies or storage shared with
        another capture), recorder attached before navigation, page kept for `browse`."""
        from crawlers.browser.launch import context_options

        capture_id = active.capture.id
        settings = self.session.settings
        seconds = settings.limits.max_capture_seconds

        async def init_page(page: Any, request: scrapy.Request) -> None:
            from crawlers.browser.capture import attach_recorder

            try:
                await attach_recorder(self.session, capture_id, page)
            except Exception as exc:  # scrapy-playwright would only log it: keep the reason
                active = self.session.active.get(capture_id)
                if active is not None:
                    active.attach_error = one_line(str(exc) or type(exc).__name__)
                raise

        return scrapy.Request(
            active.url, callback=self.parse_page, errback=self.page_failed,
            dont_filter=True,
            meta={CAPTURE_META: capture_id, "dont_retry": True, "dont_redirect": True,
                  "playwright": True, "playwright_context": capture_id,
                  "playwright_context_kwargs": context_options(settings.browser,
                                                               settings.network),
                  "playwright_include_page": True,
                  "playwright_page_init_callback": init_page,
                  "playwright_page_goto_kwargs": {"wait_until": "commit",
                                                  "timeout": seconds * 1000}},
        )

    async def parse_page(self, response: scrapy.http.Response) -> Any:
        from crawlers.browser.capture import browse

        capture_id = response.meta[CAPTURE_META]
        page = response.meta["playwright_page"]
        error = None
        active = self.session.active.get(capture_id)
        if active is not None:
            active.task = asyncio.current_task()  # so a stop request can cut the page short
        try:
            await browse(self.session, capture_id, page, response.status)
        except asyncio.CancelledError:
            error = f"interrupted ({self.session.stopping or 'stopped'})"
        except Exception as exc:  # noqa: BLE001 - the capture fails, what was recorded stays
            error = one_line(str(exc) or type(exc).__name__)
        finally:
            await _close_context(page)
        yield {"type": "capture_done", "session": self.session, "capture_id": capture_id,
               "error": error}

    async def page_failed(self, failure: Failure) -> Any:
        from crawlers.browser.capture import finish_page_info

        request = failure.request
        capture_id = request.meta.get(CAPTURE_META)
        page = request.meta.get("playwright_page")
        active = self.session.active.get(capture_id)
        error = one_line(str(failure.value) or type(failure.value).__name__)
        if active is not None and active.recorder is not None:
            refused = self.session.refusal_of(request.url)
            if refused:
                error = f"refused {request.url}: {refused}"
            finish_page_info(active, None)
        if page is not None:
            await _close_context(page)
        yield {"type": "capture_done", "session": self.session, "capture_id": capture_id,
               "error": error}

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


async def _close_context(page: Any) -> None:
    try:
        await page.context.close()
    except Exception:  # noqa: BLE001 - the browser may be gone already
        pass


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
