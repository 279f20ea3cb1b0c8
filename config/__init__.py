"""The one settings object every part of Saksi reads.

Sources, later ones winning: built-in defaults (``config/defaults.toml`` documents
them), ``$XDG_CONFIG_HOME/saksi/saksi.toml``, ``./saksi.toml`` (or the file named by
``SAKSI_CONFIG``), then the environment: every key as ``SAKSI_<SECTION>__<KEY>`` and
four short names (``SAKSI_DATA_DIR``, ``SAKSI_ALLOW_ADDRESSES``, ``SAKSI_HOST_MAP``,
``SAKSI_EXTRA_CA``). Read once at the interface and passed down; nothing here imports
another Saksi package.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import socket
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "ConfigError", "LOCK_MODES", "MODES", "Settings", "load_settings",
           "config_dir"]

MiB = 1024 * 1024
MODES = ("auto", "browser", "static")


class ConfigError(ValueError):
    """A configuration file or variable that Saksi cannot use."""


def _default_collector() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "unknown"


BACKENDS = ("local", "s3")
LOCK_MODES = ("COMPLIANCE", "GOVERNANCE")


@dataclass
class StorageSettings:
    data_dir: Path = Path("./saksi-data")
    backend: str = "local"
    bucket: str = ""
    prefix: str = ""
    endpoint_url: str = ""
    region: str = ""
    profile: str = ""
    lock_mode: str = "COMPLIANCE"
    retention_days: int = 3650
    legal_hold_by_default: bool = False
    allow_unlocked: bool = False
    multipart_threshold_mb: int = 8
    part_size_mb: int = 8
    upload_concurrency: int = 8
    checksum_compat: bool = False
    max_attempts: int = 5


@dataclass
class CollectorSettings:
    name: str = field(default_factory=_default_collector)
    organisation: str = field(default_factory=socket.gethostname)


@dataclass
class LimitsSettings:
    max_response_bytes: int = 512 * MiB
    max_capture_seconds: float = 90.0
    max_redirects: int = 10
    connect_timeout_seconds: float = 15.0
    max_header_bytes: int = 256 * 1024
    concurrent_requests: int = 16
    max_capture_bytes: int = 1024 * MiB


@dataclass
class NetworkSettings:
    allow_addresses: list[str] = field(default_factory=list)
    host_map: dict[str, str] = field(default_factory=dict)
    extra_ca: str = ""
    proxy: str = ""
    verify_tls: bool = True
    obey_robots_txt: bool = False
    user_agent: str = "Mozilla/5.0 (compatible; Saksi/{version}; evidence capture)"


@dataclass
class CaptureSettings:
    default_mode: str = "auto"


@dataclass
class BrowserSettings:
    executable: str = ""  # empty: Debian's /usr/bin/chromium, else Playwright's own
    concurrency: int = 2
    recycle_after: int = 50
    viewport_width: int = 1280
    viewport_height: int = 900
    max_scroll_height: int = 20000
    network_quiet_ms: int = 800


@dataclass
class SigningSettings:
    key_dir: Path = Path("")  # empty: $XDG_CONFIG_HOME/saksi/keys
    passphrase_file: str = ""  # unattended signing with a passphrase-protected key


@dataclass
class TimestampSettings:
    tsa_urls: list[str] = field(default_factory=list)  # RFC 3161 authorities, all asked
    ca_file: str = ""  # PEM roots the tokens must chain to
    timeout_seconds: float = 15.0


@dataclass
class PlatformSettings:
    pace_seconds: float = 5.0  # re-checks: at least this long between two of one platform
    recheck_mode: str = "browser"  # how a re-check captures what the platform serves now
    max_media_bytes: int = 512 * MiB  # largest post video/image kept as a media artifact


# The platforms Saksi has adapters for (crawlers/platforms/<name>.py); "generic" is
# every other site.
PLATFORMS = ("tiktok", "x", "instagram", "facebook", "youtube", "telegram")


@dataclass
class AccountsSettings:
    """Optional collector accounts: `[accounts.<platform>] cookies_file = "…"` (a
    Netscape cookies.txt exported from a browser logged in as the collector)."""

    cookies_files: dict[str, str] = field(default_factory=dict)


@dataclass
class CatalogSettings:
    # empty: SQLite in the data dir; postgresql://user@host/db for several machines
    # (workers share it with the S3 store)
    url: str = ""


@dataclass
class AlertSettings:
    webhook_url: str = ""  # a JSON POST for each new post under a rule and each takedown
    timeout_seconds: float = 10.0


@dataclass
class JobsSettings:
    """Distributed jobs: empty `broker` keeps every job in the process that asks for it."""

    broker: str = ""  # redis://host:port/db: Celery workers and beat on Redis
    # A job a killed worker held goes back to the queue after this long; it must exceed
    # the capture budget, or a slow capture would be handed to a second worker.
    visibility_timeout_seconds: float = 3600.0
    beat_tick_seconds: float = 5.0  # longest wait between two looks at the rules
    max_attempts: int = 3  # a job whose crawler process keeps dying is then failed


@dataclass
class Settings:
    storage: StorageSettings = field(default_factory=StorageSettings)
    collector: CollectorSettings = field(default_factory=CollectorSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    browser: BrowserSettings = field(default_factory=BrowserSettings)
    signing: SigningSettings = field(default_factory=SigningSettings)
    timestamps: TimestampSettings = field(default_factory=TimestampSettings)
    platforms: PlatformSettings = field(default_factory=PlatformSettings)
    accounts: AccountsSettings = field(default_factory=AccountsSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    sources: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.storage.data_dir

    def effective(self) -> dict[str, Any]:
        """The settings as plain data, for the warcinfo record and `saksi config`."""
        out: dict[str, Any] = {}
        for section in dataclasses.fields(self):
            if section.name == "sources":
                continue
            values = dataclasses.asdict(getattr(self, section.name))
            out[section.name] = {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}
        return out


SHORT_NAMES = {
    "SAKSI_DATA_DIR": ("storage", "data_dir"),
    "SAKSI_ALLOW_ADDRESSES": ("network", "allow_addresses"),
    "SAKSI_HOST_MAP": ("network", "host_map"),
    "SAKSI_EXTRA_CA": ("network", "extra_ca"),
}


def config_dir(environ: typing.Mapping[str, str] | None = None) -> Path:
    """Where keys and the user's saksi.toml live."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "saksi"


def load_settings(
    environ: typing.Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    settings = Settings()
    files = [config_dir(env) / "saksi.toml"]
    files.append(Path(env["SAKSI_CONFIG"]) if env.get("SAKSI_CONFIG") else here / "saksi.toml")
    for path in files:
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from exc
            _apply_file(settings, data, str(path))
            settings.sources.append(str(path))
    _apply_environment(settings, env)
    if not str(settings.signing.key_dir) or str(settings.signing.key_dir) == ".":
        settings.signing.key_dir = config_dir(env) / "keys"
    _check(settings)
    return settings


def _apply_file(settings: Settings, data: dict[str, Any], origin: str) -> None:
    for section_name, values in data.items():
        section = _section(settings, section_name, origin)
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [{section_name}] must be a table")
        if section_name == "accounts":
            for platform, table in values.items():
                if not isinstance(table, dict) or set(table) - {"cookies_file"}:
                    raise ConfigError(f"{origin}: [accounts.{platform}] takes only "
                                      "cookies_file")
                _set_account(settings, platform, table.get("cookies_file", ""), origin)
            continue
        for key, value in values.items():
            _set(section, section_name, key, value, origin)


def _apply_environment(settings: Settings, env: typing.Mapping[str, str]) -> None:
    for name, (section_name, key) in SHORT_NAMES.items():
        if env.get(name) is not None:
            _set(_section(settings, section_name, name), section_name, key, env[name], name)
    for name, value in env.items():
        if not name.startswith("SAKSI_") or "__" not in name or name in SHORT_NAMES:
            continue
        section_name, _, key = name[len("SAKSI_"):].lower().partition("__")
        if section_name == "accounts":  # SAKSI_ACCOUNTS__TIKTOK__COOKIES_FILE
            platform, _, setting = key.partition("__")
            if setting != "cookies_file":
                raise ConfigError(f"{name}: use SAKSI_ACCOUNTS__<PLATFORM>__COOKIES_FILE")
            _set_account(settings, platform, value, name)
            continue
        _set(_section(settings, section_name, name), section_name, key, value, name)


def _set_account(settings: Settings, platform: str, cookies_file: Any, origin: str) -> None:
    if platform not in PLATFORMS:
        raise ConfigError(f"{origin}: [accounts.{platform}]: unknown platform; use one of "
                          + ", ".join(PLATFORMS))
    if not isinstance(cookies_file, str):
        raise ConfigError(f"{origin}: accounts.{platform}.cookies_file must be a file name")
    if cookies_file:
        settings.accounts.cookies_files[platform] = str(Path(cookies_file).expanduser())
    else:
        settings.accounts.cookies_files.pop(platform, None)


def _section(settings: Settings, name: str, origin: str) -> Any:
    if name == "sources" or not hasattr(settings, name):
        raise ConfigError(f"{origin}: unknown settings section '{name}'")
    return getattr(settings, name)


def _set(section: Any, section_name: str, key: str, value: Any, origin: str) -> None:
    kinds = {f.name: f.type for f in dataclasses.fields(section)}
    if key not in kinds:
        raise ConfigError(f"{origin}: unknown setting '{section_name}.{key}'")
    hints = typing.get_type_hints(type(section))
    try:
        setattr(section, key, _coerce(value, hints[key]))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: bad value for '{section_name}.{key}': {exc}") from exc


def _coerce(value: Any, kind: Any) -> Any:
    """Turn a TOML value or an environment string into the field's type."""
    origin = typing.get_origin(kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        return int(value)
    if kind is float:
        return float(value)
    if kind is Path:
        return Path(str(value)).expanduser()
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {value!r}")
        return value
    if origin is list:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [str(v) for v in value]
        raise ValueError("expected a list")
    if origin is dict:
        if isinstance(value, dict):
            return {str(k).lower(): str(v) for k, v in value.items()}
        pairs: dict[str, str] = {}
        for part in str(value).split(","):
            if not part.strip():
                continue
            host, sep, target = part.partition("=")
            if not sep or not host.strip() or not target.strip():
                raise ValueError(f"expected host=ip[:port], got {part.strip()!r}")
            pairs[host.strip().lower()] = target.strip()
        return pairs
    if isinstance(kind, types.UnionType):  # pragma: no cover - no optional fields yet
        return value
    raise TypeError(f"unsupported setting type {kind!r}")


def _check(settings: Settings) -> None:
    limits = settings.limits
    if limits.max_response_bytes <= 0:
        raise ConfigError("limits.max_response_bytes must be positive")
    if limits.max_capture_seconds <= 0:
        raise ConfigError("limits.max_capture_seconds must be positive")
    if limits.max_redirects < 0:
        raise ConfigError("limits.max_redirects cannot be negative")
    if limits.concurrent_requests < 1:
        raise ConfigError("limits.concurrent_requests must be at least 1")
    _check_storage(settings.storage)
    if limits.max_capture_bytes <= 0:
        raise ConfigError("limits.max_capture_bytes must be positive")
    if settings.capture.default_mode not in MODES:
        raise ConfigError("capture.default_mode must be one of: " + ", ".join(MODES))
    browser = settings.browser
    if browser.concurrency < 1 or browser.recycle_after < 1:
        raise ConfigError("browser.concurrency and browser.recycle_after must be at least 1")
    if browser.executable and not Path(browser.executable).is_file():
        raise ConfigError(f"browser.executable: no such file {browser.executable}")
    proxy = settings.network.proxy
    if proxy and not (proxy.startswith("http://") and proxy.count(":") == 2):
        raise ConfigError(f"network.proxy must look like http://host:port, not {proxy!r}")
    for platform, path in settings.accounts.cookies_files.items():
        if not Path(path).is_file():
            raise ConfigError(f"accounts.{platform}.cookies_file: no such file {path}")
    catalog_url = settings.catalog.url
    if catalog_url and not catalog_url.startswith(("postgresql://", "postgresql+psycopg://",
                                                   "sqlite:///")):
        raise ConfigError("catalog.url must be postgresql://user@host:port/database (or "
                          f"empty for SQLite in the data dir), not {catalog_url!r}")
    _check_jobs(settings.jobs, limits)
    hook = settings.alerts.webhook_url
    if hook and not hook.startswith(("http://", "https://")):
        raise ConfigError(f"alerts.webhook_url must be an http(s) URL, not {hook!r}")
    platforms = settings.platforms
    if platforms.pace_seconds < 0 or platforms.max_media_bytes < 0:
        raise ConfigError("platforms.pace_seconds and platforms.max_media_bytes cannot be "
                          "negative")
    if platforms.recheck_mode not in ("browser", "static"):
        raise ConfigError("platforms.recheck_mode must be browser or static")
    stamps = settings.timestamps
    if stamps.tsa_urls and not stamps.ca_file:
        raise ConfigError("timestamps.ca_file must name the PEM roots the TSA tokens chain "
                          "to when timestamps.tsa_urls is set")
    if stamps.ca_file and not Path(stamps.ca_file).is_file():
        raise ConfigError(f"timestamps.ca_file: no such file {stamps.ca_file}")
    for url in stamps.tsa_urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"timestamps.tsa_urls: not an http(s) URL: {url!r}")
    passphrase_file = settings.signing.passphrase_file
    if passphrase_file and not Path(passphrase_file).is_file():
        raise ConfigError(f"signing.passphrase_file: no such file {passphrase_file}")
    if settings.network.extra_ca and not Path(settings.network.extra_ca).is_file():
        raise ConfigError(f"network.extra_ca: no such file {settings.network.extra_ca}")


def _check_jobs(jobs: JobsSettings, limits: LimitsSettings) -> None:
    if jobs.broker and not jobs.broker.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"jobs.broker must be redis://host:port/db (or empty to run jobs "
                          f"in process), not {jobs.broker!r}")
    if jobs.visibility_timeout_seconds <= limits.max_capture_seconds:
        raise ConfigError(f"jobs.visibility_timeout_seconds ({jobs.visibility_timeout_seconds:g})"
                          f" must exceed limits.max_capture_seconds "
                          f"({limits.max_capture_seconds:g}): a capture still running would be "
                          "handed to a second worker")
    if jobs.beat_tick_seconds <= 0 or jobs.max_attempts < 1:
        raise ConfigError("jobs.beat_tick_seconds must be positive and jobs.max_attempts at "
                          "least 1")


def _check_storage(storage: StorageSettings) -> None:
    if storage.backend not in BACKENDS:
        raise ConfigError(f"storage.backend '{storage.backend}' is not available; use "
                          + " or ".join(BACKENDS))
    if storage.backend != "s3":
        return
    if len(storage.bucket) < 3:
        raise ConfigError("storage.bucket must name the S3 bucket (3 characters or more) "
                          "when storage.backend = \"s3\"")
    if storage.lock_mode not in LOCK_MODES:
        raise ConfigError("storage.lock_mode must be COMPLIANCE or GOVERNANCE")
    if storage.retention_days < 1:
        raise ConfigError("storage.retention_days must be at least 1")
    if storage.part_size_mb < 5:
        raise ConfigError("storage.part_size_mb must be at least 5 (S3's smallest part)")
    if storage.multipart_threshold_mb < storage.part_size_mb:
        raise ConfigError("storage.multipart_threshold_mb cannot be below storage.part_size_mb")
    if storage.upload_concurrency < 1 or storage.max_attempts < 1:
        raise ConfigError("storage.upload_concurrency and storage.max_attempts must be "
                          "at least 1")
    if storage.endpoint_url and not storage.endpoint_url.startswith(("http://", "https://")):
        raise ConfigError(f"storage.endpoint_url must start with http:// or https://, not "
                          f"{storage.endpoint_url!r}")
