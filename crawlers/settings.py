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
