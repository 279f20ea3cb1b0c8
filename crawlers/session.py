"""A capture session: the captures one run takes on, from lease to seal.

The crawl only fetches and spools; sealing runs in the sealer process
(`archivers.sealer`) so hashing, WARC compression and durable writes stay off the
crawler's hot path. A capture is reported `captured` only after its objects are durable.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archivers.evidence import Evidence
from archivers.exchange import Exchange
from archivers.sealer import Sealer, one_line
from archivers.sealing import CaptureRun
from storage.catalog import EventDraft
from storage.ids import uuid7
from storage.records import CAPTURED, FAILED, PENDING, RUNNING, Artifact, Capture, utcnow

from .accounts import Redactor
from .egress import AddressPolicy, EgressRefused
from .handler import MEDIA_NOTE
from .intake import IntakeError
from .modes import ModeChoice, choose_mode
from .plan import Origin, PlannedLink, plan
from .wire import Budget, ConnectionPool, Proxy, WireError, exchange, make_ssl_context
from .ytdlp_media import YTDLP_NOTE

LEASE_GRACE_SECONDS = 60


def lease_holder() -> str:
    """host:pid:start-ticks, so a dead holder on this host is recognised at once."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid)}"


def _process_start(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "?"


def holder_is_dead(holder: str | None) -> bool:
    if not holder:
        return True
    host, _, rest = holder.partition(":")
    pid_text, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's lease: only its expiry can free it
    return _process_start(int(pid_text)) != started



def _read_post_into(run: CaptureRun, notes: list[str]) -> None:
    """The platform adapter's reading of what was recorded, into the capture and run;
    `notes`: what the media phase could not do."""
    from .posts import finish_post

    recorded = [ex for ex in run.exchanges if ex.response_spool is not None]
    if not recorded:
        return
    try:
        run.post_reading, run.media_urls = finish_post(run.capture, recorded)
    except Exception as exc:  # noqa: BLE001 - a reading bug must not lose the capture
        run.post_reading = {"outcome": None, "notes": [f"post not read: {one_line(exc)}"]}
    run.post_reading["notes"] = [*run.post_reading.get("notes", []), *notes]


def load_accounts(settings: Any) -> dict[str, list[Any]]:
    from .accounts import AccountError, load_cookies

    loaded = {}
    for platform, path in settings.accounts.cookies_files.items():
        try:
            loaded[platform] = load_cookies(path)
        except AccountError as exc:
            raise IntakeError(f"accounts.{platform}.cookies_file: {exc}") from None
    return loaded


def register_captures(evidence: Evidence, links: list[str] | list[PlannedLink],
                      case: str | None, note: str | None, mode: str,
                      sources: dict[str, Artifact] | None = None) -> list[Capture]:
    """Record each planned link as a pending capture (`capture.requested`), in one
    transaction. Plain strings are planned here (normalised, recognised, de-duplicated).

    A link that cannot be fetched (malformed, refused scheme or address form) is recorded
    too, as a failed capture with the reason: the request itself is part of the record.
    `sources` are report files already stored: each capture made from one lists it as a
    `source` artifact, so its bundle carries the report that named it.
    """
    planned = [x for x in links if isinstance(x, PlannedLink)]
    planned += plan([(x, Origin()) for x in links if isinstance(x, str)])
    sources = sources or {}
    now = utcnow()
    made: list[Capture] = []
    drafts: list[EventDraft] = []
    for item in planned:
        capture = Capture(id=uuid7(), case=case, requested_url=item.text, mode=mode,
                          requested_by=evidence.actor, requested_at=now, note=note)
        if item.error is not None:
            capture.status = FAILED
            capture.error = one_line(item.error)
            capture.finished_at = now
        else:
            capture.canonical_url = item.fetch_url
            capture.platform = item.platform or "generic"
            capture.mode = choose_mode(mode, item.fetch_url or item.text).used
        names = {o.source for o in [item.origin, *item.duplicates] if o.source}
        capture.artifacts = [sources[n] for n in sorted(names) if n in sources]
        made.append(capture)
        details = {"url": capture.requested_url, "case": case, "mode": capture.mode,
                   "mode_requested": mode, "note": note}
        if item.origin.source or item.duplicates or item.removed_params:
            details.update({"found": item.origin.to_json(),
                            "also_found": [o.to_json() for o in item.duplicates],
                            "platform": item.platform, "fetch_url": item.fetch_url,
                            "removed_params": list(item.removed_params)})
        drafts.append(EventDraft(evidence.actor, "capture.requested", capture.id, details))
        if capture.status == FAILED:
            drafts.append(EventDraft(evidence.actor, "capture.failed", capture.id,
                                     {"error": capture.error, "stage": "intake"}))
    with evidence.catalog.write() as conn:
        if case and evidence.catalog.ensure_case(conn, case, evidence.actor):
            drafts.insert(0, EventDraft(evidence.actor, "case.created", case, {}))
        evidence.catalog.insert_captures(conn, made)
        evidence.catalog.append_events(conn, drafts)
    return made


def recover_interrupted(evidence: Evidence) -> list[str]:
    """Captures left `running` by a process that died or whose lease expired become
    `failed` (interrupted); their partial bytes move to quarantine, unsealed."""
    now = utcnow()
    recovered = []
    for capture_id, holder, until in evidence.catalog.running():
        if not (holder_is_dead(holder) or (until is not None and until < now)):
            continue
        kept = evidence.quarantine(capture_id)
        capture = evidence.catalog.get_capture(capture_id)
        if capture is None:
            continue
        capture.status = FAILED
        capture.finished_at = now
        capture.error = "interrupted: the capturing process stopped before sealing"
        with evidence.catalog.write() as conn:
            evidence.catalog.finish_capture(conn, capture)
            evidence.catalog.append_events(conn, [EventDraft(
                evidence.actor, "capture.failed", capture_id,
                {"error": capture.error, "quarantine": kept, "holder": holder})])
        recovered.append(capture_id)
    return recovered


@dataclass
class ActiveCapture:
    capture: Capture
    url: str
    deadline: float | None
    work_dir: Path
    choice: ModeChoice | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    counter: int = 0
    recorder: Any = None  # browser mode: crawlers.browser.recorder.BrowserRecorder
    task: Any = None  # browser mode: the asyncio task working on the page
    attach_error: str | None = None  # browser mode: why the recorder could not attach
    page: Any = None  # browser mode: crawlers.browser.page_work.PageResult
    media_left: int = 0  # media fetches of the post still in flight
    media_notes: list[str] = field(default_factory=list)  # what the media phase could not do


class CaptureSession:
    """Shared by the spider, the download handler and the pipeline of one crawl."""

    def __init__(self, evidence: Evidence, captures: list[Capture],
                 on_update: Callable[[Capture], None] | None = None,
                 requested_mode: str = "static", sealer: Sealer | None = None):
        self.evidence = evidence
        self.requested_mode = requested_mode
        self.choices = {c.id: choose_mode(requested_mode, c.canonical_url or c.requested_url)
                        for c in captures}
        self.settings = evidence.settings
        net = self.settings.network
        self.policy = AddressPolicy(net.allow_addresses, net.host_map)
        self.ssl_context = make_ssl_context(net.extra_ca, net.verify_tls)
        self.proxy = Proxy.parse(net.proxy)
        self.pool = ConnectionPool()
        self.queue_captures = [c for c in captures if c.status == PENDING]
        self.pace_seconds = 0.0  # > 0: at least this long between two of one platform
        self.results: dict[str, Capture] = {c.id: c for c in captures}
        self.active: dict[str, ActiveCapture] = {}
        self.on_update = on_update or (lambda capture: None)
        self.holder = lease_holder()
        # A long-lived crawler lends its sealer; a one-off crawl starts (and stops) its own.
        self._own_sealer = sealer is None
        self._sealer = sealer or Sealer(self.settings, self._sealed)
        self._sealer.on_sealed = self._sealed
        self._closed = False
        self.stopping: str | None = None
        self.connections: set[asyncio.StreamWriter] = set()  # exchanges in flight
        self.egress: Any = None  # the browser's egress proxy, started when needed
        self.last_browser: Any = None  # to number the browser processes of this run
        self.browser_launches = 0
        self.robots = ("consulted (network.obey_robots_txt = true)" if net.obey_robots_txt
                       else "not consulted (URLs requested explicitly)")
        self.accounts = load_accounts(self.settings)  # platform -> its cookies
        self._redactors = {p: Redactor(c) for p, c in self.accounts.items()}

    def account_cookies(self, capture: Capture) -> list[Any]:
        """The collector account's cookies for this capture's platform, if any."""
        return self.accounts.get(capture.platform, [])

    def redact(self, capture: Capture, exchanges: list[Exchange]) -> None:
        """Account cookie values out of the archived request heads, the redaction noted."""
        redactor = self._redactors.get(capture.platform)
        if redactor is None:
            return
        for ex in exchanges:
            head, names = redactor.redact(ex.request_head)
            if names:
                ex.request_head = head
                ex.notes.append("collector account cookie values redacted from this "
                                "request record: " + ", ".join(names))

    @property
    def needs_browser(self) -> bool:
        return any(self.choices[c.id].used == "browser" for c in self.queue_captures)

    def start_egress(self) -> str:
        """Start the browser's egress proxy on loopback; its URL for Chromium."""
        from .egress_proxy import EgressProxy

        if self.egress is None:
            self.egress = EgressProxy(self.policy, self.settings.limits.connect_timeout_seconds)
            self.egress.start()
        return self.egress.url

    def address_of(self, host: str, port: int) -> str | None:
        """The address the egress proxy checked and reached for host:port."""
        for tunnel in reversed(self.egress.tunnels if self.egress else []):
            if tunnel.host.lower() == host.lower() and tunnel.port == port:
                return tunnel.address
        return None

    def refusal_of(self, url: str) -> str | None:
        """Why the egress proxy refused this URL's host, if it did."""
        if self.egress is None:
            return None
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        names = {url, f"{host}:{port}", f"[{host}]:{port}"}
        for refusal in reversed(self.egress.refused):
            if refusal.target in names:
                return refusal.reason
        return None

    # ---- called from the crawl -------------------------------------------------

    def lease(self, captures: list[Capture]) -> list[ActiveCapture]:
        """Take a group of pending captures for this process in one transaction.

        The lease lasts long enough for the group to be fetched at the configured
        concurrency; a dead holder on this host is recognised at once anyway.
        """
        limits = self.settings.limits
        now = utcnow()
        at_once = (min(limits.concurrent_requests, self.settings.browser.concurrency)
                   if self.needs_browser else limits.concurrent_requests)
        # Browser captures also take screenshots after their budget: count that too.
        rounds = -(-len(captures) // at_once) + 1
        until = now + timedelta(seconds=(limits.max_capture_seconds + 30) * rounds
                                + LEASE_GRACE_SECONDS)
        with self.evidence.catalog.write(durable=False) as conn:
            got = self.evidence.catalog.lease(conn, [c.id for c in captures], self.holder,
                                              until, now)
        taken = [c for c in captures if c.id in got]
        made = []
        for capture in taken:
            capture.status = RUNNING
            capture.started_at = now
            work = self.evidence.work_dir / capture.id
            work.mkdir(parents=True, exist_ok=True)
            active = ActiveCapture(capture, capture.canonical_url or capture.requested_url,
                                   None, work, self.choices.get(capture.id))
            if active.choice is not None:
                capture.mode = active.choice.used
            self.active[capture.id] = active
            self.on_update(capture)
            made.append(active)
        return made

    def budget(self, capture_id: str | None) -> Budget:
        limits = self.settings.limits
        active = self.active.get(capture_id or "")
        if active is not None and active.deadline is None:
            # The time limit runs from the capture's first request, not from its lease.
            active.deadline = time.monotonic() + limits.max_capture_seconds
        deadline = active.deadline if active else time.monotonic() + limits.max_capture_seconds
        return Budget(deadline=deadline, max_bytes=limits.max_response_bytes,
                      max_header_bytes=limits.max_header_bytes,
                      connect_timeout=limits.connect_timeout_seconds)

    def spool_path(self, capture_id: str | None) -> Path:
        active = self.active.get(capture_id or "")
        if active is None:
            tmp = self.evidence.work_dir / "internal"
            tmp.mkdir(parents=True, exist_ok=True)
            return tmp / f"{os.getpid()}-{time.monotonic_ns()}.resp"
        active.counter += 1
        return active.work_dir / f"{active.counter:04d}.resp"

    def record_exchange(self, capture_id: str | None, exchange: Exchange) -> None:
        active = self.active.get(capture_id or "")
        if active is not None:
            self.redact(active.capture, [exchange])
            active.exchanges.append(exchange)
        elif exchange.response_spool is not None:
            exchange.response_spool.unlink(missing_ok=True)  # internal fetch, not evidence

    async def fetch_recorded(self, capture_id: str, url: str,
                             headers: list[tuple[bytes, bytes]], note: str) -> Exchange:
        """One GET for a helper of the capture (yt-dlp): through the egress guard and the
        wire recorder, into the capture's exchanges with `note`. Raises EgressRefused,
        LookupError or WireError."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise EgressRefused(f"refused {url}: only http and https are fetched")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = ""
        try:
            target = await self.policy.resolve(parts.hostname or "", port)
            address = target.address
            record, _ = await exchange(url, target, headers, self.spool_path(capture_id),
                                       self.budget(capture_id), self.ssl_context,
                                       connections=self.connections, proxy=self.proxy,
                                       pool=self.pool)
        except (EgressRefused, LookupError, WireError) as exc:  # a trace, as for the crawl's
            self.record_exchange(capture_id, Exchange(
                url=url, method="GET", request_head=b"", request_body=b"", sent_at=utcnow(),
                ip_address=address, port=port, protocol="http/1.1", error=str(exc),
                notes=[note]))
            raise
        record.notes.append(note)
        self.record_exchange(capture_id, record)
        return record

    def media_to_fetch(self, capture_id: str) -> list[str]:
        """The post's media files the page did not load whole (a video streamed in
        ranges, images below the fold): fetched next, through the same recorder, into
        the same capture. Read from what is recorded so far; nothing fetched twice."""
        active = self.active.get(capture_id)
        if active is None or self.stopping:
            return []
        try:
            from .posts import media_wanted

            return media_wanted(active.capture, self._recorded(active), self._page_url(active))
        except Exception:  # noqa: BLE001 - no media phase; the page itself is captured
            return []

    def video_to_download(self, capture_id: str) -> str | None:
        """The post's URL, when it has a video no recorded response holds whole."""
        active = self.active.get(capture_id)
        if active is None or self.stopping:
            return None
        try:
            from .posts import video_missing

            return video_missing(active.capture, self._recorded(active),
                                 self._page_url(active))
        except Exception:  # noqa: BLE001 - no download; the page itself is captured
            return None

    @staticmethod
    def _page_url(active: ActiveCapture) -> str:
        """Where the page ended up (after redirects), before the capture is complete."""
        if active.page is not None and active.page.final_url:
            return active.page.final_url
        pages = [ex for ex in active.exchanges if ex.got_response and MEDIA_NOTE not in ex.notes
                 and YTDLP_NOTE not in ex.notes]
        return pages[-1].url if pages else active.url

    @staticmethod
    def _recorded(active: ActiveCapture) -> list[Exchange]:
        exchanges = list(active.exchanges)
        if active.recorder is not None:
            exchanges = list(active.recorder.exchanges) + exchanges
        return exchanges

    def interrupt(self, reason: str) -> None:
        """Stop now (Ctrl-C, SIGTERM): cut the connections in flight, so no download
        keeps the crawl waiting. Open captures are then quarantined by
        `interrupt_unfinished`, never sealed half-done."""
        self.stopping = reason
        for writer in list(self.connections):
            writer.transport.abort()
        for active in list(self.active.values()):
            if active.task is not None:
                active.task.cancel()  # the page's waits end now; its context is closed
        self.pool.close()

    def complete(self, capture_id: str, error: str | None = None) -> None:
        """The crawl is done with this capture: hand it to the sealer."""
        if self.stopping:
            return  # stays open: quarantined as interrupted when the spider closes
        active = self.active.pop(capture_id, None)
        if active is None:
            return
        capture = active.capture
        capture.finished_at = utcnow()
        if active.recorder is not None:
            self._sealer.submit(self._browser_run(active, error))
            return
        responses = [ex for ex in active.exchanges if ex.got_response
                     and MEDIA_NOTE not in ex.notes and YTDLP_NOTE not in ex.notes]
        if responses:
            last = responses[-1]
            capture.final_url = last.url
            capture.http_status = last.status
            truncated = [ex.truncated for ex in responses if ex.truncated]
            capture.truncated = truncated[-1] if truncated else None
        capture.status = CAPTURED if responses and not error else FAILED
        if capture.status == FAILED:
            capture.error = one_line(error or "no HTTP response")
        run = CaptureRun(capture, active.exchanges, _redirect_chain(active.exchanges),
                         self.robots, active.work_dir, mode_choice=_choice(active),
                         media_limit=self.settings.platforms.max_media_bytes)
        _read_post_into(run, active.media_notes)
        self._sealer.submit(run)

    def _browser_run(self, active: ActiveCapture, error: str | None) -> CaptureRun:
        """A browser capture: the recorder's exchanges plus what the page made."""
        capture = active.capture
        recorder = active.recorder
        recorder.close()
        # The page's own traffic, then the post's media fetched after it (wire recorder)
        self.redact(capture, recorder.exchanges)
        exchanges = recorder.exchanges + active.exchanges
        page = active.page
        documents = [ex for ex in exchanges if "main frame document" in ex.notes]
        if page is not None and page.final_url:
            capture.final_url = page.final_url
        elif documents:
            capture.final_url = documents[-1].url
        final = [ex for ex in documents if ex.url == capture.final_url]
        if final:
            capture.http_status = final[-1].status
        hits = recorder.budget.hit
        cut = [ex.truncated for ex in exchanges if ex.truncated]
        capture.truncated = cut[-1] if cut else ("time" if any(
            h.startswith("time") for h in hits) else None)
        if not documents and not error:
            error = "the page's document was not recorded"
        capture.status = CAPTURED if documents and not error else FAILED
        if capture.status == FAILED:
            capture.error = one_line(error or "no HTTP response")
        run = CaptureRun(capture, exchanges, _redirect_chain(documents), self.robots,
                         active.work_dir, mode_choice=_choice(active),
                         page_artifacts=page.artifacts if page else [],
                         page_title=page.title if page else "",
                         page_text=page.text if page else "",
                         media_limit=self.settings.platforms.max_media_bytes)
        _read_post_into(run, active.media_notes)
        return run

    def interrupt_unfinished(self, reason: str) -> None:
        """The crawl stopped with captures still open: quarantine them, unsealed; the
        ones never started are marked failed too, so none stays pending forever."""
        self._fail_unstarted(reason)
        for capture_id in list(self.active):
            active = self.active.pop(capture_id)
            kept = self.evidence.quarantine(capture_id)
            capture = active.capture
            capture.status = FAILED
            capture.finished_at = utcnow()
            why = self.stopping or reason
            capture.error = f"interrupted ({why}) before the capture finished"
            with self.evidence.catalog.write() as conn:
                self.evidence.catalog.finish_capture(conn, capture)
                self.evidence.catalog.append_events(conn, [EventDraft(
                    self.evidence.actor, "capture.failed", capture_id,
                    {"error": capture.error, "quarantine": kept})])
            self.on_update(capture)

    def _fail_unstarted(self, reason: str) -> None:
        unstarted = [c for c in self.queue_captures if c.status == PENDING]
        if not unstarted:
            return
        why = self.stopping or reason
        with self.evidence.catalog.write() as conn:
            for capture in unstarted:
                capture.status = FAILED
                capture.finished_at = utcnow()
                capture.error = f"interrupted ({why}) before the capture started"
                self.evidence.catalog.finish_capture(conn, capture)
            self.evidence.catalog.append_events(conn, [EventDraft(
                self.evidence.actor, "capture.failed", c.id, {"error": c.error})
                for c in unstarted])
        for capture in unstarted:
            self.on_update(capture)

    def close(self) -> list[Capture]:
        """Wait for every seal, write the run's custody segment; the final records."""
        if not self._closed:
            self._closed = True
            if self._own_sealer:
                self._sealer.close()
            else:
                self._sealer.drain()
            if self.egress is not None:
                self.egress.stop()
            self.evidence.custody.flush()
        return list(self.results.values())

    def _sealed(self, capture: Capture) -> None:
        self.results[capture.id] = capture
        self.on_update(capture)


def _choice(active: ActiveCapture) -> dict[str, str] | None:
    return active.choice.to_json() if active.choice else None


def _redirect_chain(exchanges: list[Exchange]) -> list[dict[str, Any]]:
    chain = []
    for ex in exchanges:
        location = ex.header(b"location")
        chain.append({"url": ex.url, "status": ex.status,
                      "location": location.decode("latin-1") if location else None,
                      "ip_address": ex.ip_address, "error": ex.error})
    return chain


__all__ = ["CaptureSession", "register_captures", "recover_interrupted", "IntakeError"]
