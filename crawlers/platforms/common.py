"""Readers every platform adapter shares: the recorded page and what its scripts fetched,
one pass over an HTML document, JSON that may be damaged, hashtags and mentions in free
text, counts and times as pages write them, and query strings with tracking parameters
taken out.

All are pure and never raise on damaged input: a page cut short must give "not found",
not a traceback, because what the platform served is evidence either way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from .base import (
    BLOCKED,
    CAPTURED,
    UNAVAILABLE,
    Adapter,
    Exchange,
    Media,
    Outcome,
    Post,
    Recognised,
)

# -- the recorded page ---------------------------------------------------------------------


def is_redirect(status: int) -> bool:
    """A 3xx answer carries no page of its own (a 304 has no body either)."""
    return 300 <= status < 400


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def page_exchange(page_url: str, exchanges: list[Exchange]) -> Exchange | None:
    """The recorded page itself: the last answer for `page_url` (a fragment aside, as HTTP
    never sends one) that is not a redirect, else the first HTML answer that is not one.
    The last, because a page fetched twice shows its final state last."""
    wanted = _without_fragment(page_url)
    for exchange in reversed(exchanges):
        if _without_fragment(exchange.url) == wanted and not is_redirect(exchange.status):
            return exchange
    for exchange in exchanges:
        if exchange.content_type in ("text/html", "application/xhtml+xml") and not is_redirect(
            exchange.status
        ):
            return exchange
    return None


def fetched_with(page: Exchange, exchanges: list[Exchange]) -> list[Exchange]:
    """The answers recorded besides the page (what its scripts fetched), redirects left
    out: where an app-shell page's data arrives."""
    return [e for e in exchanges if e is not page and not is_redirect(e.status)]


def json_bodies(exchanges: Iterable[Exchange]) -> Iterator[Any]:
    """Parsed bodies of the JSON responses a page's scripts fetched (damaged ones skipped).
    Facebook and YouTube prefix some with `for (;;);` or `)]}'` against JSON hijacking."""
    for exchange in exchanges:
        kind = exchange.content_type
        if "json" not in kind and "javascript" not in kind:
            continue
        text = exchange.text().lstrip()
        guard = next((g for g in ("for (;;);", ")]}'") if text.startswith(g)), None)
        if guard:
            text = text[len(guard) :].lstrip()
        elif "json" not in kind:  # a script bundle, not data
            continue
        whole = load_json(text)
        if whole is not None:
            yield whole
            continue
        for line in text.splitlines():  # streamed responses: one JSON document a line
            value = load_json(line)
            if value is not None:
                yield value


# -- outcomes ------------------------------------------------------------------------------

NO_POST = "no post data found in the page"
NO_PAGE = "no page among the recorded exchanges"


def page_or_outcome(page_url: str, exchanges: list[Exchange], site: str) -> Exchange | Outcome:
    """The recorded page, or the outcome when there is none to read: nothing recorded (no
    claim either way), or the site rate limiting (blocked, never evidence of removal)."""
    page = page_exchange(page_url, exchanges)
    if page is None:
        return Outcome(CAPTURED, None, NO_PAGE)
    if page.status == 429:
        return Outcome(BLOCKED, None, f"HTTP 429: {site} is rate limiting the collector")
    return page


def status_outcome(status: int) -> Outcome | None:
    """What the page's HTTP status alone says when the page holds no post: 404/410 it is
    gone, 401/403/429 it was refused (blocked, not removed); None for any other status."""
    if status in (404, 410):
        return Outcome(UNAVAILABLE, None, f"HTTP {status}")
    if status in (401, 403, 429):
        return Outcome(BLOCKED, None, f"HTTP {status}")
    return None


def opengraph_post(platform: str, post_id: str, url: str, caption: str | None,
                   media: list[Media], **fields: Any) -> Post:
    """The post as the page's OpenGraph tags give it, the fallback when its own data is
    missing or damaged: hashtags and mentions from the caption, and what the tags do not
    say (counts, times) left unknown rather than guessed."""
    return Post(platform=platform, post_id=post_id, url=url, caption=caption,
                hashtags=hashtags_in(caption), mentions=mentions_in(caption), media=media,
                source="opengraph", **fields)


# -- HTML: one pass over a page ------------------------------------------------------------


@dataclass(frozen=True)
class ScriptElement:
    """A `<script>` element: where pages carry their data as JSON."""

    attrs: dict[str, str]  # names lower-cased, entities decoded
    text: str


@dataclass
class Document:
    """What adapters read from a page: its scripts, its meta tags and what a person sees.
    Words inside script data (translation tables, other stories) are not in `text`: they
    are no signal of what the page shows."""

    scripts: list[ScriptElement] = field(default_factory=list)
    # `<meta>` contents by `property`, `name` or `itemprop` (lower-cased), in document
    # order, blank ones left out; repeats kept (`og:image` once per image)
    meta: dict[str, list[str]] = field(default_factory=dict)
    title: str = ""  # of the first <title>, whitespace collapsed
    lang: str | None = None  # <html lang>
    text: str = ""  # visible text, whitespace collapsed (no script, style or title)
    ids: set[str] = field(default_factory=set)  # element ids present in the page
    times: list[str] = field(default_factory=list)  # `datetime` of each <time>, in order

    def meta_first(self, *names: str) -> str | None:
        """The first meta content under the first of `names` that the page has."""
        for name in names:
            if self.meta.get(name):
                return self.meta[name][0]
        return None

    def scripts_where(self, **attrs: str | None) -> Iterator[ScriptElement]:
        """Scripts whose attributes match; a value of None only asks that it is present."""
        for script in self.scripts:
            if all(
                name in script.attrs and (value is None or script.attrs[name] == value)
                for name, value in attrs.items()
            ):
                yield script


class _DocumentReader(HTMLParser):
    _HIDDEN = {"script", "style", "template", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.document = Document()
        self._script_attrs: dict[str, str] | None = None
        self._script_text: list[str] = []
        self._hidden_depth = 0
        self._title: list[str] | None = None  # collecting the first <title>
        self._titled = False
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if "id" in values:
            self.document.ids.add(values["id"])
        if tag == "script":
            self._script_attrs, self._script_text = values, []
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        if tag == "title" and not self._titled:  # an <svg> title later is no page title
            self._title, self._titled = [], True
        elif tag == "html" and self.document.lang is None:
            self.document.lang = values.get("lang") or None
        elif tag == "time" and values.get("datetime"):
            self.document.times.append(values["datetime"])
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop")
                   or "").strip().lower()
            content = values.get("content", "").strip()
            if key and content:
                self.document.meta.setdefault(key, []).append(content)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script_attrs is not None:
            text = "".join(self._script_text)
            self.document.scripts.append(ScriptElement(self._script_attrs, text))
            self._script_attrs = None
        if tag in self._HIDDEN and self._hidden_depth:
            self._hidden_depth -= 1
        if tag == "title" and self._title is not None:
            self.document.title = " ".join("".join(self._title).split())
            self._title = None

    def handle_data(self, data: str) -> None:
        if self._script_attrs is not None:
            self._script_text.append(data)
        elif self._title is not None:
            self._title.append(data)
        elif not self._hidden_depth:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        if self._script_attrs is not None:  # a page cut inside a script element
            self.handle_endtag("script")
        # a page cut inside its title has no title: the words so far may say otherwise
        self.document.text = " ".join(" ".join(self._text).split())


def read_document(html: str) -> Document:
    """Scripts, meta tags and visible text of an HTML page, tolerant of broken markup."""
    reader = _DocumentReader()
    try:
        reader.feed(html)
        reader.close()
    except (AssertionError, ValueError):  # html.parser gives up on some garbage
        pass
    return reader.document


class Node:
    """An element of a small HTML tree (enough for widget markup; not a browser DOM)."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None = None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, cls: str | None = None, tag: str | None = None) -> list[Node]:
        return [
            node
            for node in self.iter()
            if (cls is None or cls in node.classes) and (tag is None or node.tag == tag)
        ]

    def find(self, cls: str | None = None, tag: str | None = None) -> Node | None:
        return next(iter(self.find_all(cls, tag)), None)

    def text(self) -> str:
        """Text as shown: `<br>` as a line break, scripts and styles left out."""
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "br":
                parts.append("\n")
            elif child.tag not in ("script", "style"):
                parts.append(child.text())
        return "".join(parts)


_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:  # a stray end tag is ignored
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def html_tree(html: str) -> Node:
    """The element tree of a page, for markup whose nesting carries the data (widgets)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# -- JSON ----------------------------------------------------------------------------------


def load_json(text: str | bytes | None) -> Any:
    """Parsed JSON, or None when the text is missing, truncated or not JSON."""
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def json_after(text: str, marker: str | re.Pattern[str]) -> Any | None:
    """The JSON value that starts right after `marker` (a regex such as
    `var ytInitialPlayerResponse\\s*=`), read with `raw_decode` so what follows the value
    (`;var meta = ...`) does not matter. None if absent or damaged."""
    pattern = re.compile(marker) if isinstance(marker, str) else marker
    decoder = json.JSONDecoder()
    for match in pattern.finditer(text):
        start = match.end()
        while start < len(text) and text[start] in " \t\r\n":
            start += 1
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if value is not None:  # `= null` placeholders come before the real assignment
            return value
    return None


def walk(value: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON value, shallow ones first (breadth-first), so a post's own
    fields are met before those of posts nested in it."""
    queue: list[Any] = [value]
    index = 0
    while index < len(queue):
        item = queue[index]
        index += 1
        if isinstance(item, dict):
            yield item
            queue.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            queue.extend(v for v in item if isinstance(v, dict | list))


def walk_key(value: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` at any depth, shallow ones first. Pages nest their
    data under keys that move between releases; searching by the one stable name keeps
    adapters working when the wrapping changes."""
    for item in walk(value):
        if key in item:
            yield item[key]


def dig(value: Any, *path: str | int) -> Any:
    """`value[p0][p1]...`, or None when any step is missing or of the wrong kind."""
    for step in path:
        if isinstance(step, int) and isinstance(value, list) and -len(value) <= step < len(value):
            value = value[step]
        elif isinstance(step, str) and isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (page data is not trusted)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    """A string with something in it, or an id given as a number, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def as_count(value: Any) -> int | None:
    """A whole number that cannot be negative (a count, a size, Unix seconds) from an int,
    an integral float or a digit string ("1234", "1,234"); None when not given."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", value.strip()):
        return int(value.strip().replace(",", ""))
    return None


def as_seconds(value: Any) -> float | None:
    """A positive duration in seconds from a number or a numeric string."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


# -- text ----------------------------------------------------------------------------------

# A hashtag needs a letter (platforms do not link "#1"); "&#" is an HTML entity and "/#"
# a link's fragment. A mention after "/" is a path (youtube.com/@handle), after a word an
# e-mail address.
_HASHTAG = re.compile(r"(?<![\w&#/])[#＃](\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?<![\w.@/])@(\w(?:[\w.]*\w)?)")


def unique(names: Iterable[str]) -> list[str]:
    """Names in order, empty ones and repeats dropped; platforms treat hashtags and handles
    without regard to case, so the first spelling of each is kept."""
    seen: set[str] = set()
    kept = []
    for name in names:
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept


def hashtags_in(text: str | None) -> list[str]:
    """Hashtags as written (without "#"), in order, once each."""
    return unique(_HASHTAG.findall(text or ""))


def mentions_in(text: str | None) -> list[str]:
    """Mentioned handles (without "@"), in order, once each."""
    return unique(_MENTION.findall(text or ""))


def clean_text(text: Any) -> str | None:
    """Text with runs of spaces collapsed on each line and blank ends removed."""
    if not isinstance(text, str):
        return None
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    joined = "\n".join(lines).strip()
    return joined or None


def music_label(title: str | None, author: str | None) -> str | None:
    """"Title - Author", without repeating an author the title already names."""
    title, author = (title or "").strip(), (author or "").strip()
    if not title:
        return author or None
    if not author or author.casefold() in title.casefold():
        return title
    return f"{title} - {author}"


_SUFFIXES = {
    "k": 10**3, "rb": 10**3, "ribu": 10**3,
    "m": 10**6, "jt": 10**6, "juta": 10**6, "mln": 10**6,
    "b": 10**9, "mlyr": 10**9, "miliar": 10**9,
}  # fmt: skip
_DISPLAYED_COUNT = re.compile(r"(\d[\d.,\u00a0\u202f ]*)\s*([a-zA-Z]+\.?)?")


def parse_count(text: str | int | None) -> int | None:
    """A count as a page displays it: `1,234`, `1.234` (Indonesian grouping), `1.2K`,
    `1,2 rb`, `3 jt`. An abbreviated count is the displayed value times its unit
    (`1.2K` -> 1200), so it is as exact as the page was, no more."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if not text:
        return None
    match = _DISPLAYED_COUNT.search(text)
    if not match:
        return None
    number = match.group(1).strip().replace("\u00a0", " ").replace("\u202f", " ")
    unit = (match.group(2) or "").rstrip(".").lower()
    scale = _SUFFIXES.get(unit)
    if scale:
        number = number.replace(" ", "")
        if re.fullmatch(r"\d+([.,]\d+)?", number):
            return round(float(number.replace(",", ".")) * scale)
        return None
    if re.fullmatch(r"\d{1,3}([., ]\d{3})+|\d+", number):
        return int(re.sub(r"[., ]", "", number))
    return None


# -- time ----------------------------------------------------------------------------------

ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def iso_from_epoch(value: Any) -> str | None:
    """Unix seconds (int or digit string) as "YYYY-MM-DDTHH:MM:SSZ"; None if not a time."""
    seconds = as_count(value)
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).strftime(ISO_UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_from_text(value: Any) -> str | None:
    """An ISO 8601 time with a zone (`2024-02-10T08:30:00+07:00`, `...Z`) in UTC.
    A date alone or a time without a zone gives None: the moment is not known and is not
    guessed."""
    if not isinstance(value, str) or "T" not in value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime(ISO_UTC)


# -- URLs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlParts:
    """An absolute http(s) URL in the parts adapters read."""

    scheme: str  # "http" or "https"
    host: str  # lower case, without port or trailing dot
    authority: str  # host[:port] as written, lower case, without user info
    path: str  # "/" when empty
    query: str  # as written, without "?" (and without the tracking parameters asked)
    fragment: str
    removed: tuple[str, ...] = ()  # the tracking parameters taken out of `query`

    @property
    def segments(self) -> list[str]:
        """The path's non-empty segments (`/a//b/` -> `["a", "b"]`)."""
        return [segment for segment in self.path.split("/") if segment]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The query's name/value pairs, decoded, blank values kept."""
        return parse_qsl(self.query, keep_blank_values=True)

    def recognised(self, adapter: Adapter, kind: str, base: str, post_id: str | None = None
                   ) -> Recognised:
        """This URL as `adapter` reads it: `base` (the canonical form of its path) with
        the query as given, tracking parameters aside."""
        return Recognised(adapter.name, kind, with_query(base, self.query), post_id,
                          self.removed)


def split_http_url(url: str, tracking: tuple[str, ...] = ()) -> UrlParts | None:
    """The parts of an absolute http(s) URL, its query without the `tracking` parameters
    (see `drop_tracking`); None for anything else."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    authority = parts.netloc.rsplit("@", 1)[-1].lower()
    query, removed = drop_tracking(parts.query, tracking) if tracking else (parts.query, ())
    return UrlParts(scheme, host.rstrip("."), authority, parts.path or "/", query,
                    parts.fragment, removed)


def is_listed(name: str, patterns: Iterable[str]) -> bool:
    """Whether a query parameter is in a list where `utm_*` stands for a prefix; both sides
    compared in lower case (`themeRefresh` is listed as YouTube writes it)."""
    lowered = name.lower()
    for pattern in patterns:
        if pattern.endswith("*"):
            if lowered.startswith(pattern[:-1].lower()):
                return True
        elif lowered == pattern.lower():
            return True
    return False


def drop_tracking(query: str, patterns: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """The query without tracking parameters (kept ones byte for byte, in order: no
    re-encoding), and the names removed."""
    patterns = tuple(patterns)
    kept: list[str] = []
    removed: list[str] = []
    for piece in query.split("&"):
        if not piece:
            continue
        name = unquote_plus(piece.split("=", 1)[0])
        if is_listed(name, patterns):
            if name not in removed:
                removed.append(name)
        else:
            kept.append(piece)
    return "&".join(kept), tuple(removed)


def with_query(base: str, query: str) -> str:
    """`base?query`, or `base` alone: a canonical URL never ends in a bare "?"."""
    return f"{base}?{query}" if query else base


def encode_query(pairs: list[tuple[str, str]]) -> str:
    """A query string from name/value pairs, leaving the characters platforms write
    unescaped (`:/@!$'()*,;`) as they are."""
    return urlencode(pairs, safe=":/@!$'()*,;")


def claimed(adapter: Adapter, kind: str, base: str, query: str) -> Recognised:
    """A URL `adapter` claims that names no post (a profile, a short link, any other
    page): `base` with its query as given, less the adapter's tracking parameters (any
    other one might change what is shown)."""
    kept, removed = drop_tracking(query, adapter.tracking_params)
    return Recognised(adapter.name, kind, with_query(base, kept), None, removed)
