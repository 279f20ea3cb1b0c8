"""Response bodies as the page saw them, read back from the recorded spools.

A spool holds the response exactly as received (head, chunk framing, still-encoded
body), and that is what the WARC keeps. Reading a post's data, or keeping a video it
loaded as a media file, needs the body decoded: de-chunked and decompressed. The head
read here is the spooled one (a browser recording says there that the body is already
decoded, with `X-Orig-` headers), never the headers as parsed elsewhere. warcio does the
de-chunking and decompression, as it does for replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from warcio.bufferedreaders import ChunkedDataReader, DecompressingBufferedReader

from .exchange import Exchange

DECODERS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate", "br": "br"}


class UndecodableBody(Exception):
    """A content coding we cannot undo here (e.g. zstd): the bytes stay in the WARC."""


def spooled_headers(ex: Exchange) -> list[tuple[str, str]]:
    """The header lines of the spooled head, as (name, value)."""
    if ex.response_spool is None or not ex.head_length:
        return []
    with open(ex.response_spool, "rb") as f:
        head = f.read(ex.head_length)
    pairs = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.strip(), value.strip()))
    return pairs


@contextmanager
def open_body(ex: Exchange) -> Iterator[BinaryIO]:
    """A reader of the decoded body; UndecodableBody for an unknown content coding."""
    reader = body_reader(ex)
    try:
        yield reader
    finally:
        reader.close()


def body_reader(ex: Exchange) -> BinaryIO:
    """The decoded body as a reader the caller closes (which closes the spool)."""
    if ex.response_spool is None or not ex.got_response:
        raise UndecodableBody("no response recorded")
    headers = {name.lower(): value.lower() for name, value in spooled_headers(ex)}
    chunked = "chunked" in headers.get("transfer-encoding", "")
    coding = headers.get("content-encoding", "identity").strip()
    decoder = DECODERS.get(coding) if coding not in ("", "identity") else None
    if coding not in ("", "identity") and decoder is None:
        raise UndecodableBody(f"content coding {coding!r}")
    raw = open(ex.response_spool, "rb")  # noqa: SIM115 - closed by the reader's close
    raw.seek(ex.head_length)
    if chunked:
        return _Closing(ChunkedDataReader(raw, decomp_type=decoder), raw)
    if decoder:
        return _Closing(DecompressingBufferedReader(raw, decomp_type=decoder), raw)
    return raw


class _Closing:
    """warcio's readers do not close the file under them: this one does."""

    def __init__(self, reader, raw):
        self.reader, self.raw = reader, raw

    def read(self, size: int = -1) -> bytes:
        return self.reader.read(size if size is not None and size >= 0 else None)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed


def read_body(ex: Exchange, limit: int) -> tuple[bytes, bool] | None:
    """(up to `limit` decoded bytes, whether that is the whole body), or None when the
    body cannot be decoded."""
    try:
        with open_body(ex) as body:
            data = body.read(limit + 1)
    except (UndecodableBody, OSError, ValueError, EOFError):
        return None
    except Exception:  # noqa: BLE001 - zlib/brotli errors on damaged bodies
        return None
    return data[:limit], len(data) <= limit
