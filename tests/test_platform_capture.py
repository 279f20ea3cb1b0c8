"""Real platform URLs through the whole capture path: intake, fetch, adapter, seal.

The fixture site answers for the platforms' own hostnames over HTTPS (SAKSI_HOST_MAP and a
test CA in SAKSI_EXTRA_CA), with pages built like theirs. Every case of every platform
(normal post, several images, video, removed, login wall, short link) is captured by the
real `saksi` command, and the sealed capture must say what the page said.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import artifact, loopback_env, run_saksi
from tests.fixtures.platform_site import MODULES, PlatformSite, cases

CASE_NAMES = [(platform, name) for platform in MODULES for name in cases(platform)]


@pytest.fixture(scope="module")
def psite():
    from tests.fixtures.platform_pages import tiktok

    with PlatformSite() as site:
        # TikTok's CDN refuses video requests that do not come from its pages: Saksi's
        # plain fetch of the video is refused, yt-dlp (which sends the Referer) gets it.
        for url in (tiktok.POST_VIDEO, tiktok.POST_DOWNLOAD):
            site.require_referer(url, "https://www.tiktok.com/")
        yield site


def platform_env(data_dir: Path, site: PlatformSite, **extra: str) -> dict[str, str]:
    defaults = {"SAKSI_LIMITS__MAX_CAPTURE_SECONDS": "8",
                "SAKSI_CAPTURE__DEFAULT_MODE": "static",
                "SAKSI_COLLECTOR__ORGANISATION": "Bawaslu Uji",
                "SAKSI_PLATFORMS__PACE_SECONDS": "0"}
    return loopback_env(data_dir, site.ca_pem_path, site.host_map(), **{**defaults, **extra})


@pytest.fixture(scope="module")
def captured(psite, tmp_path_factory):
    """Every case of every platform captured in one static-mode run (browser-only cases,
    whose data arrives by XHR, in a second run in browser mode)."""
    base = tmp_path_factory.mktemp("platforms")
    env = platform_env(base / "data", psite)
    static = [(p, n) for p, n in CASE_NAMES if not cases(p)[n].fetches]
    browser = [(p, n) for p, n in CASE_NAMES if cases(p)[n].fetches]
    results: dict[tuple[str, str], dict] = {}
    for chosen, mode in [(batch, "static") for batch in _distinct_batches(static)] + \
            [(batch, "browser") for batch in _distinct_batches(browser)]:
        urls = [cases(p)[n].url for p, n in chosen]
        run = run_saksi(env, "capture", *urls, "--case", "PLATFORMS", "--mode", mode,
                        "--json", timeout=600)
        by_url = {c["requested_url"]: c for c in run.json_lines()}
        for key in chosen:
            results[key] = by_url.get(cases(key[0])[key[1]].url, {"status": "missing"})
    return {"env": env, "results": results}


def _distinct_batches(keys: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Cases in runs where no two name the same post (one run captures a post once)."""
    from crawlers.plan import Origin, plan

    batches: list[list[tuple[str, str]]] = []
    for key in keys:
        url = plan([(cases(key[0])[key[1]].url, Origin())])[0].canonical_url
        for batch in batches:
            if url not in {plan([(cases(p)[n].url, Origin())])[0].canonical_url
                           for p, n in batch}:
                batch.append(key)
                break
        else:
            batches.append([key])
    return batches


@pytest.mark.parametrize("platform,name", CASE_NAMES, ids=[f"{p}-{n}" for p, n in CASE_NAMES])
def test_each_platform_case_is_captured_as_the_page_said(captured, platform, name):
    case = cases(platform)[name]
    c = captured["results"][(platform, name)]
    assert c["status"] == case.status, (c.get("status"), c.get("error"))
    assert c["platform"] == platform
    if case.reason:
        assert case.reason.lower() in (c["error"] or "").lower()
    if case.status == "blocked":
        assert "not evidence of removal" in c["error"]
    if case.post:
        post = c["post"]
        for key, value in case.post.items():
            assert post[key] == value, key
        posted = artifact(c, "post")
        assert posted["media_type"] == "application/json"
    if case.resolves_to:
        assert c["final_url"] == case.resolves_to
    if case.status != "captured":
        assert artifact(c, "warc")  # the removal page or wall itself is kept as evidence


def test_the_post_and_its_media_are_sealed_in_the_manifest(captured, psite, tmp_path):
    """The manifest seals the post and lists its media artifacts, whose bytes are what
    the CDN served."""
    env = captured["env"]
    with_media = [c for c in captured["results"].values()
                  if any(a["kind"] == "media" for a in c.get("artifacts", []))]
    assert with_media, "no capture kept a media file"
    c = with_media[0]
    out = tmp_path / "got"
    assert run_saksi(env, "get", c["id"], "--out", str(out)).code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["capture"]["post"] == c["post"]
    assert manifest["post_reading"]["platform"] == c["platform"]
    media_urls = {m["url"] for m in c["post"]["media"]}
    for a in (a for a in c["artifacts"] if a["kind"] == "media"):
        data = (out / a["name"]).read_bytes()
        served = [r for (host, path), r in psite.routes.items()
                  if any(u.startswith(f"https://{host}{path}") for u in media_urls)]
        assert data in [r.body for r in served]


def test_a_video_the_page_did_not_give_is_fetched_by_yt_dlp_through_the_recorder(
        captured, psite, tmp_path):
    """The direct fetch of the TikTok video is refused (no Referer); yt-dlp, embedded,
    re-reads the page and downloads the video, every request recorded in the capture."""
    from tests.fixtures.platform_pages import tiktok

    c = captured["results"][("tiktok", "post")]
    out = tmp_path / "got"
    assert run_saksi(captured["env"], "get", c["id"], "--out", str(out)).code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    seen = [(ex["url"], ex["status"], " ".join(ex["notes"])) for ex in manifest["exchanges"]]
    assert any(u == tiktok.POST_VIDEO and st == 403 and "fetched after the page" in n
               for u, st, n in seen), seen
    by_ytdlp = [(u, st) for u, st, n in seen if "yt-dlp" in n]
    assert any(st == 200 and u in (tiktok.POST_VIDEO, tiktok.POST_DOWNLOAD)
               for u, st in by_ytdlp), by_ytdlp
    videos = [a for a in c["artifacts"] if a["kind"] == "media"
              and a["media_type"].startswith("video/")]
    assert videos, c["artifacts"]
    served = {psite.routes[(h, p)].body for (h, p) in psite.routes
              if f"https://{h}{p}" in (tiktok.POST_VIDEO.split("?")[0],
                                       tiktok.POST_DOWNLOAD.split("?")[0])}
    assert (out / videos[0]["name"]).read_bytes() in served
    asked = [r for r in psite.requests if r.host == "www.tiktok.com"
             and r.target.startswith("/@pantau.tps07/video/")]
    assert len(asked) >= 2  # the capture's own fetch, then yt-dlp's re-read of the page


def test_show_and_search_find_posts_by_their_facts(captured):
    env = captured["env"]
    results = captured["results"]
    post = next(c for (p, n), c in results.items() if p == "tiktok" and n == "post")
    shown = run_saksi(env, "show", post["id"])
    assert shown.code == 0
    assert f"@{post['post']['author_handle']}" in shown.stdout
    assert post["post"]["caption"].split()[0] in shown.stdout
    hashtag = post["post"]["hashtags"][0]
    found = run_saksi(env, "search", "--platform", "tiktok", "--hashtag", f"#{hashtag}",
                      "--json").json_lines()
    assert post["id"] in {c["id"] for c in found}
    assert all(hashtag.lower() in [h.lower() for h in c["post"]["hashtags"]] for c in found)
    by_author = run_saksi(env, "search", "--author", f"@{post['post']['author_handle']}",
                          "--json").json_lines()
    assert post["id"] in {c["id"] for c in by_author}
    assert run_saksi(env, "search", "--author", "@nobody_here", "--json").stdout == ""
    # "was this already captured?": the short link's capture answers for the long URL
    again = run_saksi(env, "search", "--url", post["post"]["url"] + "?is_from_webapp=1",
                      "--json")
    assert again.code == 0 and post["id"] in {c["id"] for c in again.json_lines()}
    never = run_saksi(env, "search", "--url", "https://www.tiktok.com/@x/video/1", "--json")
    assert never.code == 1


def test_a_dry_run_fetches_nothing_and_shows_the_plan(psite, tmp_path):
    env = platform_env(tmp_path / "data", psite)
    tiktok = cases("tiktok")
    before = len(psite.requests)
    run = run_saksi(env, "capture", tiktok["post"].url, tiktok["short"].url,
                    tiktok["post"].url.split("?")[0], "--dry-run", "--json")
    assert run.code == 0, run.stderr
    plan = run.json_lines()
    assert len(plan) == 2  # the same post twice (tracking parameters aside) merged
    first, short = plan
    assert first["platform"] == "tiktok" and first["kind"] == "post"
    assert "is_from_webapp" in first["removed_params"] and len(first["also_found"]) == 1
    assert short["to_resolve"] is True
    assert len(psite.requests) == before
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_a_recheck_sees_a_post_disappear_and_another_change(psite, webhook, tmp_path):
    from tests.fixtures.platform_pages import Response

    env = platform_env(tmp_path / "data", psite, SAKSI_ALERTS__WEBHOOK_URL=webhook.url)
    tiktok = cases("tiktok")
    run = run_saksi(env, "capture", tiktok["post"].url, tiktok["images"].url, "--case",
                    "BWS-001", "--json")
    assert run.code == 0, run.stderr
    post, images = run.captures()
    removed = next(r for (h, p), r in psite.routes.items()
                   if cases("tiktok")["removed"].url.endswith(p) and h == "www.tiktok.com")
    post_path = "/" + post["post"]["url"].split("/", 3)[3]
    images_path = "/" + images["post"]["url"].split("/", 3)[3]
    original = psite.routes[("www.tiktok.com", images_path)]
    caption = images["post"]["caption"]
    edited = original.body.replace(json.dumps(caption, ensure_ascii=False)[1:-1].encode(),
                                   b"Keterangan sudah diubah #klarifikasi")
    assert edited != original.body
    try:
        psite.replace("www.tiktok.com", post_path, removed)
        psite.replace("www.tiktok.com", images_path, Response(
            original.status, original.content_type, edited, original.headers))
        check = run_saksi(env, "recheck", "--case", "BWS-001", "--mode", "static", "--json")
    finally:
        psite.restore()
    assert check.code == 0, check.stderr
    findings = {f["capture"]: f for f in check.json_lines()}
    assert findings[post["id"]]["result"] == "takedown.observed"
    assert [(m["type"], m["capture"]) for m in webhook.received] == [
        ("takedown.observed", post["id"])]
    assert findings[images["id"]]["result"] == "post.changed"
    assert findings[images["id"]]["differences"]["caption"]["before"] == caption
    events = run_saksi(env, "custody", "log", "--json").json_lines()
    down = [e for e in events if e["action"] == "takedown.observed"]
    assert [e["subject"] for e in down] == [post["id"]]
    assert down[0]["details"]["check_capture"] == findings[post["id"]]["check_capture"]
    gone = run_saksi(env, "search", "--state", "taken_down", "--json").json_lines()
    assert [c["id"] for c in gone] == [post["id"]]
    # the catalog is an index: rebuilt from the store, it still knows what went down
    assert run_saksi(env, "reindex").code == 0
    again = run_saksi(env, "search", "--state", "taken_down", "--json").json_lines()
    assert [c["id"] for c in again] == [post["id"]]
    edited = run_saksi(env, "search", "--state", "changed", "--json").json_lines()
    assert [c["id"] for c in edited] == [images["id"]]
    # the check itself is a sealed capture of the removal page
    check_capture = run_saksi(env, "show", down[0]["details"]["check_capture"], "--json")
    assert check_capture.json()["status"] == "unavailable"
    shown = run_saksi(env, "show", post["id"], "--json").json()["post_state"]
    assert shown["state"] == "taken_down" and shown["taken_down_at"]
    assert [c["check_capture"] for c in shown["checks"]] == [
        down[0]["details"]["check_capture"]]
    assert "TAKEN DOWN" in run_saksi(env, "show", post["id"]).stdout


def test_collector_account_cookies_are_sent_but_never_archived(psite, tmp_path):
    cookies = tmp_path / "tiktok-cookies.txt"
    secret = "s3cr3t-session-value-0b1c"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       f"#HttpOnly_.tiktok.com\tTRUE\t/\tTRUE\t0\tsessionid\t{secret}\n")
    env = platform_env(tmp_path / "data", psite,
                       SAKSI_ACCOUNTS__TIKTOK__COOKIES_FILE=str(cookies))
    run = run_saksi(env, "capture", cases("tiktok")["post"].url, "--json")
    assert run.code == 0, run.stderr
    c = run.captures()[0]
    sent = [r for r in psite.requests if r.cookie and secret in r.cookie]
    assert sent, "the account cookie was not sent"
    out = tmp_path / "got"
    assert run_saksi(env, "get", c["id"], "--out", str(out)).code == 0
    warc = (out / artifact(c, "warc")["name"]).read_bytes()
    import gzip

    text = gzip.decompress(warc)
    assert secret.encode() not in text
    assert b"sessionid=[REDACTED]" in text
    manifest = json.loads((out / "manifest.json").read_text())
    notes = [n for ex in manifest["exchanges"] for n in ex["notes"]]
    assert any("redacted" in n and "sessionid" in n for n in notes)
    assert run_saksi(env, "verify", c["id"]).code == 0
    with zipfile.ZipFile(out / artifact(c, "wacz")["name"]) as zf:
        assert all(secret.encode() not in zf.read(n) for n in zf.namelist()
                   if not n.endswith(".warc.gz"))


def test_yt_dlp_is_held_by_the_egress_guard(psite, tmp_path):
    """The video's CDN resolves to a private address: the plain fetch and yt-dlp's are
    both refused by the address rule; the post's capture stands and says why."""
    from tests.fixtures.platform_pages import tiktok

    cdn = tiktok.POST_VIDEO.split("/")[2]
    host_map = ",".join(part for part in psite.host_map().split(",")
                        if not part.startswith(f"{cdn}=")) + f",{cdn}=10.1.2.3:443"
    env = platform_env(tmp_path / "data", psite, SAKSI_HOST_MAP=host_map)
    asked_before = len(psite.asked(cdn))
    run = run_saksi(env, "capture", cases("tiktok")["post"].url, "--json")
    assert run.code == 0, run.stderr
    c = run.captures()[0]
    assert c["status"] == "captured" and c["post"]["post_id"] == tiktok.POST_ID
    assert not [a for a in c["artifacts"] if a["media_type"].startswith("video/")]
    assert len(psite.asked(cdn)) == asked_before  # nothing reached the CDN
    out = tmp_path / "got"
    assert run_saksi(env, "get", c["id"], "--out", str(out)).code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    notes = manifest["post_reading"]["notes"]
    assert any("yt-dlp could not get the video" in n and "private address" in n
               for n in notes), notes
    refused = [ex for ex in manifest["exchanges"] if ex["url"].startswith(f"https://{cdn}/")]
    assert len(refused) == 2 and all("private address" in ex["error"] for ex in refused)
    assert any("yt-dlp" in " ".join(ex["notes"]) for ex in refused)


def test_links_from_a_report_file_keep_where_they_were_found(psite, tmp_path):
    """An .xlsx report: a hyperlink-only cell, a link in text and the same post again
    with tracking parameters. One capture per post, each knowing the sheet, row and
    column it came from, the report itself kept as a `source` artifact."""
    import hashlib

    from openpyxl import Workbook

    tiktok, x = cases("tiktok"), cases("x")
    book = Workbook()
    sheet = book.active
    sheet.title = "Laporan"
    sheet.append(["No", "Uraian", "Tautan"])
    sheet.append([1, f"Video hoaks, lihat {tiktok['post'].url} (dilaporkan warga)", ""])
    sheet.append([2, "Cuitan provokatif", "klik di sini"])
    sheet["C3"].hyperlink = x["post"].url
    sheet.append([3, "Sama dengan no. 1", tiktok["post"].url.split("?")[0] + "?_r=1&_t=ZS"])
    report = tmp_path / "laporan.xlsx"
    book.save(report)
    env = platform_env(tmp_path / "data", psite)
    assert run_saksi(env, "keys", "init").code == 0
    plan = run_saksi(env, "capture", "--from", str(report), "--dry-run", "--json")
    assert plan.code == 0, plan.stderr
    assert [(p["platform"], p["found"]["where"]) for p in plan.json_lines()] == [
        ("tiktok", "sheet Laporan row 2 column B"), ("x", "hyperlink in sheet Laporan row 3 "
                                                          "column C")]
    run = run_saksi(env, "capture", "--from", str(report), "--case", "BWS-002", "--json",
                    "--mode", "browser")
    assert run.code == 0, run.stderr
    made = run.captures()
    assert [c["platform"] for c in made] == ["tiktok", "x"]
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    for c in made:
        source = artifact(c, "source")
        assert source["sha256"] == digest and source["name"] == "laporan.xlsx"
    events = run_saksi(env, "custody", "log", "--json").json_lines()
    requested = {e["subject"]: e["details"] for e in events if e["action"] == "capture.requested"}
    first = requested[made[0]["id"]]
    assert first["found"] == {"source": "laporan.xlsx", "where": "sheet Laporan row 2 column B"}
    assert first["also_found"] == [{"source": "laporan.xlsx",
                                    "where": "sheet Laporan row 4 column C"}]
    added = [e for e in events if e["action"] == "source.added"]
    assert added and added[0]["details"]["sha256"] == digest
    assert added[0]["subject"] == "BWS-002" and added[0]["details"]["links_found"] == 3
    bundle = tmp_path / "b.zip"
    assert run_saksi(env, "export", "--case", "BWS-002", "--out", str(bundle),
                     "--no-pdf").code == 0
    with zipfile.ZipFile(bundle) as zf:
        kept = [n for n in zf.namelist() if n.endswith("/laporan.xlsx")]
        assert kept and hashlib.sha256(zf.read(kept[0])).hexdigest() == digest
