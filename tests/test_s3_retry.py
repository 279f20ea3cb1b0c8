"""The S3 retry policy: throttling, 5xx and lost connections are tried again with backoff;
anything else (a refusal, a missing bucket) is not; giving up makes later calls in the same
process fail fast, so a capture run with S3 down spools its captures without waiting."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from storage.objects import StorageUnavailable
from storage.s3 import S3ObjectStore, SpoolStore, is_transient


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


def store(tmp_path, attempts: int = 4) -> S3ObjectStore:
    cfg = SimpleNamespace(bucket="bukti", prefix="", endpoint_url="http://127.0.0.1:9",
                          allow_unlocked=False, part_size_mb=8, multipart_threshold_mb=16,
                          upload_concurrency=2, max_attempts=attempts, checksum_compat=False,
                          profile="", region="us-east-1")
    return S3ObjectStore(cfg, SpoolStore(tmp_path), book=None, client=object())


@pytest.mark.parametrize("exc, transient", [
    (client_error("SlowDown", 503), True),
    (client_error("InternalError", 500), True),
    (client_error("TooManyRequests", 429), True),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
    (client_error("AccessDenied", 403), False),
    (client_error("NoSuchBucket", 404), False),
    (ValueError("not S3's"), False),
])
def test_only_passing_failures_are_retried(exc, transient):
    assert is_transient(exc) is transient


def test_throttling_is_retried_until_it_passes(tmp_path, monkeypatch):
    waits = []
    monkeypatch.setattr("storage.s3.time.sleep", waits.append)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise client_error("SlowDown", 503)
        return "stored"

    assert store(tmp_path)._retrying("put", flaky) == "stored"
    assert len(calls) == 3 and len(waits) == 2
    assert all(0 <= w <= 0.25 * 2 ** i for i, w in enumerate(waits))  # backoff, jittered


def test_a_refusal_is_not_retried(tmp_path):
    calls = []

    def refused():
        calls.append(1)
        raise client_error("AccessDenied", 403)

    with pytest.raises(ClientError):
        store(tmp_path)._retrying("put", refused)
    assert len(calls) == 1


def test_giving_up_fails_fast_afterwards(tmp_path, monkeypatch):
    monkeypatch.setattr("storage.s3.time.sleep", lambda _s: None)
    s = store(tmp_path, attempts=3)
    calls = []

    def down():
        calls.append(1)
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    with pytest.raises(StorageUnavailable, match="unreachable .*3 attempts"):
        s._retrying("put", down)
    with pytest.raises(StorageUnavailable, match="gave up moments ago"):
        s._retrying("put", down)
    assert len(calls) == 3
