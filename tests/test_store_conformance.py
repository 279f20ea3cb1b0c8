"""One contract, two backends: the local store and S3 (moto's server over HTTP) behave the
same for everything above them: put, get, exists, dedup, write-once, large objects
streamed in parts, listing, legal hold and reindex."""

from __future__ import annotations

import hashlib
import os
import random
from types import SimpleNamespace

import pytest

from archivers.evidence import Evidence
from archivers.publish import Publisher, retain_until
from config import load_settings
from storage.objects import ObjectExistsError, StoredObject
from storage.s3 import UploadRequest
from tests.conftest import artifact, new_bucket_name, run_saksi, s3_settings_env, saksi_env

MiB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def evidence(request, tmp_path):
    env = {"SAKSI_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    client = None
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        bucket = new_bucket_name()
        env.update(s3_settings_env(moto.endpoint, bucket, SAKSI_STORAGE__LOCK_MODE="GOVERNANCE",
                                   SAKSI_STORAGE__RETENTION_DAYS="1"))
        client = moto.client()
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # boto3's credential chain reads the environment
    try:
        opened = Evidence.open(load_settings(environ=env, cwd=tmp_path))
        opened.test_client = client
        yield opened
        opened.close()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def store_blob(evidence: Evidence, chunks) -> StoredObject:
    """Seal bytes as a blob and, on S3, publish it as the product does."""
    with evidence.store.batch() as batch:
        blob = batch.new_blob()
        for chunk in chunks:
            blob.write(chunk)
    stored = batch.result(blob)
    if not evidence.uploads:
        return stored
    [result] = Publisher(evidence).publish_objects(
        [UploadRequest(stored.key, retain_until(1))])
    assert isinstance(result, StoredObject), result
    return result


def put_named(evidence: Evidence, key: str, data: bytes) -> StoredObject:
    stored = evidence.store.put_named(key, data)
    if evidence.uploads and not stored.existed:
        [stored] = Publisher(evidence).publish_objects(
            [UploadRequest(key, retain_until(1), sha256=stored.sha256)])
    assert isinstance(stored, StoredObject), stored
    return stored


def versions_at(evidence: Evidence, key: str) -> list:
    return evidence.store.versions(key).get(key, []) if evidence.uploads else [key]


def read_back(evidence: Evidence, key: str) -> tuple[str, int]:
    with evidence.store.open_verified(key) as reader:
        reader.drain()
    return reader.sha256, reader.bytes


def test_put_get_exists_and_dedup(evidence):
    data = b"bukti pelanggaran " * 5000
    first = store_blob(evidence, [data])
    assert first.key.endswith(hashlib.sha256(data).hexdigest())
    assert evidence.store.exists(first.key)
    assert read_back(evidence, first.key) == (hashlib.sha256(data).hexdigest(), len(data))
    again = store_blob(evidence, [data])
    assert again.key == first.key and again.existed
    assert again.version_id == first.version_id
    assert len(versions_at(evidence, first.key)) == 1  # a retried put adds no version
    assert not evidence.store.exists("objects/sha256/00/" + "0" * 64)


def test_named_objects_are_write_once(evidence):
    key = "captures/0000-test/manifest.json"
    put_named(evidence, key, b'{"a":1}')
    assert put_named(evidence, key, b'{"a":1}').existed
    with pytest.raises(ObjectExistsError, match="refusing to overwrite"):
        evidence.store.put_named(key, b'{"a":2}')
    with evidence.store.open(key) as f:
        assert f.read() == b'{"a":1}'
    assert len(versions_at(evidence, key)) == 1
    assert not any(hasattr(evidence.store, n) for n in ("delete", "remove", "unlink"))


def test_large_objects_stream_through_in_parts(evidence):
    rng = random.Random(4)
    chunks = [rng.randbytes(MiB) for _ in range(40)]
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()
    stored = store_blob(evidence, iter(chunks))
    assert stored.sha256 == expected and stored.bytes == 40 * MiB
    assert read_back(evidence, stored.key) == (expected, 40 * MiB)
    if evidence.uploads:  # 40 MiB > the 8 MiB threshold: a multipart upload
        head = evidence.test_client.head_object(
            Bucket=evidence.store.bucket, Key=stored.key, VersionId=stored.version_id)
        assert head["Metadata"]["sha256"] == expected  # S3's own is a checksum of checksums
        assert head["ObjectLockMode"] == "GOVERNANCE"
        assert head["ObjectLockRetainUntilDate"] >= stored.retain_until
        assert not evidence.store.spool.has(stored.key)  # released once recorded


def test_listing_finds_every_key(evidence):
    a = store_blob(evidence, [b"satu"])
    b = store_blob(evidence, [b"dua"])
    put_named(evidence, "captures/0000-list/manifest.json", b"{}")
    assert {a.key, b.key} <= set(evidence.store.keys("objects"))
    assert "captures/0000-list/manifest.json" in set(evidence.store.keys("captures"))


# ---- the same through the command line: legal hold and reindex -------------------------


@pytest.fixture(params=["local", "s3"])
def cli(request, site, tmp_path):
    data = tmp_path / "data"
    extra: dict[str, str] = {}
    client = bucket = None
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        bucket = new_bucket_name()
        extra = s3_settings_env(moto.endpoint, bucket)
        client = moto.client()
    env = saksi_env(data, site, **extra)
    if bucket:
        assert run_saksi(env, "storage", "init", "--yes").code == 0
    return SimpleNamespace(backend=request.param, env=env, data=data, client=client,
                           bucket=bucket)


def test_legal_hold_and_reindex_behave_the_same(cli):
    env = cli.env
    run = run_saksi(env, "capture", "https://news.example.id/page",
                    "https://news.example.id/page2", "--json")
    assert run.code == 0, run.stderr
    first, second = run.captures()
    cert = artifact(first, "certificate")
    assert cert["key"] == artifact(second, "certificate")["key"]  # one shared object
    assert run_saksi(env, "hold", "set", first["id"], "--reason", "  ").code == 2
    for capture in (first, second):
        held = run_saksi(env, "hold", "set", capture["id"], "--reason", "sengketa Bawaslu")
        assert held.code == 0, held.stderr
    released = run_saksi(env, "hold", "release", first["id"], "--reason", "kasus selesai",
                         "--json")
    assert released.code == 0, released.stderr
    states = {o["key"]: o["state"] for o in released.json()["objects"]}
    assert states[cert["key"]] == f"kept on: shared with held capture(s) {second['id']}"
    warc_key = artifact(first, "warc")["key"]
    if cli.backend == "s3":
        def bucket_hold(key: str) -> str:
            answer = cli.client.get_object_legal_hold(Bucket=cli.bucket, Key=key)
            return answer["LegalHold"]["Status"]

        assert states[warc_key] == "off"
        assert (bucket_hold(cert["key"]), bucket_hold(warc_key)) == ("ON", "OFF")
        assert all(bucket_hold(a["key"]) == "ON" for a in second["artifacts"])
    else:
        assert states[warc_key].startswith("recorded")
        assert run_saksi(env, "sync").code == 2  # nothing ever waits on the local store
    status = run_saksi(env, "storage", "status", "--json").json()
    assert status["backend"] == cli.backend and status["legal_holds"] == 1

    before = run_saksi(env, "list", "--json").json_lines()  # the records `show` prints too
    [hold] = [c["legal_hold"] for c in before if c["id"] == first["id"]]
    assert (hold["on"], hold["reason"], hold["changed_by"]) == (
        False, "kasus selesai", "penyidik-uji")
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (cli.data / name).unlink(missing_ok=True)
    rebuilt = run_saksi(env, "reindex", "--json")
    assert rebuilt.code == 0, rebuilt.stderr
    after = run_saksi(env, "list", "--json").json_lines()
    assert [c["id"] for c in after] == [c["id"] for c in before]
    assert [c["artifacts"] for c in after] == [c["artifacts"] for c in before]
    assert [c["legal_hold"]["on"] for c in after] == [False, True]
    changes = [(e["subject"], e["details"]["status"]) for e in _custody(cli.data)
               if e["action"] == "legal_hold.changed"]
    assert changes == [(first["id"], "on"), (second["id"], "on"), (first["id"], "off")]
    assert run_saksi(env, "verify", "--all").code == 0


def _custody(data) -> list[dict]:
    import json
    import sqlite3

    db = sqlite3.connect(data / "catalog.sqlite")
    rows = db.execute("select action, subject, details from custody_events order by seq")
    found = [{"action": a, "subject": s, "details": json.loads(d)} for a, s, d in rows]
    db.close()
    return found


@pytest.mark.parametrize("evidence", ["s3"], indirect=True)
def test_a_reused_object_gets_a_later_lock_only_when_it_needs_one(evidence):
    first = store_blob(evidence, [b"rantai sertifikat"])
    assert first.retain_until == retain_until(1)
    later = retain_until(5)
    again = store_blob(evidence, [b"rantai sertifikat"])  # the same date: nothing to do
    assert again.existed and not again.retention_extended
    extended = evidence.store.extend(first.key, first.version_id, later, legal_hold=False)
    assert extended.retention_extended and extended.retain_until == later
    head = evidence.test_client.head_object(Bucket=evidence.store.bucket, Key=first.key,
                                            VersionId=first.version_id)
    assert head["ObjectLockRetainUntilDate"] == later
    assert len(versions_at(evidence, first.key)) == 1
