"""Browser capture of a JavaScript-built social post, end to end through `saksi capture`.

One run captures the post, its short link, a page that never stops loading and a PDF
(auto mode: the PDF goes to static mode). The tests then read the archive the way a
court's expert would: the WARC records, the artifacts, the WACZ, the fixture server's
own log of what it was asked.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import artifact, loopback_env, run_saksi, warc_records
from tests.fixtures.social_site import (
    APP_JS,
    BLOCKED_IMAGE_URL,
    CAPTION,
    CLIP,
    CSS,
    EMBED_DATA_TEXT,
    ENDLESS_TEXT,
    SHARES_TEXT,
    TITLE,
    TRACKER_SCRIPT_URL,
    SocialSite,
    lazy_image_url,
    video_url,
)

BIN = Path(sys.executable).parent


def social_env(data_dir: Path, site: SocialSite, **extra: str) -> dict[str, str]:
    """No SAKSI_CAPTURE__DEFAULT_MODE: the default (auto) is what is tested. The budget
    leaves room for a slow CI machine; only the endless page uses it all."""
    return loopback_env(data_dir, site.ca_pem_path, site.host_map(),
                        **{"SAKSI_LIMITS__MAX_CAPTURE_SECONDS": "20", **extra})


@pytest.fixture(scope="module")
def social():
    with SocialSite() as site:
        yield site


@pytest.fixture(scope="module")
def captured(social, tmp_path_factory):
    data = tmp_path_factory.mktemp("browser") / "data"
    env = social_env(data, social)
    urls = [social.post_url(), social.short_url(), social.endless_url(), social.pdf_url()]
    run = run_saksi(env, "capture", *urls, "--case", "BWS-003", "--json", timeout=240)
    assert run.code == 0, run.stderr
    by_url = {c["requested_url"]: c for c in run.captures()}
    return {"data": data, "env": env, "run": run, "post": by_url[urls[0]],
            "short": by_url[urls[1]], "endless": by_url[urls[2]], "pdf": by_url[urls[3]]}


def records(captured, capture) -> list[tuple[dict[str, list[str]], bytes]]:
    return warc_records(captured["data"] / artifact(capture, "warc")["key"])


def responses(captured, capture, url: str) -> list[tuple[dict[str, list[str]], bytes]]:
    return [(h, b) for h, b in records(captured, capture)
            if h["WARC-Type"] == ["response"] and h["WARC-Target-URI"] == [url]]


def body_of(block: bytes) -> bytes:
    return block.split(b"\r\n\r\n", 1)[1]


def stored(captured, capture, kind: str) -> bytes:
    return (captured["data"] / artifact(capture, kind)["key"]).read_bytes()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_auto_mode_uses_the_browser_for_pages_and_static_for_documents(captured):
    for name in ("post", "short", "endless"):
        assert captured[name]["status"] == "captured", captured[name]
        assert captured[name]["mode"] == "browser"
    assert captured["pdf"]["mode"] == "static" and captured["pdf"]["status"] == "captured"
    manifest = json.loads(stored(captured, captured["pdf"], "manifest"))
    assert manifest["mode_choice"]["requested"] == "auto"
    assert ".pdf" in manifest["mode_choice"]["reason"]
    post_manifest = json.loads(stored(captured, captured["post"], "manifest"))
    assert post_manifest["mode_choice"]["used"] == "browser"


def test_every_exchange_the_post_made_is_a_response_record(captured, social):
    post = captured["post"]
    api = responses(captured, post, "https://social.example.id/api/post/7")
    assert api and CAPTION.encode() in body_of(api[0][1])  # the XHR JSON the shell loaded
    for url in (social.post_url(), "https://cdn.example.id/img/avatar.png",
                "https://embed.example.id/embed/7", "https://embed.example.id/embed/7/data.json",
                *[lazy_image_url(i) for i in (1, 2, 3)]):
        found = responses(captured, post, url)
        assert found, f"no response record for {url}"
        headers, block = found[0]
        assert headers["WARC-IP-Address"] == ["127.0.0.1"]  # the address the proxy reached
        assert headers["WARC-Protocol"] == ["http/1.1", "tls/1.3"]
        assert block.startswith(b"HTTP/1.1 200")
    # the served lazy images, byte for byte, as the browser received them
    for i in (1, 2, 3):
        block = responses(captured, post, lazy_image_url(i))[0][1]
        assert body_of(block) == social.sent_body(f"/img/lazy-{i}.png")


def test_a_workers_fetch_is_recorded_and_says_how(captured):
    post = captured["post"]
    stats = responses(captured, post, "https://social.example.id/api/stats/7")
    assert stats and b'"shares": 321' in body_of(stats[0][1])
    manifest = json.loads(stored(captured, post, "manifest"))
    notes = [ex["notes"] for ex in manifest["exchanges"] if ex["url"].endswith("/api/stats/7")]
    assert any("worker" in n for n in notes[0])
    assert SHARES_TEXT in stored(captured, post, "dom").decode()


def test_ranged_video_is_recorded_with_its_range_request(captured):
    post = captured["post"]
    video = responses(captured, post, video_url())
    assert video, "the video was not recorded"
    headers, block = video[0]
    assert block.startswith(b"HTTP/1.1 206")
    assert body_of(block) == CLIP
    requests = [b for h, b in records(captured, post)
                if h["WARC-Type"] == ["request"] and h["WARC-Target-URI"] == [video_url()]]
    assert any(b"Range: bytes=0-" in r for r in requests)


def test_decoded_bodies_keep_the_original_content_encoding_under_another_name(captured):
    post = captured["post"]
    css = responses(captured, post, "https://cdn.example.id/static/app.css")[0][1]
    head, body = css.split(b"\r\n\r\n", 1)
    assert b"\r\nX-Orig-Content-Encoding: gzip" in head
    assert b"\r\nContent-Encoding:" not in head
    assert body == CSS  # what the browser decoded
    js = responses(captured, post, "https://social.example.id/static/app.js")[0][1]
    assert b"X-Orig-Content-Encoding: br" in js and body_of(js) == APP_JS
    manifest = json.loads(stored(captured, post, "manifest"))
    notes = [n for ex in manifest["exchanges"] for n in ex["notes"]]
    assert any("decoded by the browser" in n and "gzip" in n for n in notes)


def test_page_artifacts_show_what_a_person_saw(captured, social):
    post = captured["post"]
    full_w, full_h = png_size(stored(captured, post, "screenshot"))
    view_w, view_h = png_size(stored(captured, post, "screenshot-viewport"))
    assert (view_w, view_h) == (1280, 900)
    assert full_w == 1280 and full_h > 4000  # the whole post, lazy part included
    served = social.sent_body("/@warga/post/7")
    assert CAPTION.encode() not in served  # the shell alone holds no post text
    dom = stored(captured, post, "dom").decode()
    assert CAPTION in dom and EMBED_DATA_TEXT not in dom  # the iframe is its own document
    assert CAPTION in stored(captured, post, "text").decode()
    info = json.loads(stored(captured, post, "page-info"))
    assert info["title"] == TITLE and info["http_status"] == 200
    assert info["final_url"] == social.post_url()
    urls = {r["url"]: r for r in info["resources"]}
    assert urls[video_url()]["status"] == 206 and urls[video_url()]["bytes"] == len(CLIP)
    assert "lazy" in " ".join(urls) and info["behaviour"]["scrolled_to"] > 3000


def test_page_artifacts_are_also_warc_records_tied_to_the_page(captured):
    post = captured["post"]
    kinds = {}
    for headers, block in records(captured, post):
        if headers["WARC-Type"][0] in ("resource", "metadata") and "WARC-Page-ID" in headers:
            assert headers["WARC-Page-ID"] == [post["id"]]
            kinds[headers["WARC-Target-URI"][0].split(":")[1]] = block
    assert set(kinds) == {"screenshot", "screenshot-viewport", "dom", "text", "page-info"}
    assert kinds["screenshot"] == stored(captured, post, "screenshot")


def test_private_and_link_local_subresources_are_blocked_and_listed(captured, social):
    info = json.loads(stored(captured, captured["post"], "page-info"))
    blocked = {b["url"]: b["reason"] for b in info["blocked"]}
    assert "private address" in blocked[TRACKER_SCRIPT_URL]
    assert "link-local address" in blocked[BLOCKED_IMAGE_URL]
    assert not social.requests("/t.js") and not social.requests("/latest/")
    uris = [h["WARC-Target-URI"][0] for h, _ in records(captured, captured["post"])
            if h["WARC-Type"] == ["response"]]
    assert TRACKER_SCRIPT_URL not in uris and BLOCKED_IMAGE_URL not in uris


def test_short_link_redirect_chain_is_kept(captured, social):
    short = captured["short"]
    assert short["final_url"] == social.post_url() + "?utm_source=share"
    first = responses(captured, short, social.short_url())
    assert first and first[0][1].startswith(b"HTTP/1.1 301")
    # nothing Chromium made up (https upgrades) is recorded as if it came from the site
    assert len([h for h, _ in records(captured, short) if h["WARC-Type"] == ["response"]
                and h["WARC-Target-URI"][0].startswith("https://s.example.id")]) == 0


def test_a_page_that_never_stops_loading_is_sealed_at_the_budget(captured):
    endless = captured["endless"]
    assert endless["status"] == "captured" and endless["truncated"] == "time"
    info = json.loads(stored(captured, endless, "page-info"))
    assert any("never finished loading" in hit for hit in info["budget_hit"])
    headers, block = responses(captured, endless, "https://social.example.id/endless")[0]
    assert headers["WARC-Truncated"] == ["time"] and ENDLESS_TEXT.encode() in block
    assert ENDLESS_TEXT in stored(captured, endless, "text").decode()


def test_warc_and_wacz_pass_outside_checkers(captured, tmp_path):
    for name in ("post", "short", "endless", "pdf"):
        capture = captured[name]
        warc = captured["data"] / artifact(capture, "warc")["key"]
        check = subprocess.run([str(BIN / "warcio"), "check", str(warc)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        wacz = tmp_path / f"{name}.wacz"
        wacz.write_bytes(stored(captured, capture, "wacz"))
        valid = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(wacz)],
                               capture_output=True, text=True)
        assert valid.returncode == 0 and "valid" in valid.stdout + valid.stderr, valid.stderr


def test_wacz_pages_carry_title_and_text_and_the_index_no_cookie_values(captured, social):
    post = captured["post"]
    with zipfile.ZipFile(captured["data"] / artifact(post, "wacz")["key"]) as z:
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").splitlines()]
        index = b"".join(z.read(n) for n in z.namelist() if n.startswith("indexes/"))
    assert pages[1]["title"] == TITLE and CAPTION in pages[1]["text"]
    assert set(pages[1]) == {"id", "url", "ts", "title", "text"}
    # the request records keep the Cookie header as sent (evidence); the index does not
    whoami = [b for h, b in records(captured, post) if h["WARC-Type"] == ["request"]
              and h["WARC-Target-URI"] == ["https://social.example.id/whoami"]][0]
    cookie = whoami.split(b"\r\nCookie: ", 1)[1].split(b"\r\n", 1)[0].decode()
    assert cookie in {r.header("cookie") for r in social.requests("/whoami")}
    assert cookie.split("=", 1)[1].encode() not in index


def test_browser_captures_verify(captured):
    run = run_saksi(captured["env"], "verify", "--all")
    assert run.code == 0, run.stdout + run.stderr


def test_two_captures_in_one_browser_share_no_cookies(social, tmp_path):
    env = social_env(tmp_path / "data", social, SAKSI_BROWSER__CONCURRENCY="1")
    before = len(social.requests("/@warga/post/8"))
    run = run_saksi(env, "capture", social.post_url(8), social.post_url(8) + "?lagi=1",
                    "--mode", "browser", "--json", timeout=120)
    assert run.code == 0, run.stderr
    pages = social.requests("/@warga/post/8")[before:]
    assert len(pages) == 2
    assert [p.header("cookie") for p in pages] == [None, None]  # the second got none
    texts = [(tmp_path / "data" / artifact(c, "dom")["key"]).read_text()
             for c in run.captures()]
    sids = [t.split('id="whoami"', 1)[1].split("sid=", 1)[1][:16] for t in texts]
    assert sids[0] != sids[1]  # each capture was handed its own new session


def test_a_refused_page_fails_with_one_line_and_nothing_is_fetched(social, tmp_path):
    env = social_env(tmp_path / "data", social)
    run = run_saksi(env, "capture", "https://tracker.example.id/post/1", "--mode", "browser",
                    "--json")
    assert run.code == 1
    capture = run.json_lines()[0]
    assert capture["status"] == "failed" and "private address" in capture["error"]
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1


def test_tls_details_and_certificate_chain_are_kept(captured):
    post = captured["post"]
    pem = stored(captured, post, "certificate").decode()
    assert pem.count("BEGIN CERTIFICATE") >= 1
    meta = [b for h, b in records(captured, post) if h["WARC-Type"] == ["metadata"]
            and h["WARC-Target-URI"] == [post["final_url"]]][0]
    tls = [ex["tls"] for ex in json.loads(meta)["exchanges"] if ex["tls"]][0]
    assert tls["version"] == "TLSv1.3" and tls["cipher"]
    cert = tls["certificate"]  # trustme's certificates have no common names: SAN only
    assert "social.example.id" in cert["san"] and cert["valid_from"] < cert["valid_to"]
    assert "issuer" in cert and "subject" in cert


def test_get_copies_screenshots_dom_text_and_wacz(captured, tmp_path):
    post = captured["post"]
    run = run_saksi(captured["env"], "get", post["id"], "--out", str(tmp_path / "out"))
    assert run.code == 0, run.stderr
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"screenshot.png", "screenshot-viewport.png", "dom.html", "text.txt",
            "page-info.json", f"saksi-{post['id']}.wacz"} <= names


def test_the_byte_budget_cuts_responses_but_the_capture_is_sealed(social, tmp_path):
    env = social_env(tmp_path / "data", social, SAKSI_LIMITS__MAX_CAPTURE_BYTES="8000")
    run = run_saksi(env, "capture", social.post_url(9), "--mode", "browser", "--json")
    assert run.code == 0, run.stderr
    capture = run.json_lines()[0]
    assert capture["status"] == "captured" and capture["truncated"] == "length"
    data = tmp_path / "data"
    info = json.loads((data / artifact(capture, "page-info")["key"]).read_text())
    assert any("limits.max_capture_bytes" in hit for hit in info["budget_hit"])
    cut = [h for h, _ in warc_records(data / artifact(capture, "warc")["key"])
           if h.get("WARC-Truncated") == ["length"]]
    assert cut
    assert (data / artifact(capture, "screenshot")["key"]).stat().st_size > 0


def test_the_browser_is_restarted_between_captures(social, tmp_path):
    env = social_env(tmp_path / "data", social, SAKSI_BROWSER__RECYCLE_AFTER="1",
                     SAKSI_BROWSER__CONCURRENCY="1")
    run = run_saksi(env, "capture", *[social.post_url(n) for n in (21, 22, 23)],
                    "--mode", "browser", "--json", timeout=180)
    assert run.code == 0, run.stderr
    captures = run.captures()
    assert [c["status"] for c in captures] == ["captured"] * 3
    instances = [json.loads((tmp_path / "data" / artifact(c, "page-info")["key"]).read_text())
                 ["browser"]["instance"] for c in captures]
    assert instances == [1, 2, 3]


@pytest.fixture()
def h2_site(tmp_path):
    """A Node.js HTTP/2-only server (node comes with the set-up's npm)."""
    import shutil

    from tests.fixtures.tls import write_test_pki

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node is missing: run make setup (it installs npm and node)")
    ca, key, chain = write_test_pki(str(tmp_path), ["h2.example.id"])
    script = Path(__file__).parent / "fixtures" / "h2_server.js"
    proc = subprocess.Popen([node, str(script), str(key), str(chain)], stdout=subprocess.PIPE,
                            text=True)
    try:
        port = int(proc.stdout.readline())
        yield port, ca
    finally:
        proc.kill()
        proc.wait()


def test_http2_exchanges_say_h2_and_are_written_as_http11_lines(h2_site, tmp_path):
    port, ca = h2_site
    env = loopback_env(tmp_path / "data", ca, f"h2.example.id=127.0.0.1:{port}",
                       SAKSI_LIMITS__MAX_CAPTURE_SECONDS="10")
    run = run_saksi(env, "capture", "https://h2.example.id/", "--mode", "browser", "--json")
    assert run.code == 0, run.stderr
    capture = run.json_lines()[0]
    recs = warc_records(tmp_path / "data" / artifact(capture, "warc")["key"])
    page = [(h, b) for h, b in recs if h["WARC-Type"] == ["response"]
            and h["WARC-Target-URI"] == ["https://h2.example.id/"]][0]
    assert page[0]["WARC-Protocol"] == ["h2", "tls/1.3"]
    head = page[1].split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 200")
    assert head.count(b"\r\nset-cookie: ") == 2  # repeated headers stay repeated
    data = [b for h, b in recs if h["WARC-Type"] == ["response"]
            and h["WARC-Target-URI"] == ["https://h2.example.id/data.json"]][0]
    assert b"x-orig-content-encoding: gzip" in data.lower()
    assert body_of(data) == b'{"pesan":"Disiarkan lewat HTTP/2"}'
    manifest = json.loads((tmp_path / "data" / artifact(capture, "manifest")["key"]).read_text())
    assert any("h2 headers written as HTTP/1.1 lines" in n
               for ex in manifest["exchanges"] for n in ex["notes"])


def test_ctrl_c_stops_a_browser_capture_at_once_and_quarantines_it(social, tmp_path):
    import signal
    import time

    data = tmp_path / "data"
    env = social_env(data, social, SAKSI_LIMITS__MAX_CAPTURE_SECONDS="120")
    before = len(social.requests("/endless"))
    proc = subprocess.Popen([str(BIN / "saksi"), "capture", social.endless_url(), "--mode",
                             "browser", "--json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while len(social.requests("/endless")) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the page is loading (it never finishes)
    asked = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - asked < 30  # not the 120 s budget
    assert proc.returncode == 1 and "Traceback" not in err
    capture = json.loads(out.splitlines()[0])
    assert capture["status"] == "failed" and "interrupted" in capture["error"]
    assert capture["artifacts"] == []
    assert (data / "quarantine" / capture["id"]).is_dir()
    assert not (data / "captures" / capture["id"]).exists()


def test_scrolling_stops_at_the_height_limit_and_says_so(social, tmp_path):
    env = social_env(tmp_path / "data", social, SAKSI_BROWSER__MAX_SCROLL_HEIGHT="2000")
    run = run_saksi(env, "capture", social.post_url(61), "--mode", "browser", "--json")
    capture = run.json_lines()[0]
    assert capture["status"] == "captured", run.stderr
    info = json.loads((tmp_path / "data" / artifact(capture, "page-info")["key"]).read_text())
    assert any("browser.max_scroll_height" in hit for hit in info["budget_hit"])
    assert info["behaviour"]["scrolled_to"] <= 2000
    assert not any("lazy-" in r["url"] for r in info["resources"])  # never scrolled to them
