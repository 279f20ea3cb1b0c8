"""Collector accounts: a platform's cookies sent with its captures, never archived.

Some posts are shown only to a logged-in visitor. A collector may export the cookies of
a browser logged in as the organisation's account (`[accounts.<platform>] cookies_file`,
Netscape cookies.txt as browser extensions and yt-dlp write it). They are sent with that
platform's requests; their values are session secrets, so each archived request record
carries `[REDACTED]` in their place, and the record notes which cookies were redacted.
The request that was sent differs from the record only there, and the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REDACTED = "[REDACTED]"


@dataclass(frozen=True)
class AccountCookie:
    domain: str
    name: str
    value: str
    path: str
    secure: bool

    def for_playwright(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "domain": self.domain,
                "path": self.path, "secure": self.secure}

    def for_scrapy(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "domain": self.domain,
                "path": self.path, "secure": self.secure}


class AccountError(ValueError):
    """The cookies file cannot be used; one line."""


def load_cookies(path: str) -> list[AccountCookie]:
    """Every cookie in a Netscape cookies.txt (expired ones too: the site decides).

    Read here rather than with http.cookiejar.MozillaCookieJar, which skips the
    `#HttpOnly_` lines browser exporters write for HttpOnly cookies: the session
    cookies an account needs are exactly those.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AccountError(f"{path}: cannot read ({exc.strerror})") from None
    cookies = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line.startswith("#HttpOnly_"):
            line = line[len("#HttpOnly_"):]
        elif not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise AccountError(f"{path} line {number}: not a Netscape cookies.txt line "
                               "(7 tab-separated fields)")
        domain, _subdomains, cookie_path, secure, _expires, name, value = fields
        cookies.append(AccountCookie(domain, name, value, cookie_path or "/",
                                     secure.upper() == "TRUE"))
    if not cookies:
        raise AccountError(f"{path}: no cookies in it")
    return cookies


class Redactor:
    """Replaces the account cookies' values in archived request heads."""

    def __init__(self, cookies: list[AccountCookie]):
        self.names = {c.name for c in cookies if c.value}
        self.values = {c.value for c in cookies if c.value}

    def redact(self, head: bytes) -> tuple[bytes, list[str]]:
        """(the head with account cookie values redacted, the names redacted)."""
        if not self.values:
            return head, []
        lines = head.split(b"\r\n")
        redacted: list[str] = []
        for number, line in enumerate(lines):
            name, sep, value = line.partition(b":")
            if not sep or name.strip().lower() != b"cookie":
                continue
            pairs = []
            for pair in value.decode("latin-1").split(";"):
                cookie, eq, content = pair.strip().partition("=")
                if eq and (cookie in self.names or content in self.values):
                    pairs.append(f"{cookie}={REDACTED}")
                    redacted.append(cookie)
                else:
                    pairs.append(pair.strip())
            lines[number] = name + b": " + "; ".join(pairs).encode("latin-1")
        if not redacted:
            return head, []
        out = b"\r\n".join(lines)
        return out, sorted(set(redacted))


def cookie_domain_matches(cookie_domain: str, host: str) -> bool:
    domain = cookie_domain.lstrip(".").lower()
    host = host.lower()
    return host == domain or host.endswith("." + domain)

