"""Streaming SHA-256: the content address is computed while bytes are written or read,
so no evidence file is ever held whole in memory or read twice to be hashed."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

CHUNK = 1024 * 1024


class HashingWriter:
    """Wraps a binary file: every byte written is counted and hashed on the way."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self._sha = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._sha.update(data)
        self.bytes += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()

    def tell(self) -> int:
        return self.bytes

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


class HashingReader:
    """Wraps a binary file: every byte read is counted and hashed on the way."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self._sha = hashlib.sha256()
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self._sha.update(data)
        self.bytes += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:
        n = self.raw.readinto(buffer)
        if n:
            view = memoryview(buffer)[:n]
            self._sha.update(view)
            self.bytes += n
        return n or 0

    def drain(self) -> None:
        """Read to the end, so that `sha256` covers the whole stream."""
        while self.read(CHUNK):
            pass

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> HashingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_file(path: str, chunk: int = CHUNK) -> tuple[str, int]:
    """(hex SHA-256, size) of a file, streamed."""
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            sha.update(block)
            size += len(block)
    return sha.hexdigest(), size
