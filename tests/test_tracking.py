"""Tracking rules: made and managed from the command line, and run against a TikTok
hashtag page built like the real one (its posts arrive by XHR), served under the real
hostname: a run captures the listing, then only the posts not captured before."""

from __future__ import annotations

import pytest

from tests.conftest import artifact, run_saksi
from tests.fixtures.platform_site import PlatformSite
from tests.test_platform_capture import platform_env


@pytest.fixture(scope="module")
def psite():
    with PlatformSite() as site:
        yield site


def test_rules_are_made_listed_paused_and_removed(psite, tmp_path):
    env = platform_env(tmp_path / "data", psite)
    made = run_saksi(env, "track", "add", "tiktok", "#Pemilu2024", "--every", "1h",
                     "--case", "PEMILU", "--max-posts", "50", "--json")
    assert made.code == 0, made.stderr
    rule = made.json()
    assert rule["name"] == "tiktok-pemilu2024" and rule["every_seconds"] == 3600
    assert rule["kind"] == "hashtag" and rule["target"] == "Pemilu2024"
    cron = run_saksi(env, "track", "add", "x", "@akun", "--cron", "*/30 * * * *", "--json")
    assert cron.code == 0 and cron.json()["next_run_at"].endswith(("00:00.000000Z",
                                                                   "30:00.000000Z"))
    for args, needle in ((["myspace", "#a", "--every", "1h"], "unknown platform"),
                         (["tiktok", "#a", "--every", "90s"], "bad interval"),
                         (["tiktok", "#a", "--every", "2m"], "too short"),
                         (["tiktok", "#a"], "--every"),
                         (["tiktok", "#a", "--cron", "every day"], "bad cron"),
                         (["tiktok", "pemilu", "--every", "1h"], "'#tag'"),
                         (["x", "#tag", "--every", "1h"], "cannot be tracked"),
                         (["tiktok", "#pemilu2024", "--every", "1h"], "exists already")):
        bad = run_saksi(env, "track", "add", *args)
        assert bad.code == 2 and needle in bad.stderr, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1
    assert run_saksi(env, "track", "pause", "x-akun").code == 0
    listed = {r["name"]: r for r in run_saksi(env, "track", "list", "--json").json_lines()}
    assert listed["x-akun"]["paused"] and not listed["tiktok-pemilu2024"]["paused"]
    assert run_saksi(env, "track", "resume", "x-akun").code == 0
    assert run_saksi(env, "track", "remove", "x-akun").code == 0
    assert run_saksi(env, "track", "remove", "x-akun").code == 2
    assert [r["name"] for r in run_saksi(env, "track", "list", "--json").json_lines()] == [
        "tiktok-pemilu2024"]


def test_a_growing_listing_captures_only_the_new_posts(psite, tmp_path):
    from tests.fixtures.platform_pages import tiktok_tag as tag

    env = platform_env(tmp_path / "data", psite, SAKSI_LIMITS__MAX_CAPTURE_SECONDS="15")
    assert run_saksi(env, "track", "add", "tiktok", f"#{tag.TAG}", "--every", "1h",
                     "--case", "PEMILU").code == 0
    first = run_saksi(env, "track", "run", "tiktok-pemilu2024", "--json", timeout=300)
    assert first.code == 0, first.stderr
    run1 = first.json()
    assert run1["seen"] == 2 and len(run1["new"]) == 2 and run1["known"] == {}
    listing = run_saksi(env, "show", run1["listing_capture"], "--json").json()
    assert [p["post_id"] for p in listing["post"]["listing"]["posts"]] == [
        post_id for post_id, _, _ in tag.FIRST]
    assert artifact(listing, "post") and listing["note"].startswith("tracking ")
    captured = {c["id"]: c for c in run_saksi(env, "list", "--json").json_lines()}
    assert {captured[i]["post"]["post_id"] for i in run1["new"]} == {
        post_id for post_id, _, _ in tag.FIRST}
    psite.replace("www.tiktok.com", tag.ITEM_LIST_PATH, tag.item_list(tag.LATER))
    try:
        second = run_saksi(env, "track", "run", "tiktok-pemilu2024", "--json", timeout=300)
    finally:
        psite.restore()
    assert second.code == 0, second.stderr
    run2 = second.json()
    assert run2["seen"] == 3 and len(run2["new"]) == 1
    assert set(run2["known"]) == {post_id for post_id, _, _ in tag.FIRST}
    assert set(run2["known"].values()) == set(run1["new"])
    new_post = run_saksi(env, "show", run2["new"][0], "--json").json()
    assert new_post["post"]["post_id"] == tag.LATER[0][0]
    events = [e for e in run_saksi(env, "custody", "log", "--json").json_lines()
              if e["action"] == "tracking.run"]
    assert [e["subject"] for e in events] == ["tiktok-pemilu2024"] * 2
    assert events[1]["details"]["known"] == run2["known"]
    rules = run_saksi(env, "track", "list", "--json").json_lines()
    assert rules[0]["last_status"] == "done" and rules[0]["last_run_at"]
