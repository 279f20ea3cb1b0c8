"""WACZ 1.1.1 packaging: one self-contained web archive per capture.

Layout (webrecorder WACZ 1.1.1): `archive/<warc>` stored uncompressed in the zip (the
WARC keeps its own per-record gzip), `indexes/index.cdxj` (sorted CDXJ, made while the
WARC was written), `pages/pages.jsonl`, `datapackage.json` (every file with its `sha256:`
hash and size, the capture id, case and software) and `datapackage-digest.json`.

The zip is written straight into a hashing sink that cannot seek, so the package's own
SHA-256 is known when the last byte is written (no second pass); every file copied into
it is hashed on the way in, and the WARC is checked against the hash it was sealed with.
py-wacz is not used to build it (see FIELD-NOTES: it indexes cookie headers and its page
detection failed here); the index holds no header values but the content type, so no
cookie or credential value can reach it.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.objects import PendingObject
from storage.records import iso

from .warc import COPY_CHUNK, DigestMismatch

WACZ_VERSION = "1.1.1"
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}


class _ZipSink(io.RawIOBase):
    """Forward-only writable stream over a PendingObject (which hashes what it writes)."""

    def __init__(self, target: PendingObject):
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.target.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def write_wacz(out: PendingObject, warc_path: Path, warc_name: str, warc_sha256: str,
               index: bytes, page: dict[str, Any], package: dict[str, Any],
               written_at: datetime) -> None:
    """Write the WACZ of one capture into `out`.

    `page` is the pages.jsonl entry (url, ts, title…); `package` adds fields to
    datapackage.json (capture id, case, software…).
    """
    resources: list[dict[str, Any]] = []
    stamp = written_at.astimezone(UTC).timetuple()[:6]
    with zipfile.ZipFile(_ZipSink(out), "w", compression=zipfile.ZIP_STORED) as zf:
        def add(name: str, chunks: Any, size: int | None = None) -> tuple[str, int]:
            if size is None:
                chunks = [b"".join(chunks)]  # small metadata files only
                size = len(chunks[0])
            return _copy_into(zf, name, chunks, stamp, size)

        path = f"archive/{warc_name}"
        sha, size = add(path, _file_chunks(warc_path), warc_path.stat().st_size)
        if sha != warc_sha256:
            raise DigestMismatch(f"{warc_path} changed before packaging")
        resources.append(_resource(warc_name, path, sha, size))

        sha, size = add("indexes/index.cdxj", [index])
        resources.append(_resource("index.cdxj", "indexes/index.cdxj", sha, size))

        pages = (json.dumps(PAGES_HEADER) + "\n" + json.dumps(page, ensure_ascii=False)
                 + "\n").encode("utf-8")
        sha, size = add("pages/pages.jsonl", [pages])
        resources.append(_resource("pages.jsonl", "pages/pages.jsonl", sha, size))

        datapackage = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "created": iso(written_at),
            "mainPageURL": page["url"],
            "mainPageDate": page["ts"],
            "resources": resources,
            **package,
        }
        data = json.dumps(datapackage, indent=2, ensure_ascii=False).encode("utf-8")
        add("datapackage.json", [data])
        digest = {"path": "datapackage.json",
                  "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
        add("datapackage-digest.json", [json.dumps(digest, indent=2).encode("utf-8")])


def _resource(name: str, path: str, sha: str, size: int) -> dict[str, Any]:
    return {"name": name, "path": path, "hash": f"sha256:{sha}", "bytes": size}


def _copy_into(zf: zipfile.ZipFile, name: str, chunks: Any, stamp: tuple[int, ...],
               expected_size: int) -> tuple[str, int]:
    """Copy one file into the zip, hashing it. The size is given up front so zip64
    records appear only for files that need them: players read the plain form."""
    sha = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o444 << 16
    info.file_size = expected_size
    with zf.open(info, "w") as dest:
        for chunk in chunks:
            sha.update(chunk)
            size += len(chunk)
            dest.write(chunk)
    return sha.hexdigest(), size


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(COPY_CHUNK):
            yield chunk
