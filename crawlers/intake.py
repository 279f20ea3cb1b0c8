"""Intake: turns what an investigator typed or pasted into capture requests.

A URL is checked for shape here (scheme, host, no credentials, no odd IP literals) and
normalised only as far as any browser would (scheme and host lower-cased, IDNA, default
port dropped). Its path and query string are kept exactly: they can be the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .egress import EgressRefused, check_host_syntax

ALLOWED_SCHEMES = ("http", "https")


class IntakeError(ValueError):
    """A link that cannot become a capture request; the message is one line."""


@dataclass(frozen=True)
class CaptureRequest:
    requested_url: str  # as given
    url: str  # normalised: what is fetched
    platform: str = "generic"


def normalise_url(text: str) -> str:
    raw = text.strip()
    if not raw:
        raise IntakeError("empty URL")
    if any(ch.isspace() for ch in raw) or any(ord(ch) < 32 for ch in raw):
        raise IntakeError(f"malformed URL (contains spaces or control characters): {raw!r}")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise IntakeError(f"malformed URL {raw!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise IntakeError(f"malformed URL {raw!r}: no scheme (start it with https://)")
    if scheme not in ALLOWED_SCHEMES:
        raise IntakeError(f"refused URL {raw!r}: only http and https can be captured")
    if parts.username is not None or parts.password is not None:
        raise IntakeError(f"refused URL {raw!r}: credentials in URLs are not captured")
    host = parts.hostname
    if not host:
        raise IntakeError(f"malformed URL {raw!r}: no host")
    try:
        check_host_syntax(host)
    except EgressRefused as exc:
        raise IntakeError(f"refused URL {raw!r}: {exc}") from exc
    if ":" in host:
        netloc_host = f"[{host}]"
    else:
        try:
            netloc_host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise IntakeError(f"malformed URL {raw!r}: bad host name ({exc})") from exc
    default_port = 80 if scheme == "http" else 443
    netloc = netloc_host if port in (None, default_port) else f"{netloc_host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def make_request(text: str) -> CaptureRequest:
    return CaptureRequest(requested_url=text.strip(), url=normalise_url(text))
