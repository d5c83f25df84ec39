"""Build the digest of one command from its invocations and its logs.

Enters the flow at "fleet reads": the Lambda handler, `hygiene report --command-id` and
`hygiene report --invocations FILE --logs DIR` all call `build_digest` with their own sources.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.digest import (
    SUCCESS_STATUSES,
    CommandDigest,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
)
from instance_hygiene.fleet import Command, Instance, Invocation, Plugin, split_api_output
from instance_hygiene.logs import LogIndex, LogSourceName, LogStore, StepStreams, StreamRead, find_streams
from instance_hygiene.redact import clean
from instance_hygiene.summarise import StreamText, summarise_failure

LOGGER = logging.getLogger(__name__)

NOT_FAILED_STEP_STATUSES = frozenset({"Success", "Skipped", "Pending", "InProgress"})
# Invocations that never ran on the instance leave no log by design.
NEVER_RAN_DETAILS = frozenset({"DeliveryTimedOut", "Undeliverable", "InvalidPlatform", "NoInstancesInTag"})
LOG_READ_WORKERS = 16
TIME_RESERVE_SECONDS = 8.0

MISSING_LOG_CAUSE = (
    "the instance role likely lacks s3:PutObject on the prefix, s3:GetEncryptionConfiguration on the "
    "bucket, or kms:GenerateDataKey on the bucket key (attach the stack's instance policy)"
)


@dataclass
class ReadStats:
    """What reading the logs cost: for metrics and benchmarks."""

    streams: int = 0
    bytes_read: int = 0
    requests: int = 0
    fetch_failures: int = 0
    errors: list[str] = field(default_factory=list)


def failed_step(invocation: Invocation) -> Plugin | None:
    """The first step that did not succeed; skipped steps (unmet preconditions) are not failures."""
    return next((p for p in invocation.plugins if p.status not in NOT_FAILED_STEP_STATUSES), None)


def _failure(
    command: Command,
    invocation: Invocation,
    *,
    plugin: Plugin | None,
    reads: Mapping[str, StreamRead],
    links: tuple[str, ...],
    log_source: LogSourceName,
    instance: Instance | None,
) -> Failure:
    if reads:
        stdout = reads["stdout"].text if "stdout" in reads else None
        stderr = reads["stderr"].text if "stderr" in reads else None
        log = LogInfo(
            source=log_source,
            bytes_total=sum(r.bytes_total for r in reads.values()),
            bytes_read=sum(r.bytes_read for r in reads.values()),
            complete=all(r.text.complete for r in reads.values()),
            links=links,
        )
    elif plugin is not None and plugin.output:
        api_stdout, api_stderr = split_api_output(plugin.output)
        stdout = StreamText(head=api_stdout, tail="", complete=False)
        stderr = StreamText(head=api_stderr, tail="", complete=False) if api_stderr else None
        log = LogInfo(source="api", bytes_total=None, bytes_read=len(plugin.output.encode()), complete=False)
    else:
        stdout = stderr = None
        log = LogInfo(source="none")
    step = plugin.name if plugin else None
    summary = summarise_failure(
        document_name=command.document_name,
        status=invocation.status,
        status_details=invocation.status_details,
        step=step,
        response_code=plugin.response_code if plugin else None,
        stdout=stdout,
        stderr=stderr,
    )
    return Failure(
        instance_id=invocation.instance_id,
        # Names and details come from tags and the API: anything may be in them.
        instance_name=clean((instance.name if instance else None) or invocation.instance_name)[:128] or None,
        platform=instance.platform if instance else None,
        status=invocation.status,
        status_details=clean(invocation.status_details)[:128],
        step=step,
        exit_code=summary.exit_code,
        exit_meaning=summary.exit_meaning,
        reason=summary.reason,
        excerpt=summary.excerpt,
        log=log,
        patch=summary.patch,
    )


def build_digest(
    command: Command,
    invocations: Iterable[Invocation],
    *,
    logs: LogStore | None,
    instances: Callable[[list[str]], tuple[dict[str, Instance], list[str]]] | None = None,
    remaining_seconds: Callable[[], float] | None = None,
    region: str = "",
    account: str = "",
    stats: ReadStats | None = None,
) -> CommandDigest:
    """Counts, one summarised failure per invocation that did not succeed, grouped, with notes."""
    stats = stats if stats is not None else ReadStats()
    all_invocations = list(invocations)
    failed = [i for i in all_invocations if i.status not in SUCCESS_STATUSES]
    notes: list[str] = []

    index: LogIndex = {}
    listed = False
    if logs is not None and failed:
        try:
            index = logs.index(command.command_id)
            listed = True
        except (ClientError, BotoCoreError, OSError) as error:
            LOGGER.warning("listing the command's logs failed: %s", error)
            notes.append(
                f"Could not list the logs ({_error_text(error)}); showing the API's truncated output."
            )
            stats.errors.append(_error_text(error))

    steps = {i.instance_id: failed_step(i) for i in failed}
    wanted: dict[str, StepStreams] = {}
    for invocation in failed:
        plugin = steps[invocation.instance_id]
        if plugin is not None and (streams := find_streams(index, invocation.instance_id, plugin.name)):
            wanted[invocation.instance_id] = streams

    reads, out_of_time = _read_streams(logs, list(wanted.items()), remaining_seconds, stats)
    if out_of_time:
        notes.append(
            f"Partial digest: time ran short after reading {len(reads)} of {len(wanted)} instances' logs; "
            "the rest show the API's truncated output."
        )
    if stats.fetch_failures:
        notes.append(
            f"{stats.fetch_failures} log read(s) failed ({stats.errors[-1]}); those instances show the API's "
            "truncated output. Check the function's s3:GetObject and kms:Decrypt permissions."
        )

    names, name_notes = instances([i.instance_id for i in failed]) if instances and failed else ({}, [])
    notes.extend(name_notes)

    failures = [
        _failure(
            command,
            invocation,
            plugin=steps[invocation.instance_id],
            reads=reads.get(invocation.instance_id, {}),
            links=_links(logs, wanted.get(invocation.instance_id)),
            log_source=logs.source if logs else "none",
            instance=names.get(invocation.instance_id),
        )
        for invocation in failed
    ]
    if listed or logs is None:
        # Only instances with nothing stored are "missing"; unreadable ones have their own note.
        notes.extend(_missing_log_notes(command, [f for f in failures if f.instance_id not in wanted], logs))
    return CommandDigest(
        command_id=command.command_id,
        document_name=command.document_name,
        status=command.status,
        counts=count_statuses(i.status for i in all_invocations),
        groups=group_failures(failures),
        region=region,
        account=account,
        comment=command.comment,
        output_bucket=command.output_bucket,
        output_prefix=command.output_prefix,
        notes=tuple(notes),
        partial=out_of_time,
    )


def _links(logs: LogStore | None, streams: StepStreams | None) -> tuple[str, ...]:
    if logs is None or streams is None:
        return ()
    return tuple(logs.link(ref) for ref in (streams.stdout, streams.stderr) if ref)


def _read_streams(
    logs: LogStore | None,
    wanted: list[tuple[str, StepStreams]],
    remaining_seconds: Callable[[], float] | None,
    stats: ReadStats,
) -> tuple[dict[str, dict[str, StreamRead]], bool]:
    """Read the failed steps' streams with bounded concurrency until time runs short."""
    reads: dict[str, dict[str, StreamRead]] = {}
    if logs is None or not wanted:
        return reads, False
    out_of_time = False

    def read_one(item: tuple[str, StepStreams]) -> tuple[str, dict[str, StreamRead], list[str]]:
        """Runs in a worker thread: returns what it read and its errors, shares nothing."""
        instance_id, streams = item
        result: dict[str, StreamRead] = {}
        errors: list[str] = []
        for name, ref in (("stdout", streams.stdout), ("stderr", streams.stderr)):
            if ref is None:
                continue
            try:
                result[name] = logs.read(ref)
            except (ClientError, BotoCoreError, OSError) as error:
                LOGGER.warning("reading %s failed: %s", ref.location, error)
                errors.append(_error_text(error))
        return instance_id, result, errors

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=LOG_READ_WORKERS) as pool:
        batch = LOG_READ_WORKERS * 4
        for start in range(0, len(wanted), batch):
            if remaining_seconds is not None and remaining_seconds() < TIME_RESERVE_SECONDS:
                out_of_time = True
                break
            for instance_id, result, errors in pool.map(read_one, wanted[start : start + batch]):
                stats.fetch_failures += len(errors)
                stats.errors.extend(errors)
                if result:
                    reads[instance_id] = result
                    stats.streams += len(result)
                    stats.bytes_read += sum(r.bytes_read for r in result.values())
                    stats.requests += sum(r.requests for r in result.values())
    LOGGER.info("read %d streams in %.2fs", stats.streams, time.monotonic() - started)
    return reads, out_of_time


def _missing_log_notes(command: Command, failures: list[Failure], logs: LogStore | None) -> list[str]:
    ran = [f for f in failures if f.status_details.replace(" ", "") not in NEVER_RAN_DETAILS]
    expected = [f for f in ran if f.step is not None]
    missing = [f for f in expected if f.log.source in ("api", "none")]
    if not missing:
        return []
    ids = ", ".join(f.instance_name or f.instance_id for f in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    if command.output_bucket is None:
        return [
            f"No output bucket is configured for this command: only the API's first 2,500 characters "
            f"are shown for {len(missing)} instance(s) ({ids}{more})."
        ]
    if logs is None:
        return []
    where = f"s3://{command.output_bucket}/{command.output_prefix or ''}"
    if logs.source == "local":
        return [
            f"{len(missing)} instance(s) have no log in the local copy ({ids}{more}); if S3 has none either, "
            f"{MISSING_LOG_CAUSE}. Showing the API's truncated output instead."
        ]
    return [
        f"{len(missing)} instance(s) wrote no log to {where} ({ids}{more}): {MISSING_LOG_CAUSE}. "
        "Showing the API's truncated output instead."
    ]


def _error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"
