"""Verification: re-hash every stored byte of a capture and check every WARC record.

A fault names exactly what is wrong (which artifact, which record, which custody event),
because "verification failed" is useless in a courtroom.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from storage.objects import IntegrityError, ObjectMissingError
from storage.records import Capture

from .digests import check_wacz, warc_digest_faults
from .evidence import Evidence


@dataclass
class Fault:
    capture_id: str | None
    where: str
    problem: str

    def __str__(self) -> str:
        prefix = f"capture {self.capture_id}: " if self.capture_id else ""
        return f"{prefix}{self.where}: {self.problem}"


@dataclass
class VerifyReport:
    captures: int = 0
    artifacts: int = 0
    records: int = 0
    bytes: int = 0
    custody_events: int = 0
    faults: list[Fault] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults


def verify_capture(evidence: Evidence, capture: Capture, report: VerifyReport) -> None:
    report.captures += 1
    store = evidence.store
    manifest_key = f"captures/{capture.id}/manifest.json"
    if capture.manifest_sha256 is None:
        return  # never sealed (refused at intake or interrupted): nothing stored to check
    manifest_artifacts = []
    try:
        with store.open_verified(manifest_key) as reader:
            raw = reader.read()
        if reader.sha256 != capture.manifest_sha256:
            report.faults.append(Fault(capture.id, f"manifest {manifest_key}",
                                       "SHA-256 differs from the one recorded when sealed"))
        manifest = json.loads(raw)
        manifest_artifacts = manifest.get("artifacts", [])
    except ObjectMissingError as exc:
        report.faults.append(Fault(capture.id, f"manifest {manifest_key}",
                                   f"missing from store ({exc})"))
    except IntegrityError as exc:
        report.faults.append(Fault(capture.id, f"manifest {manifest_key}", str(exc)))
    except (ValueError, UnicodeDecodeError):
        report.faults.append(Fault(capture.id, f"manifest {manifest_key}", "not valid JSON"))
    if manifest_artifacts:
        _check_seals(evidence, capture, raw, report)
    listed = {(a["kind"], a["sha256"]) for a in manifest_artifacts}
    for artifact in capture.artifacts:
        if artifact.kind == "manifest":
            continue
        report.artifacts += 1
        where = f"{artifact.kind} artifact {artifact.key}"
        if manifest_artifacts and (artifact.kind, artifact.sha256) not in listed:
            report.faults.append(Fault(capture.id, where, "not listed in the sealed manifest"))
        try:
            with store.open_verified(artifact.key) as reader:
                if artifact.kind == "warc":
                    _check_warc(reader, capture.id, where, report)
                reader.drain()
        except ObjectMissingError as exc:
            report.faults.append(Fault(capture.id, where, f"missing from store ({exc})"))
            continue
        except IntegrityError as exc:
            report.faults.append(Fault(capture.id, where, str(exc)))
            continue
        report.bytes += reader.bytes
        if reader.sha256 != artifact.sha256 or reader.bytes != artifact.bytes:
            report.faults.append(Fault(
                capture.id, where,
                f"SHA-256 is {reader.sha256} ({reader.bytes} bytes), sealed as "
                f"{artifact.sha256} ({artifact.bytes} bytes)"))
        elif artifact.kind == "wacz":
            with store.open_seekable(artifact.key) as package:
                for problem in check_wacz(package):
                    report.faults.append(Fault(capture.id, where, problem))
    keys = [manifest_key] + [a.key for a in capture.artifacts if a.kind != "manifest"]
    keys += [seal["key"] for seal in capture.seals if seal.get("key")]
    keys += [seal["chain_key"] for seal in capture.seals if seal.get("chain_key")]
    for key in keys:
        for version in store.foreign_versions(key):
            report.faults.append(Fault(capture.id, key, f"{version}: not written by Saksi"))


def _check_seals(evidence: Evidence, capture: Capture, manifest: bytes,
                 report: VerifyReport) -> None:
    """Each signature seal: its object intact, and a valid signature over the manifest
    by one of this installation's keys."""
    from .keys import public_pem
    from .signing import check_signature

    _check_timestamps(evidence, capture, manifest, report)
    signatures = [s for s in capture.seals if s.get("kind") == "signature"]
    if not signatures:
        return
    keys = {fp: public_pem(key) for fp, key in evidence.keys.public_keys().items()}
    for seal in signatures:
        where = f"signature seal {seal.get('key')}"
        try:
            with evidence.store.open_verified(seal["key"]) as reader:
                data = reader.read()
        except (ObjectMissingError, IntegrityError) as exc:
            report.faults.append(Fault(capture.id, where, str(exc)))
            continue
        if reader.sha256 != seal.get("sha256"):
            report.faults.append(Fault(capture.id, where, "SHA-256 differs from the one "
                                       "recorded when it was made"))
        problem = check_signature(data, manifest, keys)
        if problem:
            report.faults.append(Fault(capture.id, where, problem))


def _check_timestamps(evidence: Evidence, capture: Capture, manifest: bytes,
                      report: VerifyReport) -> None:
    """Each RFC 3161 token: intact, over this manifest, chaining to the configured roots
    (or, with none configured any more, to the self-signed roots kept with it)."""
    from cryptography import x509

    from .timestamps import TimestampError, load_roots, verify_reply

    for seal in [s for s in capture.seals if s.get("kind") == "timestamp"]:
        where = f"timestamp seal {seal.get('key')} ({seal.get('tsa')})"
        try:
            with evidence.store.open_verified(seal["key"]) as reader:
                reply = reader.read()
            with evidence.store.open_verified(seal["chain_key"]) as chain_reader:
                chain = chain_reader.read()
            if reader.sha256 != seal.get("sha256") or \
                    chain_reader.sha256 != seal.get("chain_sha256"):
                report.faults.append(Fault(capture.id, where, "SHA-256 differs from the one "
                                           "recorded when it was obtained"))
            ca_file = evidence.settings.timestamps.ca_file
            roots = load_roots(ca_file) if ca_file else [
                c for c in x509.load_pem_x509_certificates(chain) if c.issuer == c.subject]
        except (ObjectMissingError, IntegrityError, TimestampError, ValueError) as exc:
            report.faults.append(Fault(capture.id, where, str(exc)))
            continue
        problem = verify_reply(reply, manifest, roots)
        if problem:
            report.faults.append(Fault(capture.id, where, problem))


def _check_warc(stream, capture_id: str, where: str, report: VerifyReport) -> None:
    faults, records = warc_digest_faults(stream)
    report.records += records
    report.faults += [Fault(capture_id, f"{where} {record}".rstrip(), problem)
                      for record, problem in faults]
