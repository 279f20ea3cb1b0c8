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
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings

    from crawlers.settings import browser_settings, scrapy_settings
    from crawlers.spiders.capture import CaptureSpider

    session = CaptureSession(evidence, captures, on_update, requested_mode=mode)
    session.pace_seconds = pace_seconds
    if session.queue_captures:
        scrapy = ScrapySettings()
        scrapy.setmodule("crawlers.settings", priority="project")
        scrapy.setdict(scrapy_settings(evidence.settings), priority="cmdline")
        if session.needs_browser:
            scrapy.setdict(browser_settings(evidence.settings, session.start_egress()),
                           priority="cmdline")
        scrapy.set("SAKSI_CONFIGURED", True, priority="cmdline")
        # Saksi reports failures itself, one line each; Scrapy's own log stays quiet.
        scrapy.set("LOG_LEVEL", "ERROR", priority="cmdline")
        process = CrawlerProcess(scrapy)
        process.crawl(CaptureSpider, session=session)
        _stop_now_on_signals(process, session)
        process.start(install_signal_handlers=False)
    return session.close()


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


def crawl_in_child(settings, captures: list[Capture], mode: str) -> list[Capture]:
    """Run one crawl of captures already registered in a spawned child process (the
    reactor runs once per process; a tracking run or a job needs several crawls)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not captures:
        return []
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_crawl_child, settings, [c.id for c in captures], mode).result()


def _crawl_child(settings, capture_ids: list[str], mode: str) -> list[Capture]:
    evidence = Evidence.open(settings)
    try:
        captures = [c for c in (evidence.catalog.get_capture(i) for i in capture_ids) if c]
        return run_capture_crawl(evidence, captures, None, mode)
    finally:
        evidence.close()
