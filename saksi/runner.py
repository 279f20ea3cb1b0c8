"""Runs a capture crawl in this process (the embedded job runner)."""

from __future__ import annotations

from collections.abc import Callable

from archivers.evidence import Evidence
from crawlers.session import CaptureSession
from storage.records import Capture


def run_capture_crawl(evidence: Evidence, captures: list[Capture],
                      on_update: Callable[[Capture], None] | None = None,
                      mode: str = "static", pace_seconds: float = 0.0) -> list[Capture]:
    """Fetch and seal the pending captures; returns every capture's final record.

    Scrapy's reactor can run once per process: the CLI calls this once per command.
    """
    session = CaptureSession(evidence, captures, on_update, requested_mode=mode)
    session.pace_seconds = pace_seconds
    if session.queue_captures:
        from scrapy.crawler import CrawlerProcess

        from crawlers.spiders.capture import CaptureSpider

        process = CrawlerProcess(crawl_settings(evidence, session))
        process.crawl(CaptureSpider, session=session)
        _stop_now_on_signals(process, session)
        process.start(install_signal_handlers=False)
    return session.close()


def crawl_settings(evidence: Evidence, session: CaptureSession):
    """Scrapy's settings for one capture crawl: Saksi's, the configured limits, and the
    browser (inside the session's egress proxy) when a capture needs it."""
    from scrapy.settings import Settings as ScrapySettings

    from crawlers.settings import browser_settings, scrapy_settings

    scrapy = ScrapySettings()
    scrapy.setmodule("crawlers.settings", priority="project")
    scrapy.setdict(scrapy_settings(evidence.settings), priority="cmdline")
    if session.needs_browser:
        scrapy.setdict(browser_settings(evidence.settings, session.start_egress()),
                       priority="cmdline")
    scrapy.set("SAKSI_CONFIGURED", True, priority="cmdline")
    # Saksi reports failures itself, one line each; Scrapy's own log stays quiet.
    scrapy.set("LOG_LEVEL", "ERROR", priority="cmdline")
    return scrapy


def _stop_now_on_signals(process, session: CaptureSession) -> None:
    """Ctrl-C or SIGTERM stops at once: downloads in flight are cancelled and their
    captures quarantined (Scrapy's graceful stop would wait for a slow site). A second
    signal falls back to the default action."""
    import signal

    from scrapy.utils.ossignal import install_shutdown_handlers
    from twisted.internet import reactor

    def on_signal(signum: int, _frame: object) -> None:
        install_shutdown_handlers(signal.SIG_DFL)
        reactor.callFromThread(session.interrupt, signal.Signals(signum).name)
        reactor.callFromThread(process.stop)

    reactor.addSystemEventTrigger("after", "startup", install_shutdown_handlers, on_signal)
