"""`saksi track …`: the rules a monitoring desk follows (hashtags, accounts, re-checks)."""

from __future__ import annotations

from typing import Annotated

import typer

from saksi.cli import UsageProblem, _open, _print_json, app, out

track_app = typer.Typer(help="Tracked hashtags and accounts, and scheduled re-checks.",
                        no_args_is_help=True)
app.add_typer(track_app, name="track")


def _schedule(every: str | None, cron: str | None) -> tuple[int | None, str | None]:
    from crawlers.tracking.rules import RuleError, check_cron, parse_interval

    if bool(every) == bool(cron):
        raise UsageProblem("give --every (30m, 1h, 6h, 1d) or --cron '*/30 * * * *'")
    try:
        return (parse_interval(every), None) if every else (None, check_cron(cron or ""))
    except RuleError as exc:
        raise UsageProblem(str(exc)) from None


def _add(platform: str, kind: str, target: str, every: str | None, cron: str | None,
         case: str | None, max_posts: int, name: str | None, as_json: bool) -> None:
    from crawlers.tracking.rules import derive_name, next_after
    from storage.records import utcnow
    from storage.tracking import Rule

    every_seconds, cron_text = _schedule(every, cron)
    now = utcnow()
    rule = Rule(name=name or derive_name(platform, kind, target), platform=platform,
                kind=kind, target=target, case_id=case, every_seconds=every_seconds,
                cron=cron_text, max_posts=max_posts, paused=False, created_by="",
                created_at=now)
    rule.next_run_at = now if every_seconds else next_after(now, None, cron_text)
    evidence = _open()
    try:
        rule.created_by = evidence.actor
        if not evidence.catalog.add_rule(rule):
            raise UsageProblem(f"a rule named {rule.name} exists already: give --name")
    finally:
        evidence.close()
    if as_json:
        _print_json(rule.to_json())
    else:
        out.print(f"rule {rule.name}: {platform} {kind} {target}, "
                  + (f"every {every}" if every else f"cron '{cron_text}'")
                  + f"; first run due {rule.to_json()['next_run_at']}", markup=False)


@track_app.command("add")
def track_add(
    platform: Annotated[str, typer.Argument(help="tiktok, x, instagram, facebook, youtube "
                                            "or telegram.")],
    target: Annotated[str, typer.Argument(help="'#hashtag' or '@account'.")],
    every: Annotated[str | None, typer.Option(help="30m, 1h, 6h, 1d …")] = None,
    cron: Annotated[str | None, typer.Option(help="A cron expression instead.")] = None,
    case: Annotated[str | None, typer.Option(help="Case its captures belong to.")] = None,
    max_posts: Annotated[int, typer.Option(min=1, help="Posts taken per run, at most.")]
    = 200,
    name: Annotated[str | None, typer.Option(help="Rule name (default: platform-target).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Follow a hashtag or an account: each run captures the listing and the new posts."""
    from crawlers.tracking.rules import RuleError, parse_target

    try:
        kind, bare = parse_target(platform, target)
    except RuleError as exc:
        raise UsageProblem(str(exc)) from None
    _add(platform, kind, bare, every, cron, case, max_posts, name, as_json)


@track_app.command("recheck")
def track_recheck(
    case: Annotated[str, typer.Option(help="The case whose posts are re-checked.")],
    every: Annotated[str | None, typer.Option(help="30m, 1h, 6h, 1d …")] = None,
    cron: Annotated[str | None, typer.Option(help="A cron expression instead.")] = None,
    name: Annotated[str | None, typer.Option(help="Rule name (default: recheck-CASE).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Re-check a case's posts on a schedule (takedowns and edits become custody events)."""
    _add("*", "recheck", case, every, cron, case, 1, name, as_json)


@track_app.command("list")
def track_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """Every rule: what it follows, its schedule, last and next run, and its state."""
    from rich.table import Table

    evidence = _open()
    try:
        rules = evidence.catalog.rules()
    finally:
        evidence.close()
    if as_json:
        for rule in rules:
            _print_json(rule.to_json())
        return
    table = Table(box=None)
    for column in ("name", "follows", "schedule", "case", "state", "last run", "next run"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        data = rule.to_json()
        follows = (f"{rule.platform} {'#' if rule.kind == 'hashtag' else '@'}{rule.target}"
                   if rule.kind != "recheck" else f"re-check case {rule.target}")
        schedule = (f"every {rule.every_seconds // 60} min" if rule.every_seconds
                    else f"cron {rule.cron}")
        state = "paused" if rule.paused else (rule.last_status or "waiting")
        table.add_row(rule.name, follows, schedule, rule.case_id or "", state,
                      (data["last_run_at"] or "-")[:19], (data["next_run_at"] or "-")[:19])
    out.print(table)


def _set(name: str, **values) -> None:
    evidence = _open()
    try:
        if not evidence.catalog.update_rule(name, **values):
            raise UsageProblem(f"no rule named {name}: see 'saksi track list'")
    finally:
        evidence.close()


@track_app.command("pause")
def track_pause(name: Annotated[str, typer.Argument(help="Rule name.")]) -> None:
    """Stop running a rule (kept, with its history)."""
    _set(name, paused=True)
    out.print(f"rule {name} paused", markup=False)


@track_app.command("resume")
def track_resume(name: Annotated[str, typer.Argument(help="Rule name.")]) -> None:
    """Run a paused rule again (its next run is due now)."""
    from storage.records import utcnow

    _set(name, paused=False, next_run_at=utcnow())
    out.print(f"rule {name} resumed", markup=False)


@track_app.command("remove")
def track_remove(name: Annotated[str, typer.Argument(help="Rule name.")]) -> None:
    """Forget a rule (its runs and captures stay)."""
    evidence = _open()
    try:
        if not evidence.catalog.remove_rule(name):
            raise UsageProblem(f"no rule named {name}: see 'saksi track list'")
    finally:
        evidence.close()
    out.print(f"rule {name} removed", markup=False)





@track_app.command("run")
def track_run(
    name: Annotated[str, typer.Argument(help="Rule name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """One run of a rule now, in the foreground: the listing, then the new posts."""
    from crawlers.session import load_accounts, recover_interrupted
    from crawlers.tracking.run import run_rule
    from saksi.cli import EXIT_FAILED, _checkpoint_after_captures, err
    from saksi.crawl_host import CrawlHost
    from storage.records import utcnow

    evidence = _open()
    host = CrawlHost(evidence.settings)
    try:
        rule = next((r for r in evidence.catalog.rules() if r.name == name), None)
        if rule is None:
            raise UsageProblem(f"no rule named {name}: see 'saksi track list'")
        if rule.kind == "recheck":
            raise UsageProblem(f"{name} re-checks a case: run 'saksi recheck --case "
                               f"{rule.target}'")
        load_accounts(evidence.settings)
        recover_interrupted(evidence)
        now = utcnow()
        run_id = evidence.catalog.start_run(rule.name, now, now)
        if not as_json:
            err.print(f"{rule.name}: capturing the listing …", markup=False)
        summary = run_rule(evidence, rule, now, host.crawl)
        finished = utcnow()
        if run_id is not None:
            evidence.catalog.finish_run(run_id, summary.status, summary.to_json(), finished, {
                "last_run_at": finished, "last_status": summary.status,
                "last_error": summary.error})
        _checkpoint_after_captures(evidence)
    finally:
        host.close()
        evidence.close()
    if as_json:
        _print_json(summary.to_json())
    else:
        out.print(f"{rule.name}: listing {summary.listing_capture} ({summary.listing_status}); "
                  f"{summary.seen} post(s) shown, {len(summary.new)} new captured, "
                  f"{len(summary.known)} already captured, {len(summary.failed)} failed",
                  markup=False)
    if summary.error:
        err.print(f"error: {rule.name}: {summary.error}", markup=False)
    if summary.error or summary.failed:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def schedule(
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then stop.")]
    = False,
    tick: Annotated[float, typer.Option(min=1, help="Seconds between looks at the rules.")]
    = 30,
) -> None:
    """The embedded scheduler: runs due rules and their captures in this process (state in
    the catalog: a restart neither repeats nor skips a run). Ctrl-C stops it."""
    import time

    from crawlers.session import load_accounts, recover_interrupted
    from crawlers.tracking.scheduler import Scheduler
    from saksi.cli import _checkpoint_after_captures, err
    from saksi.crawl_host import CrawlHost

    evidence = _open()
    host = CrawlHost(evidence.settings)  # one crawler process for every run of the loop
    try:
        load_accounts(evidence.settings)
        recover_interrupted(evidence)
        scheduler = Scheduler(evidence, host.crawl,
                              report=lambda line: err.print(line, markup=False))
        while True:
            if scheduler.tick():
                _checkpoint_after_captures(evidence)
            if once:
                break
            time.sleep(tick)
    except KeyboardInterrupt:
        err.print("scheduler stopped", markup=False)
    finally:
        host.close()
        evidence.close()


@app.command()
def jobs(
    rule: Annotated[str | None, typer.Option(help="Only this rule's runs and jobs.")] = None,
    state: Annotated[str | None, typer.Option(
        help="Only jobs in this state: queued, running, done or failed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """Jobs, oldest first: tracking runs (in process or on workers) and capture jobs on
    the broker; queued, running, done or failed, with what each saw and why it failed."""
    from rich.table import Table

    from saksi.jobs_view import job_lines

    evidence = _open()
    try:
        lines = job_lines(evidence.catalog, rule, state)
    finally:
        evidence.close()
    if as_json:
        for line in lines:
            _print_json(line)
        return
    table = Table(box=None)
    for column in ("kind", "what", "when", "state", "tries", "shown", "new", "known",
                   "failed", "reason"):
        table.add_column(column, overflow="fold")
    for line in lines:
        summary = line.get("summary") or {}
        if line.get("kind") == "capture":
            what = f"{line['subject'][:13]} {line.get('url') or ''}"
            when = line.get("enqueued_at") or line.get("created_at") or ""
        else:
            what, when = line.get("rule") or line.get("subject", ""), line.get("due_at") or ""
        counts = ([str(summary.get("seen", "")), str(len(summary.get("new", []))),
                   str(len(summary.get("known", {}))), str(len(summary.get("failed", [])))]
                  if summary else ["", "", "", ""])
        table.add_row(line.get("kind") or "rule", what, when[:16].replace("T", " "),
                      line["status"], str(line.get("attempts", "")), *counts,
                      line.get("error") or summary.get("error") or "")
    out.print(table)
