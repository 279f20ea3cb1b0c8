"""Signed checkpoints of the custody log: made after each batch of captures and on demand,
inclusion proofs a third party can check with nothing but RFC 6962 hashing and the public
key, and consistency between checkpoints that an edited event breaks."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from archivers import merkle
from archivers.keys import load_public_pem, verify_signature
from storage.records import canonical_json
from tests.conftest import run_saksi, saksi_env


@pytest.fixture()
def env(site, tmp_path):
    env = saksi_env(tmp_path / "data", site)
    assert run_saksi(env, "keys", "init").code == 0
    return env


def capture(env, site, *paths: str) -> list[dict]:
    run = run_saksi(env, "capture", *[site.http_url(p) for p in paths], "--json")
    assert run.code == 0, run.stderr
    return run.captures()


def test_a_capture_run_ends_with_a_signed_checkpoint_that_proves_its_events(env, site):
    first, _second = capture(env, site, "/page", "/page2")
    checkpoints = os.listdir(os.path.join(env["SAKSI_DATA_DIR"], "custody", "checkpoints"))
    assert len(checkpoints) == 1
    proved = run_saksi(env, "custody", "prove", first["id"], "--json")
    assert proved.code == 0, proved.stderr
    result = proved.json()
    checkpoint = result["checkpoint"]
    # a third party's check: leaves from the published log, RFC 6962 hashing, public key
    log = run_saksi(env, "custody", "log", "--json").json_lines()
    tree = [merkle.leaf_hash(canonical_json(ev)) for ev in log][:checkpoint["tree_size"]]
    assert merkle.root(tree).hex() == checkpoint["root_hash"]
    mine = [ev for ev in log if first["id"] in (ev["subject"], ev["details"].get("capture"))]
    assert [p["seq"] for p in result["events"]] == [ev["seq"] for ev in mine]
    for item in result["events"]:
        path = [bytes.fromhex(h) for h in item["proof"]]
        leaf = tree[item["seq"] - 1]
        assert merkle.root_from_inclusion(item["seq"] - 1, checkpoint["tree_size"], leaf,
                                          path).hex() == checkpoint["root_hash"]
    keys = json.loads(run_saksi(env, "keys", "export-public").stdout)["keys"]
    body = {k: checkpoint[k] for k in ("tree_size", "root_hash", "at", "key_fingerprint")}
    body["type"] = "saksi-checkpoint/1"
    assert verify_signature(load_public_pem(keys[checkpoint["key_fingerprint"]]),
                            checkpoint["signature"], canonical_json(body))
    only = run_saksi(env, "custody", "log", "--capture", first["id"], "--json").json_lines()
    assert only == [ev for ev in log if ev["subject"] == first["id"]]


def test_checkpoints_extend_each_other_until_an_event_is_edited(env, site):
    capture(env, site, "/page")
    capture(env, site, "/page2")
    made = run_saksi(env, "custody", "checkpoint", "--json")
    assert made.code == 0, made.stderr
    assert made.json()["extends_previous"] is True
    sizes = sorted(int(name.split(".")[0]) for name in os.listdir(
        os.path.join(env["SAKSI_DATA_DIR"], "custody", "checkpoints")))
    assert len(sizes) == 3
    proof = run_saksi(env, "custody", "consistency", str(sizes[0]), "--json")
    assert proof.code == 0, proof.stderr
    between = proof.json()
    assert between["new"]["tree_size"] == sizes[-1] and between["consistent"]
    # a third party's check: the proof against the two signed roots, RFC 6962 hashing
    assert merkle.verify_consistency(
        sizes[0], sizes[-1], bytes.fromhex(between["old"]["root_hash"]),
        bytes.fromhex(between["new"]["root_hash"]),
        [bytes.fromhex(h) for h in between["proof"]])
    assert not merkle.verify_consistency(
        sizes[0], sizes[-1], bytes.fromhex(between["old"]["root_hash"]),
        bytes.fromhex(between["new"]["root_hash"]),
        [bytes.fromhex(h) for h in between["proof"]][::-1])
    unknown = run_saksi(env, "custody", "consistency", "999")
    assert unknown.code == 2 and "no checkpoint of 999 events" in unknown.stderr
    db = sqlite3.connect(os.path.join(env["SAKSI_DATA_DIR"], "catalog.sqlite"))
    db.execute("update custody_events set actor = 'orang lain' where seq = 2")
    db.commit()
    db.close()
    run = run_saksi(env, "capture", site.http_url("/gzip"))
    assert run.code == 0 and "no custody checkpoint signed" in run.stderr
    broken = run_saksi(env, "custody", "checkpoint")
    assert broken.code == 1
    assert "no longer matches its checkpoint" in broken.stderr
    assert broken.stderr.count("\n") == 1
    verify = run_saksi(env, "verify", "--all")
    assert verify.code == 1 and "custody/checkpoints/" in verify.stderr
    edited = run_saksi(env, "custody", "consistency", str(sizes[0]), str(sizes[1]))
    assert edited.code == 1 and "consistency proof fails" in edited.stderr
