"""Digests built by hand for the tests that render, group or redact them (no AWS, no logs)."""

from __future__ import annotations

from instance_hygiene.digest.model import (
    CommandDigest,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
)
from instance_hygiene.explain.patchsummary import PatchCounts

COMMAND_ID = "7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70"
"""The command of events/command-failed.json."""


def yum_lock(n: int, pid: int) -> Failure:
    """Instance `n`'s patch run, failed on a yum lock held by process `pid`: a read log, counts."""
    return Failure(
        instance_id=f"i-0{n:016x}",
        instance_name=f"web-{n:04d}",
        status="Failed",
        status_details="Failed",
        step="PatchLinux",
        exit_code=1,
        exit_meaning="patching failed",
        reason=f"yum lock held by another process (pid {pid})",
        excerpt=(f"Another app is currently holding the yum lock; waiting for it to exit... pid {pid}",) * 3,
        log=LogInfo(source="s3", bytes_total=2048, bytes_read=2048, complete=True, links=(f"s3://b/k/{n}",)),
        patch=PatchCounts(operation="Install", installed=0, missing=4, failed=0),
    )


def status_failure(n: int, status: str, reason: str, step: str | None = None) -> Failure:
    """Instance `n` ended `status` (a Run Command status) for `reason`, in `step` or before any."""
    return Failure(
        instance_id=f"i-{n:017x}",
        status=status,
        status_details=status,
        reason=reason,
        log=LogInfo(source="none"),
        step=step,
    )


def digest_with(failures: list[Failure], *, notes: tuple[str, ...] = ()) -> CommandDigest:
    """A failed AWS-RunShellScript command in eu-west-2 with these failures and notes."""
    return CommandDigest(
        command_id=COMMAND_ID,
        document_name="AWS-RunShellScript",
        status="Failed",
        counts=count_statuses([f.status for f in failures]),
        groups=group_failures(failures),
        region="eu-west-2",
        notes=notes,
    )
