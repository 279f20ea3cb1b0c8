"""Shared fixtures: the loopback fixture site and running the real `saksi` command.

Loopback is enabled for tests through the explicit setting (`SAKSI_ALLOW_ADDRESSES`),
never by weakening the address rule.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.wire_server import FixtureServer

ROOT = Path(__file__).resolve().parent.parent
SAKSI = str(Path(sys.executable).with_name("saksi"))


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on loopback for the whole session (tests make databases)."""
    from tests.fixtures.postgres import Postgres

    with Postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server on loopback for the whole session (tests flush it)."""
    from tests.fixtures.redis_server import RedisServer

    with RedisServer() as server:
        yield server


@pytest.fixture()
def webhook():
    """A loopback receiver for alert messages (alerts.webhook_url)."""
    from tests.fixtures.webhook import Webhook

    with Webhook() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


def loopback_env(data_dir: Path, ca_pem: str, host_map: str, **extra: str) -> dict[str, str]:
    """The environment of a `saksi` run against loopback fixtures: a fresh data dir and
    config home, loopback allowed explicitly, the fixtures' hosts and test CA."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAKSI_")}
    env.update({
        "SAKSI_DATA_DIR": str(data_dir),
        "SAKSI_ALLOW_ADDRESSES": "127.0.0.1/32",
        "SAKSI_EXTRA_CA": ca_pem,
        "SAKSI_HOST_MAP": host_map,
        "SAKSI_COLLECTOR__NAME": "penyidik-uji",
        "XDG_CONFIG_HOME": str(data_dir.parent / "xdg"),
    })
    env.update(extra)
    return env


def saksi_env(data_dir: Path, site: FixtureServer, **extra: str) -> dict[str, str]:
    defaults = {
        "SAKSI_LIMITS__MAX_CAPTURE_SECONDS": "4",
        "SAKSI_LIMITS__MAX_RESPONSE_BYTES": str(2 * 1024 * 1024),
        "SAKSI_COLLECTOR__ORGANISATION": "Bawaslu Uji",
        # Static-mode tests by default; browser tests ask for --mode browser or auto.
        "SAKSI_CAPTURE__DEFAULT_MODE": "static",
    }
    host_map = (f"news.example.id=127.0.0.1:{site.https_port},"
                f"hoax.example.id=127.0.0.1:{site.http_port}")
    return loopback_env(data_dir, site.ca_pem_path, host_map, **{**defaults, **extra})


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def captures(self) -> list[dict]:
        """`capture --json` lines come as captures finish; this is request order
        (UUIDv7 ids from one run increase in the order the links were given)."""
        return sorted(self.json_lines(), key=lambda c: c["id"])

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_saksi(env: dict[str, str], *args: str, timeout: float = 120,
              cwd: Path | None = None) -> Run:
    proc = subprocess.run([SAKSI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or Path(env["SAKSI_DATA_DIR"]).parent)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def warc_records(path: Path) -> list[tuple[dict[str, list[str]], bytes]]:
    """(WARC headers with repeats, block bytes) of every record, read independently of
    Saksi's code: gzip members concatenated, then WARC framing by Content-Length."""
    data = gzip.decompress(path.read_bytes())
    records = []
    pos = 0
    while pos < len(data):
        end = data.index(b"\r\n\r\n", pos)
        lines = data[pos:end].split(b"\r\n")
        assert lines[0] == b"WARC/1.1", lines[0]
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            name, _, value = line.decode("utf-8").partition(":")
            headers.setdefault(name.strip(), []).append(value.strip())
        length = int(headers["Content-Length"][0])
        block = data[end + 4:end + 4 + length]
        assert data[end + 4 + length:end + 8 + length] == b"\r\n\r\n"
        records.append((headers, block))
        pos = end + 8 + length
    return records


def object_path(data_dir: Path, key: str) -> Path:
    return data_dir / key


def artifact(capture: dict, kind: str) -> dict:
    found = [a for a in capture["artifacts"] if a["kind"] == kind]
    assert found, f"no {kind} artifact in {capture['artifacts']}"
    return found[0]


def clone_data_dir(data_dir: Path | str, dest: Path | str) -> Path:
    """A byte-for-byte copy of a finished capture's data dir (file modes kept, so sealed
    objects stay read-only) for a test that changes it; the data dir holds no absolute
    path, so the copy is an evidence locker of its own. Tests that only read share one."""
    import shutil

    return Path(shutil.copytree(data_dir, dest, symlinks=True))


# ---- S3 (moto's standalone server, a separate process on loopback) --------------------


@pytest.fixture(scope="session")
def moto():
    from tests.fixtures.s3_server import MotoServer

    with MotoServer() as server:
        yield server


def s3_settings_env(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    """What a `saksi` run needs to use an S3 bucket on loopback: the backend settings and
    credentials through boto3's standard chain (here, the environment)."""
    return {
        "SAKSI_STORAGE__BACKEND": "s3",
        "SAKSI_STORAGE__BUCKET": bucket,
        "SAKSI_STORAGE__ENDPOINT_URL": endpoint,
        "SAKSI_STORAGE__MAX_ATTEMPTS": "2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **extra,
    }


def new_bucket_name() -> str:
    import uuid

    return f"ev-{uuid.uuid4().hex[:12]}"
