"""`saksi capture`'s intake: links from the command line and report files, planned
(normalised, recognised, de-duplicated), shown for --dry-run, and the report files
stored as `source` evidence before anything is fetched."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from crawlers.plan import Origin, PlannedLink, plan

SOURCE_TYPES = {
    ".txt": "text/plain", ".csv": "text/csv", ".pdf": "application/pdf", ".eml": "message/rfc822",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def gather_links(urls: list[str], files: list[Path]) -> list[PlannedLink]:
    """Command-line links first, then each file's links in document order."""
    from crawlers.reports import find_links

    found: list[tuple[str, Origin]] = [(u, Origin()) for u in urls]
    for path in files:
        commented = _commented_lines(path)
        found += [(link.url, Origin(link.source, link.where, link.wrapped_by))
                  for link in find_links(path) if link.where not in commented]
    return plan(found)


def _commented_lines(path: Path) -> set[str]:
    """In a plain list of links, a line starting '# ' or '#http' is commented out (a
    '#hashtag' line is not)."""
    if path.suffix.lower() != ".txt":
        return set()
    out = set()
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                text = line.lstrip()
                if text.startswith(("# ", "#\t", "#http")) or text.rstrip() == "#":
                    out.add(f"line {number}")
    except OSError:
        pass  # find_links names the problem
    return out


def print_plan(planned: list[PlannedLink], as_json: bool, out: Any) -> None:
    import json

    from rich.table import Table

    if as_json:
        for item in planned:
            out.print(json.dumps(item.to_json(), ensure_ascii=False), markup=False,
                      highlight=False, soft_wrap=True)
        return
    table = Table(box=None)
    for name in ("#", "platform", "what", "will fetch", "found at"):
        table.add_column(name, overflow="fold")
    for number, item in enumerate(planned, start=1):
        if item.error:
            what, fetch = "refused", item.error
        elif item.kind == "short":
            what, fetch = "short link", f"{item.fetch_url} (to resolve when captured)"
        else:
            what = f"{item.kind} {item.post_id}" if item.post_id else (item.kind or "")
            fetch = item.fetch_url or ""
        found = item.origin.text()
        if item.duplicates:
            found += f" (+{len(item.duplicates)} more: " + "; ".join(
                d.text() for d in item.duplicates) + ")"
        table.add_row(str(number), item.platform or "-", what, fetch, found)
    out.print(table)
    refused = sum(1 for p in planned if p.error)
    short = sum(1 for p in planned if p.kind == "short")
    doubles = sum(len(p.duplicates) for p in planned)
    out.print(f"{len(planned) - refused} link(s) to capture, {refused} refused, {short} short "
              f"link(s) to resolve, {doubles} duplicate(s) merged; nothing was fetched",
              markup=False)


def store_sources(evidence: Any, files: list[Path], case: str | None,
                  planned: list[PlannedLink]) -> dict[str, Any]:
    """Each report file into the store (re-hashed), as a `source` artifact; a
    `source.added` custody event on the case says which links it gave."""
    from storage.catalog import EventDraft
    from storage.records import Artifact

    made: dict[str, Any] = {}
    drafts = []
    for path in files:
        with evidence.store.batch() as batch:
            pending = batch.new_blob()
            with open(path, "rb") as f:
                while block := f.read(1024 * 1024):
                    pending.write(block)
            pending.close()
        stored = batch.result(pending)
        media_type = SOURCE_TYPES.get(path.suffix.lower()) or \
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        made[path.name] = Artifact("source", stored.sha256, stored.bytes, media_type,
                                   stored.key, path.name)
        links = sum(1 for p in planned for o in [p.origin, *p.duplicates]
                    if o.source == path.name)
        drafts.append(EventDraft(evidence.actor, "source.added", case or "intake", {
            "name": path.name, "sha256": stored.sha256, "bytes": stored.bytes,
            "key": stored.key, "links_found": links}))
    if drafts:
        evidence.custody.record(drafts)
        evidence.custody.flush()
    return made


def same_posts(results: list[Any]) -> list[tuple[Any, list[Any]]]:
    """Captures of one run that turned out to be the same post (short links resolved,
    or two forms of one link): de-duplication by post id, after capture."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for capture in results:
        post = capture.post or {}
        if post.get("post_id") and capture.platform != "generic":
            groups.setdefault((capture.platform, str(post["post_id"])), []).append(capture)
    return [(group[0], group[1:]) for group in groups.values() if len(group) > 1]
