"""Report intake: every web link in an investigator's report file, and where it was found.

Investigators hand over the reports they received (a text note, a spreadsheet, a Word or
PDF report, a forwarded e-mail), not clean URL lists. `find_links` reads one such file and
returns every http(s) link in document order with a locator a person can check against
the file ("sheet Laporan row 4 column C"). Duplicates are kept: each occurrence is a
provenance, and deduplication belongs to the caller.

What a link is, and what is done to it:

- Text: `http://`/`https://` followed by URL characters. Trailing sentence punctuation is
  dropped (`.`, `,`, `;`, `:`, `!`, `?`, quotes, `*`, `|`, `>`), and `)`/`]` only when
  unbalanced, so Wikipedia-style `Foo_(bar)` keeps its parenthesis.
- Defanged links are refanged: `hxxp(s)://`, `[.]`, `[:]`, `[://]`; they are reported with
  `wrapped_by="defanged"`.
- Safe-link and redirect wrappers are removed (`unwrap`), repeatedly, and only when what
  is inside is itself an http(s) URL. Proofpoint URL Defense v1, v2 and v3 are decoded.
  `t.co` and other shorteners are not wrappers: only a fetch can resolve them.
- Links without a scheme (`www.tiktok.com/...`) are not taken: they cannot be told apart
  from file names and prose reliably.

Line wraps: e-mail clients and PDF layout break long links across lines. A link that
ends a line is continued by the next line only when all of these hold:

1. nothing follows the link on its line (not even a space), and it does not end in
   punctuation that would be trimmed;
2. the next line, after the same e-mail quote marks (`>`, `> >`) as the link's line,
   starts with a URL character (no indentation);
3. its first word does not start another link, a `#hashtag` or an `@mention`, and
   either the link ends in `? = & % - _ ~` (clearly unfinished) or the word starts with
   `/ ? & =` or mixes letters and digits (`eo/7336007528070958382`, `dQw4w9WgXcQ`).

So a plain word ("Akun", "dihapus"), a number or a date (`14/02/2024`) on the next line
never joins; the price is that a wrap exactly before a pure-letter or pure-digit piece is
missed (the link is reported cut).

Limits: at most `MAX_TEXT_CHARS` characters of text are taken from one file (plain text
and CSV are streamed line by line, Word files parsed incrementally); past that the file is
refused, never silently cut. openpyxl holds a workbook whole, so workbooks whose sheet XML
exceeds the same number of bytes are refused before loading; e-mails above
`MAX_MAIL_BYTES` likewise. Attachments are read from memory, never written to disk.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import html
import io
import posixpath
import re
import string
import warnings
import zipfile
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import BinaryIO, TextIO, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree

import openpyxl
from openpyxl.utils import get_column_letter
from pypdf import PageObject, PdfReader

SUPPORTED = (".txt", ".csv", ".xlsx", ".pdf", ".docx", ".eml")
MAX_TEXT_CHARS = 50_000_000  # per file: far above any real report, well below memory trouble
MAX_MAIL_BYTES = 100 * 1024 * 1024  # above what mail servers accept (25-50 MB encoded)
MAX_MAIL_NESTING = 3  # mail > forwarded mail > forwarded mail > attachment
MAX_WRAPPERS = 8  # a redirect inside a safe link inside a safe link ... stops here


class ReportError(ValueError):
    """A report file that cannot be read for links; the message is one line."""


@dataclass(frozen=True)
class FoundLink:
    url: str  # as found, after unwrapping and re-joining line wraps; not otherwise normalised
    source: str  # file name; for an e-mail attachment "mail.eml > laporan.xlsx"
    where: str  # human locator: "line 12", "sheet Laporan row 4 column C", "page 3", ...
    wrapped_by: str | None = None  # "outlook safelinks", "defanged > google redirect", ...


def find_links(path: Path) -> list[FoundLink]:
    """Every http(s) link in the report at `path`, in document order, duplicates kept."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ReportError(_unsupported(path.name, suffix))
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ReportError(
            f"{path.name}: cannot be opened ({exc.strerror}); check the path and permissions"
        ) from exc
    with stream:
        return _links_in(stream, suffix, _Reading(path.name))


def unwrap(url: str) -> tuple[str, str | None]:
    """The link inside safe-link/redirect wrappers, and the wrappers' names (outermost first).

    Only an inner http(s) URL counts, so a wrapper around `javascript:` or a relative path
    is reported as it is.
    """
    names: list[str] = []
    current = url
    for _ in range(MAX_WRAPPERS):
        step = _unwrap_once(current)
        if step is None:
            break
        current, name = step
        names.append(name)
    return current, " > ".join(names) or None


# --- one file being read ------------------------------------------------------------------


@dataclass
class _Reading:
    """The file being read: its name in results and messages, and the text taken so far."""

    source: str
    depth: int = 0  # e-mail attachment nesting
    chars: int = 0  # text taken so far, against MAX_TEXT_CHARS

    def take(self, text: str) -> str:
        self.chars += len(text)
        if self.chars > MAX_TEXT_CHARS:
            raise ReportError(
                f"{self.source}: more than {MAX_TEXT_CHARS // 1_000_000} million characters of"
                " text; split the report into smaller files"
            )
        return text

    def found(self, text: str, where: str) -> list[FoundLink]:
        link = _web_link(text)
        if link is None:
            return []
        return [FoundLink(url=link[0], source=self.source, where=where, wrapped_by=link[1])]

    def refuse(self, what: str, exc: BaseException | None, advice: str) -> ReportError:
        reason = f" ({_reason(exc)})" if exc is not None else ""
        return ReportError(f"{self.source}: {what}{reason}; {advice}")


def _links_in(stream: BinaryIO, suffix: str, reading: _Reading) -> list[FoundLink]:
    return list(_READERS[suffix](stream, reading))


_SAVE_AS = {
    ".xls": "save it as .xlsx",
    ".xlsm": "save it as .xlsx",
    ".ods": "save it as .xlsx",
    ".doc": "save it as .docx",
    ".odt": "save it as .docx",
    ".rtf": "save it as .docx or .txt",
    ".msg": "save the e-mail as .eml (or forward it and save that)",
    ".htm": "save the page as .txt, or paste its links into a .txt file",
    ".html": "save the page as .txt, or paste its links into a .txt file",
}


def _unsupported(name: str, suffix: str) -> str:
    kind = f"{suffix} files are" if suffix else "files without an extension are"
    advice = _SAVE_AS.get(suffix, f"save or export it as one of {', '.join(SUPPORTED)}")
    return f"{name}: {kind} not supported as reports; {advice}"


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0][:160] if lines else "") or type(exc).__name__


# --- links in text ------------------------------------------------------------------------

_SCHEME = r"(?:https?|hxxps?)(?:://|\[:\]//|\[://\])"
# What may appear inside a link in prose: not whitespace, not markup delimiters, not the
# typographic quotes, ellipsis and CJK punctuation that surround links in documents, not
# zero-width characters that editors insert.
_URL_CHAR = "[^\\s<>\"`{}\\\\^\\x00-\\x1f\\x7f\u200b-\u200d\u2060\ufeff“”‘’«»‹›…、。，（）「」【】]"
_URL = re.compile(rf"(?<![A-Za-z0-9]){_SCHEME}{_URL_CHAR}+", re.IGNORECASE)
_LINK_START = re.compile(rf"{_SCHEME}|www\.", re.IGNORECASE)
_PIECE = re.compile(f"{_URL_CHAR}+")
_QUOTE_PREFIX = re.compile(r"(?:[ \t]*>)+[ \t]?")
_TRAILING = frozenset(".,;:!?'\"*|>")
_CLOSERS = {")": "(", "]": "["}
_OPEN_ENDINGS = frozenset("?=&%-_~")

K = TypeVar("K")


def _trim(raw: str) -> str:
    url = raw
    while url:
        last = url[-1]
        if last in _CLOSERS:
            if url.count(last) <= url.count(_CLOSERS[last]):
                break
        elif last not in _TRAILING:
            break
        url = url[:-1]
    return url


def _continuation(url: str, prefix: str, line: str) -> int | None:
    """Where in `line` the piece continuing the wrapped `url` ends; None if it does not."""
    if not line.startswith(prefix):
        return None
    match = _PIECE.match(line, len(prefix))
    if match is None:
        return None
    piece = match.group()
    if piece[0] in "#@" or _LINK_START.match(piece):
        return None
    mixed = any(ch.isalpha() for ch in piece) and any(ch.isdigit() for ch in piece)
    if url[-1] in _OPEN_ENDINGS or piece[0] in "/?&=" or mixed:
        return match.end()
    return None


@dataclass
class _Line:
    key: object
    text: str
    start: int = 0  # what precedes was the tail of a link wrapped from the line above


def _scan(lines: Iterable[tuple[K, str]]) -> Iterator[tuple[K, int, str]]:
    """(key of the line a link starts on, its column, the link with wraps re-joined).

    Reads one line ahead, so a file can be streamed through it.
    """
    pending = iter(lines)

    def advance() -> _Line | None:
        item = next(pending, None)
        return None if item is None else _Line(item[0], item[1].rstrip("\r\n"))

    line = advance()
    following = advance() if line is not None else None
    while line is not None:
        for match in _URL.finditer(line.text, line.start):
            url = _trim(match.group())
            if url == match.group() and match.end() == len(line.text):
                quote = _QUOTE_PREFIX.match(line.text)
                prefix = quote.group() if quote else ""
                while following is not None:
                    end = _continuation(url, prefix, following.text)
                    if end is None:
                        break
                    url += following.text[len(prefix) : end]
                    following.start = end
                    trimmed = _trim(url)
                    if end == len(following.text) and trimmed == url:
                        following = advance()  # the link may go on over yet another line
                        continue
                    url = trimmed
                    break
            yield line.key, match.start(), url  # type: ignore[misc]
        line = following
        following = advance() if line is not None else None


def _offset_lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        yield offset, line
        offset += len(line) + 1


def _refang(url: str) -> tuple[str, str | None]:
    fixed = url
    if fixed[:4].lower() == "hxxp":
        fixed = "http" + fixed[4:]
    fixed = fixed.replace("[://]", "://").replace("[:]", ":").replace("[.]", ".")
    return fixed, ("defanged" if fixed != url else None)


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _web_link(text: str) -> tuple[str, str | None] | None:
    url, defanged = _refang(text.strip())
    if not _is_web_url(url):
        return None
    inner, wrappers = unwrap(url)
    names = [name for name in (defanged, wrappers) if name]
    return inner, " > ".join(names) or None


# --- safe links and redirects -------------------------------------------------------------


@dataclass(frozen=True)
class _Wrapper:
    name: str
    host: re.Pattern[str]
    path: re.Pattern[str]
    params: tuple[str, ...]


def _wrapper(name: str, host: str, path: str, *params: str) -> _Wrapper:
    return _Wrapper(name, re.compile(host), re.compile(path), params)


_WRAPPERS = (
    _wrapper(
        "outlook safelinks",
        r"(?:[a-z0-9-]+\.)?safelinks\.protection\.(?:outlook\.com|office365\.us)",
        r"/?",
        "url",
    ),
    _wrapper("teams safelinks", r"statics\.teams\.cdn\.office\.net", r".*/atp-safelinks\.html",
             "url"),
    _wrapper("google redirect", r"(?:www\.)?google\.(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})",
             r"/url", "q", "url"),
    _wrapper("facebook l.php", r"(?:(?:l|lm|m|www|web|mbasic)\.)?facebook\.com", r"/l\.php", "u"),
    _wrapper("messenger l.php", r"l\.messenger\.com", r"/l\.php", "u"),
    _wrapper("instagram redirect", r"l\.instagram\.com", r"/?", "u"),
    _wrapper("threads redirect", r"l\.threads\.(?:net|com)", r"/?", "u"),
    _wrapper("youtube redirect", r"(?:www\.|m\.)?youtube\.com", r"/redirect", "q"),
    _wrapper("slack redirect", r"slack-redir\.net", r"/link", "url"),
)

# Proofpoint URL Defense v3 keeps the URL readable but replaces some characters with `*`
# (one character) or `**X` (a run whose length X encodes: A=2, B=3, ...), taking the
# replaced characters in order from a base64 block after `__;`.
_PP_V3 = re.compile(r"/v3/__(?P<url>.+?)__;(?P<chars>[A-Za-z0-9_-]*)!")
_PP_V3_TOKEN = re.compile(r"\*(\*.)?")
_PP_V3_RUNS = {
    ch: length
    for length, ch in enumerate(string.ascii_uppercase + string.ascii_lowercase
                                + string.digits + "-_", start=2)
}
_PP_SINGLE_SLASH = re.compile(r"^([a-z0-9+.-]+:/)([^/].*)", re.IGNORECASE | re.DOTALL)


def _unwrap_once(url: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    inner: str | None = None
    name = ""
    if host == "urldefense.proofpoint.com" and parts.path in ("/v1/url", "/v2/url"):
        inner, name = _proofpoint_v1_v2(parts.path, parts.query), "proofpoint urldefense"
    elif host == "urldefense.com" and parts.path.startswith("/v3/__"):
        inner, name = _proofpoint_v3(url), "proofpoint urldefense"
    else:
        for wrapper in _WRAPPERS:
            if wrapper.host.fullmatch(host) and wrapper.path.fullmatch(parts.path):
                query = parse_qs(parts.query)
                values = [query[p][0] for p in wrapper.params if query.get(p)]
                inner, name = (values[0].strip() if values else None), wrapper.name
                break
    if inner is None or not _is_web_url(inner):
        return None
    return inner, name


def _proofpoint_v1_v2(path: str, query: str) -> str | None:
    values = parse_qs(query).get("u")
    if not values:
        return None
    encoded = values[0]
    if path == "/v2/url":  # v2 writes `%` as `-` and `/` as `_`
        encoded = unquote(encoded.replace("-", "%").replace("_", "/"))
    return html.unescape(encoded)


def _proofpoint_v3(url: str) -> str | None:
    match = _PP_V3.search(url)
    if match is None:
        return None
    encoded = match.group("url")
    single = _PP_SINGLE_SLASH.match(encoded)
    if single:  # some v3 links carry "https:/host"
        encoded = f"{single.group(1)}/{single.group(2)}"
    encoded = unquote(encoded)
    try:
        replaced = base64.urlsafe_b64decode(match.group("chars") + "==").decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    pieces: list[str] = []
    position = used = 0
    for token in _PP_V3_TOKEN.finditer(encoded):
        count = 1 if token.group() == "*" else _PP_V3_RUNS.get(token.group()[-1])
        if count is None or used + count > len(replaced):
            return None
        pieces += [encoded[position : token.start()], replaced[used : used + count]]
        used += count
        position = token.end()
    pieces.append(encoded[position:])
    return "".join(pieces)


# --- plain text and CSV -------------------------------------------------------------------


def _decoded(
    stream: BinaryIO,
    reading: _Reading,
    parse: Callable[[TextIO, _Reading], Iterator[FoundLink]],
    newline: str | None,
) -> list[FoundLink]:
    """Run `parse` over the text: UTF-8 (or UTF-16 with its BOM), else Windows-1252.

    Excel and Notepad on Indonesian Windows still save "ANSI" (cp1252) text; a file that
    is not valid UTF-8 is read again from the start that way.
    """
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        attempts = [("utf-8-sig", "replace")]
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        attempts = [("utf-16", "replace")]
    else:
        attempts = [("utf-8", "strict"), ("cp1252", "replace")]
    for number, (encoding, errors) in enumerate(attempts, 1):
        stream.seek(0)
        reading.chars = 0
        text = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline=newline)
        try:
            return list(parse(text, reading))
        except UnicodeDecodeError:
            if number == len(attempts):
                raise
        finally:
            text.detach()  # the caller owns the binary stream
    return []


def _numbered_lines(text: TextIO, reading: _Reading) -> Iterator[tuple[int, str]]:
    number = 0
    while line := text.readline(MAX_TEXT_CHARS - reading.chars + 1):
        number += 1
        yield number, reading.take(line)


def _parse_txt(text: TextIO, reading: _Reading) -> Iterator[FoundLink]:
    for number, _, url in _scan(_numbered_lines(text, reading)):
        yield from reading.found(url, f"line {number}")


def _parse_csv(text: TextIO, reading: _Reading) -> Iterator[FoundLink]:
    sample = text.read(65536)
    text.seek(0)
    try:  # Indonesian-locale Excel writes `;`-separated CSV
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(text, dialect)
    try:
        for row_number, row in enumerate(rows, 1):
            for column, cell in enumerate(row, 1):
                where = f"row {row_number} column {get_column_letter(column)}"
                for _, _, url in _scan(enumerate(reading.take(cell).splitlines())):
                    yield from reading.found(url, where)
    except csv.Error as exc:
        raise reading.refuse(f"not readable as CSV near line {rows.line_num}", exc,
                             "open it in a spreadsheet program and save it again as CSV") from exc


def _txt_links(stream: BinaryIO, reading: _Reading) -> list[FoundLink]:
    return _decoded(stream, reading, _parse_txt, newline=None)


def _csv_links(stream: BinaryIO, reading: _Reading) -> list[FoundLink]:
    return _decoded(stream, reading, _parse_csv, newline="")


# --- Excel workbooks ----------------------------------------------------------------------


def _xlsx_links(stream: BinaryIO, reading: _Reading) -> Iterator[FoundLink]:
    resave = "open it in a spreadsheet program and save it again as .xlsx"
    try:
        with zipfile.ZipFile(stream) as archive:
            xml_bytes = sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.startswith("xl/") and info.filename.endswith(".xml")
            )
    except zipfile.BadZipFile as exc:
        raise reading.refuse("not a readable .xlsx workbook", exc, resave) from exc
    if xml_bytes > MAX_TEXT_CHARS:
        raise reading.refuse(
            f"workbook too large to read whole ({xml_bytes // 1_000_000} MB of sheet XML)",
            None, "save each sheet as a CSV file and give those",
        )
    stream.seek(0)
    try:
        with warnings.catch_warnings():  # openpyxl warns about features it ignores
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(stream, data_only=False, keep_links=False)
    except Exception as exc:  # a damaged workbook fails in many ways inside openpyxl
        raise reading.refuse("not a readable .xlsx workbook", exc, resave) from exc
    try:
        for sheet in book.worksheets:
            # iter_rows() would create every empty cell in the used range; only the stored
            # cells (including hyperlink-only ones) can hold links.
            for (row, column), cell in sorted(sheet._cells.items()):
                where = f"sheet {sheet.title} row {row} column {get_column_letter(column)}"
                if cell.hyperlink is not None and cell.hyperlink.target:
                    yield from reading.found(cell.hyperlink.target, f"hyperlink in {where}")
                if isinstance(cell.value, str):  # formulas too: =HYPERLINK("https://…")
                    for _, _, url in _scan(enumerate(reading.take(cell.value).splitlines())):
                        yield from reading.found(url, where)
                if cell.comment is not None and cell.comment.text:
                    note = reading.take(cell.comment.text)
                    for _, _, url in _scan(enumerate(note.splitlines())):
                        yield from reading.found(url, f"comment in {where}")
    finally:
        book.close()


# --- Word documents -----------------------------------------------------------------------

_W = (
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",  # Strict Open XML
)
_R = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# Parts of a document besides the body that hold paragraphs, in the order they are read.
_DOCX_STORIES = ("footnotes", "endnotes", "comments", "header", "footer")
_FIELD_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def _docx_links(stream: BinaryIO, reading: _Reading) -> Iterator[FoundLink]:
    resave = "open it in a word processor and save it again as .docx"
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise reading.refuse("not a readable .docx document", exc, resave) from exc
    with archive:
        try:
            main = next(
                (target for _, kind, target in _package_rels(archive, "")
                 if kind.endswith("/officeDocument")),
                "word/document.xml",
            )
            if main not in archive.namelist():
                raise reading.refuse("has no document body", None, resave)
            rels = _package_rels(archive, main)
            stories = [(main, "document", rels)] + [
                (target, story, _package_rels(archive, target))
                for story in _DOCX_STORIES
                for _, kind, target in rels
                if kind.endswith(f"/{story}") and target in archive.namelist()
            ]
            for part, story, part_rels in stories:
                targets = {rid: target for rid, _, target in part_rels}
                with archive.open(part) as xml:
                    yield from _DocxStory(reading, story, targets).links(xml)
        except (ElementTree.ParseError, zipfile.BadZipFile, KeyError, EOFError) as exc:
            raise reading.refuse("not a readable .docx document", exc, resave) from exc


def _package_rels(archive: zipfile.ZipFile, part: str) -> list[tuple[str, str, str]]:
    """(id, type, target) of a part's relationships; internal targets as part names."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_name not in archive.namelist():
        return []
    with archive.open(rels_name) as xml:
        root = ElementTree.parse(xml).getroot()
    found = []
    for rel in root.iter(_PACKAGE_RELS):
        target = rel.get("Target", "")
        if rel.get("TargetMode") != "External":
            target = posixpath.normpath(posixpath.join("/" + folder, target)).lstrip("/")
        found.append((rel.get("Id", ""), rel.get("Type", ""), target))
    return found


def _hyperlink_field(instruction: str) -> str | None:
    """The address of a `HYPERLINK "…" \\o "tip"` field; None for others or `\\l` bookmarks."""
    tokens = [(m.group(1), True) if m.group(1) is not None else (m.group(2), False)
              for m in _FIELD_TOKEN.finditer(instruction)]
    if not tokens or tokens[0][1] or tokens[0][0].upper() != "HYPERLINK":
        return None
    rest = iter(tokens[1:])
    for token, quoted in rest:
        if not quoted and token.startswith("\\"):
            if token[1:].lower() in ("l", "o", "t"):  # switches that take an argument
                next(rest, None)
            continue
        return token
    return None


class _DocxStory:
    """Links in one WordprocessingML part, read as a stream of XML events.

    Text of a paragraph (including text boxes inside it) is gathered first, so a link
    split over several runs is seen whole; hyperlinks are placed where they start.
    """

    def __init__(self, reading: _Reading, story: str, targets: dict[str, str]) -> None:
        self.reading, self.story, self.targets = reading, story, targets
        self.paragraphs = self.tables = self.row = self.column = 0
        self.next_column = self.span = 1
        self.table_depth = self.paragraph_depth = self.run_depth = self.skipping = 0
        self.note = ""
        self.where = ""
        self.serial = 0  # which paragraph is open, for fields that span paragraphs
        self.text: list[str] = []
        self.length = 0
        self.anchors: list[tuple[int, str]] = []  # (offset in paragraph text, address)
        self.fields: list[list] = []  # [instruction parts, still collecting, serial, offset]

    def links(self, xml: BinaryIO) -> Iterator[FoundLink]:
        for event, elem in ElementTree.iterparse(xml, events=("start", "end")):
            if self.skipping:  # inside mc:Fallback, a copy of content already read
                self.skipping += 1 if event == "start" else -1
                continue
            if elem.tag == _MC_FALLBACK and event == "start":
                self.skipping = 1
                continue
            namespace, _, tag = elem.tag[1:].partition("}")
            if namespace not in _W:
                continue
            if event == "start":
                self._start(tag, elem)
            elif tag == "p":
                yield from self._end_paragraph(elem)
            else:
                self._end(tag, elem)

    def _attr(self, elem: ElementTree.Element, name: str, namespaces: tuple[str, ...]) -> str:
        for namespace in namespaces:
            value = elem.get(f"{{{namespace}}}{name}")
            if value is not None:
                return value
        return ""

    def _start(self, tag: str, elem: ElementTree.Element) -> None:
        if tag == "tbl":
            self.table_depth += 1
            if self.table_depth == 1 and not self.paragraph_depth:  # not one in a text box
                self.tables += 1
                self.row = 0
        elif tag == "tr" and self.table_depth == 1:
            self.row += 1
            self.next_column = 1
        elif tag == "tc" and self.table_depth == 1:
            self.column, self.span = self.next_column, 1
        elif tag == "gridSpan" and self.table_depth == 1:
            value = self._attr(elem, "val", _W)
            self.span = int(value) if value.isdigit() else 1
        elif tag in ("footnote", "endnote", "comment"):
            self.note = self._attr(elem, "id", _W)
        elif tag == "p":
            self.paragraph_depth += 1
            if self.paragraph_depth == 1:
                self.serial += 1
                self.text, self.length, self.anchors = [], 0, []
                self.where = self._locate()
        elif tag == "r":
            self.run_depth += 1
        elif tag == "hyperlink":
            target = self.targets.get(self._attr(elem, "id", _R))
            if target:
                self.anchors.append((self.length, target))
        elif tag == "fldSimple":
            address = _hyperlink_field(self._attr(elem, "instr", _W))
            if address:
                self.anchors.append((self.length, address))
        elif tag == "fldChar":
            kind = self._attr(elem, "fldCharType", _W)
            if kind == "begin":
                self.fields.append([[], True, self.serial, self.length])
            elif kind in ("separate", "end") and self.fields:
                self._close_field(self.fields[-1])
                if kind == "end":
                    self.fields.pop()

    def _close_field(self, state: list) -> None:
        parts, collecting, serial, offset = state
        if not collecting:
            return
        state[1] = False
        address = _hyperlink_field("".join(parts))
        if address:
            self.anchors.append((offset if serial == self.serial else self.length, address))

    def _end(self, tag: str, elem: ElementTree.Element) -> None:
        if tag == "t" and self.paragraph_depth:
            self._add(elem.text or "")
        elif tag == "instrText" and self.fields and self.fields[-1][1]:
            self.fields[-1][0].append(elem.text or "")
        elif tag in ("tab", "ptab") and self.run_depth:
            self._add("\t")
        elif tag in ("br", "cr") and self.run_depth:
            self._add("\n")
        elif tag == "noBreakHyphen" and self.run_depth:
            self._add("-")
        elif tag == "r":
            self.run_depth -= 1
        elif tag == "tc" and self.table_depth == 1:
            self.next_column = self.column + self.span
        elif tag == "tbl":
            self.table_depth -= 1
        elif tag in ("footnote", "endnote", "comment"):
            elem.clear()

    def _add(self, text: str) -> None:
        self.text.append(text)
        self.length += len(text)

    def _locate(self) -> str:
        if self.story in ("footnotes", "endnotes", "comments"):
            return f"{self.story[:-1]} {self.note}"
        if self.story in ("header", "footer"):
            return f"page {self.story}"
        if self.table_depth:
            return f"table {self.tables} row {self.row} column {self.column}"
        self.paragraphs += 1
        return f"paragraph {self.paragraphs}"

    def _end_paragraph(self, elem: ElementTree.Element) -> Iterator[FoundLink]:
        self.paragraph_depth -= 1
        if self.paragraph_depth:  # a paragraph in a text box: part of the outer one
            self._add("\n")
            return
        elem.clear()
        text = self.reading.take("".join(self.text))
        found = [(offset, 0, address, f"hyperlink in {self.where}")
                 for offset, address in self.anchors]
        found += [(start + column, 1, url, self.where)
                  for start, column, url in _scan(_offset_lines(text))]
        found.sort(key=lambda item: (item[0], item[1]))
        for _, _, url, where in found:
            yield from self.reading.found(url, where)


# --- PDF ----------------------------------------------------------------------------------


def _pdf_links(stream: BinaryIO, reading: _Reading) -> Iterator[FoundLink]:
    resave = "open it and print or export it again as PDF"
    try:  # pypdf reports a damaged file with many exception types
        pdf = PdfReader(stream)
        if pdf.is_encrypted and not pdf.decrypt(""):
            raise reading.refuse("is password-protected", None,
                                 "save an unprotected copy and give that")
        pages = list(pdf.pages)
    except ReportError:
        raise
    except Exception as exc:
        raise reading.refuse("not a readable PDF", exc, resave) from exc
    for number, page in enumerate(pages, 1):
        try:
            text = page.extract_text() or ""
            uris = list(_annotation_uris(page))
        except Exception as exc:
            raise reading.refuse(f"page {number} cannot be read", exc, resave) from exc
        for _, _, url in _scan(enumerate(reading.take(text).splitlines())):
            yield from reading.found(url, f"page {number}")
        for uri in uris:
            yield from reading.found(uri, f"page {number} link annotation")


def _annotation_uris(page: PageObject) -> Iterator[str]:
    """Targets of URI actions on a page's annotations (links, also buttons), in /Annots order."""
    annotations = page.get("/Annots")
    if annotations is None:
        return
    for reference in annotations.get_object():
        action = reference.get_object().get("/A")
        if action is None:
            continue
        action = action.get_object()
        if action.get("/S") != "/URI" or action.get("/URI") is None:
            continue
        uri = action["/URI"].get_object()
        yield uri.decode("utf-8", "replace") if isinstance(uri, bytes) else str(uri)


# --- e-mail -------------------------------------------------------------------------------

# Attachments without a usable file name are recognised by their declared type.
_MAIL_TYPES = {
    "message/rfc822": ".eml",
    "application/pdf": ".pdf",
    "text/csv": ".csv",
    "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
_BLOCK_TAGS = frozenset(
    "address article aside blockquote dd div dl dt figcaption footer form h1 h2 h3 h4 h5 h6"
    " header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)
_HIDDEN_TAGS = frozenset(("script", "style", "template", "title"))


def _eml_links(stream: BinaryIO, reading: _Reading) -> Iterator[FoundLink]:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > MAX_MAIL_BYTES:
        raise reading.refuse(f"e-mail larger than {MAX_MAIL_BYTES // 2**20} MB", None,
                             "save its attachments separately and give those")
    message = BytesParser(policy=policy.default).parse(stream)
    bodies = {"text/plain": 0, "text/html": 0}
    attachments = 0
    for part in _leaf_parts(message):
        kind = part.get_content_type()
        if kind in bodies and not part.is_attachment() and part.get_filename() is None:
            bodies[kind] += 1
            label = "mail body" if kind == "text/plain" else "mail html"
            if bodies[kind] > 1:
                label += f" {bodies[kind]}"
            text = reading.take(_part_text(part))
            if kind == "text/plain":
                for line, _, url in _scan(enumerate(text.splitlines(), 1)):
                    yield from reading.found(url, f"{label} line {line}")
            else:
                yield from _html_links(text, label, reading)
        else:
            attachments += 1
            yield from _attachment_links(part, attachments, reading)


def _leaf_parts(part: EmailMessage) -> Iterator[EmailMessage]:
    """Non-multipart parts in order; an attached message is one leaf, read as its own file."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.iter_parts():
            yield from _leaf_parts(sub)  # type: ignore[arg-type]
    else:
        yield part


def _part_text(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def _attachment_links(part: EmailMessage, number: int, reading: _Reading) -> Iterator[FoundLink]:
    name = re.split(r"[\\/]", part.get_filename() or "")[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    suffix = PurePosixPath(name).suffix.lower()
    if not suffix:
        suffix = _MAIL_TYPES.get(part.get_content_type(), "")
        name = f"{name or f'attachment {number}'}{suffix}"
    if suffix not in SUPPORTED:
        return
    if reading.depth >= MAX_MAIL_NESTING:
        raise reading.refuse(f"attachments nested more than {MAX_MAIL_NESTING} deep", None,
                             "save the innermost attachment and give it directly")
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0)
        payload = inner.as_bytes() if isinstance(inner, EmailMessage) else b""
    else:
        payload = part.get_payload(decode=True) or b""
    attached = _Reading(f"{reading.source} > {name}", depth=reading.depth + 1)
    yield from _links_in(io.BytesIO(payload), suffix, attached)


class _HtmlText(HTMLParser):
    """Visible text of an HTML body, the source line of each piece, and its link targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.length = 0
        self.starts: list[int] = []  # offset in the text where each data piece starts
        self.lines: list[int] = []  # and its source line
        self.hrefs: list[tuple[int, int, str]] = []  # (offset, source line, href)
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in ("a", "area"):
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append((self.length, self.getpos()[0], href))
        elif tag in _BLOCK_TAGS or tag == "br":
            self._add("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self._add("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.starts.append(self.length)
            self.lines.append(self.getpos()[0])
            self._add(data)

    def _add(self, text: str) -> None:
        self.pieces.append(text)
        self.length += len(text)

    def source_line(self, text: str, offset: int) -> int:
        if not self.starts:
            return 1
        index = max(bisect_right(self.starts, offset) - 1, 0)
        return self.lines[index] + text.count("\n", self.starts[index], offset)


def _html_links(markup: str, label: str, reading: _Reading) -> Iterator[FoundLink]:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.pieces)
    found = [(offset, 0, href, f"hyperlink in {label} line {line}")
             for offset, line, href in parser.hrefs]
    for start, column, url in _scan(_offset_lines(text)):
        offset = start + column
        found.append((offset, 1, url, f"{label} line {parser.source_line(text, offset)}"))
    found.sort(key=lambda item: (item[0], item[1]))
    for _, _, url, where in found:
        yield from reading.found(url, where)


_READERS: dict[str, Callable[[BinaryIO, _Reading], Iterable[FoundLink]]] = {
    ".txt": _txt_links,
    ".csv": _csv_links,
    ".xlsx": _xlsx_links,
    ".pdf": _pdf_links,
    ".docx": _docx_links,
    ".eml": _eml_links,
}
