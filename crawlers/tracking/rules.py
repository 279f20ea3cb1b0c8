"""Tracking rules as a person types them: `tiktok '#pemilu2024' --every 1h`.

A rule names a platform and a target (a hashtag or an account), or re-checks a case;
it runs every interval (30m, 1h, 6h, 1d …) or on a cron expression (croniter). Its name
is derived (`tiktok-pemilu2024`) unless given. Bad input is one clear line.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from config import PLATFORMS

INTERVAL = re.compile(r"^\s*(\d+)\s*(m|min|h|d)\s*$", re.IGNORECASE)
UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 5 * 60  # a platform is not polled more often than this
# Which kinds of target each platform can list (a listing adapter exists).
LISTABLE = {"tiktok": ("hashtag", "account"), "x": ("account",),
            "instagram": ("hashtag", "account"), "facebook": ("account",),
            "youtube": ("account",), "telegram": ("account",)}


class RuleError(ValueError):
    """A rule that cannot be made; one line saying what to give instead."""


def parse_interval(text: str) -> int:
    found = INTERVAL.match(text or "")
    if not found:
        raise RuleError(f"bad interval {text!r}: use a number and m, h or d, e.g. 30m, 1h, "
                        "6h, 1d")
    seconds = int(found[1]) * UNIT_SECONDS[found[2].lower()]
    if seconds < MIN_INTERVAL_SECONDS:
        raise RuleError(f"interval {text!r} is too short: at least 5m")
    return seconds


def check_cron(expression: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(expression):
        raise RuleError(f"bad cron expression {expression!r}: five fields, e.g. "
                        "'*/30 * * * *'")
    return expression


def parse_target(platform: str, target: str) -> tuple[str, str]:
    """(kind, target without # or @) for `tiktok '#pemilu2024'` or `x '@akun'`."""
    if platform not in PLATFORMS:
        raise RuleError(f"unknown platform {platform!r}: use one of " + ", ".join(PLATFORMS))
    text = target.strip()
    if text.startswith("#"):
        kind, name = "hashtag", text[1:]
    elif text.startswith("@"):
        kind, name = "account", text[1:]
    else:
        raise RuleError(f"say what {target!r} is: '#tag' for a hashtag, '@name' for an "
                        "account")
    if not re.fullmatch(r"[\w.\-]{1,100}", name, re.UNICODE):
        raise RuleError(f"bad {kind} {target!r}")
    if kind not in LISTABLE.get(platform, ()):
        raise RuleError(f"{platform} {kind}s cannot be tracked yet; "
                        f"{platform} can track: " + ", ".join(LISTABLE.get(platform, ())))
    return kind, name


def derive_name(platform: str, kind: str, target: str) -> str:
    """`tiktok-pemilu2024` for a hashtag, `x-akun` for an account, `recheck-BWS-001`."""
    if kind == "recheck":
        return f"recheck-{target}"
    return f"{platform}-{target.lower()}"


def next_after(moment: datetime, every_seconds: int | None, cron: str | None) -> datetime:
    """The first due time after `moment`."""
    if cron:
        from croniter import croniter

        return croniter(cron, moment).get_next(datetime)
    assert every_seconds
    return moment + timedelta(seconds=every_seconds)


def next_window(window: datetime, now: datetime, every_seconds: int | None,
                cron: str | None) -> datetime:
    """The rule's first window after `now`, on the rule's own grid (the window just run
    plus whole intervals, or the cron's next time), so runs do not drift later."""
    following = next_after(window, every_seconds, cron)
    if following > now:
        return following
    if cron:
        return next_after(now, None, cron)
    assert every_seconds
    behind = (now - following).total_seconds() // every_seconds + 1
    return following + timedelta(seconds=behind * every_seconds)
