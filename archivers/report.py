"""The bundle's human side: an HTML report and VERIFY.md, in Bahasa Indonesia or English.

The report shows, per capture, what was captured, when (UTC, and WIB beside it in the
Indonesian report), by whom and with which tool, every hash, the screenshot, the custody
timeline, the signing key's fingerprint to compare with the one the organisation
publishes, and a certificate statement for the person who certifies the process.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from storage.records import Capture, CustodyEvent

WIB = timezone(timedelta(hours=7), "WIB")

TEXT = {
    "en": {
        "title": "Evidence report", "url": "Requested URL", "final": "Final URL",
        "status": "Status", "captured": "Captured", "collector": "Collected by",
        "tool": "Tool", "hashes": "Files and SHA-256", "timeline": "Chain of custody",
        "key": "Signing key fingerprint (compare with the one the organisation publishes)",
        "case": "Case", "platform": "Platform", "screenshot": "Screenshot",
        "statement_title": "Certificate of authenticity (template)",
        "statement": (
            "I, ______________________, certify that I am qualified by my role at "
            "______________________ to attest to the process by which the records in this "
            "bundle were collected; that they were collected by the Saksi system, which "
            "records each web exchange as received, computes SHA-256 hashes at the moment "
            "of capture, signs each capture's manifest with the key shown above and obtains "
            "trusted timestamps; and that the hashes and signatures in this bundle verify, "
            "showing the records are unchanged since they were collected. (In the manner "
            "of US Federal Rule of Evidence 902(14), and of articles 5 and 6 of Indonesian "
            "Law 11/2008 on Electronic Information and Transactions.)\n\n"
            "Signature: ______________  Date: ______________"),
    },
    "id": {
        "title": "Laporan bukti elektronik", "url": "URL yang diminta", "final": "URL akhir",
        "status": "Status", "captured": "Waktu perekaman", "collector": "Dikumpulkan oleh",
        "tool": "Perangkat", "hashes": "Berkas dan SHA-256", "timeline": "Rantai penguasaan",
        "key": "Sidik kunci penanda tangan (bandingkan dengan yang diumumkan lembaga)",
        "case": "Perkara", "platform": "Platform", "screenshot": "Tangkapan layar",
        "statement_title": "Surat pernyataan keaslian (templat)",
        "statement": (
            "Saya, ______________________, selaku ______________________ pada "
            "______________________, menyatakan bahwa informasi elektronik dalam berkas ini "
            "dikumpulkan dengan sistem Saksi, yang merekam setiap pertukaran web apa adanya, "
            "menghitung hash SHA-256 pada saat perekaman, menandatangani manifest setiap "
            "rekaman dengan kunci di atas dan memperoleh penanda waktu tepercaya; dan bahwa "
            "hash serta tanda tangan dalam berkas ini terverifikasi, sehingga informasi "
            "tersebut utuh sejak dikumpulkan, sesuai Pasal 5 dan Pasal 6 Undang-Undang "
            "Nomor 11 Tahun 2008 tentang Informasi dan Transaksi Elektronik (dan setara "
            "dengan US Federal Rule of Evidence 902(14)).\n\n"
            "Tanda tangan: ______________  Tanggal: ______________"),
    },
}


def when(moment: datetime | None, language: str) -> str:
    if moment is None:
        return "-"
    text = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if language == "id":
        text += " (" + moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S WIB") + ")"
    return text


def render_report(captures: list[Capture], events: list[CustodyEvent], fingerprint: str,
                  evidence: Any, language: str) -> str:
    t = TEXT[language]
    e = html.escape
    parts = [f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'>"
             f"<title>{e(t['title'])}</title><style>body{{font-family:sans-serif;"
             "max-width:60em;margin:auto}td,th{text-align:left;vertical-align:top;"
             "padding:2px 8px}code{word-break:break-all}img{max-width:100%;"
             "border:1px solid #999}h2{break-before:page}"
             # Printed, a full-page screenshot is shrunk onto one page; the bundle holds
             # it at full size.
             "@media print{img{max-height:240mm;max-width:100%;object-fit:contain}"
             "h1+p+h2,h1+h2{break-before:auto}tr{break-inside:avoid}}"
             "</style></head><body>",
             f"<h1>{e(t['title'])}</h1>",
             f"<p>{e(t['key'])}: <code>{e(fingerprint)}</code></p>"]
    from .evidence import software_versions

    version = software_versions().get("saksi", "?")
    for c in captures:
        rows = [(t["url"], c.requested_url), (t["final"], c.final_url or ""),
                (t["case"], c.case or ""), (t["platform"], c.platform),
                (t["status"], c.status), (t["captured"], when(c.started_at, language)),
                (t["collector"], f"{c.requested_by} ({evidence.settings.collector.organisation})"),
                (t["tool"], f"Saksi {version}")]
        parts.append(f"<h2>{e(c.id)}</h2><table>")
        parts += [f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows]
        parts.append(f"</table><h3>{e(t['hashes'])}</h3><table>")
        for a in c.artifacts:
            parts.append(f"<tr><td>{e(a.kind)}</td><td>{e(a.name)}</td>"
                         f"<td><code>{e(a.sha256)}</code></td></tr>")
        parts.append("</table>")
        shot = _screenshot(c)
        if shot is not None:
            parts.append(f"<h3>{e(t['screenshot'])}</h3><img alt='' "
                         f"src='{e(_bundle_path(c, shot))}'>")
        parts.append(f"<h3>{e(t['timeline'])}</h3><table>")
        for ev in events:
            if ev.subject == c.id or ev.details.get("capture") == c.id:
                parts.append(f"<tr><td>{ev.seq}</td><td>{e(when(ev.at, language))}</td>"
                             f"<td>{e(ev.actor)}</td><td>{e(ev.action)}</td></tr>")
        parts.append("</table>")
    statement = e(t["statement"]).replace("\n", "<br>")
    parts.append(f"<h2>{e(t['statement_title'])}</h2><p>{statement}</p></body></html>")
    return "\n".join(parts)


def _screenshot(capture: Capture) -> Any:
    return next((a for a in capture.artifacts if a.kind == "screenshot"), None)


def _bundle_path(capture: Capture, artifact: Any) -> str:
    return f"captures/{capture.id}/{artifact.name or Path(artifact.key).name}"


def report_images(captures: list[Capture]) -> list[tuple[str, str, str]]:
    """(path in the report, object key, SHA-256) of each screenshot the report shows."""
    return [(_bundle_path(c, shot), shot.key, shot.sha256)
            for c in captures if (shot := _screenshot(c)) is not None]


def verify_guide(language: str) -> str:
    intro = ("Cara memeriksa berkas ini tanpa Saksi" if language == "id"
             else "How to check this bundle by hand, without Saksi")
    return f"""# {intro}

1. Every file against its SHA-256:

       sha256sum -c SHA256SUMS

2. A capture's signature (Ed25519 over the manifest file exactly as it is). Take the
   public key named by `key_fingerprint` from `keys/public-keys.json` into `key.pem`, the
   base64 `signature` from `captures/<id>/signature-….json` into `sig.b64`, then:

       base64 -d sig.b64 > sig.bin
       openssl pkeyutl -verify -pubin -inkey key.pem -rawin \\
           -in captures/<id>/manifest.json -sigfile sig.bin

   The key's fingerprint is the SHA-256 of the raw 32-byte public key; compare it with
   the one the organisation publishes.

3. A trusted timestamp (RFC 3161) over a manifest; `roots.pem` is the TSA's root
   certificate, the self-signed one at the end of the chain file:

       openssl ts -verify -data captures/<id>/manifest.json \\
           -in captures/<id>/timestamp-….tsr -CAfile roots.pem \\
           -untrusted captures/<id>/timestamp-…-chain.pem

4. Each file a manifest lists (`artifacts`: name and sha256) must have that SHA-256.

5. The custody events (`custody/events.jsonl`) are leaves of an RFC 6962 Merkle tree:
   leaf = SHA-256(0x00 || the event's canonical JSON), node = SHA-256(0x01 || left ||
   right). `custody/proofs.json` gives each event's inclusion proof against the root in
   `custody/checkpoint.json`, which is signed like a manifest.

`saksi verify bundle.zip` does all of this, and checks every WARC record digest, reading
only the bundle.
"""
