"""One long-lived crawler process per worker: crawls run on its reactor, job after job.

Twisted's reactor cannot be restarted, and forking a process that runs Chromium is
unsafe, so a worker neither crawls in its own process nor forks: it spawns one child on
first use, which keeps the reactor running and takes crawls (capture ids and a mode) over
a pipe, each through Scrapy's CrawlerRunner. Starting Python, Scrapy and the catalog once
per worker rather than once per job is what lets several workers share a machine.

The child dies with its parent (PR_SET_PDEATHSIG): a worker killed mid-capture leaves no
orphan to finish the capture behind the back of the worker that retries the job; the
open capture is quarantined as interrupted, like any capture whose process died.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from storage.records import Capture


class CrawlHostLost(RuntimeError):
    """The crawler process died in the middle of a crawl."""


class CrawlHost:
    def __init__(self, settings: Any):
        self.settings = settings
        self._process: Any = None
        self._conn: Any = None
        self._busy = False  # a crawl was asked for and not answered

    def crawl(self, captures: list[Capture], mode: str) -> list[Capture]:
        """Fetch and seal captures already registered; their final records."""
        if not captures:
            return []
        self.start()
        try:
            self._busy = True
            self._conn.send(([c.id for c in captures], mode))
            kind, value = self._conn.recv()
            self._busy = False
        except (EOFError, OSError, BrokenPipeError):
            code = self._stop()
            raise CrawlHostLost(f"the crawler process died (exit code {code})") from None
        if kind == "error":
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        """Stop the crawler: after its crawl when idle; at once when a crawl was cut short
        here (Ctrl-C), leaving its open captures to be quarantined as interrupted."""
        if self._process is None:
            return
        if self._busy:
            self._process.kill()
        else:
            try:
                self._conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        self._stop(wait=30)

    def start(self) -> None:
        """Start the crawler now (a worker does it before taking jobs, so the first job
        does not wait for Python, Scrapy and the sealer to start)."""
        if self._process is not None and self._process.is_alive():
            return
        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, self.settings),
                                        name="saksi-crawler")
        self._process.start()
        child_end.close()

    def _stop(self, wait: float = 5) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        process.join(wait)
        if process.is_alive():
            process.kill()
            process.join(5)
        self._conn.close()
        return process.exitcode


def _die_with_parent() -> None:
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the child then outlives a killed worker until its crawl ends


def _serve(conn: Any, settings: Any) -> None:
    """The child: a running reactor; each request on the pipe becomes one crawl."""
    import os
    import signal
    import threading

    _die_with_parent()
    if os.getppid() == 1:
        return  # the parent died before the line above took effect
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the worker's to handle

    from scrapy.utils.log import configure_logging
    from scrapy.utils.reactor import install_reactor

    from crawlers.settings import TWISTED_REACTOR

    install_reactor(TWISTED_REACTOR)
    configure_logging({"LOG_LEVEL": "ERROR"})
    import scrapy.crawler  # noqa: F401
    from twisted.internet import reactor

    import crawlers.spiders.capture  # noqa: F401 - imported before the first crawl asks
    from archivers.evidence import Evidence

    evidence = Evidence.open(settings)
    sealers: list[Any] = []  # the one sealer process kept across crawls
    _sealer(evidence, sealers)

    def answer(reply: tuple[str, Any], done: threading.Event, box: dict) -> None:
        box["reply"] = reply
        done.set()

    def start(capture_ids: list[str], mode: str, done: threading.Event, box: dict) -> None:
        try:
            crawl = _start_crawl(evidence, _sealer(evidence, sealers), capture_ids, mode)
        except Exception as exc:  # noqa: BLE001 - told to the worker as one line
            answer(("error", f"{type(exc).__name__}: {exc}"), done, box)
            return
        crawl.addCallbacks(lambda results: answer(("ok", results), done, box),
                           lambda failure: answer(("error", failure.getErrorMessage()),
                                                  done, box))

    def read_requests() -> None:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                request = None
            if request is None:
                reactor.callFromThread(reactor.stop)
                return
            done, box = threading.Event(), {}
            reactor.callFromThread(start, *request, done, box)
            done.wait()
            conn.send(box["reply"])

    threading.Thread(target=read_requests, name="crawl-requests", daemon=True).start()
    try:
        reactor.run(installSignalHandlers=False)
    finally:
        for sealer in sealers:
            sealer.close()
        evidence.close()


def _sealer(evidence: Any, sealers: list[Any]) -> Any:
    """The host's sealer process, started again if it died."""
    from archivers.sealer import Sealer

    if not sealers or not sealers[-1].alive:
        sealers[:] = [Sealer(evidence.settings, lambda capture: None)]
    return sealers[-1]


def _start_crawl(evidence: Any, sealer: Any, capture_ids: list[str], mode: str):
    """A Deferred firing with the crawl's final capture records."""
    from scrapy.crawler import CrawlerRunner
    from twisted.internet import defer

    from crawlers.session import CaptureSession
    from crawlers.spiders.capture import CaptureSpider
    from saksi.runner import crawl_settings

    captures = [c for c in (evidence.catalog.get_capture(i) for i in capture_ids) if c]
    session = CaptureSession(evidence, captures, None, requested_mode=mode, sealer=sealer)
    if not session.queue_captures:
        return defer.succeed(session.close())
    runner = CrawlerRunner(crawl_settings(evidence, session))
    crawl = runner.crawl(CaptureSpider, session=session)
    return crawl.addBoth(lambda _: session.close())
