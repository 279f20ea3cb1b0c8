"""Per-platform pacing shared by every worker through Redis.

Celery's own `rate_limit` counts per worker: four workers would hit TikTok four times as
often. Here the platform's turn is one Redis key, set only if absent and expiring after
`pace_seconds`: whoever sets it may start a job on that platform now; everyone else waits
until it expires. Ordinary web sites (`generic`) are many different hosts and are not
paced together.
"""

from __future__ import annotations

import time
from typing import Any

from config import PLATFORMS

KEY = "saksi:pace:{}"


class SharedPace:
    def __init__(self, redis: Any, pace_seconds: float, holder: str,
                 sleep=time.sleep):
        self.redis, self.pace_seconds, self.holder, self.sleep = (
            redis, pace_seconds, holder, sleep)

    def wait_turn(self, platform: str) -> float:
        """Block until this worker may start a job on `platform`; seconds waited."""
        if platform not in PLATFORMS or self.pace_seconds <= 0:
            return 0.0
        waited, key, ms = 0.0, KEY.format(platform), int(self.pace_seconds * 1000)
        while not self.redis.set(key, self.holder, nx=True, px=ms):
            left = self.redis.pttl(key)
            pause = max(0.01, left / 1000 if left and left > 0 else 0.05)
            self.sleep(pause)
            waited += pause
        return waited

    def hold_off(self, platform: str, seconds: float) -> None:
        """The platform said slow down (429 Retry-After): nobody starts a job on it for
        `seconds`."""
        if platform in PLATFORMS and seconds > 0:
            self.redis.set(KEY.format(platform), "backoff", px=int(seconds * 1000))
