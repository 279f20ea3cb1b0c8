"""An interrupted capture keeps its partial bytes in quarantine and is never sealed."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import SAKSI, run_saksi, saksi_env


def _start_slow_capture(site, data: Path):
    env = saksi_env(data, site, SAKSI_LIMITS__MAX_CAPTURE_SECONDS="120")
    proc = subprocess.Popen([SAKSI, "capture", site.http_url("/slow"), "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=data.parent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        spools = list((data / "work").glob("*/0001.resp")) if (data / "work").exists() else []
        if spools and spools[0].stat().st_size > 1000:
            return env, proc, spools[0].parent.name
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the slow capture never started")


def _assert_quarantined(env, data: Path, site, capture_id: str) -> None:
    shown = run_saksi(env, "show", capture_id, "--json").json()
    assert shown["status"] == "failed" and "interrupted" in shown["error"]
    assert shown["artifacts"] == [] and shown["manifest_sha256"] is None
    partial = data / "quarantine" / capture_id / "0001.resp"
    kept = partial.read_bytes()
    assert len(kept) > 1000
    assert any(sent.startswith(kept) for sent in site.sent("/slow"))
    assert not (data / "captures" / capture_id).exists()
    assert not (data / "work" / capture_id).exists()
    events = run_saksi(env, "verify", "--all")
    assert events.code == 0, events.stderr


def test_kill_9_then_the_next_run_marks_it_interrupted(site, tmp_path):
    data = tmp_path / "data"
    env, proc, capture_id = _start_slow_capture(site, data)
    proc.kill()
    proc.wait(timeout=30)
    running = run_saksi(env, "show", capture_id, "--json").json()
    assert running["status"] == "running"
    later = run_saksi(env, "capture", site.http_url("/page2"), "--json")
    assert later.code == 0 and later.json_lines()[0]["status"] == "captured"
    assert "marked 1 interrupted capture(s) failed" in later.stderr
    _assert_quarantined(env, data, site, capture_id)


def test_ctrl_c_stops_and_quarantines_at_once(site, tmp_path):
    data = tmp_path / "data"
    env, proc, capture_id = _start_slow_capture(site, data)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in err.decode()
    _assert_quarantined(env, data, site, capture_id)
