"""End to end: `saksi capture` against the loopback fixture site, checked byte for byte
against what the server logged as sent, and with tools nobody here wrote."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import artifact, run_saksi, saksi_env, warc_records

PATHS = {
    "redirect": "/redirect/3",
    "gzip": "/gzip",
    "brotli": "/brotli",
    "chunked": "/chunked",
    "repeated": "/repeated-headers",
    "reason": "/reason",
    "gone": "/gone",
    "s404": "/status/404",
    "s500": "/status/500",
    "query": "/query?a=1&b=dua&c=%20x",
    "nonascii": "/non-ascii-header",
    "binary": "/binary.bin",
    "endless": "/endless",
    "slow": "/slow",
    "hang": "/hang",
    "cut": "/cut",
    "close": "/close-delimited",
    "bad_redirect": "/redirect-to?url=http%3A%2F%2F127.0.0.5%2Fadmin",
}


@pytest.fixture(scope="module")
def captured(site, tmp_path_factory):
    """One run of `saksi capture` over every fixture route (as an investigator would)."""
    data = tmp_path_factory.mktemp("static") / "data"
    env = saksi_env(data, site)
    urls = {name: site.http_url(path) for name, path in PATHS.items()}
    urls["https_mapped"] = "https://news.example.id/page2"
    urls["http_mapped"] = "http://hoax.example.id/query?src=hoax"
    urls["loopback_refused"] = "http://127.0.0.2/"
    urls["ipv6_loopback_refused"] = "http://[::1]/"
    urls["odd_literal"] = "http://0x7f.1/"
    urls["ftp"] = "ftp://example.org/file"
    urls["malformed"] = "http://exa mple.org/"
    run = run_saksi(env, "capture", *urls.values(), "--case", "BWS-001",
                    "--note", "laporan 123", "--json")
    by_url = {c["requested_url"]: c for c in run.json_lines()}
    results = {name: by_url[url] for name, url in urls.items()}
    return {"run": run, "data": data, "env": env, "by_name": results, "urls": urls}


def _warc(captured, name) -> list:
    capture = captured["by_name"][name]
    return warc_records(captured["data"] / artifact(capture, "warc")["key"])


def _responses(records):
    return [(h, b) for h, b in records if h["WARC-Type"] == ["response"]]


def _requests(records):
    return [(h, b) for h, b in records if h["WARC-Type"] == ["request"]]


def test_every_link_gets_one_result_and_failures_exit_1(captured):
    run = captured["run"]
    assert run.code == 1  # some links are meant to fail
    assert len(run.json_lines()) == len(captured["urls"])
    failed = [c for c in run.json_lines() if c["status"] == "failed"]
    error_lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == len(failed)
    assert "Traceback" not in run.stderr
    for c in failed:
        assert c["error"] and "\n" not in c["error"]


@pytest.mark.parametrize("name", ["gzip", "brotli", "chunked", "repeated", "reason",
                                  "gone", "s404", "s500", "query", "nonascii", "binary",
                                  "close"])
def test_response_block_is_exactly_what_the_server_sent(captured, site, name):
    records = _warc(captured, name)
    (headers, block), = _responses(records)
    assert block == site.sent(PATHS[name])[0]
    assert headers["WARC-Target-URI"] == [captured["urls"][name]]
    assert headers["WARC-IP-Address"] == ["127.0.0.1"]
    digest = hashlib.sha256(block).hexdigest()
    assert headers["WARC-Block-Digest"] == [f"sha256:{digest}"]
    head_end = block.index(b"\r\n\r\n") + 4
    payload = hashlib.sha256(block[head_end:]).hexdigest()
    assert headers["WARC-Payload-Digest"] == [f"sha256:{payload}"]


def test_request_record_is_the_request_as_sent_and_points_at_its_response(captured, site):
    records = _warc(captured, "query")
    (req_headers, req_block), = _requests(records)
    (resp_headers, _), = _responses(records)
    assert req_block == site.received(PATHS["query"])[0]
    assert req_block.startswith(b"GET /query?a=1&b=dua&c=%20x HTTP/1.1\r\n")
    assert req_headers["WARC-Concurrent-To"] == resp_headers["WARC-Record-ID"]


def test_encoded_bodies_are_kept_encoded(captured, site):
    (_, gz), = _responses(_warc(captured, "gzip"))
    assert gz.endswith(site.body_of("/gzip"))
    assert b"Content-Encoding: gzip" in gz
    (_, br), = _responses(_warc(captured, "brotli"))
    assert br.endswith(site.body_of("/brotli"))


def test_chunk_framing_and_header_order_survive(captured):
    (_, chunked), = _responses(_warc(captured, "chunked"))
    assert b"Transfer-Encoding: chunked" in chunked and b";ext=1\r\n" in chunked
    assert chunked.endswith(b"0\r\n\r\n")
    (_, repeated), = _responses(_warc(captured, "repeated"))
    head = repeated.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
    names = [line.split(b":")[0] for line in head]
    interleaved = [n for n in names if n.lower() in (b"set-cookie", b"x-trace")]
    assert interleaved == [b"Set-Cookie", b"X-Trace", b"Set-Cookie", b"X-Trace", b"set-cookie"]
    assert b"Content-Length" in names and b"Connection" in names


def test_reason_phrase_and_non_ascii_header_bytes_are_raw(captured):
    (_, block), = _responses(_warc(captured, "reason"))
    assert block.startswith(b"HTTP/1.1 200 Semua Baik\r\n")
    (_, block), = _responses(_warc(captured, "nonascii"))
    assert "Berita Bohong – cek fakta é".encode() in block
    assert b"\xe9" in block


def test_error_pages_are_evidence(captured):
    """An error page is sealed like any page; a 404 is the site saying the page is not
    there (`unavailable`, which a re-check reports as a takedown), a 500 is not."""
    for name, status, outcome in (("gone", 404, "unavailable"), ("s404", 404, "unavailable"),
                                  ("s500", 500, "captured")):
        c = captured["by_name"][name]
        assert c["status"] == outcome and c["http_status"] == status
        assert artifact(c, "warc") and c["manifest_sha256"]


def test_redirect_chain_is_recorded_hop_by_hop(captured, site):
    c = captured["by_name"]["redirect"]
    assert c["status"] == "captured"
    assert c["final_url"] == site.http_url("/page")
    records = _warc(captured, "redirect")
    uris = [h["WARC-Target-URI"][0] for h, _ in _responses(records)]
    assert uris == [site.http_url(p) for p in
                    ("/redirect/3", "/redirect/2", "/redirect/1", "/redirect/0", "/page")]
    assert _responses(records)[-1][1] == site.sent("/page")[0]
    meta = [json.loads(b) for h, b in records if h["WARC-Type"] == ["metadata"]]
    assert [hop["status"] for hop in meta[0]["redirect_chain"]] == [302, 302, 302, 302, 200]


def test_caps_keep_the_bytes_and_say_truncated(captured, site):
    endless = captured["by_name"]["endless"]
    assert endless["status"] == "captured" and endless["truncated"] == "length"
    (headers, block), = _responses(_warc(captured, "endless"))
    assert headers["WARC-Truncated"] == ["length"]
    assert len(block) == 2 * 1024 * 1024
    assert site.sent("/endless")[0].startswith(block)
    slow = captured["by_name"]["slow"]
    assert slow["status"] == "captured" and slow["truncated"] == "time"
    (headers, block), = _responses(_warc(captured, "slow"))
    assert headers["WARC-Truncated"] == ["time"]
    assert site.sent("/slow")[0].startswith(block)
    cut = captured["by_name"]["cut"]
    assert cut["truncated"] == "disconnect"


def test_dead_and_refused_targets_fail_with_one_reason(captured):
    by = captured["by_name"]
    assert by["hang"]["status"] == "failed" and "no response" in by["hang"]["error"]
    for name in ("loopback_refused", "ipv6_loopback_refused"):
        assert by[name]["status"] == "failed"
        assert "refused" in by[name]["error"] and "loopback" in by[name]["error"]
    assert "ambiguous numeric host" in by["odd_literal"]["error"]
    assert "only http and https" in by["ftp"]["error"]
    assert "malformed" in by["malformed"]["error"]


def test_redirect_to_a_refused_address_fails_but_keeps_the_redirect(captured, site):
    c = captured["by_name"]["bad_redirect"]
    assert c["status"] == "failed"
    assert "127.0.0.5" in c["error"] and "loopback" in c["error"]
    (_, block), = _responses(_warc(captured, "bad_redirect"))
    assert block == site.sent(PATHS["bad_redirect"])[0]


def test_host_map_serves_named_hosts_and_tls_chain_is_kept(captured, site):
    c = captured["by_name"]["https_mapped"]
    assert c["status"] == "captured" and c["final_url"] == "https://news.example.id/page2"
    records = _warc(captured, "https_mapped")
    (headers, block), = _responses(records)
    assert block == site.sent("/page2")[0]
    assert headers["WARC-IP-Address"] == ["127.0.0.1"]
    assert "tls/1.3" in headers["WARC-Protocol"] or "tls/1.2" in headers["WARC-Protocol"]
    pem = (captured["data"] / artifact(c, "certificate")["key"]).read_text()
    assert pem.count("BEGIN CERTIFICATE") >= 1
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(pem.encode())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "news.example.id" in names.get_values_for_type(x509.DNSName)
    plain = captured["by_name"]["http_mapped"]
    assert plain["status"] == "captured"
    assert site.received("/query?src=hoax")[0].startswith(
        b"GET /query?src=hoax HTTP/1.1\r\nHost: hoax.example.id\r\n")


def test_warcinfo_and_metadata_describe_the_capture(captured):
    records = _warc(captured, "gzip")
    headers, block = records[0]
    assert headers["WARC-Type"] == ["warcinfo"]
    text = block.decode()
    for needle in ("software: Saksi/", "scrapy:", "twisted:", "operator: penyidik-uji",
                   "organisation: Bawaslu Uji", "case: BWS-001", "robots: not consulted",
                   "note: laporan 123"):
        assert needle in text
    assert records[-1][0]["WARC-Type"] == ["metadata"]


def test_warcio_check_and_cdxj_indexer_accept_every_warc(captured):
    warcs = [captured["data"] / artifact(c, "warc")["key"]
             for c in captured["by_name"].values()
             if any(a["kind"] == "warc" for a in c["artifacts"])]
    bin_dir = Path(sys.executable).parent
    check = subprocess.run([str(bin_dir / "warcio"), "check", "-v", *map(str, warcs)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    index = subprocess.run([str(bin_dir / "cdxj-indexer"), *map(str, warcs)],
                           capture_output=True, text=True)
    assert index.returncode == 0, index.stderr
    lines = index.stdout.splitlines()
    assert any('"url": "' + captured["urls"]["query"] + '"' in line for line in lines)
    assert any('"status": "500"' in line for line in lines)


def test_manifest_is_canonical_and_lists_every_artifact(captured):
    c = captured["by_name"]["gzip"]
    manifest_art = artifact(c, "manifest")
    raw = (captured["data"] / manifest_art["key"]).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == manifest_art["sha256"] == c["manifest_sha256"]
    manifest = json.loads(raw)
    assert raw == json.dumps(manifest, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode()
    assert manifest["manifest_version"] == 1
    listed = {a["sha256"]: a for a in manifest["artifacts"]}
    for a in c["artifacts"]:
        if a["kind"] == "manifest":
            continue
        stored = (captured["data"] / a["key"]).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == a["sha256"] and len(stored) == a["bytes"]
        assert a["key"] == f"objects/sha256/{a['sha256'][:2]}/{a['sha256']}"
        assert listed[a["sha256"]]["bytes"] == a["bytes"]
    assert manifest["capture"]["id"] == c["id"] and manifest["capture"]["case"] == "BWS-001"


def test_capture_object_keeps_the_contract(captured):
    c = captured["by_name"]["gzip"]
    for key in ("id", "case", "status", "mode", "requested_url", "canonical_url", "final_url",
                "platform", "requested_by", "requested_at", "started_at", "finished_at",
                "error", "storage_state", "artifacts", "seals", "post"):
        assert key in c
    assert c["mode"] == "static" and c["storage_state"] == "stored"
    assert c["requested_at"].endswith("Z") and c["requested_by"] == "penyidik-uji"
    for a in c["artifacts"]:
        assert set(a) >= {"kind", "sha256", "bytes", "media_type", "key"}
        assert len(a["sha256"]) == 64 and a["sha256"] == a["sha256"].lower()


def test_ids_sort_by_request_order(captured):
    ids = [captured["by_name"][name]["id"] for name in captured["urls"]]
    assert ids == sorted(ids)


def test_kept_alive_connections_are_reused_and_said_so(site, tmp_path):
    env = saksi_env(tmp_path / "data", site, SAKSI_LIMITS__CONCURRENT_REQUESTS="1")
    run = run_saksi(env, "capture", site.http_url("/page2?a=1"), site.http_url("/page2?a=2"),
                    "--json")
    first, second = run.captures()
    assert first["status"] == second["status"] == "captured"
    assert site.connection_ids("/page2?a=1") == site.connection_ids("/page2?a=2")
    records = warc_records(tmp_path / "data" / artifact(second, "warc")["key"])
    meta = [json.loads(b) for h, b in records if h["WARC-Type"] == ["metadata"]][0]
    assert any("kept-alive connection" in note for note in meta["exchanges"][0]["notes"])
    (_, block), = _responses(records)
    assert block == site.sent("/page2?a=2")[0]


def test_every_capture_is_also_a_valid_wacz(captured, site):
    import zipfile

    bin_dir = Path(sys.executable).parent
    for name in ("redirect", "https_mapped", "repeated", "endless"):
        c = captured["by_name"][name]
        wacz = captured["data"] / artifact(c, "wacz")["key"]
        check = subprocess.run([str(bin_dir / "wacz"), "validate", "-f", str(wacz)],
                               capture_output=True, text=True)
        assert check.returncode == 0 and "is valid" in check.stdout, check.stdout + check.stderr
        with zipfile.ZipFile(wacz) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            warc = artifact(c, "warc")
            inner = f"archive/{warc['name']}"
            assert infos[inner].compress_type == zipfile.ZIP_STORED
            assert hashlib.sha256(zf.read(inner)).hexdigest() == warc["sha256"]
            package = json.loads(zf.read("datapackage.json"))
            for res in package["resources"]:
                assert res["hash"] == "sha256:" + hashlib.sha256(zf.read(res["path"])).hexdigest()
            digest = json.loads(zf.read("datapackage-digest.json"))
            assert digest["hash"] == "sha256:" + hashlib.sha256(
                zf.read("datapackage.json")).hexdigest()
            assert package["saksi"]["capture_id"] == c["id"]
            pages = zf.read("pages/pages.jsonl").decode().splitlines()
            assert json.loads(pages[0])["format"] == "json-pages-1.0"
            assert json.loads(pages[1])["url"] == c["canonical_url"]
            index = zf.read("indexes/index.cdxj").decode()
            assert c["canonical_url"] in index or c["final_url"] in index
            assert "cookie" not in index.lower() and "a=1" not in index


def test_captures_share_no_cookies(site, tmp_path):
    env = saksi_env(tmp_path / "data", site, SAKSI_LIMITS__CONCURRENT_REQUESTS="1")
    run = run_saksi(env, "capture", site.http_url("/repeated-headers?x=1"),
                    site.http_url("/page2?after=cookies"), "--json")
    assert [c["status"] for c in run.captures()] == ["captured", "captured"]
    assert b"Cookie:" not in site.received("/page2?after=cookies")[0]


def test_our_index_matches_cdxj_indexer_line_for_line(captured, tmp_path):
    """The CDXJ in each WACZ is made while writing; cdxj-indexer must agree with it."""
    import zipfile

    indexer = Path(sys.executable).with_name("cdxj-indexer")
    for name in ("redirect", "query", "https_mapped", "s500"):
        c = captured["by_name"][name]
        warc = artifact(c, "warc")
        with zipfile.ZipFile(captured["data"] / artifact(c, "wacz")["key"]) as zf:
            ours = zf.read("indexes/index.cdxj").decode().splitlines()
            inner = tmp_path / warc["name"]
            inner.write_bytes(zf.read(f"archive/{warc['name']}"))
        theirs = subprocess.run([str(indexer), "--sort", str(inner)], capture_output=True,
                                text=True, check=True).stdout.splitlines()
        responses = [line for line in theirs if '"status"' in line]
        assert ours == responses
