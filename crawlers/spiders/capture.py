"""The capture spider: one request per pending capture, each redirect hop followed by
Scrapy and recorded by the wire handler.

Run by `saksi capture`, or directly: `scrapy crawl capture -a urls=URL1,URL2
[-a case=K] [-a note=…]`, which registers and seals the captures the same way.
"""

from __future__ import annotations

import asyncio
import time
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
        pace = self.session.pace_seconds
        if pace > 0:  # one platform's links spaced out; each leased when its turn comes
            queue, group = _round_robin(queue), 1
        last_sent: dict[str, float] = {}
        for first in range(0, len(queue), group):
            if pace > 0:
                platform = queue[first].platform
                wait = last_sent.get(platform, -pace) + pace - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                last_sent[platform] = time.monotonic()
            for active in self.session.lease(queue[first:first + group]):
                if active.capture.mode == "browser":
                    yield self._browser_request(active)
                    continue
                cookies = [c.for_scrapy() for c in
                           self.session.account_cookies(active.capture)]
                yield scrapy.Request(
                    active.url, callback=self.parse, errback=self.failed, dont_filter=True,
                    cookies=cookies or None,
                    # A cookie jar of its own: one capture's cookies never reach another.
                    meta={CAPTURE_META: active.capture.id, "dont_retry": True,
                          "cookiejar": active.capture.id},
                )

    def _browser_request(self, active: Any) -> scrapy.Request:
        """A capture for Chromium: its own context (no cookies or storage shared with
        another capture), recorder attached before navigation, page kept for `browse`."""
        from crawlers.browser.launch import context_options

        capture = active.capture
        capture_id = capture.id
        settings = self.session.settings
        seconds = settings.limits.max_capture_seconds

        async def init_page(page: Any, request: scrapy.Request) -> None:
            from crawlers.browser.capture import attach_recorder

            try:
                cookies = self.session.account_cookies(capture)
                if cookies:
                    await page.context.add_cookies([c.for_playwright() for c in cookies])
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
        if error is None:
            for request in self._media_requests(capture_id):
                yield request
            if self._media_pending(capture_id):
                return  # capture_done comes with the last media file
            await self._video(capture_id)
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

    async def parse(self, response: scrapy.http.Response, **kwargs: Any) -> Any:
        capture_id = response.meta[CAPTURE_META]
        for request in self._media_requests(capture_id):
            yield request
        if not self._media_pending(capture_id):
            await self._video(capture_id)
            yield {"type": "capture_done", "session": self.session, "capture_id": capture_id}

    # ---- the post's media, after its page -------------------------------------------

    def _media_requests(self, capture_id: str) -> list[scrapy.Request]:
        """Requests for the post's media the page did not load whole, recorded into the
        same capture by the wire recorder (and so through the egress guard)."""
        urls = self.session.media_to_fetch(capture_id)
        active = self.session.active.get(capture_id)
        if not urls or active is None:
            return []
        active.media_left = len(urls)
        # A plain fetch of the URL the post names (no Referer); every answer comes to
        # media_fetched (403s included), and yt-dlp, which knows what each platform's
        # CDN wants, tries after when the video is still missing.
        return [scrapy.Request(url, callback=self.media_fetched, errback=self.media_failed,
                               dont_filter=True,
                               meta={CAPTURE_META: capture_id, "dont_retry": True,
                                     "cookiejar": capture_id, "saksi_media": True,
                                     "handle_httpstatus_all": True,
                                     "referrer_policy": "no-referrer"})
                for url in urls]

    def _media_pending(self, capture_id: str) -> bool:
        active = self.session.active.get(capture_id)
        return active is not None and active.media_left > 0

    async def media_fetched(self, response: scrapy.http.Response, **kwargs: Any) -> Any:
        capture_id = response.meta[CAPTURE_META]
        active = self.session.active.get(capture_id)
        if active is not None and active.media_left == 1:
            await self._video(capture_id)  # the last one: the video, if still missing
        for item in self._media_one_done(capture_id):
            yield item

    async def _video(self, capture_id: str) -> None:
        """yt-dlp for the post's video when no recorded response holds it whole; every
        request it makes goes through this capture's recorder and egress guard."""
        from crawlers.ytdlp_media import YTDLP_NOTE, download_video

        url = self.session.video_to_download(capture_id)
        if url is None:
            return
        loop = asyncio.get_running_loop()
        active = self.session.active.get(capture_id)

        def fetch(target: str, headers: list[tuple[bytes, bytes]]) -> Any:
            return asyncio.run_coroutine_threadsafe(self.session.fetch_recorded(
                capture_id, target, headers, YTDLP_NOTE), loop).result()

        problem = await asyncio.to_thread(
            download_video, url, fetch, self.session.settings.platforms.max_media_bytes)
        if problem and active is not None:
            active.media_notes.append(f"yt-dlp could not get the video: {problem}")

    async def media_failed(self, failure: Failure) -> Any:
        # A media file that could not be fetched is noted with the exchange (by the
        # handler); the capture of the page stands, and yt-dlp may still get the video.
        request = getattr(failure, "request", None)
        if request is None:
            return
        capture_id = request.meta.get(CAPTURE_META)
        active = self.session.active.get(capture_id or "")
        if active is not None and active.media_left == 1:
            await self._video(capture_id)
        for item in self._media_one_done(capture_id):
            yield item

    def _media_one_done(self, capture_id: str | None) -> Any:
        active = self.session.active.get(capture_id or "")
        if active is None:
            return
        active.media_left -= 1
        if active.media_left <= 0:
            yield {"type": "capture_done", "session": self.session, "capture_id": capture_id}

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


def _round_robin(captures: list[Any]) -> list[Any]:
    """One capture of each platform in turn, so spacing one platform's requests does
    not hold up the others."""
    by_platform: dict[str, list[Any]] = {}
    for capture in captures:
        by_platform.setdefault(capture.platform, []).append(capture)
    order: list[Any] = []
    while any(by_platform.values()):
        for items in by_platform.values():
            if items:
                order.append(items.pop(0))
    return order


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
