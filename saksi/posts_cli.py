"""`saksi search` and `saksi recheck`: finding captured posts, and checking whether they
are still up and unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from saksi.cli import EXIT_FAILED, UsageProblem, _open, _print_json, app, err, out


def _day(text: str | None, option: str):
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"{option} takes a date like 2024-01-31 (or an ISO time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def search(
    platform: Annotated[str | None, typer.Option(help="tiktok, x, instagram, facebook, "
                                                 "youtube, telegram or generic.")] = None,
    author: Annotated[str | None, typer.Option(help="Author handle, with or without @.")]
    = None,
    hashtag: Annotated[str | None, typer.Option(help="Hashtag, with or without #.")] = None,
    case: Annotated[str | None, typer.Option(help="Case.")] = None,
    status: Annotated[str | None, typer.Option(help="Capture status.")] = None,
    state: Annotated[str | None, typer.Option(
        help="What re-checks found: up, taken_down or changed.")] = None,
    since: Annotated[str | None, typer.Option(
        help="Posted on or after (captured, for pages without a post time).")] = None,
    until: Annotated[str | None, typer.Option(help="Posted before.")] = None,
    url: Annotated[str | None, typer.Option(
        help="Was this link already captured? Any form of it: short, with tracking "
             "parameters, or another post URL of the same post.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """Find captured posts by platform, author, hashtag, case, status, time or URL."""
    from crawlers.intake import IntakeError, normalise_url
    from crawlers.platforms import PLATFORMS, recognise
    from storage.post_index import CHANGED, TAKEN_DOWN, UP, PostFilter
    from storage.records import STATUSES

    if platform and platform not in (*PLATFORMS, "generic"):
        raise UsageProblem(f"unknown platform '{platform}': use one of "
                           + ", ".join((*PLATFORMS, "generic")))
    if status and status not in STATUSES:
        raise UsageProblem(f"unknown status '{status}': use one of " + ", ".join(STATUSES))
    if state and state not in (UP, TAKEN_DOWN, CHANGED):
        raise UsageProblem("--state is up, taken_down or changed")
    wanted = PostFilter(platform=platform, author=author, hashtag=hashtag, case=case,
                        status=status, state=state, since=_day(since, "--since"),
                        until=_day(until, "--until"))
    if url:
        try:
            normal = normalise_url(url)
        except IntakeError as exc:
            raise UsageProblem(str(exc)) from None
        seen = recognise(normal)
        wanted.url_forms = tuple(dict.fromkeys((url.strip(), normal, seen.canonical_url)))
        if seen.post_id and seen.platform != "generic":
            wanted.post_key = (seen.platform, seen.post_id)
    evidence = _open()
    try:
        found = evidence.catalog.search(wanted)
    finally:
        evidence.close()
    missing_code = EXIT_FAILED if url else 0  # "was this captured?": no is exit 1
    if as_json:
        for c in found:
            _print_json(c.to_json())
        if not found:
            raise typer.Exit(missing_code)
        return
    from rich.table import Table

    table = Table(box=None)
    for name in ("id", "status", "platform", "author", "posted at", "caption / url"):
        table.add_column(name, overflow="fold")
    for c in found:
        post = c.post or {}
        table.add_row(c.id, c.status, c.platform,
                      f"@{post['author_handle']}" if post.get("author_handle") else "",
                      (post.get("posted_at") or "")[:19],
                      (post.get("caption") or c.canonical_url or c.requested_url)[:120])
    out.print(table)
    if not found:
        err.print("nothing found", markup=False)
        raise typer.Exit(missing_code)


@app.command()
def recheck(
    capture_ids: Annotated[list[str] | None, typer.Argument(
        metavar="[ID...]", help="Captures to re-check (default: every captured post).")]
    = None,
    case: Annotated[str | None, typer.Option(help="Every captured post of this case.")]
    = None,
    mode: Annotated[str | None, typer.Option(
        help="browser or static (default: platforms.recheck_mode).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one per post.")]
    = False,
) -> None:
    """Is each captured post still up, still the same? Each check is a capture of what
    is served now; removals and edits are recorded as custody events."""
    from archivers.recheck import DOWN, UNDECIDED, recheck_url, targets
    from crawlers.session import load_accounts, recover_interrupted
    from crawlers.tracking.rechecks import recheck_posts
    from saksi.cli import _checkpoint_after_captures, _find, err
    from saksi.runner import run_capture_crawl

    if mode is not None and mode not in ("browser", "static"):
        raise UsageProblem("--mode is browser or static")
    evidence = _open()
    try:
        if capture_ids:
            chosen = targets([_find(evidence, i) for i in capture_ids])
        else:
            chosen = targets(evidence.catalog.list_captures(case=case))
        if not chosen:
            raise UsageProblem("nothing to re-check: no captured posts"
                               + (f" in case {case}" if case else ""))
        load_accounts(evidence.settings)
        recover_interrupted(evidence)
        mode = mode or evidence.settings.platforms.recheck_mode
        pace = evidence.settings.platforms.pace_seconds
        findings, problems = recheck_posts(
            evidence, chosen, mode,
            lambda checks, m: run_capture_crawl(evidence, checks, None, m, pace))
        _checkpoint_after_captures(evidence)
        for problem in problems:
            err.print(f"warning: {problem}", markup=False)
    finally:
        evidence.close()
    for f in findings:
        if as_json:
            _print_json(f.to_json())
            continue
        colour = {DOWN: "red", UNDECIDED: "yellow"}.get(f.result, "green")
        label = {DOWN: "TAKEN DOWN", UNDECIDED: "undecided"}.get(
            f.result, f.result.removeprefix("post.").replace("_", " "))
        out.print(f"[{colour}]{label:15}[/] {f.original.id}  {recheck_url(f.original)}"
                  + (f"  ({f.reason})" if f.reason else ""), highlight=False)
    if any(f.result == UNDECIDED for f in findings):
        raise typer.Exit(EXIT_FAILED)

