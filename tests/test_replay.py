"""A capture's WACZ replays in ReplayWeb.page with the original site gone."""

from __future__ import annotations

import json

from archivers.evidence import Evidence
from config import load_settings
from saksi.replay import ReplayServer, prepare
from tests.conftest import run_saksi, saksi_env
from tests.fixtures.wire_server import FixtureServer


def _replayed_frame(root, ready_text: str):
    """Open the prepared replay in Chromium; returns (text, images loaded, frame urls)."""
    from playwright.sync_api import sync_playwright

    with ReplayServer(root) as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"])
        page = browser.new_page()
        page.goto(server.url)
        text, images = "", 0
        for _ in range(180):  # the player's frame for the archived page has /w/ in its URL
            for frame in [f for f in page.frames if "/w/" in f.url]:
                try:
                    text = frame.inner_text("body", timeout=1000)
                    images = frame.evaluate(
                        "() => [...document.images].filter(i => i.naturalWidth > 0).length")
                except Exception:  # not loaded yet, or replaced by a newer frame
                    text = ""
                if ready_text in text:
                    break
            if ready_text in text:
                break
            page.wait_for_timeout(500)
        frames = [f.url for f in page.frames]
        browser.close()
    return text, images, frames


def _prepare_without_the_site(env: dict[str, str], tmp_path, capture_id: str):
    env.pop("SAKSI_EXTRA_CA")  # the site and its test CA are gone
    evidence = Evidence.open(load_settings(environ=env, cwd=tmp_path))
    try:
        return prepare(evidence.store, evidence.catalog.get_capture(capture_id))
    finally:
        evidence.close()


def test_browser_capture_replays_with_its_xhr_text_and_images(tmp_path):
    from tests.fixtures.social_site import CAPTION, SocialSite
    from tests.test_browser_capture import social_env

    with SocialSite() as site:
        env = social_env(tmp_path / "data", site)
        run = run_saksi(env, "capture", site.post_url(), "--mode", "browser", "--json")
        capture = run.json_lines()[0]
        assert capture["status"] == "captured", run.stderr
    root = _prepare_without_the_site(env, tmp_path, capture["id"])
    text, images, frames = _replayed_frame(root, CAPTION)
    assert CAPTION in text, frames  # rendered by the page's script from the archived XHR
    assert images >= 1, frames  # the avatar, from the archive


def test_wacz_replays_in_chromium_after_the_site_is_gone(tmp_path):
    data = tmp_path / "data"
    with FixtureServer() as site:
        env = saksi_env(data, site)
        run = run_saksi(env, "capture", "https://news.example.id/redirect/1", "--json")
        capture = run.json_lines()[0]
        assert capture["status"] == "captured", run.stderr
    # the fixture site is shut down now: only the archive can answer
    root = _prepare_without_the_site(env, tmp_path, capture["id"])
    text, _, frames = _replayed_frame(root, "Senin pagi")
    assert "Pemerintah kota meresmikan taman baru" in text, frames


def test_replay_command_serves_and_logs_the_access(site, tmp_path):
    env = saksi_env(tmp_path / "data", site)
    capture = run_saksi(env, "capture", site.http_url("/page2"), "--json").json_lines()[0]
    run = run_saksi(env, "replay", capture["id"], "--for", "0.2", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["url"].startswith("http://127.0.0.1:")
    segments = sorted((tmp_path / "data" / "custody/segments").iterdir())
    events = [json.loads(line) for s in segments for line in s.read_text().splitlines()]
    assert events[-1]["action"] == "archive.accessed"
    assert events[-1]["details"] == {"via": "replay"}
