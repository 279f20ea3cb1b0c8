"""Checks that need nothing but the bytes: every WARC record's digests, and a WACZ's own
hashes. Kept apart from the store so the bundle verifier's worker processes load only
this (and warcio), not the catalog or the store."""

from __future__ import annotations

import hashlib
import json
import zipfile

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed


def warc_digest_faults(stream) -> tuple[list[tuple[str, str]], int]:
    """Every record's block and payload digest, streamed, with warcio as the checker:
    ((record, problem) for each fault, records read)."""
    faults: list[tuple[str, str]] = []
    records = 0
    try:
        iterator = ArchiveIterator(stream, check_digests=True)
        for record in iterator:
            # The raw stream: digests cover stored bytes, and decoding (br, gzip) is
            # neither needed nor safe to depend on here.
            while record.raw_stream.read(1024 * 1024):
                pass
            records += 1
            if record.digest_checker.passed is False:
                rid = record.rec_headers.get_header("WARC-Record-ID")
                uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                for problem in record.digest_checker.problems:
                    faults.append((f"record {rid} {uri}".rstrip(), str(problem)))
    except (ArchiveLoadFailed, Exception) as exc:  # zlib, EOF, parse errors alike
        detail = str(exc).encode("ascii", "backslashreplace").decode()[:160]
        faults.append(("", f"unreadable WARC ({type(exc).__name__}: {detail})"))
    return faults, records


def check_wacz(package) -> list[str]:
    """Each file inside a WACZ against datapackage.json, and that against its digest."""
    problems: list[str] = []
    try:
        with zipfile.ZipFile(package) as zf:
            data = zf.read("datapackage.json")
            digest = json.loads(zf.read("datapackage-digest.json"))
            if digest.get("hash") != "sha256:" + hashlib.sha256(data).hexdigest():
                problems.append("datapackage.json does not match datapackage-digest.json")
            for res in json.loads(data).get("resources", []):
                sha = hashlib.sha256()
                with zf.open(res["path"]) as member:
                    while chunk := member.read(1024 * 1024):
                        sha.update(chunk)
                if res.get("hash") != f"sha256:{sha.hexdigest()}":
                    problems.append(f"{res['path']} does not match datapackage.json")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        problems.append(f"unreadable WACZ: {exc}")
    return problems
