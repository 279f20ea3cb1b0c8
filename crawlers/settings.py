"""Scrapy settings for Saksi's crawls (`scrapy.cfg` points here).

Saksi's own settings (`config`) are mapped onto these by `scrapy_settings()`; the values
below are the parts that never change because evidence depends on them.
"""

from __future__ import annotations

from typing import Any

BOT_NAME = "saksi"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Every http(s) exchange goes through the egress guard and the wire recorder; other
# schemes are not fetched at all (a redirect to ftp:// or file:// fails the capture).
DOWNLOAD_HANDLERS = {
    "http": "crawlers.handler.WireRecordingHandler",
    "https": "crawlers.handler.WireRecordingHandler",
    "file": None, "ftp": None, "s3": None, "data": None,
}

DOWNLOADER_MIDDLEWARES = {
    # Proxy environment variables must not reroute evidence capture.
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": None,
    # One request is one exchange: no silent retries, no decoding of bodies we archive.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
}
HTTPPROXY_ENABLED = False
RETRY_ENABLED = False
COMPRESSION_ENABLED = False

ITEM_PIPELINES = {"crawlers.pipelines.SealPipeline": 100}
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every callback's output; the seal
# pipeline only hands items on, so one is enough (100 cost ~2 ms per capture).
CONCURRENT_ITEMS = 1
# Scrapy re-parses the callback's source on every response to warn about generators
# that return values (its cache misses bound methods): 0.4 ms per capture for nothing.
WARN_ON_GENERATOR_RETURN_VALUE = False

# A 404 or 500 page is evidence too.
HTTPERROR_ALLOW_ALL = True
ROBOTSTXT_OBEY = False
COOKIES_ENABLED = True
REDIRECT_ENABLED = True
METAREFRESH_ENABLED = False
REDIRECT_MAX_TIMES = 10

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 16
DOWNLOAD_DELAY = 0
# The handler enforces the capture's own deadline; Scrapy's must not cut it first.
DOWNLOAD_TIMEOUT = 3600
DOWNLOAD_MAXSIZE = 0
DOWNLOAD_WARNSIZE = 0

DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "id,en;q=0.8",
    "Accept-Encoding": "gzip, deflate, br",
}

TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "WARNING"
DNSCACHE_ENABLED = False


def scrapy_settings(settings: Any) -> dict[str, Any]:
    """Saksi settings (`config.Settings`) as Scrapy setting overrides."""
    from saksi import __version__

    limits = settings.limits
    return {
        "CONCURRENT_REQUESTS": limits.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": limits.concurrent_requests,
        "REDIRECT_MAX_TIMES": limits.max_redirects,
        "REDIRECT_ENABLED": limits.max_redirects > 0,
        "ROBOTSTXT_OBEY": settings.network.obey_robots_txt,
        "USER_AGENT": settings.network.user_agent.format(version=__version__),
    }


def browser_settings(settings: Any, egress_url: str) -> dict[str, Any]:
    """The crawl has browser captures: scrapy-playwright for them, the wire recorder for
    the rest, Chromium held inside the egress proxy."""
    from crawlers.browser.launch import launch_options

    handler = "crawlers.browser.handler.BrowserOrWireHandler"
    browser = settings.browser
    return {
        "DOWNLOAD_HANDLERS": {**DOWNLOAD_HANDLERS, "http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch_options(browser, settings.network, egress_url),
        "PLAYWRIGHT_MAX_CONTEXTS": browser.concurrency,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
        # The browser's own request headers are the evidence, not Scrapy's defaults.
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": settings.limits.max_capture_seconds * 1000,
        "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
        "SAKSI_BROWSER_RECYCLE_AFTER": browser.recycle_after,
    }
