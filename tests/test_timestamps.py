"""RFC 3161 timestamps: every sealed manifest gets a token from each configured TSA (a local
one made with `openssl ts`, over loopback HTTP), checked at once and again by `verify`,
and by `openssl ts -verify` as the outside judge; a TSA that is down is never skipped
silently: `seal --pending` asks again."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import artifact, clone_data_dir, run_saksi, saksi_env
from tests.fixtures.tsa import LocalTSA


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture()
def env(site, tsa, tmp_path):
    tsa.up()
    return saksi_env(tmp_path / "data", site, SAKSI_TIMESTAMPS__TSA_URLS=tsa.url,
                     SAKSI_TIMESTAMPS__CA_FILE=str(tsa.ca_pem_path))


@pytest.fixture(scope="module")
def stamped_capture(site, tsa, tmp_path_factory):
    """One capture of /page sealed with the TSA up, made once for the tests that start
    from one; each gets a copy of the data dir (the damaged-token test edits its own)."""
    tsa.up()
    data = tmp_path_factory.mktemp("stamped") / "data"
    env = saksi_env(data, site, SAKSI_TIMESTAMPS__TSA_URLS=tsa.url,
                    SAKSI_TIMESTAMPS__CA_FILE=str(tsa.ca_pem_path))
    return data, capture(env, site)


@pytest.fixture()
def stamped(stamped_capture, env):
    """(env, capture result): the stamped capture in this test's own data dir."""
    data, result = stamped_capture
    clone_data_dir(data, env["SAKSI_DATA_DIR"])
    return env, json.loads(json.dumps(result))


def stored_path(env, key: str) -> str:
    return os.path.join(env["SAKSI_DATA_DIR"], key)


def capture(env, site, path: str = "/page") -> dict:
    run = run_saksi(env, "capture", site.http_url(path), "--json")
    assert run.code == 0, run.stderr
    [result] = run.captures()
    return result


def custody(env) -> list[dict]:
    import sqlite3

    db = sqlite3.connect(os.path.join(env["SAKSI_DATA_DIR"], "catalog.sqlite"))
    rows = db.execute("select action, subject, details from custody_events order by seq")
    found = [{"action": a, "subject": s, "details": json.loads(d)} for a, s, d in rows]
    db.close()
    return found


def openssl_verify(env, tsa, result: dict, seal: dict, data_key: str | None = None):
    data = stored_path(env, data_key or artifact(result, "manifest")["key"])
    return subprocess.run(["openssl", "ts", "-verify", "-data", data, "-in",
                           stored_path(env, seal["key"]), "-CAfile", str(tsa.ca_pem_path),
                           "-untrusted", stored_path(env, seal["chain_key"])],
                          capture_output=True, text=True)


def test_a_sealed_manifest_is_timestamped_and_openssl_agrees(stamped, tsa):
    env, result = stamped
    [seal] = [s for s in result["seals"] if s["kind"] == "timestamp"]
    assert seal["tsa"] == tsa.url and seal["gen_time"].endswith("Z")
    manifest = json.loads(open(stored_path(env, artifact(result, "manifest")["key"])).read())
    assert tsa.url in manifest["seals"]["timestamps"]
    [event] = [e for e in custody(env) if e["action"] == "timestamp.obtained"]
    assert (event["subject"], event["details"]["serial"]) == (result["id"], seal["serial"])
    judged = openssl_verify(env, tsa, result, seal)
    assert "Verification: OK" in judged.stdout, judged.stderr
    other = openssl_verify(env, tsa, result, seal, artifact(result, "warc")["key"])
    assert "Verification: OK" not in other.stdout  # the token is over the manifest only
    assert run_saksi(env, "verify", result["id"]).code == 0


def test_a_tsa_that_is_down_is_retried_by_seal_pending(env, site, tsa):
    tsa.down()
    result = capture(env, site)  # still sealed: the timestamp waits
    assert result["status"] == "captured"
    assert [s for s in result["seals"] if s["kind"] == "timestamp"] == []
    [failed] = [e for e in custody(env) if e["action"] == "timestamp.failed"]
    assert failed["details"]["tsa"] == tsa.url and "503" in failed["details"]["error"]
    still = run_saksi(env, "seal", "--pending")
    assert still.code == 1 and "503" in still.stderr
    tsa.up()
    done = run_saksi(env, "seal", "--pending", "--json")
    assert done.code == 0, done.stderr
    assert done.json_lines() == [{"id": result["id"], "sealed": True, "error": None}]
    shown = run_saksi(env, "show", result["id"], "--json").json()
    [seal] = [s for s in shown["seals"] if s["kind"] == "timestamp"]
    assert "Verification: OK" in openssl_verify(env, tsa, shown, seal).stdout
    assert run_saksi(env, "seal", "--pending").stdout.startswith("nothing to seal")
    assert run_saksi(env, "verify", "--all").code == 0


def test_a_damaged_token_is_named_and_reindex_keeps_the_seals(stamped):
    env, result = stamped
    before = run_saksi(env, "show", result["id"], "--json").json()["seals"]
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        path = stored_path(env, name)
        if os.path.exists(path):
            os.unlink(path)
    assert run_saksi(env, "reindex").code == 0
    after = run_saksi(env, "show", result["id"], "--json").json()["seals"]
    assert sorted(json.dumps(s, sort_keys=True) for s in after) == \
        sorted(json.dumps(s, sort_keys=True) for s in before)

    [seal] = [s for s in result["seals"] if s["kind"] == "timestamp"]
    path = stored_path(env, seal["key"])
    data = bytearray(open(path, "rb").read())
    data[-40] ^= 0x01
    os.chmod(path, 0o644)
    open(path, "wb").write(bytes(data))
    bad = run_saksi(env, "verify", result["id"])
    assert bad.code == 1 and f"timestamp seal {seal['key']}" in bad.stderr
