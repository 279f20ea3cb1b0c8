"""The catalog on both of its databases: SQLite (the default) and a real PostgreSQL server
on loopback (catalog.url, shared by workers on several machines). The same operations,
the same answers; schema migrations bring any catalog to the current revision."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from storage.catalog import Catalog, EventDraft
from storage.post_index import PostFilter
from storage.records import CAPTURED, Artifact, Capture
from storage.tracking import Rule

_names = count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    return request.getfixturevalue("postgres").create_database(f"cat{next(_names)}")


@pytest.fixture()
def catalog(catalog_url):
    cat = Catalog.at(catalog_url)
    yield cat
    cat.close()


def _capture(n: int, case: str = "K1", post: dict | None = None) -> Capture:
    return Capture(id=f"01a00000-0000-7000-8000-{n:012d}", case=case,
                   requested_url=f"https://news.example.id/{n}", mode="static",
                   requested_by="penyidik", requested_at=datetime(2024, 2, 14, tzinfo=UTC),
                   post=post)


def test_captures_are_leased_once_and_finished_with_their_artifacts(catalog):
    first, second = _capture(1), _capture(2)
    with catalog.write() as conn:
        catalog.ensure_case(conn, "K1", "penyidik")
        catalog.insert_captures(conn, [first, second])
    now = datetime.now(UTC)
    with catalog.write() as conn:
        got = catalog.lease(conn, [first.id, second.id], "host:1:1", now + timedelta(minutes=5),
                            now)
    with catalog.write() as conn:
        again = catalog.lease(conn, [first.id], "host:2:2", now + timedelta(minutes=5), now)
    assert got == {first.id, second.id} and again == set()
    first.status = CAPTURED
    first.artifacts = [Artifact("warc", "ab" * 32, 10, "application/warc", "objects/x", "w")]
    with catalog.write() as conn:
        catalog.finish_captures(conn, [first])
    found = catalog.get_capture(first.id)
    assert found.status == CAPTURED and [a.sha256 for a in found.artifacts] == ["ab" * 32]
    assert [c.id for c in catalog.list_captures(case="K1")] == [first.id, second.id]
    assert [c.id for c in catalog.list_captures(status="running")] == [second.id]


def test_custody_events_chain_in_order(catalog):
    with catalog.write() as conn:
        made = catalog.append_events(conn, [EventDraft("a", "verify.run", "store", {"n": i})
                                            for i in range(3)])
    events = [ev for ev, _, _ in catalog.events()]
    assert [ev.seq for ev in events] == [1, 2, 3] == [ev.seq for ev in made]
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert catalog.head() == (3, events[-1].hash)


def test_two_processes_appending_at_once_keep_one_unbroken_chain(catalog_url):
    Catalog.at(catalog_url).close()  # migrated before the writers start
    script = f"""
import sys
from storage.catalog import Catalog, EventDraft
cat = Catalog.at({catalog_url!r})
for i in range(40):
    with cat.write() as conn:
        cat.append_events(conn, [EventDraft(sys.argv[1], "verify.run", "store", {{"i": i}})])
cat.close()
"""
    writers = [subprocess.Popen([sys.executable, "-c", script, name]) for name in "ab"]
    assert [w.wait(120) for w in writers] == [0, 0]
    cat = Catalog.at(catalog_url)
    events = [ev for ev, _, _ in cat.events()]
    cat.close()
    assert [ev.seq for ev in events] == list(range(1, 81))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


def test_posts_are_found_by_their_facts(catalog):
    post = {"platform": "tiktok", "post_id": "7334659195500223878", "author_handle": "Pantau",
            "posted_at": "2024-02-12T10:23:41Z", "hashtags": ["Pemilu2024", "tps07"],
            "caption": "..."}
    capture = _capture(3, post=post)
    capture.platform, capture.status = "tiktok", CAPTURED
    with catalog.write() as conn:
        catalog.insert_captures(conn, [capture])
        catalog.finish_captures(conn, [capture])
    ids = lambda **f: [c.id for c in catalog.search(PostFilter(**f))]  # noqa: E731
    assert ids(hashtag="#pemilu2024") == [capture.id] == ids(author="@pantau")
    assert ids(platform="tiktok", since=datetime(2024, 2, 12, tzinfo=UTC)) == [capture.id]
    assert ids(since=datetime(2024, 2, 13, tzinfo=UTC)) == []
    assert ids(post_key=("tiktok", "7334659195500223878")) == [capture.id]
    assert ids(hashtag="lain") == []


def test_one_run_per_window_and_a_dead_run_is_taken_over(catalog):
    now = datetime(2024, 2, 14, 8, 0, tzinfo=UTC)
    rule = Rule(name="tiktok-pemilu2024", platform="tiktok", kind="hashtag",
                target="pemilu2024", case_id=None, every_seconds=3600, cron=None,
                max_posts=10, paused=False, created_by="u", created_at=now, next_run_at=now)
    assert catalog.add_rule(rule) and not catalog.add_rule(rule)
    first = catalog.start_run(rule.name, now, now, "host:1:1", lambda holder: False)
    assert first is not None
    assert catalog.start_run(rule.name, now, now, "host:2:2", lambda holder: False) is None
    taken = catalog.start_run(rule.name, now, now, "host:3:3", lambda holder: True)
    assert taken == first
    catalog.finish_run(first, "done", {"seen": 2}, now, {"last_status": "done"})
    assert catalog.start_run(rule.name, now, now, "host:4:4", lambda holder: True) is None
    assert catalog.rules()[0].last_status == "done"
    assert [r["status"] for r in catalog.runs(rule.name)] == ["done"]


def test_a_job_is_claimed_by_one_live_holder_and_never_run_again_once_done(catalog):
    from storage.jobs import Job

    now = datetime(2024, 2, 14, 8, 0, tzinfo=UTC)
    later = now + timedelta(minutes=10)
    draft = Job("capture:01a", "capture", "generic", "01a", detail={"mode": "static"})
    assert catalog.add_jobs([draft], now) == ["capture:01a"]
    assert catalog.add_jobs([draft], now) == []  # the same key is the same job
    assert [j.key for j in catalog.unsent_jobs()] == ["capture:01a"]
    catalog.mark_sent({"capture:01a": now})
    assert catalog.unsent_jobs() == []

    alive, dead = (lambda holder: False), (lambda holder: True)
    first = catalog.claim_job("capture:01a", "host:1:1", now, later, alive)
    assert first.outcome == "claimed" and first.job.attempts == 1
    busy = catalog.claim_job("capture:01a", "host:2:2", now, later, alive)
    assert busy.outcome == "busy" and busy.until == later
    assert catalog.stale_jobs(now) == [] and len(catalog.stale_jobs(later + timedelta(1))) == 1
    assert catalog.renew_job("capture:01a", "host:1:1", later + timedelta(minutes=30))
    assert catalog.stale_jobs(later + timedelta(minutes=1)) == []  # renewed: not stale
    assert not catalog.renew_job("capture:01a", "host:9:9", later)  # not its holder
    taken = catalog.claim_job("capture:01a", "host:2:2", now, later, dead)  # holder died
    assert taken.outcome == "claimed" and taken.job.attempts == 2
    assert not catalog.renew_job("capture:01a", "host:1:1", later)  # the lease moved on
    catalog.update_job("capture:01a", state="done", finished_at=later)
    assert catalog.claim_job("capture:01a", "host:3:3", later, later, dead).outcome == "done"
    assert catalog.claim_job("capture:zz", "host:3:3", later, later, dead).outcome == "missing"
    job = catalog.get_job("capture:01a")
    assert job.state == "done" and job.holder == "host:2:2" and job.detail == {"mode": "static"}


def test_recording_rule_jobs_moves_their_rules_to_the_next_window(catalog):
    from storage.jobs import Job

    now = datetime(2024, 2, 14, 8, 0, tzinfo=UTC)
    rule = Rule(name="tiktok-a", platform="tiktok", kind="hashtag", target="a",
                case_id=None, every_seconds=3600, cron=None, max_posts=10, paused=False,
                created_by="u", created_at=now, next_run_at=now)
    catalog.add_rule(rule)
    draft = Job("rule:tiktok-a:w1", "rule", "tiktok", "tiktok-a", due_at=now)
    catalog.add_jobs([draft], now, {"tiktok-a": now + timedelta(hours=1)})
    assert catalog.rules()[0].next_run_at == now + timedelta(hours=1)
    assert [j.due_at for j in catalog.list_jobs(rule="tiktok-a")] == [now]
    assert catalog.list_jobs(kind="capture") == [] and catalog.list_jobs(state="done") == []


def test_migrations_bring_an_old_catalog_to_the_current_revision(catalog_url):
    import sqlalchemy as sa
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storage import migrations
    from storage.catalog import metadata

    config = Config()
    config.set_main_option("script_location", str(migrations.SCRIPTS))
    assert ScriptDirectory.from_config(config).get_current_head() == migrations.HEAD
    engine = sa.create_engine(catalog_url)
    older = [t for t in metadata.sorted_tables if not t.name.startswith(("tracking", "post"))]
    metadata.create_all(engine, tables=older)  # as Saksi made catalogs before migrations
    engine.dispose()
    cat = Catalog.at(catalog_url)
    names = set(sa.inspect(cat.engine).get_table_names())
    assert cat.schema_version() == migrations.HEAD
    assert {"tracking_rules", "tracking_runs", "posts", "post_tags", "post_checks"} <= names
    cat.close()


def test_saksi_captures_and_verifies_with_its_catalog_on_postgresql(postgres, site, tmp_path):
    """The real command with catalog.url: capture, list, checkpoint, verify --all."""
    from tests.conftest import run_saksi, saksi_env

    url = postgres.create_database(f"cat{next(_names)}")
    env = saksi_env(tmp_path / "data", site,
                    SAKSI_CATALOG__URL=url.replace("postgresql+psycopg://", "postgresql://"))
    assert run_saksi(env, "keys", "init").code == 0
    run = run_saksi(env, "capture", site.http_url("/page"), site.http_url("/page2"),
                    "--case", "PG-1", "--json")
    assert run.code == 0, run.stderr
    listed = run_saksi(env, "list", "--case", "PG-1", "--json").json_lines()
    assert sorted(c["id"] for c in listed) == sorted(c["id"] for c in run.captures())
    assert not (tmp_path / "data" / "catalog.sqlite").exists()  # the catalog is elsewhere
    assert run_saksi(env, "custody", "checkpoint").code == 0
    verify = run_saksi(env, "verify", "--all")
    assert verify.code == 0, verify.stderr
    refused = run_saksi(env, "reindex")  # a shared catalog is never swapped under workers
    assert refused.code == 2 and "--into" in refused.stderr

    # Rebuilt from the store alone into a new database, it holds the same captures and
    # the same custody chain; a database that is not empty is refused.
    fresh = postgres.create_database(f"cat{next(_names)}").replace("+psycopg", "")
    rebuilt = run_saksi(env, "reindex", "--into", fresh, "--json")
    assert rebuilt.code == 0, rebuilt.stderr
    assert rebuilt.json()["captures"] == 2
    again = run_saksi(env, "reindex", "--into", fresh)
    assert again.code == 2 and "not empty" in again.stderr
    moved = {**env, "SAKSI_CATALOG__URL": fresh}
    log = run_saksi(moved, "custody", "log", "--json")
    assert log.code == 0
    assert log.json_lines() == run_saksi(env, "custody", "log", "--json").json_lines()
    assert run_saksi(moved, "list", "--case", "PG-1", "--json").json_lines() == listed
    assert run_saksi(moved, "verify", "--all").code == 0
