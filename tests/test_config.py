"""Settings: TOML, SAKSI_<SECTION>__<KEY>, the short names, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings


def test_defaults(tmp_path):
    s = load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path)}, cwd=tmp_path)
    assert s.limits.max_response_bytes == 512 * 1024 * 1024
    assert s.data_dir == Path("./saksi-data")
    assert s.network.allow_addresses == [] and s.network.host_map == {}
    assert s.collector.name and s.collector.organisation


def test_file_then_environment_then_short_names(tmp_path):
    (tmp_path / "saksi.toml").write_text(
        '[limits]\nmax_redirects = 3\nmax_capture_seconds = 30\n'
        '[collector]\nname = "dari-file"\n', encoding="utf-8")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "x"),
           "SAKSI_LIMITS__MAX_CAPTURE_SECONDS": "12.5",
           "SAKSI_DATA_DIR": str(tmp_path / "d"),
           "SAKSI_ALLOW_ADDRESSES": "127.0.0.1/32, intranet.example",
           "SAKSI_HOST_MAP": "a.example=127.0.0.1:8080,b.example=[::1]:81",
           "SAKSI_NETWORK__OBEY_ROBOTS_TXT": "yes"}
    s = load_settings(environ=env, cwd=tmp_path)
    assert s.limits.max_redirects == 3
    assert s.limits.max_capture_seconds == 12.5
    assert s.collector.name == "dari-file"
    assert s.data_dir == tmp_path / "d"
    assert s.network.allow_addresses == ["127.0.0.1/32", "intranet.example"]
    assert s.network.host_map == {"a.example": "127.0.0.1:8080", "b.example": "[::1]:81"}
    assert s.network.obey_robots_txt is True
    assert str(tmp_path / "saksi.toml") in s.sources


@pytest.mark.parametrize("env,message", [
    ({"SAKSI_LIMITS__MAX_REDIRECTS": "many"}, "limits.max_redirects"),
    ({"SAKSI_LIMITS__NOPE": "1"}, "unknown setting 'limits.nope'"),
    ({"SAKSI_WHAT__EVER": "1"}, "unknown settings section 'what'"),
    ({"SAKSI_HOST_MAP": "justahost"}, "host=ip"),
    ({"SAKSI_LIMITS__MAX_RESPONSE_BYTES": "0"}, "must be positive"),
    ({"SAKSI_EXTRA_CA": "/no/such/ca.pem"}, "no such file"),
])
def test_bad_values_are_one_clear_error(tmp_path, env, message):
    env = {"XDG_CONFIG_HOME": str(tmp_path), **env}
    with pytest.raises(ConfigError, match=message):
        load_settings(environ=env, cwd=tmp_path)


def test_broken_toml_names_the_file(tmp_path):
    (tmp_path / "saksi.toml").write_text("[limits\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="saksi.toml"):
        load_settings(environ={"XDG_CONFIG_HOME": str(tmp_path / "x")}, cwd=tmp_path)
