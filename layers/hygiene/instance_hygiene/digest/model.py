"""The digest of one failed command: counts, failures grouped by signature, notes. Pure.

The machine form (`to_dict`) is versioned: `instance-hygiene/digest@1`, documented in
docs/digest-schema.md and validated against docs/digest-schema.json in the tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from instance_hygiene.digest.compliance import (
    InstanceCompliance,
    PatchState,
    instance_compliance,
    instance_dict,
)
from instance_hygiene.digest.logs import LogSourceName
from instance_hygiene.explain.patchsummary import PatchCounts
from instance_hygiene.explain.signature import signature

SCHEMA = "instance-hygiene/digest@1"

SUCCESS_STATUSES = frozenset({"Success"})
COUNTED = {"Success": "succeeded", "Failed": "failed", "TimedOut": "timed_out", "Cancelled": "cancelled"}


@dataclass(frozen=True)
class LogInfo:
    source: LogSourceName
    bytes_total: int | None = None
    bytes_read: int = 0
    complete: bool = False
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    instance_id: str
    status: str
    status_details: str
    reason: str
    log: LogInfo
    instance_name: str | None = None
    platform: str | None = None
    step: str | None = None
    exit_code: int | None = None
    exit_meaning: str | None = None
    excerpt: tuple[str, ...] = ()
    patch: PatchCounts | None = None
    """The counts its log's patch summary printed."""
    compliance: InstanceCompliance | None = None
    """Its patch state as Systems Manager records it (DescribeInstancePatchStates), when read."""
    next_step: str | None = None
    """What the operator should do (from the catalogue rule or exit code that explained it)."""
    rule: str | None = None
    """The catalogue rule (`family.name`) that gave the reason, None for status and fallbacks."""
    severity: str | None = None


@dataclass(frozen=True)
class Group:
    signature: str
    reason: str
    failures: tuple[Failure, ...]
    omitted: int = 0
    """Failures of this group left out of `failures` to fit the message (still counted)."""
    severity_rank: int = 0
    """Its failures' one severity, an index into SEVERITY_ORDER (kept when `failures` is trimmed)."""

    @property
    def count(self) -> int:
        return len(self.failures) + self.omitted

    @property
    def steps(self) -> tuple[str, ...]:
        """The distinct steps the group's listed failures stopped in, in order of first sight."""
        return tuple(dict.fromkeys(f.step for f in self.failures if f.step))


@dataclass(frozen=True)
class Counts:
    targets: int = 0
    succeeded: int = 0
    failed: int = 0
    timed_out: int = 0
    cancelled: int = 0
    other: int = 0

    @property
    def not_succeeded(self) -> int:
        return self.targets - self.succeeded


@dataclass(frozen=True)
class Unread:
    """Why the command (or window execution) itself could not be read, and what to do: its counts
    and causes are then unknown, not zero (the member role of its account could not be assumed)."""

    reason: str
    next_step: str


def unread_dict(unread: Unread | None) -> dict[str, str] | None:
    return {"reason": unread.reason, "next_step": unread.next_step} if unread else None


@dataclass(frozen=True)
class CommandDigest:
    command_id: str
    document_name: str
    status: str
    counts: Counts
    groups: tuple[Group, ...]
    region: str = ""
    account: str = ""
    comment: str = ""
    window_id: str | None = None
    window_execution_id: str | None = None
    """The maintenance-window execution that sent the command (None: sent by hand)."""
    window_name: str | None = None
    local_date: str | None = None
    """The night's date (YYYY-MM-DD) in the window's schedule time zone, else UTC; None if unknown."""
    account_alias: str | None = None
    history: Mapping[str, str] = field(default_factory=dict)
    """Per group signature, what history says of it ("new tonight", "3rd night in a row")."""
    history_notes: tuple[str, ...] = ()
    """What history says of the whole run ("fixed since the last run: ...", "history unavailable")."""
    history_record: Mapping[str, Any] | None = None
    """The machine form of the history (digest/history.py `to_dict`); None when history is off."""
    output_bucket: str | None = None
    output_prefix: str | None = None
    notes: tuple[str, ...] = ()
    report_uri: str | None = None
    partial: bool = False
    excerpt_lines: int | None = None
    """How many excerpt lines each failure keeps in this rendering (None: all)."""
    dropped_failures: int = 0
    """Failures of whole groups left out of this rendering to fit the message (still counted)."""
    unread: Unread | None = None
    report_region: str | None = None
    """The Region of the bucket that holds the full report (the function's own); None: `region`."""
    """Set when the command could not be read at all: then only the event's fields are known."""

    @property
    def omitted(self) -> int:
        """Failures counted but not listed: cut from their group, or in a group left out."""
        return sum(group.omitted for group in self.groups) + self.dropped_failures

    @property
    def failure_count(self) -> int:
        return sum(group.count for group in self.groups) + self.dropped_failures


def count_statuses(statuses: Iterable[str]) -> Counts:
    tally = Counter(COUNTED.get(status, "other") for status in statuses)
    return Counts(
        targets=sum(tally.values()),
        succeeded=tally["succeeded"],
        failed=tally["failed"],
        timed_out=tally["timed_out"],
        cancelled=tally["cancelled"],
        other=tally["other"],
    )


SEVERITY_ORDER = ("failed", "timed out", "cancelled", "not run")
"""How bad a failure is, worst first: a real failure, then a timeout, then a cancel or cutoff, then an
instance the command never ran on (Undeliverable, Terminated, InvalidPlatform, ...)."""
_SEVERITY_OF_STATUS = {"Failed": 0, "TimedOut": 1, "Cancelled": 2, "Cancelling": 2}


def severity_rank(status: str) -> int:
    """0 for a real failure (status Failed) up to 3 for "not run" (an index into SEVERITY_ORDER)."""
    return _SEVERITY_OF_STATUS.get(status, 3)


def group_failures(failures: Iterable[Failure]) -> tuple[Group, ...]:
    """Failures with the same reason and severity, whatever step they failed in, as one group.

    Worst first (a real failure before a timeout before a cancel before "not run"), then the
    largest, then by reason. Two instances cancelled by the window's cutoff are one cause whether
    the cutoff caught them in a step or before one."""
    by_cause: dict[tuple[int, str], list[Failure]] = {}
    for failure in failures:
        rank = severity_rank(failure.status)
        by_cause.setdefault((rank, signature(failure.reason)), []).append(failure)
    groups = []
    for (rank, _), members in by_cause.items():
        # Those that reached a step first: the first failure stands for the group (its reason,
        # step, exit code and excerpt are the ones shown, so a pid in the reason is the excerpt's).
        ordered = tuple(sorted(members, key=lambda f: (f.step is None, f.instance_name or "", f.instance_id)))
        groups.append(
            Group(
                signature=signature(f"{SEVERITY_ORDER[rank]} {ordered[0].reason}"),
                reason=ordered[0].reason,
                failures=ordered,
                severity_rank=rank,
            )
        )
    return tuple(sorted(groups, key=lambda g: (g.severity_rank, -g.count, g.reason, g.signature)))


def with_patch_states(
    groups: Sequence[Group], states: Mapping[str, PatchState], *, since: datetime | None
) -> tuple[Group, ...]:
    """Each listed failure with its instance's patch state, where Systems Manager has one;
    `since` (the command's request time) tells this run's states from earlier runs'."""
    return tuple(
        replace(
            group,
            failures=tuple(
                replace(failure, compliance=instance_compliance(state, since=since))
                if (state := states.get(failure.instance_id)) is not None
                else failure
                for failure in group.failures
            ),
        )
        for group in groups
    )


def trim_groups(groups: Sequence[Group], keep_per_group: int) -> tuple[Group, ...]:
    """Keep the first `keep_per_group` failures of each group; the rest only count."""
    return tuple(
        replace(
            g,
            failures=g.failures[:keep_per_group],
            omitted=g.omitted + max(0, len(g.failures) - keep_per_group),
        )
        for g in groups
    )


def _patch_dict(patch: PatchCounts | None) -> dict[str, Any] | None:
    if patch is None:
        return None
    return {
        "operation": patch.operation,
        "installed": patch.installed,
        "installed_other": patch.installed_other,
        "installed_pending_reboot": patch.installed_pending_reboot,
        "installed_rejected": patch.installed_rejected,
        "missing": patch.missing,
        "failed": patch.failed,
        "not_applicable": patch.not_applicable,
    }


def failure_dict(failure: Failure, excerpt_lines: int | None) -> dict[str, Any]:
    excerpt = failure.excerpt if excerpt_lines is None else failure.excerpt[:excerpt_lines]
    return {
        "instance_id": failure.instance_id,
        "instance_name": failure.instance_name,
        "platform": failure.platform,
        "status": failure.status,
        "status_details": failure.status_details,
        "step": failure.step,
        "exit_code": failure.exit_code,
        "exit_meaning": failure.exit_meaning,
        "reason": failure.reason,
        "next_step": failure.next_step,
        "cause": {"rule": failure.rule, "severity": failure.severity} if failure.rule else None,
        "excerpt": list(excerpt),
        "log": {
            "source": failure.log.source,
            "bytes_total": failure.log.bytes_total,
            "bytes_read": failure.log.bytes_read,
            "complete": failure.log.complete,
            "links": list(failure.log.links),
        },
        "patch": _patch_dict(failure.patch),
        "patch_state": instance_dict(failure.compliance) if failure.compliance else None,
    }


def to_dict(digest: CommandDigest) -> dict[str, Any]:
    counts = digest.counts
    return {
        "schema": SCHEMA,
        "command_id": digest.command_id,
        "document_name": digest.document_name,
        "status": digest.status,
        "region": digest.region,
        "account": digest.account,
        "window_id": digest.window_id,
        "window_execution_id": digest.window_execution_id,
        "window_name": digest.window_name,
        "local_date": digest.local_date,
        "account_alias": digest.account_alias,
        "comment": digest.comment,
        "counts": {
            "targets": counts.targets,
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "timed_out": counts.timed_out,
            "cancelled": counts.cancelled,
            "other": counts.other,
        },
        "groups": [
            {
                "signature": group.signature,
                "reason": group.reason,
                "next_step": group.failures[0].next_step if group.failures else None,
                "count": group.count,
                "outcome": SEVERITY_ORDER[group.severity_rank],
                "steps": list(group.steps),
                "failures": [failure_dict(f, digest.excerpt_lines) for f in group.failures],
            }
            for group in digest.groups
        ],
        "omitted": digest.omitted,
        "notes": list(digest.notes),
        "partial": digest.partial,
        "output": {"bucket": digest.output_bucket, "prefix": digest.output_prefix},
        "report": digest.report_uri,
        "history": dict(digest.history_record) if digest.history_record is not None else None,
        "unread": unread_dict(digest.unread),
    }
