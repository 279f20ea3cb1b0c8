"""Saksi's egress proxy: the one way out for traffic Saksi does not send itself (the
browser, media downloaders).

A forward proxy on loopback. For `CONNECT host:port` it resolves the host itself, applies
the address rule (`AddressPolicy`, with `SAKSI_ALLOW_ADDRESSES` and `SAKSI_HOST_MAP`),
connects to the address it checked and then only relays bytes: no TLS interception, so
what the browser records is what the site sent. For plain `http://` requests in absolute
form it does the same and forwards the request in origin form. A refused target gets a
403 with the reason and is listed in `refused`, never fetched; every tunnel is listed in
`tunnels` with the address it reached, so records can carry the real server address.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .egress import AddressPolicy, EgressRefused

MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Refusal:
    target: str
    reason: str
    at: float


@dataclass(frozen=True)
class Tunnel:
    host: str
    port: int
    address: str
    at: float


class EgressProxy:
    """Runs on its own event loop thread; `start()` returns the loopback port."""

    def __init__(self, policy: AddressPolicy, connect_timeout: float = 15.0):
        self.policy = policy
        self.connect_timeout = connect_timeout
        self.refused: list[Refusal] = []
        self.tunnels: list[Tunnel] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="saksi-egress", daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def start(self) -> int:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the egress proxy did not start")
        return self.port

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._shutdown)
            self._thread.join(10)

    def __enter__(self) -> EgressProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- loop thread ---------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0, limit=MAX_HEAD))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        self._loop.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, rest = head.partition(b"\r\n")
            parts = request_line.split(b" ")
            if len(parts) != 3:
                await _reply(writer, b"400 Bad Request", "malformed request line")
                return
            method, target, version = parts
            if method == b"CONNECT":
                await self._tunnel(target.decode("latin-1"), reader, writer)
            else:
                await self._forward(method, target.decode("latin-1"), version, rest,
                                    reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    async def _open_checked(self, host: str, port: int, label: str, writer: asyncio.StreamWriter
                            ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        try:
            target = await self.policy.resolve(host, port)
            up = await asyncio.wait_for(asyncio.open_connection(target.address, target.port),
                                        timeout=self.connect_timeout)
        except (EgressRefused, LookupError) as exc:
            self.refused.append(Refusal(label, str(exc), time.time()))
            await _reply(writer, b"403 Forbidden", str(exc))
            return None
        except (OSError, TimeoutError) as exc:
            await _reply(writer, b"502 Bad Gateway", f"cannot connect to {label}: {exc}")
            return None
        self.tunnels.append(Tunnel(host, port, target.address, time.time()))
        return up

    async def _tunnel(self, authority: str, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        host, _, port_text = authority.rpartition(":")
        if not host or not port_text.isdigit():
            await _reply(writer, b"400 Bad Request", f"bad CONNECT target {authority!r}")
            return
        up = await self._open_checked(host.strip("[]"), int(port_text), authority, writer)
        if up is None:
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _relay(reader, writer, *up)

    async def _forward(self, method: bytes, url: str, version: bytes, rest: bytes,
                       reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            await _reply(writer, b"400 Bad Request", "only absolute http:// URLs or CONNECT")
            return
        up = await self._open_checked(parts.hostname, parts.port or 80, url, writer)
        if up is None:
            return
        origin = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # One request per client connection: the next one may name another host.
        lines = [line for line in rest.split(b"\r\n")
                 if line and not line.lower().startswith((b"proxy-connection:", b"connection:"))]
        head = b"\r\n".join([method + b" " + origin.encode("latin-1") + b" " + version,
                             *lines, b"Connection: close"]) + b"\r\n\r\n"
        up[1].write(head)
        await _relay(reader, writer, *up)


async def _reply(writer: asyncio.StreamWriter, status: bytes, reason: str) -> None:
    one_line = " ".join(reason.split())[:300].encode("latin-1", "replace")
    writer.write(b"HTTP/1.1 " + status + b"\r\nX-Saksi-Refused: " + one_line
                 + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    try:
        await writer.drain()
    except ConnectionError:
        pass


async def _relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                 up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(256 * 1024):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()

    await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))
