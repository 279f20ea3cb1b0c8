"""Evidence bundles: exported once, checked by a second Saksi process that has nothing but
the bundle (empty config and data dir, no network needed), and every tampering the issue
names is caught and named: a flipped byte, a removed or reordered custody event, two
captures' files swapped, a manifest re-signed with a key outside the rotation chain."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archivers.keys import fingerprint, public_pem
from tests.conftest import SAKSI, Run, artifact, run_saksi, saksi_env
from tests.fixtures.tsa import LocalTSA


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    with LocalTSA(tmp_path_factory.mktemp("tsa")) as server:
        yield server


@pytest.fixture(scope="module")
def exported(site, tsa, tmp_path_factory):
    """Two captures sealed with key 1, one with key 2 after a rotation, all exported."""
    base = tmp_path_factory.mktemp("bundle")
    env = saksi_env(base / "data", site, SAKSI_TIMESTAMPS__TSA_URLS=tsa.url,
                    SAKSI_TIMESTAMPS__CA_FILE=str(tsa.ca_pem_path))
    first_key = run_saksi(env, "keys", "init", "--json").json()["fingerprint"]
    run = run_saksi(env, "capture", "https://news.example.id/page",
                    "https://news.example.id/page2", "--case", "BWS-9", "--json")
    assert run.code == 0, run.stderr
    rotated = run_saksi(env, "keys", "rotate", "--json")
    assert rotated.code == 0, rotated.stderr
    later = run_saksi(env, "capture", site.http_url("/gzip"), "--case", "BWS-9", "--json")
    assert later.code == 0, later.stderr
    bundle = base / "bukti.zip"
    made = run_saksi(env, "export", "--case", "BWS-9", "--out", str(bundle), "--json")
    assert made.code == 0, made.stderr
    return {"env": env, "bundle": bundle, "captures": run.captures() + later.captures(),
            "keys": [first_key, rotated.json()["next"]], "summary": made.json()}


def offline_verify(bundle: Path, where: Path, *args: str) -> Run:
    """A second Saksi process with an empty config and data dir, in a fresh directory."""
    where.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAKSI_", "AWS_"))}
    env["XDG_CONFIG_HOME"] = str(where / "empty-config")
    proc = subprocess.run([SAKSI, "verify", str(bundle), *args], env=env, cwd=where,
                          capture_output=True, text=True, timeout=120)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def tampered(bundle: Path, out: Path, change) -> Path:
    """A copy of the bundle with `change(members)` applied to its {name: bytes}."""
    with zipfile.ZipFile(bundle) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    change(members)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def test_a_bundle_verifies_offline_in_a_fresh_directory(exported, tmp_path):
    fresh = tmp_path / "elsewhere"
    run = offline_verify(exported["bundle"], fresh, "--json")
    assert run.code == 0, run.stderr
    result = run.json()
    assert result["ok"] and len(result["captures"]) == 3
    assert all(c["signature"] == "ok" and c["timestamps"] == 1 for c in result["captures"])
    assert result["trusted_keys"] == exported["keys"] and "no --trust" in result["trust"]
    assert sorted(p.name for p in fresh.iterdir()) == []  # wrote nothing, not even config
    hand = tmp_path / "hand"
    with zipfile.ZipFile(exported["bundle"]) as zf:
        zf.extractall(hand)
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=hand, capture_output=True,
                          text=True)
    assert sums.returncode == 0, sums.stdout
    report = (hand / "report.html").read_text()
    assert "WIB" in report and exported["keys"][1] in report
    assert "Pasal 5 dan Pasal 6" in report and (hand / "VERIFY.md").is_file()
    pdf = pdf_text(hand / "report.pdf")
    assert all(c["id"] in pdf for c in exported["captures"])
    assert "WIB" in pdf and "Pasal 5 dan Pasal 6" in pdf
    events = run_saksi(exported["env"], "custody", "log", "--json").json_lines()
    assert {e["subject"] for e in events if e["action"] == "export.created"} == \
        {c["id"] for c in exported["captures"]}


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join((page.extract_text() or "") for page in PdfReader(path).pages)


def test_english_report_pdf_shows_the_screenshot(site, tmp_path):
    """A browser capture's report, printed: English, the screenshot in it as an image."""
    from pypdf import PdfReader

    env = saksi_env(tmp_path / "data", site)
    assert run_saksi(env, "keys", "init").code == 0
    run = run_saksi(env, "capture", "https://news.example.id/page", "--mode", "browser",
                    "--case", "EN-1", "--json")
    assert run.code == 0, run.stderr
    bundle = tmp_path / "en.zip"
    assert run_saksi(env, "export", "--case", "EN-1", "--out", str(bundle),
                     "--language", "en").code == 0
    with zipfile.ZipFile(bundle) as zf:
        zf.extract("report.pdf", tmp_path)
        sums = zf.read("SHA256SUMS").decode()
    assert "  report.pdf\n" in sums
    reader = PdfReader(tmp_path / "report.pdf")
    text = pdf_text(tmp_path / "report.pdf")
    assert run.captures()[0]["id"] in text and "Certificate of authenticity" in text
    assert "WIB" not in text
    assert sum(len(page.images) for page in reader.pages) >= 1
    no_pdf = run_saksi(env, "export", "--case", "EN-1", "--out", str(tmp_path / "n.zip"),
                       "--no-pdf")
    assert no_pdf.code == 0, no_pdf.stderr
    with zipfile.ZipFile(tmp_path / "n.zip") as zf:
        assert "report.pdf" not in zf.namelist() and "report.html" in zf.namelist()


def test_trust_pins_a_key_and_its_successors_only(exported, tmp_path):
    first, second = exported["keys"]
    assert offline_verify(exported["bundle"], tmp_path / "a", "--trust", first).code == 0
    pinned_later = offline_verify(exported["bundle"], tmp_path / "b", "--trust", second)
    assert pinned_later.code == 1  # the two captures signed before the rotation
    assert f"signed by key {first}" in pinned_later.stderr
    stranger = offline_verify(exported["bundle"], tmp_path / "c", "--trust", "ab" * 32)
    assert stranger.code == 1 and "--trust" in stranger.stderr


def test_a_flipped_byte_anywhere_is_named(exported, tmp_path):
    warc = artifact(exported["captures"][0], "warc")
    name = f"captures/{exported['captures'][0]['id']}/{warc['name']}"

    def flip(members):
        data = bytearray(members[name])
        data[len(data) // 2] ^= 0x01
        members[name] = bytes(data)

    run = offline_verify(tampered(exported["bundle"], tmp_path / "t.zip", flip), tmp_path / "v")
    assert run.code == 1
    assert f"FAULT {name}: SHA-256 is" in run.stderr
    for member in ("custody/checkpoint.json", "report.html", "bundle-manifest.json"):
        def flip_member(members, member=member):
            members[member] = members[member].replace(b"a", b"b", 1)

        bad = offline_verify(tampered(exported["bundle"], tmp_path / "m.zip", flip_member),
                             tmp_path / member.replace("/", "-"))
        assert bad.code == 1, member


def test_a_flipped_byte_in_the_zip_file_itself_is_named(exported, tmp_path):
    """Bytes damaged in place (the zip's CRC-32 no longer matches), in a stored WARC and
    in a deflated custody file; the check on all cores and on one name the same faults."""
    raw = exported["bundle"].read_bytes()
    with zipfile.ZipFile(exported["bundle"]) as zf:
        infos = {info.filename: info for info in zf.infolist()}
    warc = artifact(exported["captures"][0], "warc")
    stored = f"captures/{exported['captures'][0]['id']}/{warc['name']}"
    for name in (stored, "custody/proofs.json"):
        info = infos[name]
        start = info.header_offset + 30 + int.from_bytes(
            raw[info.header_offset + 26:info.header_offset + 28], "little") + int.from_bytes(
            raw[info.header_offset + 28:info.header_offset + 30], "little")
        damaged = bytearray(raw)
        damaged[start + info.compress_size // 2] ^= 0x10
        bad = tmp_path / f"raw-{len(name)}.zip"
        bad.write_bytes(bytes(damaged))
        run = offline_verify(bad, tmp_path / f"v-{len(name)}", "--json")
        assert run.code == 1, name
        faults = run.json()["faults"]
        assert any(f.startswith(f"{name}: ") or f.startswith(f"{name} ") for f in faults), \
            faults
        one = offline_verify(bad, tmp_path / f"w-{len(name)}", "--json", "--workers", "1")
        assert one.code == 1 and sorted(one.json()["faults"]) == sorted(faults)
        assert "Traceback" not in run.stderr + one.stderr


def test_a_removed_or_reordered_custody_event_is_named(exported, tmp_path):
    def drop(members):
        lines = members["custody/events.jsonl"].splitlines(keepends=True)
        members["custody/events.jsonl"] = b"".join(lines[:2] + lines[3:])

    removed = offline_verify(tampered(exported["bundle"], tmp_path / "r.zip", drop),
                             tmp_path / "v1")
    assert removed.code == 1 and "is missing" in removed.stderr

    def swap(members):
        lines = members["custody/events.jsonl"].splitlines(keepends=True)
        lines[1], lines[2] = lines[2], lines[1]
        members["custody/events.jsonl"] = b"".join(lines)

    reordered = offline_verify(tampered(exported["bundle"], tmp_path / "o.zip", swap),
                               tmp_path / "v2")
    assert reordered.code == 1 and "out of order" in reordered.stderr


def test_two_captures_files_swapped_are_named(exported, tmp_path):
    one, two = exported["captures"][:2]
    a = f"captures/{one['id']}/{artifact(one, 'warc')['name']}"
    b = f"captures/{two['id']}/{artifact(two, 'warc')['name']}"

    def swap(members):
        members[a], members[b] = members[b], members[a]

    run = offline_verify(tampered(exported["bundle"], tmp_path / "s.zip", swap), tmp_path / "v")
    assert run.code == 1
    assert f"{a}: not the file capture {one['id']} sealed" in run.stderr
    assert f"{b}: not the file capture {two['id']} sealed" in run.stderr


def test_a_manifest_re_signed_outside_the_rotation_chain_is_caught(exported, tmp_path):
    capture = exported["captures"][0]
    base = f"captures/{capture['id']}/"
    outsider = Ed25519PrivateKey.generate()
    outsider_fp = fingerprint(outsider.public_key())

    def resign(members):
        keys = json.loads(members["keys/public-keys.json"])
        keys["keys"][outsider_fp] = public_pem(outsider.public_key())
        members["keys/public-keys.json"] = json.dumps(keys).encode()
        [name] = [n for n in members if n.startswith(base + "signature-")]
        seal = json.loads(members[name])
        seal["key_fingerprint"] = outsider_fp
        seal["signature"] = base64.b64encode(
            outsider.sign(members[base + "manifest.json"])).decode()
        members[name] = json.dumps(seal).encode()

    run = offline_verify(tampered(exported["bundle"], tmp_path / "k.zip", resign),
                         tmp_path / "v")
    assert run.code == 1
    assert f"signed by key {outsider_fp}" in run.stderr
