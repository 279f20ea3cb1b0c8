"""A wire-faithful HTTP/1.1 exchange: the request written as sent, the response teed
byte for byte into a spool file while it is parsed.

Why not Scrapy's or Twisted's HTTP client: they move Content-Length, Transfer-Encoding and
Connection out of the headers, de-chunk the body, group repeated headers by name, drop
the reason phrase and hold bodies in memory (see FIELD-NOTES). Evidence needs the bytes
from the socket, so this module reads them itself and only *parses* a copy to know where
the message ends. Nothing is decoded, nothing is re-serialised.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import ssl
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from archivers.exchange import Exchange, TlsInfo

from .egress import Target

READ_SIZE = 256 * 1024


class WireError(Exception):
    """The exchange failed before a complete response head arrived."""


@dataclass
class Budget:
    """Limits for one exchange: a deadline (monotonic) and a byte cap."""

    deadline: float
    max_bytes: int
    max_header_bytes: int
    connect_timeout: float

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


def make_ssl_context(extra_ca: str = "", verify: bool = True) -> ssl.SSLContext:
    """The client's TLS context, made once per CA file version: loading the system's
    CAs costs ~60 ms, paid by every crawl of a long-lived crawler otherwise."""
    try:
        version = os.stat(extra_ca).st_mtime_ns if extra_ca else 0
    except OSError:
        version = -1
    return _ssl_context(extra_ca, version, verify)


@functools.lru_cache(maxsize=8)
def _ssl_context(extra_ca: str, _version: int, verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if extra_ca:
        ctx.load_verify_locations(cafile=extra_ca)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    # This client speaks HTTP/1.1 only; say so rather than let a server pick h2.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy the operator configured (`network.proxy`); never from the
    environment. Saksi still resolves and checks the target, then asks the proxy for
    that checked address, so the address rule holds through the proxy too."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Proxy | None:
        if not text:
            return None
        parts = urlsplit(text if "://" in text else f"http://{text}")
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"network.proxy must look like http://host:port, not {text!r}")
        return cls(parts.hostname, parts.port or 8080)


def _authority(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


async def _connect(target: Target, is_tls: bool, ctx: ssl.SSLContext | None,
                   proxy: Proxy | None, timeout: float
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    server_name = target.host.strip("[]") if is_tls else None
    if proxy is None:
        return await asyncio.open_connection(
            target.address, target.port, ssl=ctx if is_tls else None,
            server_hostname=server_name, ssl_handshake_timeout=timeout if is_tls else None)
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
    if not is_tls:
        return reader, writer
    authority = _authority(target.address, target.port).encode("ascii")
    writer.write(b"CONNECT " + authority + b" HTTP/1.1\r\nHost: " + authority + b"\r\n\r\n")
    await writer.drain()
    try:
        reply = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        writer.close()
        raise WireError(f"proxy {proxy.host}:{proxy.port} gave no answer to CONNECT") from exc
    status = reply.split(b"\r\n", 1)[0]
    if len(status.split()) < 2 or status.split()[1] != b"200":
        writer.close()
        raise WireError(f"proxy {proxy.host}:{proxy.port} refused the tunnel: "
                        f"{status.decode('latin-1')}")
    await writer.start_tls(ctx, server_hostname=server_name, ssl_handshake_timeout=timeout)
    return reader, writer


def build_request_head(method: str, url: str, headers: list[tuple[bytes, bytes]],
                       via_address: Target | None = None) -> bytes:
    """The request line and headers as they will be written to the socket. Through a
    proxy (plain http), the request-target is absolute and names the checked address."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if via_address is not None:
        target = f"http://{_authority(via_address.address, via_address.port)}{target}"
    default_port = 80 if parts.scheme == "http" else 443
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port and parts.port != default_port:
        host = f"{host}:{parts.port}"
    lines = [f"{method} {target} HTTP/1.1".encode("ascii"), b"Host: " + host.encode("ascii")]
    skip = {b"host", b"connection", b"content-length", b"transfer-encoding", b"keep-alive"}
    for name, value in headers:
        if name.lower() not in skip:
            lines.append(name + b": " + value)
    lines.append(b"Connection: keep-alive")
    return b"\r\n".join(lines) + b"\r\n\r\n"


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    tls: TlsInfo | None
    uses: int = 0


class ConnectionPool:
    """Idle keep-alive connections, by scheme, host name, checked address and port.

    Reuse is keyed by the *checked* address, so a pooled connection never carries a
    request to an address the egress guard did not approve for that host.
    """

    def __init__(self, max_idle_per_key: int = 32):
        self.max_idle = max_idle_per_key
        self._idle: dict[tuple, list[Connection]] = {}

    def take(self, key: tuple) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn
            conn.writer.close()
        return None

    def give(self, key: tuple, conn: Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= self.max_idle:
            conn.writer.close()
            return
        idle.append(conn)

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.writer.transport.abort()
        self._idle.clear()


class ResponseFraming:
    """Follows HTTP/1.1 message framing over raw bytes to tell where the response ends.

    It parses a copy; the caller stores the bytes unchanged.
    """

    def __init__(self, method: str, max_header_bytes: int, keep_body: bool = False):
        self.method = method
        self.max_header_bytes = max_header_bytes
        self.head_buf = bytearray()
        self.head_length = 0  # bytes of all heads (1xx interim heads included)
        self.status: int | None = None
        self.reason = ""
        self.http_version = ""
        self.headers: list[tuple[bytes, bytes]] = []
        self.mode = "head"  # head | length | chunked | close | done
        self.remaining = 0
        self.chunk_state = "size"
        self.line_buf = bytearray()
        self.keep_body = keep_body
        self.body = bytearray()

    @property
    def complete(self) -> bool:
        return self.mode == "done"

    @property
    def body_needs_close(self) -> bool:
        return self.mode == "close"

    def feed(self, data: bytes) -> int:
        """Consume bytes; returns how many belong to this response (the rest is excess)."""
        used = 0
        view = memoryview(data)
        while used < len(data) and self.mode != "done":
            if self.mode == "head":
                used += self._feed_head(view[used:])
            elif self.mode == "length":
                take = min(self.remaining, len(data) - used)
                self._keep(view[used:used + take])
                self.remaining -= take
                used += take
                if self.remaining == 0:
                    self.mode = "done"
            elif self.mode == "chunked":
                used += self._feed_chunked(view[used:])
            elif self.mode == "close":
                self._keep(view[used:])
                used = len(data)
        return used

    def _keep(self, data: memoryview) -> None:
        if self.keep_body:
            self.body += data

    def _feed_head(self, data: memoryview) -> int:
        start = len(self.head_buf)
        self.head_buf += data
        end = self.head_buf.find(b"\r\n\r\n")
        sep = 4
        lf_end = self.head_buf.find(b"\n\n")
        if lf_end != -1 and (end == -1 or lf_end < end):
            end, sep = lf_end, 2
        if end == -1:
            if len(self.head_buf) > self.max_header_bytes:
                raise WireError(f"response head larger than {self.max_header_bytes} bytes")
            return len(data)
        head = bytes(self.head_buf[:end])
        consumed = end + sep - start
        self.head_length += end + sep
        self.head_buf = bytearray()
        self._parse_head(head)
        return consumed

    def _parse_head(self, head: bytes) -> None:
        lines = head.replace(b"\r\n", b"\n").split(b"\n")
        status_line = lines[0]
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise WireError(f"not an HTTP response: {status_line[:60]!r}")
        self.http_version = parts[0].decode("ascii", "replace")
        status = int(parts[1])
        self.reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            if not line:
                continue
            if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip())
                continue
            name, _, value = line.partition(b":")
            headers.append((name.strip(), value.strip()))
        if 100 <= status < 200 and status != 101:
            return  # interim response: another head follows, all bytes kept
        self.status = status
        self.headers = headers
        self._choose_framing()

    def _choose_framing(self) -> None:
        status = self.status or 0
        if self.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self.mode = "done"
            return
        te = [v.lower() for k, v in self.headers if k.lower() == b"transfer-encoding"]
        if te and b"chunked" in te[-1]:
            self.mode = "chunked"
            return
        lengths = [v for k, v in self.headers if k.lower() == b"content-length"]
        if lengths:
            try:
                self.remaining = int(lengths[0].split(b",")[0])
            except ValueError:
                self.mode = "close"
                return
            self.mode = "length" if self.remaining > 0 else "done"
            return
        self.mode = "close"

    def _feed_chunked(self, data: memoryview) -> int:
        used = 0
        n = len(data)
        while used < n:
            if self.chunk_state == "data":
                take = min(self.remaining, n - used)
                self._keep(data[used:used + take])
                self.remaining -= take
                used += take
                if self.remaining == 0:
                    self.chunk_state = "data-end"
                continue
            # size line, CRLF after data, or trailer lines: read up to a newline
            nl = bytes(data[used:]).find(b"\n")
            if nl == -1:
                self.line_buf += data[used:]
                if len(self.line_buf) > self.max_header_bytes:
                    raise WireError("malformed chunked body (line too long)")
                return n
            line = bytes(self.line_buf) + bytes(data[used:used + nl])
            self.line_buf = bytearray()
            used += nl + 1
            line = line.rstrip(b"\r")
            if self.chunk_state == "size":
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError as exc:
                    raise WireError(f"malformed chunk size {size_text[:20]!r}") from exc
                if size == 0:
                    self.chunk_state = "trailer"
                else:
                    self.remaining = size
                    self.chunk_state = "data"
            elif self.chunk_state == "data-end":
                self.chunk_state = "size"
            elif self.chunk_state == "trailer":
                if not line:
                    self.mode = "done"
                    return used
        return used


class SpoolWriter:
    """Raw bytes to a file, hashed as written: the block and payload digests."""

    def __init__(self, path: Path):
        self.path = path
        self.file = open(path, "wb")
        self.block = hashlib.sha256()
        self.payload = hashlib.sha256()
        self.bytes = 0
        self.head_length: int | None = None

    def write(self, data: bytes, in_head: int) -> None:
        """`in_head` is how many leading bytes of `data` still belong to the head."""
        self.file.write(data)
        self.block.update(data)
        if in_head < len(data):
            self.payload.update(memoryview(data)[in_head:])
        self.bytes += len(data)

    def close(self) -> None:
        self.file.close()


async def exchange(
    url: str,
    target: Target,
    request_headers: list[tuple[bytes, bytes]],
    spool_path: Path,
    budget: Budget,
    ssl_context: ssl.SSLContext | None,
    method: str = "GET",
    keep_body: bool = False,
    connections: set[asyncio.StreamWriter] | None = None,
    proxy: Proxy | None = None,
    pool: ConnectionPool | None = None,
) -> tuple[Exchange, bytes]:
    """Perform one request/response with the checked address, on a kept-alive
    connection from `pool` when one is idle, else on a new one.

    Returns the exchange and, when `keep_body`, the de-chunked body (small internal
    fetches such as robots.txt only). The open connection sits in `connections` while
    the exchange runs, so a stop request can cut it. Raises WireError when no response
    head arrived; partial bytes are then left in the spool for quarantine.
    """
    parts = urlsplit(url)
    is_tls = parts.scheme == "https"
    absolute = proxy is not None and not is_tls
    head = build_request_head(method, url, request_headers,
                              via_address=target if absolute else None)
    key = (parts.scheme, target.host.lower(), target.address, target.port, proxy)
    conn = pool.take(key) if pool is not None else None
    if conn is not None:
        try:
            return await _exchange_on(conn, url, method, head, target, spool_path, budget,
                                      is_tls, keep_body, connections, proxy, pool, key,
                                      time.monotonic(), reused=True)
        except _StaleConnection:
            pass  # the server had closed the idle connection before answering: new one
    t0 = time.monotonic()
    conn = await _open(target, is_tls, ssl_context, proxy, budget)
    return await _exchange_on(conn, url, method, head, target, spool_path, budget, is_tls,
                              keep_body, connections, proxy, pool, key, t0, reused=False)


class _StaleConnection(Exception):
    """A reused connection closed before any byte of the response: nothing was fetched."""


async def _open(target: Target, is_tls: bool, ssl_context: ssl.SSLContext | None,
                proxy: Proxy | None, budget: Budget) -> Connection:
    timeout = max(0.01, min(budget.connect_timeout, budget.remaining()))
    try:
        reader, writer = await asyncio.wait_for(
            _connect(target, is_tls, ssl_context, proxy, timeout), timeout=timeout)
    except TimeoutError as exc:
        raise WireError(f"connection to {target.address}:{target.port} timed out") from exc
    except ssl.SSLCertVerificationError as exc:
        raise WireError(
            f"TLS certificate not trusted for {target.host}: {exc.verify_message}") from exc
    except ssl.SSLError as exc:
        raise WireError(f"TLS handshake with {target.host} failed: {exc.reason or exc}") from exc
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        where = (target.host if target.host == target.address
                 else f"{target.host} ({target.address})")
        raise WireError(f"cannot connect to {where} port {target.port}: {reason}") from exc
    return Connection(reader, writer, _tls_info(writer, ssl_context) if is_tls else None)


async def _exchange_on(conn: Connection, url: str, method: str, head: bytes, target: Target,
                       spool_path: Path, budget: Budget, is_tls: bool, keep_body: bool,
                       connections: set[asyncio.StreamWriter] | None, proxy: Proxy | None,
                       pool: ConnectionPool | None, key: tuple, t0: float, reused: bool
                       ) -> tuple[Exchange, bytes]:
    reader, writer = conn.reader, conn.writer
    t_connected = time.monotonic()
    if connections is not None:
        connections.add(writer)
    conn.uses += 1
    sent_at = datetime.now(UTC)
    record = Exchange(
        url=url, method=method, request_head=head, request_body=b"", sent_at=sent_at,
        ip_address=target.address, port=target.port, protocol="http/1.1", tls=conn.tls,
        response_spool=spool_path,
    )
    if proxy is not None:
        record.notes.append(
            f"sent through the configured proxy {proxy.host}:{proxy.port} "
            + ("(CONNECT tunnel to the checked address)" if is_tls
               else "(absolute-form request naming the checked address)"))
    framing = ResponseFraming(method, budget.max_header_bytes, keep_body=keep_body)
    spool = SpoolWriter(spool_path)
    first_byte: float | None = None
    try:
        writer.write(head)
        await asyncio.wait_for(writer.drain(), timeout=max(0.01, budget.remaining()))
        while not framing.complete:
            left = budget.remaining()
            if left <= 0:
                raise TimeoutError
            data = await asyncio.wait_for(reader.read(READ_SIZE), timeout=left)
            if not data:
                if reused and spool.bytes == 0:
                    raise _StaleConnection
                if framing.status is None:
                    raise WireError("server closed the connection without a response")
                if not framing.body_needs_close:
                    record.truncated = "disconnect"
                break
            if first_byte is None:
                first_byte = time.monotonic()
            malformed = None
            try:
                used = framing.feed(data)
            except WireError as exc:
                if framing.status is None:
                    raise
                used, malformed = len(data), str(exc)  # keep what arrived, say it is broken
            if used < len(data):
                # Bytes after the end of the message are not part of this response.
                record.notes.append(f"{len(data) - used} bytes after the response's end "
                                    "were received and not archived")
                data = data[:used]
            room = budget.max_bytes - spool.bytes
            if len(data) > room:
                data = data[:room]
                record.truncated = "length"
            in_head = _head_bytes_in(data, spool.bytes, framing)
            spool.write(data, in_head)
            if malformed:
                record.truncated = "unspecified"
                record.notes.append(f"response framing broken: {malformed}")
                break
            if record.truncated == "length":
                break
    except TimeoutError:
        if framing.status is None:
            spool.close()
            raise WireError(
                f"no response from {target.host} within the capture time limit"
            ) from None
        record.truncated = "time"
    except (ConnectionError, ssl.SSLError, OSError) as exc:
        if reused and spool.bytes == 0:
            spool.close()
            raise _StaleConnection from exc
        if framing.status is None:
            spool.close()
            raise WireError(f"connection to {target.host} failed: {exc}") from exc
        record.truncated = "disconnect"
        record.notes.append(f"connection ended early: {exc}")
    except _StaleConnection:
        spool.close()
        raise
    except (WireError, asyncio.CancelledError):
        spool.close()  # partial bytes stay on disk for quarantine
        raise
    finally:
        if connections is not None:
            connections.discard(writer)
        if sys.exc_info()[0] is not None:
            writer.close()  # an exchange that failed never leaves its connection open
    spool.close()
    if pool is not None and _reusable(framing, record):
        pool.give(key, conn)
    else:
        writer.close()
    if reused:
        record.notes.append(f"sent on a kept-alive connection (its request {conn.uses})")
    t_end = time.monotonic()
    record.status = framing.status
    record.reason = framing.reason
    record.http_version = framing.http_version
    record.headers = framing.headers
    record.head_length = framing.head_length
    record.response_bytes = spool.bytes
    record.block_sha256 = spool.block.hexdigest()
    record.payload_sha256 = spool.payload.hexdigest()
    record.timings_ms = {
        "connect": round((t_connected - t0) * 1000, 3),
        "first_byte": round(((first_byte or t_end) - t0) * 1000, 3),
        "total": round((t_end - t0) * 1000, 3),
    }
    return record, bytes(framing.body)


def _reusable(framing: ResponseFraming, record: Exchange) -> bool:
    """Keep the connection only after a cleanly framed, complete HTTP/1.1 response
    that did not ask to close, with nothing unexplained after it."""
    if not framing.complete or record.truncated or record.notes:
        return False
    if framing.http_version != "HTTP/1.1":
        return False
    tokens = b",".join(v for k, v in framing.headers if k.lower() == b"connection").lower()
    return b"close" not in tokens


def _head_bytes_in(data: bytes, offset: int, framing: ResponseFraming) -> int:
    """How many leading bytes of this read (at `offset` in the spool) are head bytes."""
    if framing.status is None:
        return len(data)  # the whole read is (part of) a head
    return max(0, min(len(data), framing.head_length - offset))


def _tls_info(writer: asyncio.StreamWriter, ctx: ssl.SSLContext | None) -> TlsInfo | None:
    sslobj = writer.get_extra_info("ssl_object")
    if sslobj is None:
        return None
    chain: list[str] = []
    inner = getattr(sslobj, "_sslobj", None)
    # Python < 3.13 has no public API for the peer chain; the private one is stable
    # since 3.10. Fall back to the leaf alone, and say so in the chain length.
    getter = getattr(inner, "get_unverified_chain", None)
    if getter is not None:
        for cert in getter() or []:
            chain.append(cert.public_bytes(ssl._ssl.ENCODING_PEM))  # type: ignore[attr-defined]
    if not chain:
        der = sslobj.getpeercert(binary_form=True)
        if der:
            chain.append(ssl.DER_cert_to_PEM_cert(der))
    cipher = sslobj.cipher()
    return TlsInfo(
        version=sslobj.version() or "",
        cipher=cipher[0] if cipher else "",
        alpn=sslobj.selected_alpn_protocol(),
        chain_pem=chain,
        verified=bool(ctx and ctx.verify_mode == ssl.CERT_REQUIRED),
    )
