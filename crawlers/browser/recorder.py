"""Records every HTTP exchange of a page through the DevTools protocol (CDP `Network`).

Written here because no library records browser traffic to evidence grade: Playwright's
`response.body()` holds whole bodies in memory, HAR files keep bodies as base64 text and
drop the raw header lines, and Browsertrix re-fetches some payloads outside the page.
Here each body is streamed to a spool file as Chromium receives it
(`Network.streamResourceContent`, asked for as each request starts, then
`Network.dataReceived` chunks), hashed on the way, within the capture's byte budget.
A small response can arrive whole before streaming takes hold (often on a fast
network); its body is then taken from Chromium's own buffer (at most 16 MiB a resource)
and the record says so. Nothing is fetched a second time.

What the browser changed is said in the record, never hidden:
- bodies arrive decoded: `Content-Encoding`, `Transfer-Encoding` and `Content-Length`
  of the original head are kept as `X-Orig-…` headers, as web-archiving tools do;
- the response head is the raw header text Chromium received (HTTP/1.x); for HTTP/2 and
  HTTP/3 it is the header list written as HTTP/1.1, with the real protocol in
  `WARC-Protocol`;
- the request head is rebuilt from the headers Chromium reports it sent.
The server address comes from Saksi's egress proxy (Chromium only sees the proxy).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archivers.exchange import Exchange
from storage.records import utcnow

from ..wire import SpoolWriter
from .heads import (
    header,
    header_pairs,
    pem,
    request_head,
    response_head,
    tls_info,
    wall,
    warc_protocol,
)

REFUSED_MARK = "x-saksi-refused"  # set by the egress proxy on its own refusals


@dataclass
class CaptureBudget:
    """Bytes and time for one capture, shared by all of its responses."""

    max_response_bytes: int
    max_capture_bytes: int
    deadline: float  # monotonic
    used_bytes: int = 0
    hit: list[str] = field(default_factory=list)  # what ran out, said in page info

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def note(self, what: str) -> None:
        if what not in self.hit:
            self.hit.append(what)


@dataclass
class _Hop:
    """One request/response of a browser request id (redirects reuse the id)."""

    url: str
    method: str
    sent_at: datetime
    resource_type: str
    frame_id: str
    headers: dict[str, str]
    post_data: bytes = b""
    sent_headers: dict[str, str] | None = None  # from requestWillBeSentExtraInfo
    raw_head: str | None = None  # responseReceivedExtraInfo.headersText
    raw_headers: dict[str, str] | None = None
    raw_status: int | None = None
    response: dict[str, Any] | None = None
    spool: SpoolWriter | None = None
    held: list[bytes] = field(default_factory=list)  # data that came before the head
    body_bytes: int = 0
    reported_bytes: int = 0  # what Chromium says it received (dataReceived.dataLength)
    truncated: str | None = None
    error: str | None = None
    streaming: str = "asked"  # asked | on | unavailable
    finish_waiting: bool = False  # loading finished before streaming was confirmed
    done: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class PageRequest:
    """What page info lists for every request the page made."""

    url: str
    method: str
    resource_type: str
    status: int | None
    mime_type: str | None
    bytes: int
    protocol: str | None
    outcome: str  # recorded | failed | blocked | unfinished | internal
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None or k == "status"}


class BrowserRecorder:
    """Turns one page's CDP network events into `Exchange`s with spooled bodies."""

    def __init__(self, spool_dir: Path, budget: CaptureBudget,
                 address_of: Callable[[str, int], str | None],
                 refusal_of: Callable[[str], str | None]):
        self.spool_dir = spool_dir
        self.budget = budget
        self.address_of = address_of
        self.refusal_of = refusal_of
        self.exchanges: list[Exchange] = []
        self.requests: list[PageRequest] = []
        self._hops: dict[str, _Hop] = {}
        self._waiting: dict[str, _Hop] = {}  # finished loading, body answer still due
        self._counter = 0
        self._session: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.main_frame: str | None = None
        self._seen: Counter[tuple[str, str]] = Counter()  # (method, url) the CDP session saw
        self._finished_elsewhere: list[Any] = []  # Playwright's finished requests
        self.inflight = 0
        self.last_activity = time.monotonic()
        self.closed = False

    async def attach(self, page: Any) -> None:
        """Start recording before the page navigates (called from the page init hook)."""
        session = await page.context.new_cdp_session(page)
        self._session = session
        session.on("Network.requestWillBeSent", self._request_will_be_sent)
        session.on("Network.requestWillBeSentExtraInfo", self._request_extra)
        session.on("Network.responseReceived", self._response_received)
        session.on("Network.responseReceivedExtraInfo", self._response_extra)
        session.on("Network.dataReceived", self._data_received)
        session.on("Network.loadingFinished", self._loading_finished)
        session.on("Network.loadingFailed", self._loading_failed)
        # Workers are targets of their own: the page's session does not see their
        # requests, Playwright's context does. Those are recorded at the end (see
        # `record_other_targets`).
        page.context.on("requestfinished", lambda request: self._finished_elsewhere.append(
            (request, time.monotonic())))
        # Bodies stream to disk; Chromium's own buffer only bridges the moment before
        # streaming starts for each request.
        await session.send("Network.enable", {"maxTotalBufferSize": 64 * 1024 * 1024,
                                              "maxResourceBufferSize": 16 * 1024 * 1024})
        # The browser cache would answer repeats without a network exchange to record.
        await session.send("Network.setCacheDisabled", {"cacheDisabled": True})

    # ---- CDP events ---------------------------------------------------------------

    def _request_will_be_sent(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        request = event["request"]
        url = request["url"]
        if urlsplit(url).scheme not in ("http", "https"):
            return  # data:, blob: and the like never cross the network
        rid = event["requestId"]
        previous = self._hops.pop(rid, None)
        redirect = event.get("redirectResponse")
        if previous is not None and redirect and header(redirect.get("headers", {}),
                                                         "non-authoritative-reason"):
            # Made up inside Chromium (HSTS, upgrades): nothing crossed the network.
            previous.done = True
            self.inflight = max(0, self.inflight - 1)
            self.requests.append(PageRequest(
                previous.url, previous.method, previous.resource_type, redirect.get("status"),
                None, 0, None, "internal", "browser-internal redirect ("
                + str(header(redirect["headers"], "non-authoritative-reason")) + ")"))
        elif previous is not None and redirect:
            previous.response = redirect
            self._open_spool(previous)
            previous.notes.append("redirect body not exposed by the browser")
            self._finish(previous)
        elif previous is not None:
            self._finish(previous)
        self._seen[(request.get("method", "GET"), url)] += 1
        post = request.get("postData")
        if self.main_frame is None and event.get("type") == "Document":
            self.main_frame = event.get("frameId")
        self._hops[rid] = _Hop(
            url=url, method=request.get("method", "GET"), sent_at=wall(event),
            resource_type=event.get("type", "Other"), frame_id=event.get("frameId", ""),
            headers=request.get("headers", {}),
            post_data=post.encode("utf-8") if isinstance(post, str) else b"",
        )
        self.inflight += 1
        self.last_activity = time.monotonic()
        self._spawn(self._stream(rid, self._hops[rid]))

    async def _stream(self, rid: str, hop: _Hop) -> None:
        """Ask Chromium to hand over this response's body as it arrives.

        Chromium answers with what it buffered so far, then sends the rest in
        `dataReceived` events. A small response may finish before the answer comes back;
        its finish waits here, so no body is cut short.
        """
        try:
            reply = await self._session.send("Network.streamResourceContent",
                                             {"requestId": rid})
        except Exception:  # noqa: BLE001 - the request ended or was not a network load
            hop.streaming = "unavailable"
        else:
            hop.streaming = "on"
            data = reply.get("bufferedData") or ""
            if data:
                self._body(hop, base64.b64decode(data), first=True)
        if hop.finish_waiting and not hop.done:
            await self._complete(rid, hop)

    async def _complete(self, rid: str, hop: _Hop) -> None:
        """Finish a hop whose loading ended; if the stream missed bytes Chromium says it
        received, take the body Chromium kept instead, and say so in the record."""
        if hop.response is not None and not hop.truncated and (
                hop.streaming == "unavailable" or hop.reported_bytes > hop.body_bytes):
            await self._whole_body(rid, hop)
        if hop.reported_bytes > hop.body_bytes and not hop.truncated:
            hop.truncated = "unspecified"  # bytes the browser got but could not hand over
        self._waiting.pop(rid, None)
        if not hop.done:
            self._finish(hop)

    async def _whole_body(self, rid: str, hop: _Hop) -> None:
        """The body Chromium kept (bounded by its resource buffer), replacing what the
        stream delivered, which was less."""
        try:
            reply = await self._session.send("Network.getResponseBody", {"requestId": rid})
        except Exception:  # noqa: BLE001 - no body kept (e.g. a 204 or a redirect)
            if hop.reported_bytes > hop.body_bytes:
                hop.notes.append(f"the browser received {hop.reported_bytes} body bytes; "
                                 f"{hop.body_bytes} could be recorded")
            return
        body = reply.get("body") or ""
        data = base64.b64decode(body) if reply.get("base64Encoded") else body.encode()
        if len(data) <= hop.body_bytes or hop.done:
            return
        if hop.spool is not None and hop.body_bytes:
            self.budget.used_bytes -= hop.body_bytes
            hop.spool.close()
            hop.spool.path.unlink(missing_ok=True)
            hop.spool, hop.body_bytes = None, 0
        hop.notes.append("body taken whole from the browser after loading "
                         "(streaming did not deliver it)")
        if hop.spool is None:
            self._open_spool(hop)
        self._write_body(hop, data)

    def _request_extra(self, event: dict[str, Any]) -> None:
        hop = self._hops.get(event["requestId"])
        if hop is not None and hop.sent_headers is None:
            hop.sent_headers = event.get("headers", {})

    def _response_extra(self, event: dict[str, Any]) -> None:
        hop = self._hops.get(event["requestId"])
        if hop is not None and hop.response is None:
            hop.raw_head = event.get("headersText")
            hop.raw_headers = event.get("headers")
            hop.raw_status = event.get("statusCode")

    def _response_received(self, event: dict[str, Any]) -> None:
        hop = self._hops.get(event["requestId"])
        if hop is None or hop.response is not None:
            return
        hop.response = event["response"]
        self.last_activity = time.monotonic()
        if header(hop.response.get("headers", {}), REFUSED_MARK) is not None:
            return  # the egress proxy's own refusal: not the site's answer
        self._open_spool(hop)

    def _data_received(self, event: dict[str, Any]) -> None:
        hop = self._hops.get(event["requestId"])
        self.last_activity = time.monotonic()
        if hop is None:
            return
        hop.reported_bytes += event.get("dataLength", 0)
        data = event.get("data")
        if data:
            self._body(hop, base64.b64decode(data))

    def _loading_finished(self, event: dict[str, Any]) -> None:
        hop = self._hops.pop(event["requestId"], None)
        if hop is None:
            return
        rid = event["requestId"]
        if hop.streaming == "asked":
            hop.finish_waiting = True  # `_stream` finishes it once Chromium answered
            self._waiting[rid] = hop
        elif hop.streaming == "unavailable" or hop.reported_bytes > hop.body_bytes:
            self._waiting[rid] = hop
            self._spawn(self._complete(rid, hop))
        else:
            self._finish(hop)

    def _loading_failed(self, event: dict[str, Any]) -> None:
        hop = self._hops.pop(event["requestId"], None)
        if hop is None:
            return
        text = event.get("errorText") or "failed"
        if event.get("blockedReason"):
            text += f" (blocked: {event['blockedReason']})"
        if event.get("canceled"):
            text += " (cancelled by the page)"
        hop.error = text
        self._finish(hop)

    # ---- bodies -------------------------------------------------------------------

    def _open_spool(self, hop: _Hop) -> None:
        if hop.spool is not None or hop.response is None:
            return
        self._counter += 1
        hop.spool = SpoolWriter(self.spool_dir / f"b{self._counter:05d}.resp")
        head = self._response_head(hop)
        hop.spool.write(head, len(head))
        for chunk in hop.held:
            self._write_body(hop, chunk)
        hop.held.clear()

    def _body(self, hop: _Hop, data: bytes, first: bool = False) -> None:
        if hop.done:
            return
        if hop.spool is None:
            if first:
                hop.held.insert(0, data)
            else:
                hop.held.append(data)
            return
        self._write_body(hop, data)

    def _write_body(self, hop: _Hop, data: bytes) -> None:
        if hop.truncated or hop.spool is None:
            return
        budget = self.budget
        room = min(budget.max_response_bytes - hop.body_bytes,
                   budget.max_capture_bytes - budget.used_bytes)
        if budget.remaining() <= 0:
            hop.truncated = "time"
            budget.note("time (limits.max_capture_seconds)")
            return
        if len(data) > room:
            data = data[:max(room, 0)]
            hop.truncated = "length"
            which = ("limits.max_response_bytes" if hop.body_bytes + len(data)
                     >= budget.max_response_bytes else "limits.max_capture_bytes")
            budget.note(f"bytes ({which})")
        if data:
            hop.spool.write(data, 0)
            hop.body_bytes += len(data)
            budget.used_bytes += len(data)

    # ---- turning a hop into an exchange -------------------------------------------

    def _finish(self, hop: _Hop, unfinished: bool = False) -> None:
        if hop.done:
            return
        hop.done = True
        self.inflight = max(0, self.inflight - 1)
        self.last_activity = time.monotonic()
        response = hop.response or {}
        refused = header(response.get("headers", {}), REFUSED_MARK)
        if refused is not None or (hop.error and hop.spool is None):
            reason = refused or self.refusal_of(hop.url) or hop.error
            outcome = "blocked" if refused or self.refusal_of(hop.url) else "failed"
            self.requests.append(PageRequest(hop.url, hop.method, hop.resource_type, None,
                                             None, 0, None, outcome, reason))
            if hop.spool is not None:
                hop.spool.close()
            return
        if hop.spool is None:  # no response at all (cancelled before it came)
            self.requests.append(PageRequest(hop.url, hop.method, hop.resource_type, None,
                                             None, 0, None, "unfinished" if unfinished
                                             else "failed", hop.error or "no response"))
            return
        if unfinished and not hop.truncated:
            hop.truncated = "time"
        if hop.error and not hop.truncated:
            hop.truncated = "disconnect"
            hop.notes.append(f"the browser reported: {hop.error}")
        hop.spool.close()
        self.exchanges.append(self._exchange(hop))
        self.requests.append(PageRequest(
            hop.url, hop.method, hop.resource_type, response.get("status"),
            response.get("mimeType"), hop.body_bytes, response.get("protocol"),
            "recorded", f"truncated: {hop.truncated}" if hop.truncated else None))

    def _exchange(self, hop: _Hop) -> Exchange:
        response = hop.response or {}
        spool = hop.spool
        assert spool is not None
        parts = urlsplit(hop.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        protocol = warc_protocol(response.get("protocol"))
        tls = tls_info(response.get("securityDetails"), response.get("protocol"))
        notes = list(hop.notes)
        if protocol != "http/1.1":
            notes.append(f"{protocol} headers written as HTTP/1.1 lines")
        if hop.raw_head is None:
            notes.append("response head rebuilt from the browser's header list")
        if parts.scheme == "http":
            notes.append("plain http: the egress proxy forwarded the request to the checked"
                         " address in origin form, with Connection: close")
        if hop.resource_type == "Document" and hop.frame_id == self.main_frame:
            notes.append("main frame document")
        status = response.get("status")
        return Exchange(
            url=hop.url, method=hop.method, request_head=self._request_head(hop),
            request_body=hop.post_data, sent_at=hop.sent_at,
            ip_address=self.address_of(parts.hostname or "", port) or "",
            port=port, protocol=protocol, tls=tls, response_spool=spool.path,
            response_bytes=spool.bytes, head_length=spool.bytes - hop.body_bytes,
            status=status, reason=response.get("statusText") or "",
            http_version="HTTP/1.1",
            headers=header_pairs(hop.raw_headers or response.get("headers", {})),
            block_sha256=spool.block.hexdigest(), payload_sha256=spool.payload.hexdigest(),
            truncated=hop.truncated, notes=notes + [f"resource type: {hop.resource_type}"],
        )

    def _response_head(self, hop: _Hop) -> bytes:
        head, note = response_head(hop.response or {}, hop.raw_head, hop.raw_headers)
        if note:
            hop.notes.append(note)
        return head

    def _request_head(self, hop: _Hop) -> bytes:
        return request_head(hop.method, hop.url, hop.sent_headers or hop.headers)

    # ---- end of the capture -------------------------------------------------------

    def reassign_finished_elsewhere(self, min_age: float = 1.0) -> None:
        """A worker's script is requested on the page's session but answered on the
        worker's: Playwright saw it finish, the page's session never will. Such requests
        stop counting as in flight and are recorded by `record_other_targets`."""
        now = time.monotonic()
        finished = Counter((r.method, r.url) for r, at in self._finished_elsewhere
                           if now - at >= min_age)
        for rid, hop in list(self._hops.items()):
            key = (hop.method, hop.url)
            if hop.response is None and finished[key] > 0:
                finished[key] -= 1
                del self._hops[rid]
                hop.done = True
                self._seen[key] -= 1
                self.inflight = max(0, self.inflight - 1)

    async def record_other_targets(self) -> None:
        """Record the finished requests the page's DevTools session never saw (dedicated
        workers' fetches), from Playwright: head rebuilt, body read whole after loading,
        which the record says."""
        self.reassign_finished_elsewhere(0.0)
        unseen = Counter(self._seen)
        for request, _ in list(self._finished_elsewhere):
            key = (request.method, request.url)
            if unseen[key] > 0:
                unseen[key] -= 1
                continue
            if urlsplit(request.url).scheme not in ("http", "https") or self.closed:
                continue
            try:
                await self._record_from_playwright(request)
            except Exception as exc:  # noqa: BLE001 - gone with its worker: listed instead
                self.requests.append(PageRequest(
                    request.url, request.method, request.resource_type, None, None, 0, None,
                    "failed", "could not be read from the browser: "
                    + " ".join(str(exc).split())[:200]))

    async def _record_from_playwright(self, request: Any) -> None:
        response = await request.response()
        if response is None:
            return
        sent = await request.all_headers()
        received = {}
        for item in await response.headers_array():
            name = item["name"]
            received[name] = (received[name] + "\n" + item["value"]) if name in received \
                else item["value"]
        details = await response.security_details()
        hop = _Hop(url=request.url, method=request.method, sent_at=utcnow(),
                   resource_type=request.resource_type.capitalize(), frame_id="",
                   headers=sent, post_data=request.post_data_buffer or b"", sent_headers=sent,
                   raw_headers=received, streaming="on")
        hop.response = {"status": response.status, "statusText": response.status_text,
                        "headers": received, "mimeType": received.get("content-type"),
                        "securityDetails": details and {**details, "cipher": ""}}
        hop.notes.append("recorded through Playwright after loading: a worker's request, "
                         "not seen by the page's DevTools session; body read whole; "
                         "protocol not reported")
        self._open_spool(hop)
        self._write_body(hop, await response.body())
        self.inflight += 1  # balanced by _finish
        self._finish(hop)

    async def collect_certificates(self) -> None:
        """The certificate chain each https origin presented, as Chromium kept it."""
        chains: dict[str, list[str]] = {}
        for ex in self.exchanges:
            parts = urlsplit(ex.url)
            if ex.tls is None or parts.scheme != "https":
                continue
            origin = f"https://{parts.netloc}"
            if origin not in chains:
                try:
                    reply = await self._session.send("Network.getCertificate",
                                                     {"origin": origin})
                    chains[origin] = [pem(der) for der in reply.get("tableNames", [])]
                except Exception:  # noqa: BLE001 - the page is gone: details only
                    chains[origin] = []
            ex.tls.chain_pem = chains[origin]

    def close(self) -> None:
        """Stop recording; requests still open are kept as far as they got."""
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for hop in list(self._waiting.values()):
            self._finish(hop)
        for hop in list(self._hops.values()):
            self._finish(hop, unfinished=True)
        self._hops.clear()
        self._waiting.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

