"""What the legal team relies on: list, show, get, verify (tampering named), reindex."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil

import pytest

from tests.conftest import artifact, clone_data_dir, run_saksi, saksi_env


@pytest.fixture(scope="module")
def sealed(site, tmp_path_factory):
    """One real capture run; every test gets its own copy of the result (they tamper)."""
    data = tmp_path_factory.mktemp("sealed") / "data"
    env = saksi_env(data, site)
    run = run_saksi(env, "capture", site.http_url("/gzip"), "https://news.example.id/page2",
                    "--case", "BWS-002", "--json")
    assert run.code == 0, run.stderr
    return {"data": data, "captures": run.captures()}


@pytest.fixture()
def store(sealed, site, tmp_path):
    data = clone_data_dir(sealed["data"], tmp_path / "data")
    return {"env": saksi_env(data, site), "data": data,
            "captures": copy.deepcopy(sealed["captures"])}


def _segments(data):
    return sorted((data / "custody/segments").iterdir())


def _events(data):
    return [json.loads(line) for seg in _segments(data) for line in seg.read_text().splitlines()]


def test_list_and_show_print_the_contract(store):
    env = store["env"]
    listed = run_saksi(env, "list", "--json", "--case", "BWS-002").json_lines()
    assert [c["id"] for c in listed] == [c["id"] for c in store["captures"]]
    one = run_saksi(env, "show", store["captures"][0]["id"], "--json").json()
    assert one == store["captures"][0]
    human = run_saksi(env, "show", store["captures"][0]["id"][:30])
    assert human.code == 0 and store["captures"][0]["id"] in human.stdout
    assert artifact(one, "warc")["sha256"] in human.stdout
    assert run_saksi(env, "list", "--case", "NOPE", "--json").stdout == ""


def test_get_copies_verified_bytes_and_logs_the_access(store, tmp_path):
    capture = store["captures"][1]
    out = tmp_path / "out"
    run = run_saksi(store["env"], "get", capture["id"], "--out", str(out))
    assert run.code == 0, run.stderr
    for a in capture["artifacts"]:
        copied = out / (a["name"] or os.path.basename(a["key"]))
        assert hashlib.sha256(copied.read_bytes()).hexdigest() == a["sha256"]
    assert (out / "certificate-chain.pem").exists()
    accessed = [e for e in _events(store["data"]) if e["action"] == "archive.accessed"]
    assert accessed and accessed[-1]["subject"] == capture["id"]
    assert accessed[-1]["actor"] == "penyidik-uji"
    again = run_saksi(store["env"], "get", capture["id"], "--out", str(out))
    assert again.code == 2 and "exists already" in again.stderr


def test_verify_ok_then_a_flipped_byte_is_named(store):
    env, data = store["env"], store["data"]
    capture = store["captures"][0]
    ok = run_saksi(env, "verify", capture["id"])
    assert ok.code == 0 and ok.stdout.startswith("OK"), ok.stderr
    warc = artifact(capture, "warc")
    path = data / warc["key"]
    path.chmod(0o644)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    bad = run_saksi(env, "verify", capture["id"], "--json")
    assert bad.code == 1
    report = bad.json()
    assert not report["ok"]
    assert any(warc["key"] in f and "SHA-256" in f for f in report["faults"])
    assert "FAULT" in bad.stderr and warc["key"] in bad.stderr
    events = _events(data)
    assert [e["action"] for e in events].count("verify.run") == 2
    assert any(e["action"] == "integrity.failed" and warc["key"] in e["details"]["fault"]
               for e in events)
    other = run_saksi(env, "verify", store["captures"][1]["id"])
    assert other.code == 0  # the untouched capture still verifies


def test_verify_all_names_an_edited_custody_line(store):
    env, data = store["env"], store["data"]
    assert run_saksi(env, "verify", "--all").code == 0
    segment = _segments(data)[0]
    segment.chmod(0o644)
    lines = segment.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"actor":"penyidik-uji"', '"actor":"orang-lain"')
    segment.write_text("".join(lines))
    bad = run_saksi(env, "verify", "--all")
    assert bad.code == 1
    assert "custody event 2" in bad.stderr and segment.name in bad.stderr


def test_reindex_rebuilds_the_catalog_from_the_store_alone(store):
    env, data = store["env"], store["data"]
    before = run_saksi(env, "list", "--json").json_lines()
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (data / name).unlink(missing_ok=True)
    run = run_saksi(env, "reindex", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["captures"] == len(before)
    after = run_saksi(env, "list", "--json").json_lines()
    strip = lambda cs: [{k: v for k, v in c.items()} for c in cs]  # noqa: E731
    assert strip(after) == strip(before)
    assert run_saksi(env, "verify", "--all").code == 0


def test_usage_errors_exit_2_with_one_line(store, tmp_path):
    env = store["env"]
    for args, needle in ((["capture"], "at least one URL"),
                         (["capture", "https://a.example", "--mode", "video"], "unknown mode"),
                         (["show", "nope"], "no capture with id"),
                         (["verify"], "one capture ID, a bundle .zip, or --all"),
                         (["capture", "--from", str(tmp_path / "none.txt")], "cannot be opened")):
        run = run_saksi(env, *args)
        assert run.code == 2, (args, run.stderr)
        assert needle in run.stderr and len(run.stderr.strip().splitlines()) == 1
    broken = dict(env, SAKSI_LIMITS__MAX_REDIRECTS="lots")
    run = run_saksi(broken, "list")
    assert run.code == 2 and "limits.max_redirects" in run.stderr
    assert "Traceback" not in run.stderr


def test_proxy_variables_from_the_environment_are_ignored(site, tmp_path):
    env = saksi_env(tmp_path / "data", site, HTTP_PROXY="http://127.0.0.1:9",
                    http_proxy="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
                    ALL_PROXY="http://127.0.0.1:9")
    run = run_saksi(env, "capture", site.http_url("/page2"), "--json")
    assert run.code == 0, run.stderr
    assert run.json_lines()[0]["status"] == "captured"


def test_capture_from_file_and_scrapy_crawl_use_the_same_pipeline(site, tmp_path):
    env = saksi_env(tmp_path / "data", site)
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# laporan\n{site.http_url('/page2')}\n# {site.http_url('/gzip')}\n\n"
                    f"{site.http_url('/chunked')}\n")
    run = run_saksi(env, "capture", "--from", str(urls), "--case", "K1", "--json")
    assert [c["status"] for c in run.json_lines()] == ["captured", "captured"]
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    scrapy = Path(sys.executable).with_name("scrapy")
    proc = subprocess.run([str(scrapy), "crawl", "capture", "-a",
                           f"urls={site.http_url('/reason')}", "-a", "case=K1"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = run_saksi(env, "list", "--case", "K1", "--json").json_lines()
    assert len(listed) == 3 and all(c["status"] == "captured" for c in listed)
    assert run_saksi(env, "verify", "--all").code == 0
    shutil.rmtree(tmp_path / "data")


def test_a_configured_proxy_is_used_and_the_address_rule_still_holds(site, tmp_path):
    from tests.conftest import warc_records
    from tests.fixtures.proxy import ForwardProxy

    with ForwardProxy() as proxy:
        env = saksi_env(tmp_path / "data", site,
                        SAKSI_NETWORK__PROXY=f"http://127.0.0.1:{proxy.port}")
        run = run_saksi(env, "capture", site.http_url("/reason"),
                        "https://news.example.id/gzip", "http://127.0.0.9/", "--json")
    plain, tls, refused = run.captures()
    assert plain["status"] == tls["status"] == "captured", run.stderr
    assert refused["status"] == "failed" and "loopback" in refused["error"]
    assert f"CONNECT 127.0.0.1:{site.https_port} HTTP/1.1".encode() in proxy.seen
    assert f"GET http://127.0.0.1:{site.http_port}/reason HTTP/1.1".encode() in proxy.seen
    assert not any(b"127.0.0.9" in line for line in proxy.seen)
    records = warc_records(tmp_path / "data" / artifact(tls, "warc")["key"])
    response = [b for h, b in records if h["WARC-Type"] == ["response"]][0]
    assert response == site.sent("/gzip")[-1]


def test_robots_txt_is_ignored_for_requested_urls_unless_turned_on(site, tmp_path):
    from tests.conftest import warc_records

    url = site.http_url("/private")
    default = run_saksi(saksi_env(tmp_path / "a", site), "capture", url, "--json")
    assert default.json_lines()[0]["status"] == "captured"
    c = default.json_lines()[0]
    info = warc_records(tmp_path / "a" / artifact(c, "warc")["key"])[0][1].decode()
    assert "robots: not consulted" in info
    obey = run_saksi(saksi_env(tmp_path / "b", site, SAKSI_NETWORK__OBEY_ROBOTS_TXT="true"),
                     "capture", url, site.http_url("/page2"), "--json")
    blocked, allowed = obey.captures()
    assert blocked["status"] == "failed" and "robots.txt" in blocked["error"]
    assert allowed["status"] == "captured"
    info = warc_records(tmp_path / "b" / artifact(allowed, "warc")["key"])[0][1].decode()
    assert "robots: consulted" in info

