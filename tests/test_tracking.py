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


def test_a_growing_listing_captures_only_the_new_posts(psite, webhook, tmp_path):
    from tests.fixtures.platform_pages import tiktok_tag as tag

    env = platform_env(tmp_path / "data", psite, SAKSI_LIMITS__MAX_CAPTURE_SECONDS="15",
                       SAKSI_ALERTS__WEBHOOK_URL=webhook.url)
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
    jobs = run_saksi(env, "jobs", "--json").json_lines()
    assert [(j["rule"], j["status"]) for j in jobs] == [("tiktok-pemilu2024", "done")] * 2
    assert [len(j["summary"]["new"]) for j in jobs] == [2, 1]
    alerted = [m["capture"] for m in webhook.received if m["type"] == "post.captured"]
    assert alerted == [*run1["new"], *run2["new"]]
    assert all(m["rule"] == "tiktok-pemilu2024" and m["post_id"] for m in webhook.received)


def _rule(**values):
    from datetime import UTC, datetime

    from storage.tracking import Rule

    base = dict(name="r", platform="tiktok", kind="hashtag", target="t", case_id=None,
                every_seconds=3600, cron=None, max_posts=10, paused=False, created_by="u",
                created_at=datetime(2024, 2, 1, tzinfo=UTC),
                next_run_at=datetime(2024, 2, 14, 8, 0, tzinfo=UTC))
    base.update(values)
    return Rule(**base)


def test_missed_windows_are_coalesced_into_the_latest_one():
    from datetime import UTC, datetime

    from crawlers.tracking.scheduler import due_rules

    now = datetime(2024, 2, 14, 13, 20, tzinfo=UTC)  # five windows since 08:00
    hourly, cron, paused, backing_off, later = (
        _rule(name="hourly"),
        _rule(name="cron", every_seconds=None, cron="*/30 * * * *"),
        _rule(name="paused", paused=True),
        _rule(name="backoff", backoff_until=datetime(2024, 2, 14, 14, 0, tzinfo=UTC)),
        _rule(name="later", next_run_at=datetime(2024, 2, 14, 14, 0, tzinfo=UTC)))
    due = {d.rule.name: d for d in due_rules([hourly, cron, paused, backing_off, later], now)}
    assert set(due) == {"hourly", "cron"}
    assert due["hourly"].due_at == datetime(2024, 2, 14, 13, 0, tzinfo=UTC)
    assert due["hourly"].missed == 5
    assert due["cron"].due_at == datetime(2024, 2, 14, 13, 0, tzinfo=UTC)
    assert due["cron"].missed == 10


def test_the_scheduler_runs_each_window_once_takes_over_a_dead_run_and_backs_off(
        psite, tmp_path):
    import socket
    import sqlite3
    from datetime import UTC, datetime, timedelta

    from tests.fixtures.platform_pages import Response
    from tests.fixtures.platform_pages import tiktok_tag as tag

    env = platform_env(tmp_path / "data", psite, SAKSI_LIMITS__MAX_CAPTURE_SECONDS="15")
    assert run_saksi(env, "track", "add", "tiktok", f"#{tag.TAG}", "--every", "1h").code == 0
    first = run_saksi(env, "schedule", "--once", timeout=300)
    assert first.code == 0, first.stderr
    again = run_saksi(env, "schedule", "--once", timeout=300)  # nothing due: no second run
    runs = lambda: [e for e in run_saksi(env, "custody", "log", "--json").json_lines()  # noqa: E731
                    if e["action"] == "tracking.run"]
    assert again.code == 0 and len(runs()) == 1
    # the scheduler died ten minutes ago, in the middle of the run for that window
    db = sqlite3.connect(tmp_path / "data" / "catalog.sqlite")
    window = (datetime.now(UTC) - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S.%f")
    dead = f"{socket.gethostname()}:999999:0"  # this machine, a process that is gone
    db.execute("update tracking_rules set next_run_at = ?", (window,))
    db.execute("insert into tracking_runs (rule, due_at, started_at, status, holder) values "
               "(?, ?, ?, 'running', ?)", ("tiktok-pemilu2024", window, window, dead))
    db.commit()
    taken = run_saksi(env, "schedule", "--once", timeout=300)
    assert taken.code == 0, taken.stderr
    rows = db.execute("select status, holder from tracking_runs where due_at = ?",
                      (window,)).fetchall()
    assert len(rows) == 1 and rows[0][0] == "done" and rows[0][1] != dead
    assert len(runs()) == 2
    # a 429 with Retry-After: the run is blocked, the rule waits that long
    psite.replace("www.tiktok.com", f"/tag/{tag.TAG}", Response(
        429, "text/html; charset=utf-8", b"<title>Too many requests</title>",
        (("retry-after", "600"),)))
    db.execute("update tracking_rules set next_run_at = ?",
               ((datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),))
    db.commit()
    try:
        blocked = run_saksi(env, "schedule", "--once", timeout=300)
    finally:
        psite.restore()
    assert blocked.code == 0, blocked.stderr
    rule = run_saksi(env, "track", "list", "--json").json_lines()[0]
    assert rule["last_status"] == "failed" and "Retry-After: 600 s" in rule["last_error"]
    wait = (datetime.fromisoformat(rule["backoff_until"].replace("Z", "+00:00"))
            - datetime.fromisoformat(rule["last_run_at"].replace("Z", "+00:00")))
    assert timedelta(seconds=590) <= wait <= timedelta(seconds=610)
    assert rule["next_run_at"] >= rule["backoff_until"]
    db.execute("update tracking_rules set next_run_at = ?",
               ((datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),))
    db.commit()
    assert run_saksi(env, "schedule", "--once").code == 0
    assert len(runs()) == 3  # still backing off: not run again
    db.close()


def test_a_recheck_rule_records_a_takedown_when_its_window_comes(psite, tmp_path):
    from tests.fixtures.platform_pages import tiktok
    from tests.fixtures.platform_site import cases

    env = platform_env(tmp_path / "data", psite, SAKSI_PLATFORMS__RECHECK_MODE="static")
    made = run_saksi(env, "capture", cases("tiktok")["post"].url, "--case", "BWS-9", "--json")
    assert made.code == 0, made.stderr
    original = made.captures()[0]
    assert run_saksi(env, "track", "recheck", "--case", "BWS-9", "--every", "6h").code == 0
    removed = psite.routes[("www.tiktok.com",
                            cases("tiktok")["removed"].url.split("tiktok.com", 1)[1])]
    psite.replace("www.tiktok.com", tiktok.POST_URL.split("tiktok.com", 1)[1], removed)
    try:
        ran = run_saksi(env, "schedule", "--once", timeout=300)
    finally:
        psite.restore()
    assert ran.code == 0, ran.stderr
    events = run_saksi(env, "custody", "log", "--json").json_lines()
    run = [e for e in events if e["action"] == "tracking.run"]
    assert [e["subject"] for e in run] == ["recheck-BWS-9"]
    assert run[0]["details"]["findings"] == {original["id"]: "takedown.observed"}
    assert [e["subject"] for e in events if e["action"] == "takedown.observed"] == [
        original["id"]]
    rule = run_saksi(env, "track", "list", "--json").json_lines()[0]
    assert rule["last_status"] == "done" and rule["next_run_at"] > rule["last_run_at"]


def test_an_x_account_rule_reads_the_timeline_xhr_and_captures_the_newest_post(
        psite, tmp_path):
    """X loads a profile's posts by GraphQL `UserTweets`: the run reads them from the
    recorded answer, in the order shown (the pinned post first, the ad left out)."""
    from tests.fixtures.platform_pages import x_listing as xl

    env = platform_env(tmp_path / "data", psite, SAKSI_LIMITS__MAX_CAPTURE_SECONDS="15",
                       SAKSI_CAPTURE__DEFAULT_MODE="browser")
    assert run_saksi(env, "track", "add", "x", f"@{xl.HANDLE}", "--every", "1h",
                     "--max-posts", "1").code == 0
    run = run_saksi(env, "track", "run", f"x-{xl.HANDLE}", "--json", timeout=300)
    assert run.code == 0, run.stderr
    summary = run.json()
    assert summary["listing_status"] == "captured" and summary["pages"] == 1
    assert summary["seen"] == len(xl.FIRST_PAGE) and summary["has_more"] is True
    listing = run_saksi(env, "show", summary["listing_capture"], "--json").json()
    assert [(p["post_id"], p["url"].split("/")[3]) for p in listing["post"]["listing"][
        "posts"]] == xl.FIRST_PAGE
    post, = summary["new"]  # --max-posts 1: the pinned post
    shown = run_saksi(env, "show", post, "--json").json()
    assert shown["post"]["post_id"] == xl.FIRST_PAGE[0][0]
