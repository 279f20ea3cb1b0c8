"""Intake keeps what the investigator gave (path, query) and refuses what is unsafe."""

from __future__ import annotations

import pytest

from crawlers.intake import IntakeError, normalise_url


@pytest.mark.parametrize("given,expected", [
    ("https://Example.ORG/artikel?id=7&utm_source=wa", "https://example.org/artikel?id=7&utm_source=wa"),
    ("HTTP://example.org:80/a#frag", "http://example.org/a"),
    ("https://example.org:8443", "https://example.org:8443/"),
    ("https://bücher.example/x?q=ä", "https://xn--bcher-kva.example/x?q=ä"),
    ("  https://example.org/spasi  ", "https://example.org/spasi"),
])
def test_normalisation_keeps_path_and_query(given, expected):
    assert normalise_url(given) == expected


@pytest.mark.parametrize("given,message", [
    ("ftp://example.org/x", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("example.org/no-scheme", "no scheme"),
    ("https://user:pw@example.org/", "credentials"),
    ("http://0x7f.1/", "ambiguous numeric host"),
    ("http://exa mple.org/", "malformed"),
    ("https://example.org:99999/", "malformed"),
    ("", "empty"),
])
def test_refusals_say_why(given, message):
    with pytest.raises(IntakeError, match=message):
        normalise_url(given)


