"""CDXJ index lines, made while the WARC is written.

Each response record's offset and length are known the moment it is written, so the
index needs no second pass over the WARC (re-parsing it with cdxj-indexer cost more than
the capture itself). Lines follow cdxj-indexer's format exactly (SURT key, 14-digit
timestamp, JSON with url, mime, status, digest, length, offset, filename), which is
what ReplayWeb.page reads; a test compares them with cdxj-indexer's own output.
"""

from __future__ import annotations

import json
import re

import surt
from warcio.timeutils import iso_date_to_timestamp

from .exchange import Exchange
from .warc import sha256_label, warc_date

_PARAMS = re.compile(r"[;\s]")


def response_line(ex: Exchange, offset: int, length: int, filename: str) -> str:
    index: dict[str, str] = {"url": ex.url}
    content_type = ex.header(b"content-type")
    if content_type is not None:
        mime = _PARAMS.split(content_type.decode("latin-1"), 1)[0].strip()
        if mime:
            index["mime"] = mime
    index["status"] = str(ex.status)
    index["digest"] = sha256_label(ex.payload_sha256)
    index["length"] = str(length)
    index["offset"] = str(offset)
    index["filename"] = filename
    try:
        key = surt.surt(ex.url)
    except Exception:  # same fallback as cdxj-indexer
        key = ex.url
    return f"{key} {iso_date_to_timestamp(warc_date(ex.sent_at))} {json.dumps(index)}\n"


def sorted_index(lines: list[str]) -> bytes:
    return "".join(sorted(lines)).encode("utf-8")
