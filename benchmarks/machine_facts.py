"""Facts about the machine and the software a benchmark ran with, shared by the benchmark
scripts (each is run as `python benchmarks/<name>.py`, so this folder is on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from importlib import metadata


def package_versions(dists: Iterable[str]) -> dict[str, str]:
    """Python's version and each distribution's ("not installed" when absent)."""
    found = {"python": sys.version.split()[0]}
    for dist in dists:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def tool_version(argv: list[str], parse: Callable[[str], str]) -> str:
    """`parse` applied to the first line a command prints, or "not installed"."""
    try:
        first = subprocess.run(argv, capture_output=True, text=True,
                               timeout=30).stdout.splitlines()[0]
        return parse(first)
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not installed"


def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy, all cores (not idle, not iowait)."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
