"""What `saksi jobs` lists: every tracking run and every job on the broker, one line each.

A rule job and the tracking run it made are one line (the run's summary under the job);
runs made in process (`saksi schedule`, `track run`) have no job; capture jobs have no
run. Lines are in the order the work was asked for.
"""

from __future__ import annotations

from typing import Any

from storage.records import iso


def job_lines(catalog: Any, rule: str | None = None, state: str | None = None
              ) -> list[dict[str, Any]]:
    runs = {(r["rule"], r["due_at"]): r for r in catalog.runs(rule)}
    lines = []
    for job in catalog.list_jobs(state=state, rule=rule):
        line = job.to_json()
        if job.kind == "rule":
            run = runs.pop((job.subject, iso(job.due_at)), None)
            line["rule"] = job.subject
            if run is not None:
                line.update(run=run["id"], summary=run["summary"],
                            listing_capture=run["listing_capture"])
        else:
            line["url"] = job.detail.get("url")
        lines.append((line["created_at"] or "", line))
    for run in runs.values():  # runs in process: no job
        if state and run["status"] != state:
            continue
        lines.append((run["started_at"] or "", {**run, "kind": "rule", "job": None}))
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]
