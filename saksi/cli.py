"""The `saksi` command line.

Exit codes: 0 all went well; 1 something failed (a capture failed, verify found a fault);
2 usage or configuration error. Errors are one line on stderr saying what to do;
tracebacks only with --debug. `--json` prints JSON Lines for commands about several
items and one object for commands about one item.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from config import ConfigError, Settings, load_settings

app = typer.Typer(
    name="saksi", no_args_is_help=True, add_completion=False,
    help="Capture online posts as sealed, verifiable evidence.",
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_state: dict[str, Any] = {"debug": False}


class UsageProblem(Exception):
    """Bad input from the person at the keyboard: exit 2."""


class Failed(Exception):
    """Something the person asked for failed: exit 1."""


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


def _settings() -> Settings:
    return load_settings()


def _open():
    from archivers.evidence import Evidence

    return Evidence.open(_settings())


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ---- capture -------------------------------------------------------------------------


@app.command()
def capture(
    urls: Annotated[list[str] | None, typer.Argument(help="Links to capture.")] = None,
    from_files: Annotated[list[Path] | None, typer.Option(
        "--from", help="A report file to take every link from: .txt .csv .xlsx .pdf .docx "
                       ".eml (repeatable).")] = None,
    case: Annotated[str | None, typer.Option(help="Case the captures belong to.")] = None,
    note: Annotated[str | None, typer.Option(help="Free note kept with each capture.")] = None,
    mode: Annotated[str | None, typer.Option(
        help="auto (default: static for documents and binaries, the browser for web pages),"
             " browser or static.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Fetch nothing: show what would be captured, from where.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one capture a line.")]
    = False,
    enqueue: Annotated[bool, typer.Option(
        "--enqueue", help="Do not capture here: put each link on the broker's queues for "
                          "the workers ([jobs] broker); see 'saksi jobs'.")] = False,
) -> None:
    """Capture each link as its own sealed capture (WARC, certificate chain, manifest,
    the post's metadata and media)."""
    from crawlers.session import load_accounts, recover_interrupted, register_captures
    from saksi.intake_view import gather_links, print_plan, same_posts, store_sources
    from saksi.progress import CaptureProgress
    from saksi.runner import run_capture_crawl

    planned = gather_links(list(urls or []), list(from_files or []))
    if not planned:
        raise UsageProblem("no links found: give at least one URL, or --from FILE")
    from config import MODES

    if mode is not None and mode not in MODES:
        raise UsageProblem(f"unknown mode '{mode}': use --mode " + ", ".join(MODES))
    if dry_run:
        print_plan(planned, as_json, out)
        return
    evidence = _open()
    mode = mode or evidence.settings.capture.default_mode
    try:
        load_accounts(evidence.settings)  # a bad cookies file: one line, nothing registered
        recovered = recover_interrupted(evidence)
        if recovered:
            err.print(f"[yellow]marked {len(recovered)} interrupted capture(s) failed; "
                      f"their partial bytes are in {evidence.quarantine_dir}[/]")
        if enqueue:  # a broker that cannot be reached: one line, nothing registered
            from saksi.jobs_cli import reach_broker

            reach_broker(evidence.settings)
        sources = store_sources(evidence, list(from_files or []), case, planned)
        captures = register_captures(evidence, planned, case, note, mode, sources)
        if enqueue:
            from saksi.jobs_cli import enqueue_captures

            enqueue_captures(evidence, captures, mode, as_json)
            return
        with CaptureProgress(captures, enabled=not as_json and sys.stderr.isatty(),
                             console=err, on_finished=lambda c: _report_capture(c, as_json)
                             ) as progress:
            results = run_capture_crawl(evidence, captures, progress.update, mode)
        _checkpoint_after_captures(evidence)
    finally:
        evidence.close()
    for first, others in same_posts(results):
        err.print(f"note: {', '.join(o.id for o in others)} captured the same "
                  f"{first.platform} post ({(first.post or {}).get('post_id')}) as {first.id}",
                  markup=False)
    waiting = [r for r in results if r.storage_state == "pending_upload"]
    if waiting:
        err.print(f"warning: {len(waiting)} capture(s) sealed but not uploaded (the object "
                  "store did not answer); they are safe in the local spool: run 'saksi sync'",
                  markup=False)
    if any(result.status in ("failed", "blocked") for result in results):
        raise typer.Exit(EXIT_FAILED)


def _checkpoint_after_captures(evidence) -> None:
    """Sign the custody log after each batch of captures, when a key is usable unattended."""
    from archivers.checkpoints import make_checkpoint

    signer, _ = evidence.signer()
    if signer is None:
        return
    try:
        make_checkpoint(evidence, signer)
    except Exception as exc:  # the captures are sealed; `saksi custody checkpoint` retries
        err.print(f"warning: no custody checkpoint signed: {' '.join(str(exc).split())}",
                  markup=False)


def _report_capture(c, as_json: bool) -> None:
    """One result as soon as it is final: a JSON line for scripts, a line for people,
    and one `error:` line on stderr for each failure."""
    if as_json:
        _print_json(c.to_json())
    else:
        _print_capture_line(c)
    if c.status == "failed":
        err.print(f"error: capture {c.id} of {c.requested_url} failed: {c.error}",
                  markup=False)
    elif c.status == "blocked":
        err.print(f"error: capture {c.id} of {c.requested_url} was {c.error}; a collector "
                  f"account may help ([accounts.{c.platform}] cookies_file)", markup=False)
    elif c.status == "unavailable":
        err.print(f"warning: {c.requested_url}: {c.error} (capture {c.id} keeps the page "
                  "as evidence)", markup=False)


def _print_capture_line(c) -> None:
    colour = {"captured": "green", "failed": "red", "blocked": "red"}.get(c.status, "yellow")
    extra = f" HTTP {c.http_status}" if c.http_status else ""
    if c.post:
        from rich.markup import escape

        extra += escape(f" {c.platform} post {c.post.get('post_id')}")
        if c.post.get("author_handle"):
            extra += escape(f" by @{c.post['author_handle']}")
    if c.truncated:
        extra += f" [yellow](truncated: {c.truncated})[/]"
    out.print(f"[{colour}]{c.status:9}[/] {c.id}  {c.requested_url}{extra}")


# ---- list / show ---------------------------------------------------------------------


@app.command("list")
def list_captures(
    case: Annotated[str | None, typer.Option(help="Only this case.")] = None,
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """List captures, oldest first."""
    evidence = _open()
    try:
        rows = evidence.catalog.list_captures(case=case, status=status)
    finally:
        evidence.close()
    if as_json:
        for row in rows:
            _print_json(row.to_json())
        return
    from rich.table import Table

    table = Table(box=None)
    table.add_column("id", no_wrap=True, min_width=36)
    for name in ("status", "case", "requested at"):
        table.add_column(name, no_wrap=True)
    table.add_column("url", overflow="fold")
    for row in rows:
        table.add_row(row.id, row.status, row.case or "",
                      row.requested_at.strftime("%Y-%m-%d %H:%M:%S") if row.requested_at
                      else "", row.requested_url)
    out.print(table)
    if not rows:
        err.print("no captures yet: saksi capture URL --case K")


@app.command()
def show(
    capture_id: Annotated[str, typer.Argument(
        metavar="ID", help="Capture id (or a unique prefix).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Show one capture: status, URLs, times, artifacts and their SHA-256 (an
    `archive.accessed` custody event, like every look at evidence)."""
    from storage.catalog import EventDraft

    evidence = _open()
    try:
        c = _find(evidence, capture_id)
        checked = evidence.catalog.post_state(c.id)
        evidence.custody.record([EventDraft(evidence.actor, "archive.accessed", c.id,
                                            {"via": "show"})])
        evidence.custody.flush()
    finally:
        evidence.close()
    if as_json:
        # the capture object; after a re-check, also what it found
        _print_json({**c.to_json(), **({"post_state": checked} if checked else {})})
        return
    data = c.to_json()
    for key in ("id", "case", "status", "mode", "requested_url", "canonical_url", "final_url",
                "http_status", "truncated", "platform", "requested_by", "requested_at",
                "started_at", "finished_at", "note", "error", "storage_state",
                "manifest_sha256"):
        if data.get(key) not in (None, ""):
            out.print(f"[bold]{key:16}[/] {data[key]}", markup=True)
    if c.legal_hold is not None:
        hold = c.legal_hold
        out.print(f"[bold]{'legal_hold':16}[/] {'on' if hold['on'] else 'off'} "
                  f"({hold['reason']}, {hold['changed_by']}, {hold['changed_at']})",
                  markup=True)
    if c.post:
        from saksi.posts_view import post_lines

        for line in post_lines(c.post, checked):
            out.print(line, markup=False)
    for a in c.artifacts:
        out.print(f"  {a.kind:12} {a.bytes:>12}  {a.sha256}  {a.key}", markup=False)


def _find(evidence, capture_id: str):
    matches = evidence.catalog.find_capture_ids(capture_id)
    if capture_id in matches:
        matches = [capture_id]
    if not matches:
        raise UsageProblem(f"no capture with id {capture_id}: see 'saksi list'")
    if len(matches) > 1:
        raise UsageProblem(f"id prefix {capture_id} is ambiguous: give more characters")
    found = evidence.catalog.get_capture(matches[0])
    assert found is not None
    return found


# ---- get -----------------------------------------------------------------------------


@app.command()
def get(
    capture_id: Annotated[str, typer.Argument(metavar="ID", help="Capture id.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to copy the evidence to.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Copy a capture's artifacts out of the store, re-hashing every byte copied."""
    from storage.catalog import EventDraft
    from storage.objects import IntegrityError, ObjectMissingError, copy_verified

    evidence = _open()
    copied, problems = [], []
    try:
        c = _find(evidence, capture_id)
        out_dir.mkdir(parents=True, exist_ok=True)
        for a in c.artifacts:
            name = a.name or Path(a.key).name
            dest = out_dir / name
            if dest.exists():
                raise UsageProblem(f"{dest} exists already: choose an empty --out directory")
            try:
                copy_verified(evidence.store, a.key, a.sha256, dest)
                copied.append({"kind": a.kind, "sha256": a.sha256, "bytes": a.bytes,
                               "path": str(dest)})
            except (IntegrityError, ObjectMissingError) as exc:
                problems.append(str(exc))
        drafts = [EventDraft(evidence.actor, "archive.accessed", c.id,
                             {"via": "get", "out": str(out_dir.resolve()),
                              "artifacts": [x["sha256"] for x in copied]})]
        drafts += [EventDraft(evidence.actor, "integrity.failed", c.id, {"problem": p})
                   for p in problems]
        evidence.custody.record(drafts)
        evidence.custody.flush()
    finally:
        evidence.close()
    if as_json:
        _print_json({"id": c.id, "out": str(out_dir), "files": copied, "errors": problems})
    else:
        for item in copied:
            out.print(f"{item['kind']:12} {item['sha256']}  {item['path']}")
    if problems:
        for p in problems:
            err.print(f"error: {p}", markup=False)
        raise typer.Exit(EXIT_FAILED)


# ---- verify --------------------------------------------------------------------------


@app.command()
def verify(
    capture_id: Annotated[str | None, typer.Argument(
        metavar="[ID | BUNDLE.zip]", help="Capture id, or an evidence bundle.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Verify the whole store.")] = False,
    trust: Annotated[list[str] | None, typer.Option(
        "--trust", help="Bundle: accept only this key fingerprint and its rotation chain "
                        "(repeatable).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Bundle: file hashes and seals "
                                        "only, no WARC record digests.")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Bundle: processes reading the files (default: one per "
                                 "core).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Re-hash stored evidence, check every WARC record digest and the custody chain; or
    check an evidence bundle offline, reading nothing but the bundle."""
    from archivers.verify import Fault, VerifyReport, verify_capture
    from saksi.progress import verify_progress
    from storage.catalog import EventDraft

    if bool(capture_id) == all_:
        raise UsageProblem("give one capture ID, a bundle .zip, or --all")
    if capture_id and capture_id.endswith(".zip"):
        _verify_bundle(Path(capture_id), trust or [], quick, workers, as_json)
        return
    evidence = _open()
    report = VerifyReport()
    try:
        if all_:
            targets = evidence.catalog.list_captures()
        else:
            targets = [_find(evidence, capture_id or "")]
        with verify_progress(len(targets), enabled=all_ and not as_json
                             and sys.stderr.isatty(), console=err) as advance:
            for c in targets:
                verify_capture(evidence, c, report)
                advance()
        checked, custody_faults = evidence.custody.verify()
        report.custody_events = checked
        report.faults += [Fault(None, f.where, f.problem) for f in custody_faults]
        from archivers.checkpoints import check_all

        report.faults += [Fault(None, *p.split(": ", 1)) for p in check_all(evidence)]
        subject = "store" if all_ else targets[0].id
        drafts = [EventDraft(evidence.actor, "verify.run", subject, {
            "captures": report.captures, "artifacts": report.artifacts,
            "records": report.records, "bytes": report.bytes,
            "custody_events": report.custody_events, "ok": report.ok,
            "faults": [str(f) for f in report.faults][:100]})]
        drafts += [EventDraft(evidence.actor, "integrity.failed", f.capture_id or "custody",
                              {"fault": str(f)}) for f in report.faults[:100]]
        evidence.custody.record(drafts)
        evidence.custody.flush()
    finally:
        evidence.close()
    if as_json:
        _print_json({"ok": report.ok, "captures": report.captures,
                     "artifacts": report.artifacts, "records": report.records,
                     "bytes": report.bytes, "custody_events": report.custody_events,
                     "faults": [str(f) for f in report.faults]})
    elif report.ok:
        out.print(f"[green]OK[/] {report.captures} capture(s), {report.artifacts} artifact(s), "
                  f"{report.records} WARC record(s), {report.custody_events} custody event(s) "
                  "verified")
    _exit_on_faults(report.faults)


def _exit_on_faults(faults: list[Any]) -> None:
    """One `FAULT …` line per fault on stderr, and exit 1; nothing when there are none."""
    if faults:
        for fault in faults:
            err.print(f"FAULT {fault}", markup=False)
        raise typer.Exit(EXIT_FAILED)


def _verify_bundle(path: Path, trust: list[str], quick: bool, workers: int | None,
                   as_json: bool) -> None:
    """Offline: no settings, catalog, store or network; nothing written."""
    from archivers.bundle_verify import verify_bundle

    if not path.is_file():
        raise UsageProblem(f"no such bundle: {path}")
    report = verify_bundle(path, trust, quick, workers)
    if as_json:
        _print_json({"ok": report.ok, "bundle": str(path), "captures": report.captures,
                     "files": report.files, "records": report.records,
                     "events": report.events, "trusted_keys": report.trusted_keys,
                     "trust": report.trust_reason, "faults": report.faults})
    else:
        from rich.table import Table

        table = Table(box=None)
        for name in ("capture", "files", "signature", "timestamps", "url"):
            table.add_column(name, overflow="fold")
        for row in report.captures:
            table.add_row(row["id"], str(row["files"]), row["signature"],
                          str(row["timestamps"]), row.get("url") or "")
        out.print(table)
        out.print(f"trust: {report.trust_reason}", markup=False)
        if report.ok:
            out.print(f"[green]OK[/] {len(report.captures)} capture(s), {report.files} "
                      f"file(s), {report.records} WARC record(s), {report.events} custody "
                      "event(s) verified")
    _exit_on_faults(report.faults)


# ---- export ---------------------------------------------------------------------------


@app.command()
def export(
    capture_ids: Annotated[list[str] | None, typer.Argument(metavar="[ID...]",
                                                           help="Captures to export.")] = None,
    case: Annotated[str | None, typer.Option(help="Every capture of this case.")] = None,
    out_file: Annotated[Path, typer.Option("--out", help="The bundle to write (.zip).")]
    = Path("bundle.zip"),
    language: Annotated[str, typer.Option(help="Report language: id or en.")] = "id",
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print the report as "
                                      "PDF (needs the browser).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Write an evidence bundle: files, seals, keys, custody proofs, report (HTML and
    PDF), VERIFY.md."""
    from archivers.bundle import export_bundle
    from crawlers.report_pdf import ReportPdfError, print_report

    if language not in ("id", "en"):
        raise UsageProblem("--language is id or en")
    if bool(capture_ids) == bool(case):
        raise UsageProblem("give capture IDs or --case K")
    if out_file.exists():
        raise UsageProblem(f"{out_file} exists already: choose another --out")
    evidence = _open()
    try:
        if case:
            captures = [c for c in evidence.catalog.list_captures(case=case)
                        if c.manifest_sha256]
            if not captures:
                raise UsageProblem(f"no sealed captures in case {case}")
        else:
            captures = [_find(evidence, i) for i in capture_ids or []]
            unsealed = [c.id for c in captures if not c.manifest_sha256]
            if unsealed:
                raise UsageProblem(f"capture {unsealed[0]} was never sealed: nothing to export")
        signer = _signer_or_fail(evidence)
        try:
            printer = (lambda html, images, out: print_report(
                html, images, out, evidence.settings.browser)) if pdf else None
            summary = export_bundle(evidence, captures, out_file, signer, language, printer)
        except ReportPdfError as exc:
            raise Failed(f"{exc}; nothing written (export with --no-pdf to leave the PDF "
                         "out)") from exc
    finally:
        evidence.close()
    if as_json:
        _print_json(summary)
    else:
        out.print(f"bundle {out_file}: {len(summary['captures'])} capture(s), "
                  f"{summary['files']} file(s), {summary['events']} custody event(s); "
                  f"SHA-256 {summary['sha256']}")


# ---- reindex -------------------------------------------------------------------------


@app.command()
def reindex(
    into: Annotated[str | None, typer.Option(
        "--into", help="Rebuild into this new, empty PostgreSQL database "
                       "(postgresql://user@host:port/db) instead of the SQLite catalog in "
                       "the data dir; then point catalog.url at it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Rebuild the catalog database from the object store alone."""
    from archivers.reindex import TargetNotEmpty, rebuild_catalog

    if into is not None and not into.startswith(("postgresql://", "postgresql+psycopg://")):
        raise UsageProblem(f"--into takes postgresql://user@host:port/database, not {into!r}")
    evidence = _open()
    if evidence.settings.catalog.url.startswith("postgresql") and into is None:
        evidence.close()
        raise UsageProblem("the catalog is shared on PostgreSQL: rebuild it into a new, "
                           "empty database with 'saksi reindex --into postgresql://…', then "
                           "point catalog.url at it (workers must not see it swapped)")
    try:
        evidence.custody.flush()  # nothing only in the old catalog is lost
    finally:
        evidence.close()
    try:
        captures, events = rebuild_catalog(Path(evidence.settings.data_dir), evidence.store,
                                           evidence.custody, into)
    except TargetNotEmpty as exc:
        raise UsageProblem(str(exc)) from None
    if as_json:
        _print_json({"captures": captures, "custody_events": events})
    else:
        out.print(f"catalog rebuilt from the store: {captures} capture(s), "
                  f"{events} custody event(s)")


# ---- storage, sync, hold --------------------------------------------------------------

storage_app = typer.Typer(no_args_is_help=True, help="The object store: S3 bucket policy, "
                          "state and pending uploads.")
hold_app = typer.Typer(no_args_is_help=True, help="Legal hold on a capture's objects.")
app.add_typer(storage_app, name="storage")
app.add_typer(hold_app, name="hold")


@storage_app.command("init")
def storage_init(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before applying "
                                      "COMPLIANCE retention (it cannot be undone).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Create the bucket (versioning, Object Lock, default retention) or check and complete
    an existing one."""
    from storage.bucket import inspect, prepare

    evidence = _open()
    try:
        if not evidence.uploads:
            info = evidence.store.describe()
            if as_json:
                _print_json({"backend": "local", "root": info["root"], "ready": True})
            else:
                out.print(f"local store at {info['root']}: nothing to set up (write-once is "
                          "enforced by Saksi)")
            return
        cfg = evidence.settings.storage
        state = inspect(evidence.store)
        if state.problems(cfg) and cfg.lock_mode == "COMPLIANCE" and not yes:
            question = (f"Apply COMPLIANCE retention of {cfg.retention_days} days to bucket "
                        f"{cfg.bucket}? Nobody, not even the account's root user, can shorten "
                        "or remove it")
            if not sys.stdin.isatty():
                raise UsageProblem(f"COMPLIANCE retention on {cfg.bucket} cannot be undone: "
                                   "run 'saksi storage init --yes' to confirm")
            if not typer.confirm(question, default=False):
                raise UsageProblem("nothing changed (COMPLIANCE retention not confirmed)")
        result = prepare(evidence.store)
    finally:
        evidence.close()
    if as_json:
        _print_json({"bucket": cfg.bucket, "done": result.done, "remaining": result.remaining,
                     "state": result.state.to_json(), "ready": not result.remaining})
    else:
        for line in result.done:
            out.print(f"[green]done[/]    {line}")
        for line in result.remaining:
            err.print(f"missing: {line}", markup=False)
        if not result.remaining:
            out.print(f"bucket {cfg.bucket} is ready: versioning on, Object Lock "
                      f"{cfg.lock_mode} {cfg.retention_days} days by default")
    if result.remaining:
        raise typer.Exit(EXIT_FAILED)


@storage_app.command("status")
def storage_status(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Backend, bucket settings, objects and bytes stored, uploads waiting."""
    from storage.bucket import inspect

    evidence = _open()
    try:
        info: dict[str, Any] = {k: v for k, v in evidence.store.describe().items()}
        holds = evidence.catalog.holds()
        info["legal_holds"] = sum(1 for on in holds.values() if on)
        if evidence.uploads:
            info["objects"], info["bytes"] = evidence.catalog.version_totals()
            waiting, waiting_bytes = evidence.store.spool.totals()
            info["pending_uploads"] = {
                "objects": waiting, "bytes": waiting_bytes,
                "captures": len(evidence.catalog.pending_upload_ids()),
                "spool": str(evidence.store.spool.root)}
            try:
                state = inspect(evidence.store)
                info["bucket_state"] = state.to_json()
                info["problems"] = state.problems(evidence.settings.storage)
            except Exception as exc:  # status still shows what is known locally
                info["bucket_state"] = None
                info["problems"] = [f"bucket not reachable: {' '.join(str(exc).split())}"]
        else:
            info["objects"], info["bytes"] = evidence.catalog.artifact_totals()
            info["pending_uploads"] = {"objects": 0, "bytes": 0, "captures": 0}
            info["problems"] = []
    finally:
        evidence.close()
    if as_json:
        _print_json(info)
        return
    for key in ("backend", "bucket", "prefix", "endpoint_url", "root", "write_once",
                "object_lock", "legal_hold_by_default", "objects", "bytes", "legal_holds"):
        if key in info:
            out.print(f"[bold]{key:22}[/] {info[key]}")
    state = info.get("bucket_state")
    if state:
        out.print(f"[bold]{'versioning':22}[/] {state['versioning']}")
        out.print(f"[bold]{'bucket object lock':22}[/] "
                  f"{'on' if state['object_lock'] else 'OFF'} (default "
                  f"{state['default_mode'] or 'none'} {state['default_days'] or 0} days)")
        out.print(f"[bold]{'unfinished uploads':22}[/] {state['incomplete_uploads']}")
    pending = info["pending_uploads"]
    out.print(f"[bold]{'pending uploads':22}[/] {pending['objects']} object(s), "
              f"{pending['bytes']} bytes, {pending['captures']} capture(s)")
    for problem in info["problems"]:
        err.print(f"problem: {problem}", markup=False)
    if pending["objects"]:
        err.print("run 'saksi sync' to upload what waits in the spool")


@app.command()
def sync(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Upload everything waiting in the local spool (safe to run again at any time)."""
    from archivers.publish import Publisher

    evidence = _open()
    try:
        if not evidence.uploads:
            raise UsageProblem("storage.backend is 'local': nothing is ever waiting to upload")
        report = Publisher(evidence).sync()
        evidence.custody.flush()
        waiting, _ = evidence.store.spool.totals()
    finally:
        evidence.close()
    if as_json:
        _print_json({**report.to_json(), "still_waiting": waiting})
    else:
        out.print(f"uploaded {report.uploaded} object(s) ({report.bytes} bytes), "
                  f"{report.reused} already there; {len(report.stored)} capture(s) now "
                  f"stored; {report.segments} custody segment(s)")
    for problem in report.errors:
        err.print(f"error: {problem}", markup=False)
    if report.errors or report.pending:
        err.print(f"{waiting} object(s) still wait in the spool: run 'saksi sync' again")
        raise typer.Exit(EXIT_FAILED)


def _change_hold(capture_id: str, on: bool, reason: str, as_json: bool) -> None:
    from archivers.holds import change_hold

    if not reason.strip():
        raise UsageProblem("say why: --reason \"…\" is kept in the chain of custody")
    evidence = _open()
    try:
        c = _find(evidence, capture_id)
        change = change_hold(evidence, c, on, reason.strip())
        evidence.custody.flush()
    finally:
        evidence.close()
    if as_json:
        _print_json(change.to_json())
    else:
        out.print(f"legal hold {'ON' if on else 'OFF'} for capture {c.id} ({reason.strip()})")
        for item in change.objects:
            out.print(f"  {item['state']:10.60}  {item['key']}", markup=False)
    for item in change.failed:
        err.print(f"error: {item['key']}: {item['state']}", markup=False)
    if change.failed:
        raise typer.Exit(EXIT_FAILED)


@hold_app.command("set")
def hold_set(
    capture_id: Annotated[str, typer.Argument(metavar="ID", help="Capture id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the chain of custody).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Put a capture's objects under legal hold (no deletion, whatever the retention)."""
    _change_hold(capture_id, True, reason, as_json)


@hold_app.command("release")
def hold_release(
    capture_id: Annotated[str, typer.Argument(metavar="ID", help="Capture id.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the chain of custody).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Lift a capture's legal hold (objects shared with another held capture stay held)."""
    _change_hold(capture_id, False, reason, as_json)


# ---- keys and seals ---------------------------------------------------------------------

keys_app = typer.Typer(no_args_is_help=True, help="This installation's Ed25519 signing keys.")
app.add_typer(keys_app, name="keys")


def _ask_passphrase(prompt: str, confirm: bool) -> bytes | None:
    text = typer.prompt(prompt, hide_input=True, confirmation_prompt=confirm, default="",
                        show_default=False)
    return text.encode() if text else None


def _key_passphrase(evidence) -> bytes | None:
    """The current key's passphrase: from signing.passphrase_file, else asked for."""
    if not evidence.keys.is_locked():
        return None
    if evidence.settings.signing.passphrase_file:
        return Path(evidence.settings.signing.passphrase_file).read_bytes().strip()
    if not sys.stdin.isatty():
        raise UsageProblem("the signing key is passphrase-protected: set "
                           "signing.passphrase_file or run this in a terminal")
    return _ask_passphrase("Passphrase of the current signing key", False)


@keys_app.command("init")
def keys_init(
    passphrase: Annotated[bool, typer.Option("--passphrase", help="Protect the private key "
                                             "with a passphrase (asked twice).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Make this installation's signing key; prints its fingerprint to publish."""
    from archivers.keys import KeyRing, SigningKeyError

    ring = KeyRing(Path(_settings().signing.key_dir))
    secret = _ask_passphrase("New passphrase", True) if passphrase else None
    try:
        fp = ring.init(secret)
    except SigningKeyError as exc:
        raise UsageProblem(str(exc)) from None
    if as_json:
        _print_json({"fingerprint": fp, "key_dir": str(ring.root), "passphrase": bool(secret)})
    else:
        out.print(f"signing key {fp}\n(private key in {ring.root / 'private'}, mode 600; "
                  "publish the fingerprint so others can check your bundles)")


@keys_app.command("rotate")
def keys_rotate(
    passphrase: Annotated[bool, typer.Option("--passphrase", help="Protect the new key "
                                             "with a passphrase (asked twice).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Replace the signing key; the hand-over is signed by the old key and the new one."""
    from archivers.keys import SigningKeyError
    from storage.catalog import EventDraft

    evidence = _open()
    try:
        old = _key_passphrase(evidence)
        new = _ask_passphrase("New passphrase", True) if passphrase else None
        try:
            statement = evidence.keys.rotate(old, new)
        except SigningKeyError as exc:
            raise UsageProblem(str(exc)) from None
        evidence.custody.record([EventDraft(evidence.actor, "key.rotated",
                                            statement["next"], {
                                                "previous": statement["previous"],
                                                "next": statement["next"],
                                                "sequence": statement["sequence"]})])
        evidence.custody.flush()
    finally:
        evidence.close()
    if as_json:
        _print_json(statement)
    else:
        out.print(f"signing key {statement['next']} replaces {statement['previous']} "
                  f"(rotation statement {statement['sequence']}, signed by both)")


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """Every key this installation has used, the current one marked."""
    from archivers.keys import KeyRing

    ring = KeyRing(Path(_settings().signing.key_dir))
    current = ring.current()
    if current is None:
        err.print("no signing key yet: saksi keys init")
    for fp in ring.public_keys():
        state = "current" if fp == current else "retired"
        if as_json:
            _print_json({"fingerprint": fp, "state": state,
                         "locked": ring.is_locked(fp) if fp == current else None})
        else:
            out.print(f"{state:8} {fp}")


@keys_app.command("export-public")
def keys_export_public(
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file "
                                                  "instead of standard output.")] = None,
) -> None:
    """Public keys and rotation statements as JSON, for publishing and checking."""
    from archivers.keys import KeyRing

    ring = KeyRing(Path(_settings().signing.key_dir))
    if ring.current() is None:
        raise UsageProblem("no signing key yet: saksi keys init")
    text = json.dumps(ring.export_public(), indent=2) + "\n"
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text)
        out.print(f"public keys written to {out_file}")


@app.command()
def seal(
    pending: Annotated[bool, typer.Option("--pending", help="Sign every sealed capture "
                                          "that has no signature yet.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one capture a line.")]
    = False,
) -> None:
    """Add missing seals: signatures (no key yet, or locked) and timestamps (TSA down)."""
    from archivers.seal_pending import seal_pending

    if not pending:
        raise UsageProblem("say what to seal: saksi seal --pending")
    evidence = _open()
    try:
        signer, note = evidence.signer(_key_passphrase(evidence))
        if signer is None and (evidence.keys.current() is not None
                               or not evidence.settings.timestamps.tsa_urls):
            raise UsageProblem(f"cannot sign: {note}")
        results = seal_pending(evidence, signer)
        evidence.custody.flush()
    finally:
        evidence.close()
    for capture_id, problem in results:
        if as_json:
            _print_json({"id": capture_id, "sealed": problem is None, "error": problem})
        elif problem is None:
            out.print(f"sealed   {capture_id}")
        else:
            err.print(f"error: capture {capture_id}: {problem}", markup=False)
    if not results and not as_json:
        out.print("nothing to seal: every sealed capture has its seals")
    if any(problem for _, problem in results):
        raise typer.Exit(EXIT_FAILED)


# ---- custody -----------------------------------------------------------------------------

custody_app = typer.Typer(no_args_is_help=True, help="The chain of custody: events, signed "
                          "checkpoints, proofs.")
app.add_typer(custody_app, name="custody")


@custody_app.command("log")
def custody_log(
    capture_id: Annotated[str | None, typer.Option("--capture", help="Only this capture's "
                                                   "events.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines.")] = False,
) -> None:
    """The custody events, in order."""
    evidence = _open()
    try:
        subject = _find(evidence, capture_id).id if capture_id else None
        events = evidence.catalog.events(subject=subject)
    finally:
        evidence.close()
    for ev, _, _ in events:
        if as_json:
            _print_json(ev.to_json())
        else:
            out.print(f"{ev.seq:>6} {ev.at:%Y-%m-%d %H:%M:%S} {ev.actor:14.14} "
                      f"{ev.action:20} {ev.subject}", markup=False)


def _signer_or_fail(evidence):
    signer, note = evidence.signer(_key_passphrase(evidence))
    if signer is None:
        raise UsageProblem(f"cannot sign: {note}")
    return signer


@custody_app.command("checkpoint")
def custody_checkpoint(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Sign (and timestamp) the custody log's current state; checks it extends the last."""
    from archivers.checkpoints import (
        CustodyMismatch,
        consistency,
        make_checkpoint,
        stored_checkpoints,
    )

    evidence = _open()
    try:
        signer = _signer_or_fail(evidence)
        earlier = list(stored_checkpoints(evidence).values())
        try:
            checkpoint = make_checkpoint(evidence, signer)
        except CustodyMismatch as exc:
            raise Failed(str(exc)) from None
        previous = [c for c in earlier if c["tree_size"] < checkpoint["tree_size"]]
        consistent = consistency(evidence, previous[-1], checkpoint) if previous else None
    finally:
        evidence.close()
    summary = {"tree_size": checkpoint["tree_size"], "root_hash": checkpoint["root_hash"],
               "at": checkpoint["at"], "key_fingerprint": checkpoint["key_fingerprint"],
               "timestamps": [t.get("gen_time") or t.get("error")
                              for t in checkpoint.get("timestamps", [])],
               "extends_previous": consistent}
    if as_json:
        _print_json(summary)
    else:
        out.print(f"checkpoint: {summary['tree_size']} events, root {summary['root_hash']}, "
                  f"signed by {summary['key_fingerprint'][:16]}…")
        if consistent is not None:
            out.print(f"extends the checkpoint of {previous[-1]['tree_size']} events: "
                      f"{'yes (consistency proof checked)' if consistent else 'NO'}")
    if consistent is False:
        err.print("error: the custody log does not extend its previous checkpoint",
                  markup=False)
        raise typer.Exit(EXIT_FAILED)


@custody_app.command("prove")
def custody_prove(
    capture_id: Annotated[str, typer.Argument(metavar="ID", help="Capture id.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Inclusion proofs of a capture's events against a signed checkpoint covering them."""
    from archivers.checkpoints import make_checkpoint, prove, stored_checkpoints

    evidence = _open()
    try:
        c = _find(evidence, capture_id)
        last_seq = max((ev.seq for ev, _, _ in evidence.catalog.events(subject=c.id)),
                       default=0)
        covering = [cp for size, cp in stored_checkpoints(evidence).items()
                    if size >= last_seq]
        checkpoint = covering[0] if covering else make_checkpoint(
            evidence, _signer_or_fail(evidence))
        proofs = prove(evidence, c.id, checkpoint)
    finally:
        evidence.close()
    result = {"id": c.id, "checkpoint": {k: checkpoint[k] for k in (
        "tree_size", "root_hash", "at", "key_fingerprint", "signature")}, "events": proofs}
    if as_json:
        _print_json(result)
        return
    out.print(f"checkpoint of {checkpoint['tree_size']} events, root {checkpoint['root_hash']}")
    for item in proofs:
        out.print(f"  event {item['seq']:>6} {item['action']:20} included "
                  f"({len(item['proof'])} proof hashes, checked)", markup=False)


@custody_app.command("consistency")
def custody_consistency(
    old_size: Annotated[int, typer.Argument(metavar="OLD", help="Tree size of the earlier "
                                            "checkpoint.")],
    new_size: Annotated[int | None, typer.Argument(
        metavar="[NEW]", help="Tree size of the later checkpoint (default: the latest).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Consistency proof between two signed checkpoints: the later log only appended to
    the earlier one (RFC 6962), with both checkpoints so anyone can check it."""
    from archivers.checkpoints import consistency_evidence, stored_checkpoints

    evidence = _open()
    try:
        stored = stored_checkpoints(evidence)
        if not stored:
            raise UsageProblem("no checkpoints yet: saksi custody checkpoint")
        new_size = max(stored) if new_size is None else new_size
        for size in (old_size, new_size):
            if size not in stored:
                raise UsageProblem(f"no checkpoint of {size} events; there are: "
                                   + ", ".join(str(s) for s in stored))
        if old_size > new_size:
            raise UsageProblem("OLD must be the earlier (smaller) checkpoint")
        result = consistency_evidence(evidence, stored[old_size], stored[new_size])
    finally:
        evidence.close()
    if as_json:
        _print_json(result)
    else:
        out.print(f"checkpoint {old_size} ({result['old']['root_hash'][:16]}…) → checkpoint "
                  f"{new_size} ({result['new']['root_hash'][:16]}…): "
                  f"{len(result['proof'])} proof hashes", markup=False)
        for problem in result["problems"]:
            err.print(f"FAULT {problem}", markup=False)
        if result["consistent"]:
            out.print("[green]OK[/] the later log extends the earlier one; both "
                      "checkpoints' signatures verify")
    if not result["consistent"]:
        raise typer.Exit(EXIT_FAILED)


# ---- replay --------------------------------------------------------------------------


@app.command()
def replay(
    capture_id: Annotated[str, typer.Argument(metavar="ID", help="Capture id.")],
    port: Annotated[int, typer.Option(help="Loopback port (0: any free one).")] = 0,
    seconds: Annotated[float | None, typer.Option(
        "--for", help="Stop after this many seconds (default: until Ctrl-C).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Replay a capture's WACZ in ReplayWeb.page on loopback; prints the address."""
    import threading
    import time

    from saksi.replay import ReplayServer, ReplayUnavailable, prepare
    from storage.catalog import EventDraft

    evidence = _open()
    try:
        c = _find(evidence, capture_id)
        try:
            root = prepare(evidence.store, c)
        except ReplayUnavailable as exc:
            raise UsageProblem(str(exc)) from None
        evidence.custody.record([EventDraft(evidence.actor, "archive.accessed", c.id,
                                            {"via": "replay"})])
        evidence.custody.flush()
    finally:
        evidence.close()
    with ReplayServer(root, port) as server:
        if as_json:
            _print_json({"id": c.id, "url": server.url})
        else:
            out.print(f"replaying {c.requested_url} at {server.url} (Ctrl-C stops)")
        try:
            if seconds is not None:
                time.sleep(seconds)
            else:
                threading.Event().wait()  # until Ctrl-C
        except KeyboardInterrupt:
            pass


# ---- demo ----------------------------------------------------------------------------


@app.command()
def demo() -> None:
    """Serve a bundled sample news page and hoax post on loopback and capture them."""
    from saksi.demo import run_demo

    raise typer.Exit(run_demo())


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except SystemExit:
        raise
    except Exception as exc:  # one line for people, the traceback only with --debug
        sys.exit(_report(exc))
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _report(exc: BaseException) -> int:
    from crawlers.intake import IntakeError
    from crawlers.reports import ReportError
    from storage.objects import StorageError

    if _state["debug"]:
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, typer.Abort):
        err.print("aborted")
        return EXIT_FAILED
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # Typer usage errors
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "saksi"
        if not exc.format_message():
            return EXIT_USAGE  # help was shown (no arguments given)
        err.print(f"error: {exc.format_message()} (see '{where} --help')", markup=False)
        return EXIT_USAGE
    if isinstance(exc, (UsageProblem, ConfigError, IntakeError, ReportError)):
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    if isinstance(exc, (StorageError, Failed)):
        err.print(f"error: {exc}", markup=False)
        return EXIT_FAILED
    err.print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)",
              markup=False)
    return EXIT_FAILED


from saksi import jobs_cli, posts_cli, track_cli  # noqa: E402,F401 - register their commands on `app`

if __name__ == "__main__":
    main()
