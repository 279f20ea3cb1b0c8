"""The bucket's write-once policy: versioning, Object Lock and default retention.

`inspect` reports what the bucket has; `prepare` creates the bucket or adds what is
missing. COMPLIANCE retention cannot be shortened or removed by anyone, not even the
account's root user, so the interface asks before `prepare` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .s3 import S3ObjectStore, error_code, is_missing, one_line

ABORT_RULE_ID = "saksi-abort-incomplete-multipart"


@dataclass
class BucketState:
    bucket: str
    exists: bool = False
    versioning: str = "off"  # Enabled | Suspended | off
    object_lock: bool = False
    default_mode: str | None = None
    default_days: int | None = None
    aborts_incomplete_uploads: bool = False
    incomplete_uploads: int = 0

    def problems(self, cfg: Any) -> list[str]:
        """What keeps this bucket from holding evidence as configured."""
        if not self.exists:
            return [f"bucket {self.bucket} does not exist"]
        out = []
        if self.versioning != "Enabled":
            out.append(f"versioning is {self.versioning}, not Enabled")
        if not self.object_lock:
            out.append("Object Lock is not enabled")
        elif (self.default_mode, self.default_days) != (cfg.lock_mode, cfg.retention_days):
            out.append(f"default retention is {self.default_mode or 'none'} "
                       f"{self.default_days or 0} days, configured {cfg.lock_mode} "
                       f"{cfg.retention_days} days")
        return out

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Preparation:
    state: BucketState
    done: list[str] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)


def inspect(store: S3ObjectStore) -> BucketState:
    client, bucket = store.client, store.bucket
    state = BucketState(bucket)

    def read() -> None:
        try:
            client.head_bucket(Bucket=bucket)
        except Exception as exc:
            if is_missing(exc) or error_code(exc) == "NoSuchBucket":
                return
            raise
        state.exists = True
        state.versioning = client.get_bucket_versioning(Bucket=bucket).get("Status", "off")
        try:
            lock = client.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        except Exception as exc:
            if "ObjectLockConfigurationNotFound" not in error_code(exc):
                raise
            lock = {}
        state.object_lock = lock.get("ObjectLockEnabled") == "Enabled"
        retention = lock.get("Rule", {}).get("DefaultRetention", {})
        state.default_mode = retention.get("Mode")
        days = retention.get("Days") or 0
        state.default_days = days + 365 * (retention.get("Years") or 0) or None
        rules = _lifecycle_rules(client, bucket)
        state.aborts_incomplete_uploads = any(
            r.get("AbortIncompleteMultipartUpload") and r.get("Status") == "Enabled"
            for r in rules)
        state.incomplete_uploads = len(client.list_multipart_uploads(
            Bucket=bucket, Prefix=store.prefix).get("Uploads", []))

    store._retrying(f"inspect bucket {bucket}", read)
    return state


def prepare(store: S3ObjectStore) -> Preparation:
    """Create the bucket with Object Lock, or add what an existing one lacks."""
    cfg, client, bucket = store.cfg, store.client, store.bucket
    result = Preparation(inspect(store))
    state = result.state
    if not state.exists:
        args: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
        region = client.meta.region_name
        if region and region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        _step(store, result, f"created bucket {bucket} with Object Lock",
              lambda: client.create_bucket(**args))
    elif state.versioning != "Enabled":
        _step(store, result, "enabled versioning", lambda: client.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}))
    wanted = (cfg.lock_mode, cfg.retention_days)
    if not state.exists or not state.object_lock or \
            (state.default_mode, state.default_days) != wanted:
        _step(store, result, f"set Object Lock default retention {cfg.lock_mode} "
              f"{cfg.retention_days} days", lambda: client.put_object_lock_configuration(
                  Bucket=bucket, ObjectLockConfiguration={
                      "ObjectLockEnabled": "Enabled",
                      "Rule": {"DefaultRetention": {"Mode": cfg.lock_mode,
                                                    "Days": cfg.retention_days}}}))
    if not state.aborts_incomplete_uploads:
        # Unfinished multipart uploads are not evidence (no object version exists yet);
        # clearing them after a week keeps a killed upload from costing storage forever.
        _step(store, result, "added a rule that clears unfinished uploads after 7 days",
              lambda: _add_abort_rule(client, bucket), required=False)
    result.state = inspect(store)
    result.remaining = result.state.problems(cfg) + result.remaining
    return result


def _step(store: S3ObjectStore, result: Preparation, what: str, call, required: bool = True
          ) -> None:
    try:
        store._retrying(what, call)
        result.done.append(what)
    except Exception as exc:
        if required:
            result.remaining.append(f"failed: {what}: {one_line(exc)}")
        else:
            result.done.append(f"skipped: {what} ({one_line(exc)})")


def _add_abort_rule(client: Any, bucket: str) -> None:
    """Add the rule beside the bucket's own (a put replaces the whole configuration)."""
    rules = [r for r in _lifecycle_rules(client, bucket) if r.get("ID") != ABORT_RULE_ID] + [{
        "ID": ABORT_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]
    client.put_bucket_lifecycle_configuration(Bucket=bucket,
                                              LifecycleConfiguration={"Rules": rules})


def _lifecycle_rules(client: Any, bucket: str) -> list[dict[str, Any]]:
    try:
        return client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except Exception as exc:
        if "NoSuchLifecycleConfiguration" not in error_code(exc):
            raise
        return []
