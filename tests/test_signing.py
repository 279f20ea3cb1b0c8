"""Signing keys and signature seals: a capture's manifest is signed by this installation's
Ed25519 key, the signature kept beside it; keys rotate with a statement both keys sign;
captures sealed without a usable key are signed later by `seal --pending`."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from archivers.keys import load_public_pem, trusted_chain
from tests.conftest import SAKSI, Run, artifact, clone_data_dir, run_saksi, saksi_env


@pytest.fixture()
def env(site, tmp_path):
    return saksi_env(tmp_path / "data", site)


@pytest.fixture(scope="module")
def signed_capture(site, tmp_path_factory):
    """`keys init` then a capture of /page, run once: (data dir, config dir, keys init
    output, capture). The tests that start there each get a copy of both dirs."""
    root = tmp_path_factory.mktemp("signed")
    env = saksi_env(root / "data", site)
    made = run_saksi(env, "keys", "init", "--json")
    assert made.code == 0, made.stderr
    return root / "data", Path(env["XDG_CONFIG_HOME"]), made, capture(env, site)


@pytest.fixture()
def signed(signed_capture, env):
    """(keys init output, capture) in this test's own copies of the data and key dirs."""
    data, config, made, result = signed_capture
    clone_data_dir(data, env["SAKSI_DATA_DIR"])
    clone_data_dir(config, env["XDG_CONFIG_HOME"])
    return made, json.loads(json.dumps(result))


def key_dir(env) -> str:
    return os.path.join(env["XDG_CONFIG_HOME"], "saksi", "keys")


def capture(env, site, path: str = "/page") -> dict:
    run = run_saksi(env, "capture", site.http_url(path), "--json")
    assert run.code == 0, run.stderr
    [result] = run.captures()
    return result


def stored(env, key: str) -> bytes:
    with open(os.path.join(env["SAKSI_DATA_DIR"], key), "rb") as f:
        return f.read()


def manifest_of(env, result: dict) -> dict:
    return json.loads(stored(env, artifact(result, "manifest")["key"]))


def saksi_with_input(env, text: str, *args: str) -> Run:
    proc = subprocess.run([SAKSI, *args], env=env, input=text, capture_output=True, text=True,
                          timeout=60)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_a_capture_is_signed_by_the_installation_key(signed_capture, signed, env, tmp_path):
    made, result = signed
    fp = made.json()["fingerprint"]
    made_in = signed_capture[1] / "saksi" / "keys"  # as `keys init` left it
    assert stat.S_IMODE(os.stat(made_in / "private" / f"{fp}.pem").st_mode) == 0o600
    again = run_saksi(env, "keys", "init")
    assert again.code == 2 and "keys rotate" in again.stderr

    [seal] = result["seals"]
    assert (seal["kind"], seal["key_fingerprint"]) == ("signature", fp)
    assert fp in manifest_of(env, result)["seals"]["signature"]
    signature = json.loads(stored(env, seal["key"]))
    manifest = stored(env, artifact(result, "manifest")["key"])
    # the outside judge: OpenSSL checks the detached signature over the manifest bytes
    exported = json.loads(run_saksi(env, "keys", "export-public").stdout)
    (tmp_path / "pub.pem").write_text(exported["keys"][fp])
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(signature["signature"]))
    (tmp_path / "manifest.json").write_bytes(manifest)
    check = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                            str(tmp_path / "pub.pem"), "-rawin", "-in",
                            str(tmp_path / "manifest.json"), "-sigfile",
                            str(tmp_path / "sig.bin")], capture_output=True, text=True)
    assert check.returncode == 0 and "Signature Verified Successfully" in check.stdout
    assert run_saksi(env, "verify", result["id"]).code == 0


def test_a_forged_or_damaged_signature_is_named(signed, env):
    _, result = signed
    seal_path = os.path.join(env["SAKSI_DATA_DIR"], result["seals"][0]["key"])
    original = open(seal_path, "rb").read()
    os.chmod(seal_path, 0o644)
    forged = json.loads(original)
    outsider = run_saksi({**env, "XDG_CONFIG_HOME": env["XDG_CONFIG_HOME"] + "-other"},
                         "keys", "init", "--json").json()["fingerprint"]
    forged["key_fingerprint"] = outsider
    with open(seal_path, "w") as f:
        json.dump(forged, f)
    bad = run_saksi(env, "verify", result["id"])
    assert bad.code == 1
    assert f"signed by key {outsider}, which is not one of this installation's keys" \
        in bad.stderr
    assert "SHA-256 differs" in bad.stderr


def test_seal_pending_signs_what_was_captured_before_a_key(env, site):
    early = capture(env, site)
    assert early["seals"] == []
    assert manifest_of(env, early)["seals"]["signature"].startswith("none")
    no_key = run_saksi(env, "seal", "--pending")
    assert no_key.code == 2 and "keys init" in no_key.stderr
    assert run_saksi(env, "keys", "init").code == 0
    signed = run_saksi(env, "seal", "--pending", "--json")
    assert signed.code == 0, signed.stderr
    assert signed.json_lines() == [{"id": early["id"], "sealed": True, "error": None}]
    shown = run_saksi(env, "show", early["id"], "--json").json()
    assert [s["kind"] for s in shown["seals"]] == ["signature"]
    assert run_saksi(env, "seal", "--pending").stdout.startswith("nothing to seal")
    assert run_saksi(env, "verify", "--all").code == 0


def test_a_passphrase_protected_key_waits_for_its_passphrase(env, site, tmp_path):
    made = saksi_with_input(env, "rahasia\nrahasia\n", "keys", "init", "--passphrase")
    assert made.code == 0, made.stderr
    result = capture(env, site)  # the sealer cannot ask: the capture waits for its seal
    assert result["seals"] == []
    assert "passphrase-protected" in manifest_of(env, result)["seals"]["signature"]
    assert run_saksi(env, "seal", "--pending").code == 2  # no terminal, no passphrase file
    wrong = tmp_path / "wrong"
    wrong.write_text("salah\n")
    refused = run_saksi({**env, "SAKSI_SIGNING__PASSPHRASE_FILE": str(wrong)}, "seal",
                        "--pending")
    assert refused.code == 2 and "wrong or missing passphrase" in refused.stderr
    assert run_saksi(env, "show", result["id"], "--json").json()["seals"] == []
    secret = tmp_path / "passphrase"
    secret.write_text("rahasia\n")
    unattended = {**env, "SAKSI_SIGNING__PASSPHRASE_FILE": str(secret)}
    assert run_saksi(unattended, "seal", "--pending").code == 0
    later = capture(unattended, site, "/page2")
    assert [s["kind"] for s in later["seals"]] == ["signature"]
    assert run_saksi(unattended, "verify", "--all").code == 0


def test_rotation_keeps_old_signatures_valid_and_is_signed_by_both_keys(signed, env, site):
    made, before = signed
    first_fp = made.json()["fingerprint"]
    rotated = run_saksi(env, "keys", "rotate", "--json")
    assert rotated.code == 0, rotated.stderr
    statement = rotated.json()
    assert (statement["previous"], statement["sequence"]) == (first_fp, 1)
    after = capture(env, site, "/page2")
    assert after["seals"][0]["key_fingerprint"] == statement["next"] != first_fp
    listed = run_saksi(env, "keys", "list", "--json").json_lines()
    assert {(k["fingerprint"], k["state"]) for k in listed} == {
        (first_fp, "retired"), (statement["next"], "current")}
    exported = json.loads(run_saksi(env, "keys", "export-public").stdout)
    keys = {fp: load_public_pem(pem) for fp, pem in exported["keys"].items()}
    chain, problems = trusted_chain(first_fp, keys, exported["rotations"])
    assert chain == [first_fp, statement["next"]] and problems == []
    tampered = {**exported["rotations"][0], "next": first_fp}
    assert trusted_chain(first_fp, keys, [tampered])[1]  # a forged hand-over is refused
    assert run_saksi(env, "verify", "--all").code == 0
    assert before["seals"][0]["key_fingerprint"] == first_fp
