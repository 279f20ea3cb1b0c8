"""The S3 test fixtures against the real moto server: what storage tests rely on them for."""

from __future__ import annotations

import http.client
import io
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore
import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from tests.fixtures.s3_server import LOOPBACK, FaultProxy, MarkerRewriter, MotoServer

# What a client sees when the proxy is down; a read timeout instead would mean it hung.
CUT = (ConnectionClosedError, EndpointConnectionError)
# Short timeouts, so a proxy that hangs instead of cutting fails the test quickly.
FAST = {"connect_timeout": 2, "read_timeout": 3}


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    with FaultProxy((LOOPBACK, moto.port)) as proxy:
        yield proxy
    moto.reset()
    leaked = [t.name for t in threading.enumerate()
              if t.name == proxy.thread_name or t.name.startswith(f"{proxy.thread_name}-")]
    assert not leaked, f"threads left after close: {leaked}"


def test_objects_round_trip_through_the_proxy(moto: MotoServer, proxy: FaultProxy) -> None:
    s3 = moto.client(endpoint_url=proxy.endpoint, **FAST)
    s3.create_bucket(Bucket="evidence")
    body = bytes(range(256)) * 4096  # 1 MiB, every byte value
    s3.put_object(Bucket="evidence", Key="capture.warc.gz", Body=body)

    assert s3.get_object(Bucket="evidence", Key="capture.warc.gz")["Body"].read() == body
    assert moto.client().head_object(Bucket="evidence", Key="capture.warc.gz")[
        "ContentLength"] == len(body)
    assert proxy.bytes_up > len(body)


def test_many_connections_at_once(moto: MotoServer, proxy: FaultProxy) -> None:
    s3 = moto.client(endpoint_url=proxy.endpoint, max_pool_connections=16, **FAST)
    s3.create_bucket(Bucket="evidence")

    def round_trip(n: int) -> bytes:
        s3.put_object(Bucket="evidence", Key=f"k{n}", Body=b"%d" % n * 10_000)
        return s3.get_object(Bucket="evidence", Key=f"k{n}")["Body"].read()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(round_trip, range(32)))
    assert results == [b"%d" % n * 10_000 for n in range(32)]


def test_down_cuts_calls_until_pass(moto: MotoServer, proxy: FaultProxy) -> None:
    s3 = moto.client(endpoint_url=proxy.endpoint, **FAST)
    s3.create_bucket(Bucket="evidence")
    s3.put_object(Bucket="evidence", Key="a", Body=b"kept")
    endpoint = proxy.endpoint

    proxy.down()
    with pytest.raises(CUT):  # moto closes after each response: this is a new connection
        s3.get_object(Bucket="evidence", Key="a")
    with pytest.raises(CUT):
        s3.put_object(Bucket="evidence", Key="b", Body=b"lost")
    assert moto.client().get_object(Bucket="evidence", Key="a")["Body"].read() == b"kept"

    proxy.pass_()
    assert proxy.endpoint == endpoint
    assert s3.get_object(Bucket="evidence", Key="a")["Body"].read() == b"kept"
    s3.put_object(Bucket="evidence", Key="b", Body=b"stored")
    assert moto.client().get_object(Bucket="evidence", Key="b")["Body"].read() == b"stored"


class GatedBody(io.RawIOBase):
    """An upload body that stops after `gate_at` bytes until `gate` is set, so that the
    test can cut the connection while the upload is surely in progress."""

    def __init__(self, size: int, gate_at: int, gate: threading.Event) -> None:
        self.size, self.gate_at, self.gate, self.position = size, gate_at, gate, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # botocore rewinds the body after a failed send
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position,
                         io.SEEK_END: self.size}[whence] + offset
        return self.position

    def readinto(self, buffer: memoryview) -> int:
        if self.position >= self.gate_at:
            self.gate.wait(5)
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"u" * n
        self.position += n
        return n


def test_down_cuts_an_upload_in_progress(moto: MotoServer, proxy: FaultProxy) -> None:
    moto.client().create_bucket(Bucket="evidence")
    # Unsigned: over plain HTTP, SigV4 hashes the whole body before sending a byte.
    s3 = moto.client(endpoint_url=proxy.endpoint, signature_version=botocore.UNSIGNED,
                     request_checksum_calculation="when_required", **FAST)
    size, gate = 8 * 1024 * 1024, threading.Event()
    failures: list[Exception] = []

    def upload() -> None:
        try:
            s3.put_object(Bucket="evidence", Key="video.mp4", ContentLength=size,
                          Body=GatedBody(size, 1024 * 1024, gate))
        except Exception as error:  # handed to the test thread
            failures.append(error)

    uploader = threading.Thread(target=upload, daemon=True)
    uploader.start()
    deadline = time.monotonic() + 3
    while proxy.bytes_up < 1024 * 1024 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proxy.bytes_up >= 1024 * 1024, "the upload never reached the proxy"
    proxy.down()
    gate.set()
    uploader.join(5)

    assert len(failures) == 1 and isinstance(failures[0], CUT), failures
    assert moto.client().list_objects_v2(Bucket="evidence")["KeyCount"] == 0


def test_corrupt_rewrites_only_what_the_client_receives(
        moto: MotoServer, proxy: FaultProxy) -> None:
    # botocore would reject the changed body by its CRC; this test wants to see the bytes.
    s3 = moto.client(endpoint_url=proxy.endpoint,
                     response_checksum_validation="when_required", **FAST)
    s3.create_bucket(Bucket="evidence")
    filler = b"." * 300_000  # the body spans several of the proxy's reads
    body = b"MARKER-1" + filler + b"MARKER-1" + filler + b"end MARKER-1"
    s3.put_object(Bucket="evidence", Key="page.html", Body=body)

    proxy.corrupt(b"MARKER-1", b"MARKER-2")
    s3.put_object(Bucket="evidence", Key="uploaded-while-corrupting", Body=body)
    received = s3.get_object(Bucket="evidence", Key="page.html")["Body"].read()

    assert received == body.replace(b"MARKER-1", b"MARKER-2")
    direct = moto.client()
    for key in ("page.html", "uploaded-while-corrupting"):
        assert direct.get_object(Bucket="evidence", Key=key)["Body"].read() == body

    proxy.pass_()
    assert s3.get_object(Bucket="evidence", Key="page.html")["Body"].read() == body


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Unlike moto, keeps the connection open; the answer ends in the start of a marker."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"page MARKER-1 MARKER"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_corrupt_does_not_stall_a_kept_alive_response() -> None:
    # The proxy holds "MARKER" back in case the marker goes on in the next read; on a
    # kept-alive connection no next read comes until the client has the whole answer.
    with ThreadingHTTPServer((LOOPBACK, 0), KeepAliveHandler) as site:
        threading.Thread(target=site.serve_forever, args=(0.05,), daemon=True).start()
        with FaultProxy((LOOPBACK, site.server_address[1])) as proxy:
            proxy.corrupt(b"MARKER-1", b"MARKER-2")
            connection = http.client.HTTPConnection(LOOPBACK, proxy.port, timeout=2)
            sockets = []
            for _ in range(2):
                connection.request("GET", "/")
                assert connection.getresponse().read() == b"page MARKER-2 MARKER"
                sockets.append(connection.sock)
            assert sockets[0] is sockets[1]  # the same connection both times
            connection.close()
        site.shutdown()


def test_rewriter_finds_markers_split_anywhere() -> None:
    stream = b"xMARKER-1MARKER-1yyMARKER-MARKER-1zMARKER-"
    expected = stream.replace(b"MARKER-1", b"MARKER-2")
    for first in range(len(stream) + 1):
        for second in range(first, len(stream) + 1):
            rewriter = MarkerRewriter(b"MARKER-1", b"MARKER-2")
            pieces = (stream[:first], stream[first:second], stream[second:])
            out = b"".join(rewriter.feed(piece) for piece in pieces) + rewriter.flush()
            assert out == expected, (first, second)


def test_corrupt_refuses_a_replacement_of_another_length(proxy: FaultProxy) -> None:
    with pytest.raises(ValueError):
        proxy.corrupt(b"MARKER-1", b"MARKER-22")
