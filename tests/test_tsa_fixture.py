"""The local TSA fixture issues tokens that the real client library and `openssl ts -verify`
both accept, so timestamp tests built on it are judged by code nobody here wrote."""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from rfc3161_client import (
    PKIStatus,
    TimeStampRequest,
    TimestampRequestBuilder,
    VerifierBuilder,
    decode_timestamp_response,
)

from tests.fixtures.tsa import QUERY_TYPE, REPLY_TYPE, LocalTSA

DATA = b"sha256 of a captured WARC, say"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as server:
        yield server


def post_query(url: str, query: bytes) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=query, headers={"Content-Type": QUERY_TYPE})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), err.read()


def stamp(tsa: LocalTSA, data: bytes = DATA) -> tuple[TimeStampRequest, bytes]:
    request = (TimestampRequestBuilder().data(data).nonce(nonce=True)
               .cert_request(cert_request=True).build())
    status, content_type, body = post_query(tsa.url, request.as_bytes())
    assert (status, content_type) == (200, REPLY_TYPE), body
    return request, body


def test_rfc3161_client_verifies_token_against_test_root(tsa: LocalTSA) -> None:
    request, body = stamp(tsa)
    response = decode_timestamp_response(body)
    root = x509.load_pem_x509_certificate(tsa.ca_pem_path.read_bytes())
    verifier = VerifierBuilder.from_request(request).add_root_certificate(root).build()

    assert verifier.verify_message(response, DATA) is True
    assert abs(response.tst_info.gen_time - datetime.now(UTC)) < timedelta(minutes=1)


def test_openssl_verifies_token_for_same_data_only(tsa: LocalTSA, tmp_path: Path) -> None:
    _, body = stamp(tsa)
    (tmp_path / "reply.tsr").write_bytes(body)
    (tmp_path / "same.bin").write_bytes(DATA)
    (tmp_path / "other.bin").write_bytes(DATA + b"!")

    def verify(data_file: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "ts", "-verify", "-data", data_file, "-in", "reply.tsr",
             "-CAfile", str(tsa.ca_pem_path), "-untrusted", str(tsa.tsa_cert_path)],
            cwd=tmp_path, capture_output=True, text=True, timeout=30)

    same = verify("same.bin")
    assert same.returncode == 0 and "Verification: OK" in same.stdout, same.stderr
    other = verify("other.bin")
    assert other.returncode != 0 and "Verification: OK" not in other.stdout


def test_down_answers_503_until_up(tsa: LocalTSA) -> None:
    query = TimestampRequestBuilder().data(DATA).build().as_bytes()
    issued = tsa.requests
    tsa.down()
    try:
        assert post_query(tsa.url, query)[0] == 503
        assert tsa.requests == issued
    finally:
        tsa.up()
    assert post_query(tsa.url, query)[:2] == (200, REPLY_TYPE)
    assert tsa.requests == issued + 1


def test_malformed_query_gets_rejection_not_token(tsa: LocalTSA) -> None:
    issued = tsa.requests
    status, content_type, body = post_query(tsa.url, b"not a DER TimeStampReq")
    assert (status, content_type) == (200, REPLY_TYPE)
    assert decode_timestamp_response(body).status == PKIStatus.REJECTION
    assert tsa.requests == issued
