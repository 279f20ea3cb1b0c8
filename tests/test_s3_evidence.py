"""The S3 backend end to end, through the `saksi` command: bucket policy, locked uploads,
Saksi's own checks catching what moto does not (a replaced version, a corrupted download,
a missing object), legal hold, and nothing lost when S3 is down or a sync is killed.

S3 is moto's standalone server in its own process, reached through a fault proxy the
tests switch off, back on, or make corrupt bytes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import (
    SAKSI,
    artifact,
    new_bucket_name,
    run_saksi,
    s3_settings_env,
    saksi_env,
)
from tests.fixtures.s3_server import FaultProxy

MiB = 1024 * 1024


@dataclass
class S3Case:
    env: dict[str, str]
    bucket: str
    client: object
    proxy: FaultProxy
    data_dir: Path

    def versions(self, key: str) -> list[dict]:
        page = self.client.list_object_versions(Bucket=self.bucket, Prefix=key)
        return [v for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                if v["Key"] == key]

    def spool_files(self) -> list[Path]:
        spool = self.data_dir / "spool"
        return [p for p in spool.rglob("*")
                if p.is_file() and p.relative_to(spool).parts[0] != "tmp"]


def custody_events(case: S3Case) -> list[dict]:
    """The custody log as the catalog holds it (read with sqlite, not Saksi's code)."""
    import sqlite3

    db = sqlite3.connect(case.data_dir / "catalog.sqlite")
    rows = db.execute("select action, subject, details from custody_events order by seq")
    found = [{"action": a, "subject": s, "details": json.loads(d)} for a, s, d in rows]
    db.close()
    return found


@pytest.fixture
def s3(moto, site, tmp_path):
    bucket = new_bucket_name()
    proxy = FaultProxy(("127.0.0.1", moto.port))
    data_dir = tmp_path / "data"
    env = saksi_env(data_dir, site, **s3_settings_env(proxy.endpoint, bucket))
    try:
        yield S3Case(env, bucket, moto.client(), proxy, data_dir)
    finally:
        proxy.close()


def init(case: S3Case, *extra: str) -> None:
    run = run_saksi(case.env, "storage", "init", "--yes", *extra)
    assert run.code == 0, run.stderr


def capture(case: S3Case, url: str, *extra: str, env: dict | None = None) -> dict:
    run = run_saksi(env or case.env, "capture", url, "--json", *extra)
    assert run.code == 0, run.stderr
    [result] = run.captures()
    return result


def test_storage_init_asks_before_compliance_then_makes_a_locked_bucket(s3):
    refused = run_saksi(s3.env, "storage", "init")
    assert refused.code == 2 and "cannot be undone" in refused.stderr
    assert refused.stderr.count("\n") == 1
    status = run_saksi(s3.env, "storage", "status", "--json").json()
    assert "does not exist" in status["problems"][0]
    init(s3)
    status = run_saksi(s3.env, "storage", "status", "--json").json()
    state = status["bucket_state"]
    assert state["versioning"] == "Enabled" and state["object_lock"]
    assert (state["default_mode"], state["default_days"]) == ("COMPLIANCE", 3650)
    assert status["problems"] == [] and status["write_once"] is True
    again = run_saksi(s3.env, "storage", "init", "--json")  # nothing missing: no question
    assert again.code == 0 and again.json()["ready"]
    lock = s3.client.get_object_lock_configuration(Bucket=s3.bucket)
    assert lock["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "COMPLIANCE"


def test_a_capture_goes_up_locked_with_its_version_recorded(s3, site):
    s3.env["SAKSI_STORAGE__PREFIX"] = "bawaslu/jabar"
    init(s3)
    assert run_saksi(s3.env, "keys", "init").code == 0
    result = capture(s3, "https://news.example.id/page", "--case", "BWS-1")
    assert result["storage_state"] == "stored"
    [seal] = result["seals"]  # the signature object goes up beside the manifest
    stored = [e for e in custody_events(s3) if e["action"] == "object.stored"]
    assert {e["details"]["key"] for e in stored} == \
        {a["key"] for a in result["artifacts"]} | {seal["key"]}
    soon = datetime.now(UTC) + timedelta(days=3649)
    for event in stored:
        details = event["details"]
        head = s3.client.head_object(Bucket=s3.bucket, Key="bawaslu/jabar/" + details["key"],
                                     VersionId=details["version_id"])
        assert head["Metadata"]["sha256"] == event["subject"]
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > soon
        assert len(s3.versions("bawaslu/jabar/" + details["key"])) == 1
    assert s3.spool_files() == []  # every spool copy released once recorded
    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket)["Contents"]]
    assert all(k.startswith("bawaslu/jabar/") for k in keys)
    assert any(k.startswith("bawaslu/jabar/custody/segments/") for k in keys)
    manifest = json.loads(s3.client.get_object(
        Bucket=s3.bucket,
        Key="bawaslu/jabar/" + artifact(result, "manifest")["key"])["Body"].read())
    assert manifest["store"]["backend"] == "s3" and manifest["store"]["write_once"] is True
    status = run_saksi(s3.env, "storage", "status", "--json").json()
    assert status["objects"] == len(keys)  # artifacts, seal, custody segments, checkpoint
    assert any(k.startswith("bawaslu/jabar/custody/checkpoints/") for k in keys)
    assert run_saksi(s3.env, "verify", result["id"]).code == 0
    assert status["pending_uploads"]["objects"] == 0


def test_a_bucket_without_object_lock_is_refused_unless_allowed(s3, site):
    s3.client.create_bucket(Bucket=s3.bucket)
    s3.client.put_bucket_versioning(Bucket=s3.bucket,
                                    VersioningConfiguration={"Status": "Enabled"})
    run = run_saksi(s3.env, "capture", site.http_url("/page"), "--json")
    assert run.code == 0
    [result] = run.captures()
    assert result["status"] == "captured" and result["storage_state"] == "pending_upload"
    assert "run 'saksi sync'" in run.stderr
    [pending] = [e for e in custody_events(s3) if e["action"] == "upload.pending"]
    assert "no Object Lock" in pending["details"]["reason"]
    assert s3.client.list_objects_v2(Bucket=s3.bucket).get("KeyCount") == 0

    init(s3)  # adds Object Lock to the (still empty) bucket; the capture can go up now
    sync = run_saksi(s3.env, "sync", "--json")
    assert sync.code == 0, sync.stderr
    assert sync.json()["stored"] == [result["id"]]

    plain = new_bucket_name()
    s3.client.create_bucket(Bucket=plain)
    s3.client.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    allowed = {**s3.env, "SAKSI_STORAGE__BUCKET": plain, "SAKSI_STORAGE__ALLOW_UNLOCKED": "true"}
    unlocked = capture(s3, site.http_url("/page2"), env=allowed)
    assert unlocked["storage_state"] == "stored"
    manifest = json.loads(s3.client.get_object(
        Bucket=plain, Key=artifact(unlocked, "manifest")["key"])["Body"].read())
    assert manifest["store"]["write_once"] is False
    assert "NOT write-once" in manifest["store"]["object_lock"]


def test_a_replaced_version_and_a_delete_marker_are_named_and_cannot_hide_evidence(s3):
    init(s3)
    result = capture(s3, "https://news.example.id/page")
    warc = artifact(result, "warc")
    s3.client.put_object(Bucket=s3.bucket, Key=warc["key"], Body=b"not the evidence",
                         ChecksumAlgorithm="SHA256")
    verify = run_saksi(s3.env, "verify", result["id"])
    assert verify.code == 1
    assert f"{warc['key']}: version" in verify.stderr and "not written by Saksi" in verify.stderr
    got = run_saksi(s3.env, "get", result["id"], "--out", str(s3.data_dir.parent / "out"))
    assert got.code == 0, got.stderr  # reads the recorded version, not the newest one
    copied = (s3.data_dir.parent / "out" / warc["name"]).read_bytes()
    assert len(copied) == warc["bytes"]
    assert [e for e in custody_events(s3) if e["action"] == "integrity.failed"]

    s3.client.delete_object(Bucket=s3.bucket, Key=artifact(result, "manifest")["key"])
    (s3.data_dir / "catalog.sqlite").unlink()
    rebuilt = run_saksi(s3.env, "reindex", "--json")
    assert rebuilt.code == 0, rebuilt.stderr
    assert rebuilt.json()["captures"] == 1
    shown = run_saksi(s3.env, "show", result["id"], "--json").json()
    assert shown["manifest_sha256"] == result["manifest_sha256"]
    verify = run_saksi(s3.env, "verify", "--all")
    assert verify.code == 1 and "delete marker" in verify.stderr


def test_a_corrupted_download_is_caught(s3, site):
    init(s3)
    result = capture(s3, site.http_url("/page?MARKER-AAAA"))
    s3.proxy.corrupt(b"MARKER-AAAA", b"MARKER-BBBB")  # in the manifest's requested_url
    for extra in ({}, {"SAKSI_STORAGE__CHECKSUM_COMPAT": "true"}):
        env = {**s3.env, **extra}
        out = s3.data_dir.parent / f"out{len(extra)}"
        got = run_saksi(env, "get", result["id"], "--out", str(out))
        assert got.code == 1
        assert "manifest.json" in got.stderr
        assert not (out / "manifest.json").exists()  # a corrupted copy is not left behind
        verify = run_saksi(env, "verify", result["id"])
        assert verify.code == 1 and "manifest" in verify.stderr
    s3.proxy.pass_()
    assert run_saksi(s3.env, "verify", result["id"]).code == 0
    failed = [e for e in custody_events(s3) if e["action"] == "integrity.failed"]
    assert len(failed) >= 4


def test_a_missing_object_is_named(s3):
    s3.env["SAKSI_STORAGE__LOCK_MODE"] = "GOVERNANCE"
    init(s3)
    result = capture(s3, "https://news.example.id/page")
    wacz = artifact(result, "wacz")
    [version] = s3.versions(wacz["key"])
    s3.client.delete_object(Bucket=s3.bucket, Key=wacz["key"], VersionId=version["VersionId"],
                            BypassGovernanceRetention=True)  # someone with that right
    verify = run_saksi(s3.env, "verify", result["id"])
    assert verify.code == 1
    assert f"wacz artifact {wacz['key']}: missing from store" in verify.stderr
    got = run_saksi(s3.env, "get", result["id"], "--out", str(s3.data_dir.parent / "out"))
    assert got.code == 1 and wacz["key"] in got.stderr


def test_nothing_is_lost_while_s3_is_down_and_sync_finishes_the_job(s3, site):
    init(s3)
    s3.proxy.down()
    run = run_saksi(s3.env, "capture", site.http_url("/page"), "--json")
    assert run.code == 0, run.stderr
    [result] = run.captures()
    assert result["status"] == "captured" and result["storage_state"] == "pending_upload"
    assert "safe in the local spool" in run.stderr
    assert s3.spool_files()
    shown = run_saksi(s3.env, "show", result["id"], "--json")  # the catalog answers
    assert shown.code == 0 and shown.json()["storage_state"] == "pending_upload"
    verify = run_saksi(s3.env, "verify", result["id"])  # the custody log is in the bucket
    assert verify.code == 1 and "unreachable" in verify.stderr
    assert verify.stderr.count("\n") == 1
    failed_sync = run_saksi(s3.env, "sync")
    assert failed_sync.code == 1 and "still wait in the spool" in failed_sync.stderr

    s3.proxy.pass_()
    sync = run_saksi(s3.env, "sync", "--json")
    assert sync.code == 0, sync.stderr
    assert sync.json()["stored"] == [result["id"]] and sync.json()["still_waiting"] == 0
    assert s3.spool_files() == []
    assert run_saksi(s3.env, "show", result["id"], "--json").json()["storage_state"] == "stored"
    assert run_saksi(s3.env, "sync", "--json").json()["uploaded"] == 0  # idempotent
    for a in result["artifacts"]:
        assert len(s3.versions(a["key"])) == 1
    assert run_saksi(s3.env, "verify", "--all").code == 0


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def large_env(case: S3Case) -> dict[str, str]:
    return {**case.env, "SAKSI_LIMITS__MAX_RESPONSE_BYTES": str(128 * MiB),
            "SAKSI_LIMITS__MAX_CAPTURE_SECONDS": "60"}


def test_s3_cut_off_in_the_middle_of_a_multipart_upload(s3, site):
    init(s3)
    env = large_env(s3)
    start = s3.proxy.bytes_up
    cutter = threading.Thread(target=lambda: (
        wait_for(lambda: s3.proxy.bytes_up - start > 12 * MiB), s3.proxy.down()))
    cutter.start()
    result = capture(s3, site.http_url(f"/random/{48 * MiB}"), env=env)
    cutter.join()
    assert result["storage_state"] == "pending_upload"
    s3.proxy.pass_()
    sync = run_saksi(env, "sync", "--json")
    assert sync.code == 0, sync.stderr
    for a in result["artifacts"]:
        assert len(s3.versions(a["key"])) == 1
    assert run_saksi(env, "verify", result["id"]).code == 0


def test_sync_killed_mid_upload_loses_and_duplicates_nothing(s3, site):
    init(s3)
    env = large_env(s3)
    s3.proxy.down()
    result = capture(s3, site.http_url(f"/random/{64 * MiB}"), env=env)
    assert result["storage_state"] == "pending_upload"
    s3.proxy.pass_()
    start = s3.proxy.bytes_up
    proc = subprocess.Popen([SAKSI, "sync"], env=env, cwd=s3.data_dir.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: s3.proxy.bytes_up - start > 16 * MiB or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "sync finished before it could be killed"
    sync = run_saksi(env, "sync", "--json")
    assert sync.code == 0, sync.stderr
    assert sync.json()["stored"] == [result["id"]]
    for a in result["artifacts"]:
        assert len(s3.versions(a["key"])) == 1
    assert run_saksi(env, "verify", result["id"]).code == 0
