"""The evidence object store: content-addressed blobs plus a few named write-once objects.

Layout under the store root (the same for every backend):

    objects/sha256/<first 2 hex>/<64 hex>      blobs, named by their SHA-256
    captures/<capture id>/manifest.json        named objects, written once
    custody/segments/<first>-<last>.jsonl      named objects, written once

Write-once is Saksi's own rule, enforced here in code: there is no delete, and a put to a
key that exists is refused unless the bytes are identical (a blob stored twice is the same
evidence). File modes are set read-only too, but root ignores them.

Durability is grouped: objects are written to temporary files under `tmp/`, and a
`DurableBatch` makes them durable together (one filesystem sync for many files, then the
renames, then one sync of the directories). A crash at any point leaves temporary files,
never a partial object under a final name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .hashing import CHUNK, HashingReader, HashingWriter, sha256_file
from .ids import uuid7


class StorageError(Exception):
    """Base of the object store's typed errors."""


class ObjectExistsError(StorageError):
    """A write-once key already holds different bytes."""


class ObjectMissingError(StorageError):
    """A key that should exist does not."""


class IntegrityError(StorageError):
    """Bytes read back do not match the hash they were stored under."""


class StorageUnavailable(StorageError):
    """The object store could not be reached, or kept failing after retries."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    bytes: int
    version_id: str | None = None  # S3: the version Saksi wrote; every read asks for it
    existed: bool = False  # already there (deduplicated), not written again
    retain_until: datetime | None = None  # S3 Object Lock retain-until date
    legal_hold: bool = False
    retention_extended: bool = False  # an existing object's lock was lengthened


def blob_key(sha256: str) -> str:
    return f"objects/sha256/{sha256[:2]}/{sha256}"


def _load_syncfs():
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    return getattr(libc, "syncfs", None)


_SYNCFS = _load_syncfs()


class PendingObject:
    """A blob being written: bytes go through a HashingWriter into a temp file."""

    def __init__(self, store: LocalObjectStore, path: Path):
        self._store = store
        self.temp_path = path
        self._file = open(path, "wb")
        self.writer = HashingWriter(self._file)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return self.writer.write(data)

    def tell(self) -> int:
        return self.writer.bytes

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.temp_path.unlink(missing_ok=True)


class DurableBatch:
    """Makes a group of written objects durable at once, then publishes them.

    `commit()` returns only when every object is on disk under its final name.
    """

    def __init__(self, store: LocalObjectStore):
        self.store = store
        self._blobs: list[PendingObject] = []
        self._named: list[tuple[str, Path, str, int]] = []
        self.stored: list[StoredObject] = []

    def new_blob(self) -> PendingObject:
        pending = PendingObject(self.store, self.store._temp_path())
        self._blobs.append(pending)
        return pending

    def drop(self, pending: PendingObject) -> None:
        """A blob given up before commit (e.g. over its size limit): never published."""
        pending.discard()
        self._blobs.remove(pending)

    def add_named(self, key: str, data: bytes) -> None:
        """Queue a named write-once object (manifest, custody segment)."""
        self.store._check_key(key)
        temp = self.store._temp_path()
        with open(temp, "wb") as f:
            f.write(data)
        self._named.append((key, temp, hashlib.sha256(data).hexdigest(), len(data)))

    def commit(self) -> list[StoredObject]:
        """Blobs first, then named objects (which refer to blobs), each phase synced."""
        for pending in self._blobs:
            pending.close()
        self.store._sync([p.temp_path for p in self._blobs])
        blob_results: dict[int, StoredObject] = {}
        touched: set[Path] = set()
        for pending in self._blobs:
            obj = self.store._publish_blob(pending.temp_path, pending.writer.sha256,
                                           pending.writer.bytes)
            blob_results[id(pending)] = obj
            touched.add(self.store.root / Path(obj.key).parent)
        self.store._sync_dirs(touched)
        self._pending_results = blob_results
        if self._named:
            self.store._sync([temp for _, temp, _, _ in self._named])
            touched = set()
            for key, temp, sha, size in self._named:
                self.stored.append(self.store._publish_named(key, temp, sha, size))
                touched.add((self.store.root / key).parent)
            self.store._sync_dirs(touched)
        return self.stored

    def result(self, pending: PendingObject) -> StoredObject:
        return self._pending_results[id(pending)]

    def abort(self) -> None:
        for pending in self._blobs:
            pending.discard()
        for _, temp, _, _ in self._named:
            temp.unlink(missing_ok=True)


class LocalObjectStore:
    """Write-once object store in a local directory (the embedded default)."""

    backend = "local"
    write_once = True

    def __init__(self, root: Path):
        self.root = Path(root)
        self._lock = threading.Lock()
        for sub in ("objects/sha256", "captures", "custody/segments", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def describe(self) -> dict[str, object]:
        return {"backend": self.backend, "root": str(self.root.resolve()),
                "write_once": True, "enforced_by": "saksi (refuses overwrite and delete)"}

    # ---- writing -------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[DurableBatch]:
        batch = DurableBatch(self)
        try:
            yield batch
        except BaseException:
            batch.abort()
            raise
        batch.commit()

    def put_named(self, key: str, data: bytes) -> StoredObject:
        with self.batch() as batch:
            batch.add_named(key, data)
        return batch.stored[0]

    # ---- reading -------------------------------------------------------------

    def exists(self, key: str) -> bool:
        self._check_key(key)
        return (self.root / key).is_file()

    def open(self, key: str) -> BinaryIO:
        self._check_key(key)
        try:
            return open(self.root / key, "rb")
        except FileNotFoundError as exc:
            raise ObjectMissingError(f"object missing from store: {key}") from exc

    def open_verified(self, key: str) -> HashingReader:
        """A reader that hashes as it goes; compare `.sha256` after draining."""
        return HashingReader(self.open(key))

    @contextmanager
    def open_seekable(self, key: str) -> Iterator[BinaryIO]:
        """A seekable reader (zip checks need one); here simply the file."""
        with self.open(key) as f:
            yield f

    def foreign_versions(self, key: str) -> list[str]:
        """Versions at a key that Saksi did not write: a directory keeps only one."""
        return []

    def keys(self, prefix: str) -> Iterator[str]:
        self._check_key(prefix.rstrip("/") or "objects")
        base = self.root / prefix
        if not base.exists():
            return
        for dirpath, _dirnames, filenames in os.walk(base):
            for name in sorted(filenames):
                yield str(Path(dirpath, name).relative_to(self.root))

    # ---- internals -----------------------------------------------------------

    def _check_key(self, key: str) -> None:
        parts = Path(key).parts
        if not parts or Path(key).is_absolute() or ".." in parts or parts[0] == "tmp":
            raise StorageError(f"not a valid object key: {key!r}")

    def _temp_path(self) -> Path:
        return self.root / "tmp" / f"{uuid7()}.part"

    def _sync(self, paths: list[Path]) -> None:
        if not paths:
            return
        if _SYNCFS is not None and len(paths) > 1:
            # One syncfs for the whole group instead of an fsync per file.
            fd = os.open(self.root / "tmp", os.O_RDONLY)
            try:
                if _SYNCFS(fd) == 0:
                    return
            finally:
                os.close(fd)
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _sync_dirs(self, dirs: set[Path]) -> None:
        """Make the new names durable: one syncfs for the group, or an fsync of each
        directory and of its parent (a new directory's own entry lives there)."""
        if not dirs:
            return
        if _SYNCFS is not None:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if _SYNCFS(fd) == 0:
                    return
            finally:
                os.close(fd)
        for d in dirs | {d.parent for d in dirs}:
            fd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _publish_blob(self, temp: Path, sha256: str, size: int) -> StoredObject:
        key = blob_key(sha256)
        final = self.root / key
        with self._lock:
            if final.exists():
                temp.unlink(missing_ok=True)
                return StoredObject(key, sha256, size, existed=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp, 0o444)
            # link() refuses an existing name, so even a racing writer cannot replace it
            try:
                os.link(temp, final)
            except FileExistsError:
                temp.unlink(missing_ok=True)
                return StoredObject(key, sha256, size, existed=True)
            temp.unlink()
        return StoredObject(key, sha256, size)

    def _publish_named(self, key: str, temp: Path, sha256: str, size: int) -> StoredObject:
        final = self.root / key
        with self._lock:
            if final.exists():
                existing, _ = sha256_file(str(final))
                temp.unlink(missing_ok=True)
                if existing == sha256:
                    return StoredObject(key, sha256, size, existed=True)
                raise ObjectExistsError(f"refusing to overwrite evidence object {key}")
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temp, 0o444)
            try:
                os.link(temp, final)
            except FileExistsError as exc:
                temp.unlink(missing_ok=True)
                raise ObjectExistsError(f"refusing to overwrite evidence object {key}") from exc
            temp.unlink()
        return StoredObject(key, sha256, size)



def copy_verified(store, key: str, expected_sha256: str, dest: Path) -> int:
    """Copy an object out of the store, re-hashing the bytes copied; IntegrityError on
    mismatch (the partial copy is removed so nobody mistakes it for the evidence)."""
    tmp = dest.with_name(dest.name + ".part")
    try:
        with store.open_verified(key) as reader, open(tmp, "wb") as out:
            shutil.copyfileobj(reader, out, CHUNK)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if reader.sha256 != expected_sha256:
        tmp.unlink(missing_ok=True)
        raise IntegrityError(
            f"{key}: SHA-256 is {reader.sha256}, manifest says {expected_sha256}"
        )
    os.replace(tmp, dest)
    return reader.bytes
