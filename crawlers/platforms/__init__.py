"""Platform adapters: which site a link belongs to, its canonical form, and the post.

`recognise(url)` asks each platform's adapter in turn and falls back to the generic one
(news and any other page), so every http(s) link gets a platform and a canonical URL.
"""

from __future__ import annotations

from importlib import import_module

from config import PLATFORMS  # order matters only where hosts could overlap

from .base import Adapter, Recognised

GENERIC = "generic"

_loaded: dict[str, Adapter] = {}


def adapter(name: str) -> Adapter:
    """The adapter of a platform by name ("generic" for anything else)."""
    if name not in _loaded:
        module = name if name in PLATFORMS else GENERIC
        _loaded[name] = import_module(f"{__name__}.{module}").ADAPTER
    return _loaded[name]


def recognise(url: str) -> Recognised:
    for name in PLATFORMS:
        found = adapter(name).recognise(url)
        if found is not None:
            return found
    found = adapter(GENERIC).recognise(url)
    if found is None:  # the generic adapter claims every http(s) URL
        raise ValueError(f"not an http(s) URL: {url}")
    return found
