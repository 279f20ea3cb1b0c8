"""The download handler of a crawl that has browser captures: scrapy-playwright for
requests marked `playwright`, Saksi's wire recorder for everything else.

scrapy-playwright would send non-browser requests to Scrapy's own HTTP client, which
archives nothing; here they go to `WireRecordingHandler`, so static captures keep every
guarantee in a mixed (`auto`) crawl. The browser is restarted after
`browser.recycle_after` captures, between captures, so memory stays flat.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from ..handler import WireRecordingHandler


class BrowserOrWireHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.wire = WireRecordingHandler(crawler)
        self.recycle_after = crawler.settings.getint("SAKSI_BROWSER_RECYCLE_AFTER", 50)
        self.contexts_made = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> BrowserOrWireHandler:
        """One instance for http and https: one browser, one concurrency limit (Scrapy
        would otherwise build a handler, and so a browser, per scheme)."""
        shared = getattr(crawler, "_saksi_browser_handler", None)
        if shared is None:
            shared = cls(crawler)
            crawler._saksi_browser_handler = shared
        return shared

    async def close(self) -> None:
        if getattr(self, "_closed", False):
            return  # registered for two schemes: closed once
        self._closed = True
        await super().close()

    async def download_request(self, request: Request) -> Response:
        if request.meta.get("playwright"):
            return await super().download_request(request)
        return await self.wire.download_request(request)

    async def _create_browser_context(self, name: str, context_kwargs: dict | None,
                                      spider: Any = None) -> Any:
        if self.contexts_made >= self.recycle_after and hasattr(self, "browser"):
            # Called under scrapy-playwright's context launch lock: no new context
            # starts meanwhile, so the open ones drain, then the browser restarts.
            while self.context_wrappers:
                await asyncio.sleep(0.05)
            await self._recycle_browser()
        self.contexts_made += 1
        return await super()._create_browser_context(name, context_kwargs, spider)

    async def _recycle_browser(self) -> None:
        """Close the browser between captures; the next context launches a new one."""
        async with self.browser_launch_lock:
            browser = getattr(self, "browser", None)
            if browser is None:
                return
            self.contexts_made = 0
            del self.browser  # before close: the disconnect callback must not race us
            self.stats.inc_value("saksi/browser_recycled")
            try:
                await browser.close()
            except Exception:  # noqa: BLE001 - already gone
                pass

    async def _browser_disconnected_callback(self) -> None:
        if not hasattr(self, "browser"):
            return  # our own recycling
        await super()._browser_disconnected_callback()
