"""Every member of a bundle read once and checked, spread over the machine's cores.

Each member's SHA-256 is taken while (for a WARC) warcio checks every record's digests
from the same bytes, and a WACZ is opened in place for its own hashes. The work is byte
crunching in C (inflate, SHA-256), so it is split across worker processes, each with its
own handle on the zip; the largest members go first so the cores finish together.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from storage.memory import return_large_buffers_to_os

from .digests import check_wacz, warc_digest_faults

BLOCK = 1024 * 1024
# Small members are checked in batches of up to this many bytes, so a bundle of many
# small captures does not pay a round trip to a worker per file.
BATCH_BYTES = 16 * 1024 * 1024


@dataclass
class MemberResult:
    name: str
    sha256: str
    records: int = 0
    faults: list[str] = field(default_factory=list)


def check_members(path: Path, members: list[tuple[str, int]], deep: bool,
                  workers: int | None = None) -> Iterator[MemberResult]:
    """A result per (name, size) member; `deep` adds WARC record digests and WACZ hashes.
    The work starts at once, so the caller can check other things meanwhile; one worker
    (or a single batch) checks in this process as the results are read."""
    workers = workers or usable_cores()
    total = sum(size for _, size in members)
    batches = _batches(members, max(1, min(BATCH_BYTES, total // (workers * 4))))
    if workers <= 1 or len(batches) <= 1:
        return _here(path, batches, deep)
    pool = ProcessPoolExecutor(workers, mp_context=_light_context(),
                               initializer=_open_bundle, initargs=(str(path),))
    futures = [pool.submit(_check_batch, batch, deep) for batch in batches]
    return _collect(pool, futures)


def _here(path: Path, batches: list[list[str]], deep: bool) -> Iterator[MemberResult]:
    with zipfile.ZipFile(path) as zf:
        for batch in batches:
            yield from (check_member(zf, name, deep) for name in batch)


def _collect(pool: ProcessPoolExecutor, futures: list[Future[list[MemberResult]]]
             ) -> Iterator[MemberResult]:
    try:
        for future in futures:
            yield from future.result()
    finally:
        pool.shutdown(cancel_futures=True)


def _light_context():
    """Workers forked from a fresh interpreter that has loaded only this module (and
    warcio): not copies of the CLI process with its command-line and crypto libraries,
    which would more than double the memory the verifier holds."""
    context = get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _batches(members: list[tuple[str, int]], batch_bytes: int) -> list[list[str]]:
    """Largest first; smaller members grouped up to `batch_bytes` (a quarter of each
    worker's share at most, so a small bundle is spread over the cores too)."""
    batches: list[list[str]] = []
    current: list[str] = []
    current_bytes = 0
    for name, size in sorted(members, key=lambda m: (-m[1], m[0])):
        if size >= batch_bytes:
            batches.append([name])
            continue
        current.append(name)
        current_bytes += size
        if current_bytes >= batch_bytes:
            batches.append(current)
            current, current_bytes = [], 0
    if current:
        batches.append(current)
    return batches


_bundle: zipfile.ZipFile | None = None


def _open_bundle(path: str) -> None:
    global _bundle
    return_large_buffers_to_os()
    _bundle = zipfile.ZipFile(path)


def _check_batch(names: list[str], deep: bool) -> list[MemberResult]:
    assert _bundle is not None
    return [check_member(_bundle, name, deep) for name in names]


def check_member(zf: zipfile.ZipFile, name: str, deep: bool) -> MemberResult:
    sha = hashlib.sha256()
    result = MemberResult(name, "")
    try:
        with zf.open(name) as member:
            if deep and name.endswith(".warc.gz"):
                faults, result.records = warc_digest_faults(_Hashing(member, sha))
                result.faults += [f"{name} {record}".rstrip() + f": {problem}"
                                  for record, problem in faults]
            while block := member.read(BLOCK):
                sha.update(block)
        result.sha256 = sha.hexdigest()
        if deep and name.endswith(".wacz"):
            with _seekable(zf, name) as member:
                result.faults += [f"{name}: {p}" for p in check_wacz(member)]
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # e.g. a bad CRC-32
        result.faults.append(f"{name}: unreadable in the bundle ({exc})")
    return result


def _seekable(zf: zipfile.ZipFile, name: str):
    """The member as a seekable file: a window on the bundle when it is stored as is
    (zipfile's own seek reads forward through the member in 16 MiB blocks, which both
    holds 16 MiB and reads a WACZ's contents twice), else zipfile's reader."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        return zf.open(name)
    raw = open(zf.filename, "rb")  # noqa: SIM115 - closed by the window
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raw.close()
        return zf.open(name)  # let zipfile name the damage
    name_len = int.from_bytes(header[26:28], "little")
    extra_len = int.from_bytes(header[28:30], "little")
    return _Window(raw, info.header_offset + 30 + name_len + extra_len, info.file_size)


class _Window(io.RawIOBase):
    """Read-only, seekable view of `length` bytes at `start` of an open file."""

    def __init__(self, raw, start: int, length: int):
        super().__init__()
        self.raw, self.start, self.length, self.pos = raw, start, length, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.length}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self.length - self.pos)
        if want <= 0:
            return 0
        self.raw.seek(self.start + self.pos)
        got = self.raw.readinto(memoryview(buffer)[:want])
        self.pos += got
        return got

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Hashing:
    """A reader that hashes what the WARC checker reads, so the file is read once."""

    def __init__(self, raw, sha):
        self.raw, self.sha = raw, sha

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha.update(data)
        return data
