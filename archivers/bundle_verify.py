"""The offline verifier: checks an evidence bundle reading nothing but the bundle.

No catalog, store, configuration or network; it writes nothing. It checks every file's
SHA-256, the bundle manifest's signature, the chain of keys (rotation statements), each
capture's files against its own sealed manifest, the manifest's signature and timestamp
tokens, each custody event's hash and inclusion proof, the checkpoint's signature, and
(unless `quick`) every WARC record digest and WACZ hash. Every fault names the file,
record or event.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from storage.records import CustodyEvent, canonical_json

from . import merkle
from .bundle import MANIFEST, SIGNATURE, STAMP, STAMP_CHAIN
from .bundle_members import MemberResult, check_members
from .checkpoints import check_checkpoint
from .keys import SigningKeyError, load_public_pem, trusted_chain, verify_signature
from .signing import check_signature

OUTSIDE_FILES = {MANIFEST, SIGNATURE, STAMP, STAMP_CHAIN}


class UnreadableMember(ValueError):
    """A member the zip cannot give back intact (bad CRC-32, broken deflate stream)."""


def read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A small member whole; KeyError when absent, UnreadableMember when damaged."""
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UnreadableMember(f"unreadable in the bundle ({exc})") from None


@dataclass
class BundleReport:
    faults: list[str] = field(default_factory=list)
    captures: list[dict[str, Any]] = field(default_factory=list)
    trusted_keys: list[str] = field(default_factory=list)
    trust_reason: str = ""
    files: int = 0
    records: int = 0
    events: int = 0

    @property
    def ok(self) -> bool:
        return not self.faults


def verify_bundle(path: Path, trust: list[str], quick: bool = False,
                  workers: int | None = None) -> BundleReport:
    report = BundleReport()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.faults.append(f"{path}: not a readable bundle ({exc})")
        return report
    with zf:
        names = set(zf.namelist())
        try:
            manifest_bytes = read_member(zf, MANIFEST)
            manifest = json.loads(manifest_bytes)
            signature = json.loads(read_member(zf, SIGNATURE))
            keys_doc = json.loads(read_member(zf, "keys/public-keys.json"))
        except (KeyError, ValueError) as exc:
            report.faults.append(f"bundle: a required file is missing or unreadable ({exc})")
            return report
        accepted = _trusted_keys(keys_doc, trust, report)
        fp = signature.get("key_fingerprint")
        if fp not in accepted:
            report.faults.append(f"{SIGNATURE}: signed by key {fp}, outside the trusted chain")
        elif not verify_signature(load_public_pem(keys_doc["keys"][fp]),
                                  signature.get("signature", ""), manifest_bytes):
            report.faults.append(f"{SIGNATURE}: the bundle manifest's signature does not "
                                 "verify")
        listed = {f["path"]: f for f in manifest.get("files", [])}
        pem_keys = {k: keys_doc["keys"][k] for k in accepted if k in keys_doc["keys"]}
        members = _read_members(path, zf, names, listed, quick, workers, report)  # meanwhile
        _check_custody(zf, manifest, pem_keys, report)
        digests = _check_files(zf, names, listed, members, report)
        by_capture: dict[str, list[str]] = {}
        for name in sorted(names):
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "captures":
                by_capture.setdefault(parts[1], []).append(name)
        for capture_id in manifest.get("captures", []):
            _check_capture(zf, by_capture.get(capture_id, []), capture_id, pem_keys,
                           digests, report)
    return report


def _trusted_keys(keys_doc: dict[str, Any], trust: list[str], report: BundleReport
                  ) -> list[str]:
    """The keys whose signatures count: the rotation chain from the first key, from a
    pinned fingerprint on when --trust is given."""
    try:
        keys = {fp: load_public_pem(pem) for fp, pem in keys_doc.get("keys", {}).items()}
    except (SigningKeyError, ValueError):
        report.faults.append("keys/public-keys.json: a public key is unreadable")
        return []
    rotations = keys_doc.get("rotations", [])
    successors = {r.get("next") for r in rotations}
    firsts = [fp for fp in keys if fp not in successors]
    first = min(firsts, key=lambda fp: 0 if any(r.get("previous") == fp for r in rotations)
                else 1) if firsts else None
    if first is None:
        report.faults.append("keys/public-keys.json: no first key to start the chain from")
        return []
    chain, problems = trusted_chain(first, keys, rotations)
    report.faults += [f"keys/public-keys.json: {p}" for p in problems]
    if trust:
        pinned = [i for i, fp in enumerate(chain) if fp in trust]
        if not pinned:
            report.faults.append("none of the --trust fingerprints is in the bundle's chain "
                                 "of keys")
            return []
        chain = chain[pinned[0]:]
        report.trust_reason = f"pinned with --trust {chain[0]}, then its rotation chain"
    else:
        report.trust_reason = (f"no --trust given: trusted the bundle's own chain from key "
                               f"{first}; compare it with the fingerprint the organisation "
                               "publishes")
    report.trusted_keys = chain
    return chain


def _read_members(path: Path, zf: zipfile.ZipFile, names: set[str],
                  listed: dict[str, dict[str, Any]], quick: bool, workers: int | None,
                  report: BundleReport) -> Iterator[MemberResult]:
    """Start reading every listed file (on all cores); results come as they are read."""
    for name in sorted(names - OUTSIDE_FILES - set(listed)):
        report.faults.append(f"{name}: in the bundle but not in its manifest")
    for name in sorted(set(listed) - names):
        report.faults.append(f"{name}: listed in the bundle manifest but missing")
    present = [(name, zf.getinfo(name).file_size) for name in listed if name in names]
    return check_members(path, present, deep=not quick, workers=workers)


def _check_files(zf: zipfile.ZipFile, names: set[str], listed: dict[str, dict[str, Any]],
                 members: Iterator[MemberResult], report: BundleReport) -> dict[str, str]:
    """Every file's digest against the bundle manifest and SHA256SUMS; returns them."""
    digests: dict[str, str] = {}
    for result in members:
        report.files += 1
        report.records += result.records
        report.faults += result.faults
        digests[result.name] = result.sha256
        expected = listed[result.name].get("sha256")
        if result.sha256 and result.sha256 != expected:
            report.faults.append(f"{result.name}: SHA-256 is {result.sha256}, the bundle "
                                 f"manifest says {expected}")
    try:
        sums = read_member(zf, "SHA256SUMS").decode() if "SHA256SUMS" in names else ""
    except (UnreadableMember, UnicodeDecodeError):
        sums = ""  # named by the file checks above
    for line in sums.splitlines():
        digest, _, name = line.partition("  ")
        if listed.get(name, {}).get("sha256") != digest:
            report.faults.append(f"SHA256SUMS: the line for {name} does not match")
    return digests


def _check_capture(zf: zipfile.ZipFile, names: list[str], capture_id: str,
                   keys: dict[str, str], digests: dict[str, str], report: BundleReport
                   ) -> None:
    base = f"captures/{capture_id}/"
    row = {"id": capture_id, "files": 0, "signature": "missing", "timestamps": 0}
    report.captures.append(row)
    try:
        manifest_bytes = read_member(zf, base + "manifest.json")
        manifest = json.loads(manifest_bytes)
    except (KeyError, ValueError):
        report.faults.append(f"{base}manifest.json: missing or unreadable")
        return
    row["url"] = manifest.get("capture", {}).get("requested_url")
    for artifact in manifest.get("artifacts", []):
        name = base + (artifact.get("name") or Path(artifact["key"]).name)
        if name not in names:
            report.faults.append(f"{name}: listed in the capture's manifest but missing")
            continue
        row["files"] += 1
        digest = digests.get(name)  # read once, by _check_files
        if digest and digest != artifact["sha256"]:
            report.faults.append(f"{name}: not the file capture {capture_id} sealed "
                                 f"(SHA-256 {digest}, manifest says {artifact['sha256']})")
    for name in [n for n in names if n.startswith(base + "signature-")]:
        try:
            problem = check_signature(read_member(zf, name), manifest_bytes, keys)
        except UnreadableMember as exc:
            problem = str(exc)
        row["signature"] = "ok" if problem is None else "FAULT"
        if problem:
            report.faults.append(f"{name}: {problem}")
    for name in [n for n in names if n.endswith(".tsr")]:
        chain_name = name[:-len(".tsr")] + "-chain.pem"
        try:
            chain = read_member(zf, chain_name) if chain_name in names else b""
            problem = _check_token(read_member(zf, name), manifest_bytes, chain)
        except UnreadableMember as exc:
            problem = str(exc)
        if problem:
            report.faults.append(f"{name}: {problem}")
        else:
            row["timestamps"] += 1


def _check_token(reply: bytes, message: bytes, chain: bytes) -> str | None:
    from .timestamps import verify_reply

    try:
        roots = [c for c in x509.load_pem_x509_certificates(chain) if c.issuer == c.subject]
    except ValueError:
        return "the certificate chain beside the token is unreadable"
    if not roots:
        return "no root certificate beside the token"
    return verify_reply(reply, message, roots)


def _check_custody(zf: zipfile.ZipFile, manifest: dict[str, Any], keys: dict[str, str],
                   report: BundleReport) -> None:
    try:
        checkpoint = json.loads(read_member(zf, "custody/checkpoint.json"))
        proofs = json.loads(read_member(zf, "custody/proofs.json"))
        lines = read_member(zf, "custody/events.jsonl").decode().splitlines()
    except (KeyError, ValueError):
        report.faults.append("custody: events, proofs or checkpoint missing or unreadable")
        return
    problem = check_checkpoint(checkpoint, keys)
    if problem:
        report.faults.append(f"custody/checkpoint.json: {problem}")
    size, root = int(checkpoint["tree_size"]), checkpoint["root_hash"]
    proof_of = {p["seq"]: p for items in proofs.values() for p in items}
    by_seq: dict[int, CustodyEvent] = {}
    previous = 0
    for number, line in enumerate(lines, start=1):
        where = f"custody/events.jsonl line {number}"
        try:
            data = json.loads(line)
            ev = CustodyEvent.from_json(data)
        except (ValueError, KeyError, TypeError):
            report.faults.append(f"{where}: not a custody event")
            continue
        if ev.hash != data.get("hash"):
            report.faults.append(f"{where} (event {ev.seq}): contents do not match its hash")
        if ev.seq <= previous:
            report.faults.append(f"{where} (event {ev.seq}): out of order")
        previous = ev.seq
        by_seq[ev.seq] = ev
        proof = proof_of.get(ev.seq)
        leaf = merkle.leaf_hash(canonical_json(ev.to_json()))
        try:
            ok = proof is not None and merkle.root_from_inclusion(
                ev.seq - 1, size, leaf, [bytes.fromhex(h) for h in proof["proof"]]
            ).hex() == root
        except ValueError:
            ok = False
        if not ok:
            report.faults.append(f"{where} (event {ev.seq}): not in the signed custody log "
                                 "(inclusion proof fails)")
        report.events += 1
    for seq in manifest.get("events", []):
        if seq not in by_seq:
            report.faults.append(f"custody/events.jsonl: event {seq} is missing")
