"""The S3 object store: evidence written once into a bucket with Object Lock.

Every object is first sealed into the local spool (a write-once local store, see
`SpoolStore`) and then uploaded from there, so a capture is never lost when S3 is down:
what could not be uploaded waits in the spool until `saksi sync`.

The upload loop is Saksi's own rather than boto3's transfer manager, because evidence needs
what the transfer manager does not do (boto3 still speaks the protocol):

- the whole-object SHA-256 is computed in the same single pass that reads the bytes for
  upload, and compared with the content address before the upload is completed;
- every put sends `ChecksumSHA256` (per part for multipart) and compares S3's answer;
- before every attempt, retries included, a `head_object` checks whether the object is
  already there, so a retried upload whose first response was lost never adds a version;
- after the upload, a `head_object` of the exact version checks size, checksum and lock.

Reads ask for the version recorded when the object was uploaded (the `VersionBook`, i.e.
the catalog), so a newer version written by someone else is never read as the evidence.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

from .hashing import CHUNK, HashingReader, sha256_file
from .memory import return_large_buffers_to_os
from .objects import (
    DurableBatch,
    IntegrityError,
    LocalObjectStore,
    ObjectExistsError,
    ObjectMissingError,
    StorageError,
    StorageUnavailable,
    StoredObject,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
MiB = 1024 * 1024
BLOB_PREFIX = "objects/sha256/"
# Codes that mean "try again later", beside any 5xx answer.
RETRY_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
               "TooManyRequests", "RequestTimeout", "InternalError", "ServiceUnavailable"}
DOWN_SECONDS = 20.0  # after giving up, later calls in this process fail fast for this long


class ForeignVersionError(IntegrityError):
    """The bucket holds, at an evidence key, an object Saksi did not write."""


class VersionBook(Protocol):
    def version_of(self, key: str) -> str | None: ...

    def recorded_versions(self, keys: list[str]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class UploadRequest:
    key: str
    retain_until: datetime | None
    legal_hold: bool = False
    sha256: str | None = None  # expected SHA-256 (named objects); blobs carry it in the key


@dataclass(frozen=True)
class VersionInfo:
    version_id: str
    last_modified: datetime
    size: int
    delete_marker: bool


class SpoolStore(LocalObjectStore):
    """Objects waiting for upload: as write-once as the local store, but an object's spool
    copy is released once its upload is verified and recorded (the bucket is then the
    evidence; the spool is only a waiting room)."""

    backend = "spool"

    def has(self, key: str) -> bool:
        return (self.root / key).is_file()

    def path_of(self, key: str) -> Path:
        self._check_key(key)
        return self.root / key

    def release(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def waiting(self) -> list[str]:
        return [k for prefix in ("objects", "captures", "custody") for k in self.keys(prefix)]

    def totals(self) -> tuple[int, int]:
        keys = self.waiting()
        return len(keys), sum((self.root / k).stat().st_size for k in keys)


def make_client(cfg: Any):
    """A boto3 S3 client from the standard credential chain, without SDK retries: every
    retry goes through Saksi's own loop, which re-checks the bucket before writing again."""
    import boto3
    from botocore.config import Config

    extra: dict[str, Any] = {}
    if cfg.checksum_compat:
        extra = {"request_checksum_calculation": "when_required",
                 "response_checksum_validation": "when_required"}
    config = Config(retries={"max_attempts": 1, "mode": "standard"},
                    max_pool_connections=cfg.upload_concurrency * 2 + 4,
                    connect_timeout=10, read_timeout=120,
                    s3={"addressing_style": "path"} if cfg.endpoint_url else None, **extra)
    session = boto3.session.Session(profile_name=cfg.profile or None)
    return session.client("s3", endpoint_url=cfg.endpoint_url or None,
                          region_name=cfg.region or None, config=config)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and lost connections are worth another try; nothing else is."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return True
    if isinstance(exc, ClientError):
        return http_status(exc) >= 500 or http_status(exc) == 429 \
            or error_code(exc) in RETRY_CODES
    return False


def is_missing(exc: BaseException) -> bool:
    return http_status(exc) == 404 or error_code(exc) in {"NoSuchKey", "NoSuchVersion", "404"}


class S3ObjectStore:
    """Evidence in an S3 bucket (AWS, MinIO, Ceph; moto in tests), same keys as the
    local store under the configured prefix."""

    backend = "s3"

    def __init__(self, cfg: Any, spool: SpoolStore, book: VersionBook, client: Any = None):
        self.cfg = cfg
        self.spool = spool
        self.book = book
        self.bucket = cfg.bucket
        self.prefix = cfg.prefix.strip("/") + "/" if cfg.prefix.strip("/") else ""
        self._client = client
        self._client_lock = threading.Lock()
        self.part_size = cfg.part_size_mb * MiB
        self.threshold = cfg.multipart_threshold_mb * MiB
        self._parts = ThreadPoolExecutor(cfg.upload_concurrency, "saksi-s3-part")
        # Object bytes in memory at once: one part or one small object per slot.
        self._memory_slots = threading.BoundedSemaphore(cfg.upload_concurrency)
        self._down_until = 0.0
        self._lock_checked = False
        self._lock_checking = threading.Lock()
        self._conditional = True  # If-None-Match on puts, until a server says 501
        return_large_buffers_to_os()

    @property
    def client(self) -> Any:
        """boto3's S3 client, made on first use: loading its service model takes most of
        a second, which commands that only read the catalog should not pay."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = make_client(self.cfg)
        return self._client

    @property
    def locked(self) -> bool:
        """Whether Saksi insists on Object Lock (the default) for every object."""
        return not self.cfg.allow_unlocked

    @property
    def write_once(self) -> bool:
        return self.locked

    def describe(self) -> dict[str, object]:
        info: dict[str, object] = {
            "backend": "s3", "bucket": self.bucket, "prefix": self.prefix,
            "endpoint_url": self.cfg.endpoint_url or "AWS", "write_once": self.locked,
            "legal_hold_by_default": self.cfg.legal_hold_by_default,
        }
        if self.locked:
            info["object_lock"] = {"mode": self.cfg.lock_mode,
                                   "retention_days": self.cfg.retention_days,
                                   "checked": "on every object after upload"}
            info["enforced_by"] = "S3 Object Lock, and saksi (no delete, no overwrite)"
        else:
            info["object_lock"] = ("none: storage.allow_unlocked = true, so this store is "
                                   "NOT write-once; only Saksi's own code refuses overwrites")
            info["enforced_by"] = "saksi only (refuses overwrite and delete)"
        return info

    def close(self) -> None:
        self._parts.shutdown(wait=True)

    # ---- keys ----------------------------------------------------------------

    def full_key(self, key: str) -> str:
        self.spool._check_key(key)
        return self.prefix + key

    def _short(self, full: str) -> str:
        return full[len(self.prefix):]

    # ---- writing: into the spool, then up ------------------------------------

    @contextmanager
    def batch(self) -> Iterator[DurableBatch]:
        with self.spool.batch() as batch:
            yield batch

    def put_named(self, key: str, data: bytes) -> StoredObject:
        """Into the spool; `upload` takes it to the bucket. A key already uploaded (its
        spool copy released) is as write-once as one still waiting."""
        recorded = self.book.recorded_versions([key]).get(key)
        if recorded is not None and not self.spool.has(key):
            sha = hashlib.sha256(data).hexdigest()
            if recorded.sha256 != sha:
                raise ObjectExistsError(f"refusing to overwrite evidence object {key}")
            return StoredObject(key, sha, len(data), recorded.version_id, existed=True)
        return self.spool.put_named(key, data)

    def upload_many(self, requests: list[UploadRequest]) -> list[StoredObject | StorageError]:
        """Upload objects from the spool, `upload_concurrency` at once; each result is the
        stored object or the StorageError that stopped it (the spool still holds it)."""
        if not requests:
            return []
        results: list[StoredObject | StorageError] = []
        with ThreadPoolExecutor(self.cfg.upload_concurrency, "saksi-s3-put") as pool:
            for future in [pool.submit(self._upload_or_error, r) for r in requests]:
                results.append(future.result())
        return results

    def _upload_or_error(self, request: UploadRequest) -> StoredObject | StorageError:
        try:
            return self.upload(request)
        except StorageError as exc:
            return exc

    def upload(self, request: UploadRequest) -> StoredObject:
        """Upload one spooled object (or adopt the identical one already there)."""
        self._check_bucket_lock()
        path = self.spool.path_of(request.key)
        if not path.is_file():
            raise ObjectMissingError(f"not in the spool: {request.key}")
        size = path.stat().st_size
        expected = request.sha256 or _blob_sha(request.key)
        if expected is None and size > self.threshold:
            expected, _ = sha256_file(str(path))  # a large named object: hashed first

        tries = 0

        def attempt() -> StoredObject:
            nonlocal tries
            tries += 1
            # Is it there already? A single put asks S3 itself, atomically (If-None-Match),
            # and a retry or a multipart upload looks first as well.
            conditional = self._conditional and size <= self.threshold
            if tries > 1 or not conditional:
                existing = self._head(request.key)
                if existing is not None:
                    return self._adopt(request, existing, expected, size)
            if size > self.threshold:
                assert expected is not None
                version, checksum = self._put_multipart(request, path, expected)
                sha = expected
            else:
                try:
                    version, checksum, sha = self._put_single(request, path, expected,
                                                              conditional)
                except Exception as exc:
                    if not conditional or http_status(exc) not in (412, 501):
                        raise
                    if http_status(exc) == 501:  # a server without conditional writes
                        self._conditional = False
                    return attempt()
            return self._check_stored(request, version, sha, size, checksum)

        return self._retrying(f"upload {request.key}", attempt)

    def _lock_args(self, request: UploadRequest) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.locked and request.retain_until is not None:
            args["ObjectLockMode"] = self.cfg.lock_mode
            args["ObjectLockRetainUntilDate"] = request.retain_until
        if request.legal_hold:
            args["ObjectLockLegalHoldStatus"] = "ON"
        return args

    def _put_single(self, request: UploadRequest, path: Path, expected: str | None,
                    conditional: bool) -> tuple[str, str, str]:
        extra = {"IfNoneMatch": "*"} if conditional else {}
        with self._memory_slots:  # bounds the object bytes held in memory
            with open(path, "rb") as f:
                data = f.read()  # below the multipart threshold: one read, hashed once
            digest = hashlib.sha256(data)
            sha = digest.hexdigest()
            if expected is not None and sha != expected:
                raise IntegrityError(f"spool copy of {request.key} has SHA-256 {sha}, "
                                     f"expected {expected}: not uploaded")
            checksum = b64(digest.digest())
            answer = self.client.put_object(
                Bucket=self.bucket, Key=self.full_key(request.key), Body=data,
                ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum,
                Metadata={"sha256": sha}, **self._lock_args(request), **extra)
            del data
        said = answer.get("ChecksumSHA256")
        if said and said != checksum:
            raise IntegrityError(f"S3 stored {request.key} with checksum {said}, sent {checksum}")
        return self._version(answer, request.key), checksum, sha

    def _put_multipart(self, request: UploadRequest, path: Path, expected: str
                       ) -> tuple[str, str]:
        key = self.full_key(request.key)
        upload_id = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256",
            Metadata={"sha256": expected}, **self._lock_args(request))["UploadId"]
        try:
            whole = hashlib.sha256()
            digests: list[bytes] = []
            futures = []
            with open(path, "rb") as f:
                number = 0
                while True:
                    self._memory_slots.acquire()  # before reading: bounds the bytes held
                    chunk = f.read(self.part_size)
                    if not chunk:
                        self._memory_slots.release()
                        break
                    number += 1
                    whole.update(chunk)  # the same pass that reads the bytes for upload
                    digest = hashlib.sha256(chunk).digest()
                    digests.append(digest)
                    future = self._parts.submit(self._upload_part, key, upload_id, number,
                                                chunk, b64(digest))
                    future.add_done_callback(lambda _f: self._memory_slots.release())
                    futures.append(future)
                    del chunk
            parts = [future.result() for future in futures]
            if whole.hexdigest() != expected:
                raise IntegrityError(f"spool copy of {request.key} has SHA-256 "
                                     f"{whole.hexdigest()}, expected {expected}: not uploaded")
            answer = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": parts})
        except BaseException:
            self._abort(key, upload_id)
            raise
        composite = b64(hashlib.sha256(b"".join(digests)).digest()) + f"-{len(digests)}"
        return self._version(answer, request.key), composite

    def _upload_part(self, key: str, upload_id: str, number: int, data: bytes,
                     checksum: str) -> dict[str, Any]:
        answer = self._retrying(f"upload part {number} of {key}", lambda: self.client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data,
            ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum))
        said = answer.get("ChecksumSHA256")
        if said and said != checksum:
            raise IntegrityError(f"S3 stored part {number} of {key} with checksum {said}, "
                                 f"sent {checksum}")
        return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum}

    def _abort(self, key: str, upload_id: str) -> None:
        """An unfinished multipart upload is not an object version: abandoning it deletes
        no evidence. Best effort; the bucket's lifecycle rule cleans up the rest."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as exc:  # noqa: BLE001 - the upload error matters, not this one
            log.debug("could not abort multipart upload of %s: %s", key, exc)

    def _version(self, answer: dict[str, Any], key: str) -> str:
        version = answer.get("VersionId")
        if not version or version == "null":
            raise StorageError(f"bucket {self.bucket} is not versioned (no version id for "
                               f"{key}): run 'saksi storage init'")
        return version

    def _check_stored(self, request: UploadRequest, version: str, sha: str, size: int,
                      checksum: str) -> StoredObject:
        """head_object of the exact version: size, checksum, SHA-256 metadata and lock."""
        head = self.client.head_object(Bucket=self.bucket, Key=self.full_key(request.key),
                                       VersionId=version, ChecksumMode="ENABLED")
        problems = []
        if head.get("ContentLength") != size:
            problems.append(f"size {head.get('ContentLength')}, sent {size}")
        if (head.get("Metadata") or {}).get("sha256") != sha:
            problems.append("SHA-256 metadata missing or different")
        said = head.get("ChecksumSHA256")
        if said and said.split("-")[0] != checksum.split("-")[0]:
            problems.append(f"checksum {said}, sent {checksum}")
        if problems:
            raise IntegrityError(f"{request.key} version {version} as stored: "
                                 + "; ".join(problems))
        until, extended, held = self._secure(request, version, head)
        return StoredObject(request.key, sha, size, version, existed=False, retain_until=until,
                            legal_hold=held, retention_extended=extended)

    def _adopt(self, request: UploadRequest, head: dict[str, Any], expected: str | None,
               size: int) -> StoredObject:
        """The key already holds an object: reuse it if it is the same evidence."""
        version = head.get("VersionId") or ""
        sha = (head.get("Metadata") or {}).get("sha256")
        if (expected is not None and sha != expected) or head.get("ContentLength") != size:
            raise ForeignVersionError(
                f"{request.key}: the bucket already holds a different object there (version "
                f"{version}, {head.get('ContentLength')} bytes, sha256 metadata {sha}) that "
                "Saksi did not write")
        until, extended, held = self._secure(request, version, head)
        return StoredObject(request.key, sha or "", size, version, existed=True,
                            retain_until=until, legal_hold=held, retention_extended=extended)

    def _secure(self, request: UploadRequest, version: str, head: dict[str, Any]
                ) -> tuple[datetime | None, bool, bool]:
        """Make sure the version is locked at least until the requested date and held when
        asked; returns (retain-until, whether it was extended, legal hold)."""
        key = self.full_key(request.key)
        until = head.get("ObjectLockRetainUntilDate")
        extended = False
        if self.locked and request.retain_until is not None and (
                head.get("ObjectLockMode") != self.cfg.lock_mode or until is None
                or until < request.retain_until - timedelta(seconds=1)):
            # A reused object needs a later date, or the bucket did not apply the lock
            # sent with the upload (some servers ignore it on multipart uploads).
            self.client.put_object_retention(
                Bucket=self.bucket, Key=key, VersionId=version,
                Retention={"Mode": self.cfg.lock_mode, "RetainUntilDate": request.retain_until})
            extended = until is not None
            again = self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version)
            until = again.get("ObjectLockRetainUntilDate")
            if again.get("ObjectLockMode") != self.cfg.lock_mode or until is None or \
                    until < request.retain_until - timedelta(seconds=1):
                raise IntegrityError(f"{request.key} version {version}: the bucket did not "
                                     "apply the Object Lock retention")
        held = head.get("ObjectLockLegalHoldStatus") == "ON"
        if request.legal_hold and not held:
            self.set_legal_hold(request.key, version, True)
            held = True
        return until, extended, held

    def extend(self, key: str, version: str, retain_until: datetime | None,
               legal_hold: bool) -> StoredObject:
        """A new capture reuses an uploaded object: lengthen its lock if it needs a later
        date, and hold it if asked."""
        request = UploadRequest(key, retain_until, legal_hold)

        def attempt() -> StoredObject:
            head = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key),
                                           VersionId=version)
            until, extended, held = self._secure(request, version, head)
            return StoredObject(key, (head.get("Metadata") or {}).get("sha256", ""),
                                int(head.get("ContentLength") or 0), version, existed=True,
                                retain_until=until, legal_hold=held,
                                retention_extended=extended)

        try:
            return self._retrying(f"extend retention of {key}", attempt)
        except Exception as exc:
            if is_missing(exc):
                raise ObjectMissingError(f"object missing from bucket: {key} version "
                                         f"{version}") from exc
            raise

    def set_legal_hold(self, key: str, version: str, on: bool) -> None:
        self._retrying(f"legal hold on {key}", lambda: self.client.put_object_legal_hold(
            Bucket=self.bucket, Key=self.full_key(key), VersionId=version,
            LegalHold={"Status": "ON" if on else "OFF"}))

    # ---- reading -------------------------------------------------------------

    def exists(self, key: str) -> bool:
        if self.book.version_of(key) or self.spool.has(key):
            return True
        return self._retrying(f"look up {key}", lambda: self._head(key)) is not None

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        """The recorded version of an object (the spool copy while it waits for upload)."""
        version = version_id or self.book.version_of(key)
        if version is None:
            if self.spool.has(key):
                return self.spool.open(key)
            version = self._oldest_version(key)  # no record (rebuilding): Saksi's is first
            if version is None:
                raise ObjectMissingError(f"object missing from bucket {self.bucket}: {key}")
        try:
            answer = self._retrying(f"read {key}", lambda: self.client.get_object(
                Bucket=self.bucket, Key=self.full_key(key), VersionId=version))
        except Exception as exc:
            if is_missing(exc):
                raise ObjectMissingError(f"object missing from bucket {self.bucket}: {key} "
                                         f"version {version}") from exc
            raise
        return io.BufferedReader(_Body(answer["Body"], key), CHUNK)

    def open_verified(self, key: str) -> HashingReader:
        return HashingReader(self.open(key))

    @contextmanager
    def open_seekable(self, key: str) -> Iterator[BinaryIO]:
        """A downloaded temporary copy (zip readers need to seek), removed afterwards."""
        with self.open(key) as source, tempfile.TemporaryFile(dir=self.spool.root / "tmp") as f:
            while block := source.read(CHUNK):
                f.write(block)
            f.seek(0)
            yield f

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under a prefix, found through the object versions (a delete marker
        cannot hide evidence), plus what still waits in the spool."""
        found = set(self.versions(prefix))
        found.update(self.spool.keys(prefix))
        yield from sorted(found)

    def versions(self, prefix: str) -> dict[str, list[VersionInfo]]:
        """All versions and delete markers under a prefix, oldest first per key."""
        out: dict[str, list[VersionInfo]] = {}

        def listing() -> None:
            out.clear()
            pages = self.client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=self.full_key(prefix))
            for page in pages:
                for item, marker in [(v, False) for v in page.get("Versions", [])] + \
                        [(d, True) for d in page.get("DeleteMarkers", [])]:
                    out.setdefault(self._short(item["Key"]), []).append(VersionInfo(
                        item["VersionId"], item["LastModified"], int(item.get("Size", 0)),
                        marker))

        self._retrying(f"list {prefix}", listing)
        for infos in out.values():
            infos.sort(key=lambda v: v.last_modified)
        return out

    def _oldest_version(self, key: str) -> str | None:
        found = [v for v in self.versions(key).get(key, []) if not v.delete_marker]
        return found[0].version_id if found else None

    def foreign_versions(self, key: str) -> list[str]:
        """Versions and delete markers at a key other than the one Saksi recorded."""
        recorded = self.book.version_of(key)
        if recorded is None:
            return []
        return [f"{'delete marker' if v.delete_marker else 'version'} {v.version_id} "
                f"written {v.last_modified:%Y-%m-%dT%H:%M:%SZ}"
                for v in self.versions(key).get(key, []) if v.version_id != recorded]

    def _head(self, key: str, version: str | None = None) -> dict[str, Any] | None:
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.full_key(key)}
        if version:
            args["VersionId"] = version
        try:
            return self.client.head_object(**args)
        except Exception as exc:
            if is_missing(exc):
                return None  # absent, or a delete marker on top
            raise

    # ---- the bucket's lock, retries ----------------------------------------------

    def _check_bucket_lock(self) -> None:
        """Refuse to write evidence to a bucket without Object Lock (once per process)."""
        if self._lock_checked or not self.locked:
            return
        with self._lock_checking:  # one check, not one per upload thread
            if not self._lock_checked:
                self._read_bucket_lock()

    def _read_bucket_lock(self) -> None:

        def read() -> dict[str, Any]:
            try:
                return self.client.get_object_lock_configuration(Bucket=self.bucket)
            except Exception as exc:
                if error_code(exc) in {"ObjectLockConfigurationNotFoundError",
                                       "ObjectLockConfigurationNotFound"}:
                    return {}
                raise

        try:
            config = self._retrying(f"read the Object Lock of {self.bucket}", read)
        except StorageUnavailable:
            raise
        except Exception as exc:
            if error_code(exc) == "NoSuchBucket":
                raise StorageError(f"bucket {self.bucket} does not exist: run "
                                   "'saksi storage init'") from exc
            raise StorageError(f"cannot read bucket {self.bucket}: {one_line(exc)}") from exc
        enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        if enabled != "Enabled":
            raise StorageError(f"bucket {self.bucket} has no Object Lock, so evidence there "
                               "could be deleted: run 'saksi storage init', or set "
                               "storage.allow_unlocked = true to accept that")
        self._lock_checked = True

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        """Retry throttling, 5xx and network failures with exponential backoff and full
        jitter; after `max_attempts`, StorageUnavailable (the spool keeps the object)."""
        if time.monotonic() < self._down_until:
            raise StorageUnavailable(f"S3 at {self.endpoint} is unreachable ({what}): "
                                     "gave up moments ago")
        last: BaseException | None = None
        for attempt in range(self.cfg.max_attempts):
            try:
                return call()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                last = exc
                log.info("S3 %s: attempt %d failed: %s", what, attempt + 1, one_line(exc))
                if attempt + 1 < self.cfg.max_attempts:
                    time.sleep(random.uniform(0, min(8.0, 0.25 * 2 ** attempt)))
        self._down_until = time.monotonic() + DOWN_SECONDS
        raise StorageUnavailable(f"S3 at {self.endpoint} is unreachable ({what}, "
                                 f"{self.cfg.max_attempts} attempts): {one_line(last)}") from last

    @property
    def endpoint(self) -> str:
        return self.cfg.endpoint_url or f"AWS ({self.bucket})"


class _Body(io.RawIOBase):
    """A get_object body as a raw stream, with its failures turned into storage errors."""

    def __init__(self, body: Any, key: str):
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from botocore.exceptions import BotoCoreError, FlexibleChecksumError

        try:
            data = self._body.read(len(buffer))
        except FlexibleChecksumError as exc:
            raise IntegrityError(f"{self._key}: bytes received from S3 do not match S3's "
                                 "own checksum") from exc
        except (BotoCoreError, OSError) as exc:
            raise StorageUnavailable(f"{self._key}: connection lost while reading from S3: "
                                     f"{one_line(exc)}") from exc
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()




def _blob_sha(key: str) -> str | None:
    if key.startswith(BLOB_PREFIX):
        name = key.rsplit("/", 1)[-1]
        if len(name) == 64:
            return name
    return None
