"""Build the digest of one command from its invocations and its logs.

Enters the flow at "fleet reads": the Lambda handler, `hygiene report --command-id` and
`hygiene report --invocations FILE --logs DIR` all call `build_digest` with their own sources.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.digest.invocations import (
    Command,
    Instance,
    Invocation,
    Plugin,
    split_api_output,
)
from instance_hygiene.digest.logs import (
    Listing,
    LogSourceName,
    LogStore,
    StepStreams,
    StreamGone,
    StreamRead,
    command_root,
    find_streams,
)
from instance_hygiene.digest.model import (
    SUCCESS_STATUSES,
    CommandDigest,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
)
from instance_hygiene.errors import error_code, error_message, error_text
from instance_hygiene.explain.summarise import FailureSummary, StreamText, summarise_failure
from instance_hygiene.secrets.redact import clean, clean_field

if TYPE_CHECKING:
    from instance_hygiene.explain.engine import Engine

LOGGER = logging.getLogger(__name__)

NOT_FAILED_STEP_STATUSES = frozenset({"Success", "Skipped", "Pending", "InProgress"})
# Invocations that never ran on the instance leave no log by design.
NEVER_RAN_DETAILS = frozenset({"DeliveryTimedOut", "Undeliverable", "InvalidPlatform", "NoInstancesInTag"})
LOG_READ_WORKERS = 16
TIME_RESERVE_SECONDS = 8.0
"""No log listing, log read or name lookup starts with less time left than this."""
SUMMARY_RESERVE_SECONDS = 4.0
"""Summarising from logs stops with less time left than this: rendering and publishing remain."""

MISSING_LOG_CAUSE = (
    "the instance role likely lacks s3:PutObject on the prefix, s3:GetEncryptionConfiguration on the "
    "bucket, or kms:GenerateDataKey on the bucket key (attach the stack's instance policy)"
)
MAX_REMEMBERED_SUMMARIES = 2_000
NOTE_LIMIT = 4_000
"""Characters of one note (they name keys and instances, so each is redacted and kept to one line)."""
"""Distinct summaries kept per digest for reuse (each holds at most a few KiB)."""
type SummaryKey = tuple[str, str, str | None, int | None, StreamText | None, StreamText | None]


@dataclass
class ReadStats:
    """What reading the logs cost: for metrics and benchmarks."""

    streams: int = 0
    bytes_read: int = 0
    requests: int = 0
    fetch_failures: int = 0
    errors: list[str] = field(default_factory=list)
    unread: int = 0
    """Instances whose logs were listed but not read because time ran short."""
    list_requests: int = 0
    """ListObjectsV2 pages the log listing took."""


class Deadline:
    """The function's remaining time against the reserves kept for what must still happen."""

    def __init__(self, remaining_seconds: Callable[[], float] | None) -> None:
        self._remaining = remaining_seconds

    def short(self, reserve: float = TIME_RESERVE_SECONDS) -> bool:
        return self._remaining is not None and self._remaining() < reserve


@dataclass(frozen=True)
class _InstanceRead:
    """What one worker read for one instance (workers share nothing)."""

    instance_id: str
    streams: dict[str, StreamRead]
    errors: tuple[Exception, ...] = ()
    skipped: bool = False


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
    use_logs: bool = True,
    engine: Engine | None = None,
    summaries: dict[SummaryKey, FailureSummary] | None = None,
) -> Failure:
    """One failed invocation summarised from its S3/local streams when read, else from the API's
    truncated output; with `use_logs=False` (time ran short) from status and exit code only."""
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
    elif use_logs and plugin is not None and plugin.output:
        api_stdout, api_stderr = split_api_output(plugin.output)
        stdout = StreamText(head=api_stdout, tail="", complete=False)
        stderr = StreamText(head=api_stderr, tail="", complete=False) if api_stderr else None
        log = LogInfo(
            source="api",
            bytes_total=None,
            bytes_read=len(plugin.output.encode()),
            complete=False,
            links=links,
        )
    else:
        stdout = stderr = None
        log = LogInfo(source="none", links=links)
    step = plugin.name if plugin else None
    code = plugin.response_code if plugin else None
    # A fleet failing the same way prints the same text: summarise it once (keyed on what was read).
    key = (invocation.status, invocation.status_details, step, code, stdout, stderr)
    summary = summaries.get(key) if summaries is not None else None
    if summary is None:
        summary = summarise_failure(
            document_name=command.document_name,
            status=invocation.status,
            status_details=invocation.status_details,
            step=step,
            response_code=code,
            stdout=stdout,
            stderr=stderr,
            engine=engine,
        )
        if summaries is not None and len(summaries) < MAX_REMEMBERED_SUMMARIES:
            summaries[key] = summary
    return Failure(
        instance_id=invocation.instance_id,
        # Names, details, step names and keys come from tags, documents and the API: anything may
        # be in them, so each is redacted here, on its way into the digest.
        instance_name=clean_field((instance.name if instance else None) or invocation.instance_name, 128)
        or None,
        platform=instance.platform if instance else None,
        status=invocation.status,
        status_details=clean_field(invocation.status_details, 128),
        step=clean_field(step, 128) or None,
        exit_code=summary.exit_code,
        exit_meaning=summary.exit_meaning,
        reason=summary.reason,
        excerpt=summary.excerpt,
        log=log,
        patch=summary.patch,
        next_step=clean(summary.next_step) if summary.next_step else summary.next_step,
        rule=summary.rule,
        severity=summary.severity,
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
    engine: Engine | None = None,
) -> CommandDigest:
    """Counts, one summarised failure per invocation that did not succeed, grouped, with notes.

    Counts are always complete: every invocation is listed, and a listing error is raised. What
    follows watches the deadline (`remaining_seconds`): no log listing, name lookup or log read
    starts with less than TIME_RESERVE_SECONDS left, and failures are summarised from their logs
    until SUMMARY_RESERVE_SECONDS (then from status and exit code), leaving the rest for rendering
    and publishing. What was left out is said in the first notes and `partial` is set. A log
    listing or read that failed after botocore's retries is reported in a note with its likely
    cause, never taken for "no log".
    """
    stats = stats if stats is not None else ReadStats()
    deadline = Deadline(remaining_seconds)
    partial: list[str] = []
    notes: list[str] = []

    # Counts never depend on the deadline: every invocation is listed (errors are raised).
    all_invocations = list(invocations)
    failed = [i for i in all_invocations if i.status not in SUCCESS_STATUSES]

    steps = {i.instance_id: failed_step(i) for i in failed}
    listing: Listing | None = Listing(index={})  # None: the listing failed (nothing is "missing")
    if logs is not None and failed:
        listing = _list_failed_steps(logs, command, steps, deadline, stats, partial=partial, notes=notes)
    found = listing or Listing(index={})

    # A few calls (200 ids each): before the reads, which take what time is left.
    names: dict[str, Instance] = {}
    if instances and failed:
        if deadline.short():
            partial.append("Partial digest: time ran short before instance names could be looked up.")
        else:
            names, name_notes = instances([i.instance_id for i in failed])
            notes.extend(name_notes)

    wanted: dict[str, StepStreams] = {}
    for invocation in failed:
        plugin = steps[invocation.instance_id]
        if plugin is not None and (streams := find_streams(found.index, invocation.instance_id, plugin.name)):
            wanted[invocation.instance_id] = streams

    reads, unreadable = _read_streams(logs, list(wanted.items()), deadline, stats)
    if stats.unread:
        partial.append(
            f"Partial digest: time ran short after reading {len(wanted) - stats.unread} of {len(wanted)} "
            "instances' logs; the rest show the API's truncated output."
        )

    failures: list[Failure] = []
    summaries: dict[SummaryKey, FailureSummary] = {}
    cut_at: int | None = None
    for n, invocation in enumerate(failed):
        if cut_at is None and deadline.short(SUMMARY_RESERVE_SECONDS):
            cut_at = n
            partial.append(
                f"Partial digest: time ran short after summarising {n} of {len(failed)} failures; the rest "
                "are described from their status and exit code only."
            )
        use_logs = cut_at is None
        failures.append(
            _failure(
                command,
                invocation,
                plugin=steps[invocation.instance_id],
                reads=reads.get(invocation.instance_id, {}) if use_logs else {},
                links=_links(logs, wanted.get(invocation.instance_id)),
                log_source=logs.source if logs else "none",
                instance=names.get(invocation.instance_id),
                use_logs=use_logs,
                engine=engine,
                summaries=summaries,
            )
        )
    shown_as = {f.instance_id: f.instance_name or f.instance_id for f in failures}
    notes.extend(_unreadable_notes(unreadable, shown_as))
    notes.extend(_cut_notes(command, found, shown_as, read=wanted))
    forged = {iid for iid, _ in found.suspicious if iid in steps}
    notes.extend(_suspicious_notes(found, shown_as, failed=forged))
    if listing is not None:
        # Only instances with nothing stored are "missing"; unreadable ones have their own note, and
        # instances whose folder was cut or not reached may well have a log.
        not_looked = {*found.cut, *found.unlisted, *forged}
        missing = [f for f in failures if f.instance_id not in wanted and f.instance_id not in not_looked]
        notes.extend(_missing_log_notes(command, missing, logs))
    return CommandDigest(
        command_id=command.command_id,
        # What SendCommand's caller chose (document, comment, prefix) is redacted like a log line.
        document_name=clean_field(command.document_name, 128),
        status=command.status,
        counts=count_statuses(i.status for i in all_invocations),
        groups=group_failures(failures),
        region=region,
        account=account,
        comment=clean_field(command.comment, 256),
        output_bucket=clean_field(command.output_bucket, 63) or None,
        output_prefix=clean_field(command.output_prefix, 1024) or None,
        notes=tuple(clean_field(note, NOTE_LIMIT) for note in (*partial, *notes)),
        partial=bool(partial),
    )


def _list_failed_steps(
    logs: LogStore,
    command: Command,
    steps: Mapping[str, Plugin | None],
    deadline: Deadline,
    stats: ReadStats,
    *,
    partial: list[str],
    notes: list[str],
) -> Listing | None:
    """The failed steps' streams, no listing page started once time runs short; None when the
    listing failed (then nothing may be called missing). Adds its notes to `partial` and `notes`."""
    if deadline.short():
        partial.append(
            "Partial digest: time ran short before the logs could be listed; "
            "every instance shows the API's truncated output."
        )
        return Listing(index={}, unlisted=frozenset(i for i, p in steps.items() if p is not None))
    failed_steps = {instance: plugin.name for instance, plugin in steps.items() if plugin is not None}
    try:
        listing = logs.find(command.command_id, failed_steps, stop=deadline.short)
    except (ClientError, BotoCoreError, OSError) as error:
        LOGGER.warning("listing the command's logs failed: %s", error)
        notes.append(
            f"Could not list the logs ({_error_code(error)}: {_listing_cause(error)}); every "
            "instance shows the API's truncated output. The logs may well exist."
        )
        stats.errors.append(error_text(error))
        return None
    stats.list_requests = listing.requests
    if listing.unlisted:
        partial.append(
            f"Partial digest: time ran short while listing the logs; {len(listing.unlisted)} instance(s)' "
            "logs were not looked for and show the API's truncated output."
        )
    return listing


def _links(logs: LogStore | None, streams: StepStreams | None) -> tuple[str, ...]:
    if logs is None or streams is None:
        return ()
    # A key is whatever an instance wrote: shown redacted and on one line.
    return tuple(clean_field(logs.link(ref), 2048) for ref in (streams.stdout, streams.stderr) if ref)


def _read_streams(
    logs: LogStore | None,
    wanted: list[tuple[str, StepStreams]],
    deadline: Deadline,
    stats: ReadStats,
) -> tuple[dict[str, dict[str, StreamRead]], dict[str, tuple[Exception, ...]]]:
    """Read the failed steps' streams with bounded concurrency until time runs short.

    Returns the instances read completely, and the instances with a stream that could not be
    read (after botocore's retries) with their errors: those use the API's output instead, so a
    log is never presented as complete when part of it was not read. Each read checks the
    deadline first, so no read starts once time runs short.
    """
    reads: dict[str, dict[str, StreamRead]] = {}
    unreadable: dict[str, tuple[Exception, ...]] = {}
    if logs is None or not wanted:
        return reads, unreadable

    def read_one(item: tuple[str, StepStreams]) -> _InstanceRead:
        """Runs in a worker thread: returns what it read and its errors, shares nothing."""
        instance_id, streams = item
        result: dict[str, StreamRead] = {}
        errors: list[Exception] = []
        for name, ref in (("stdout", streams.stdout), ("stderr", streams.stderr)):
            if ref is None:
                continue
            if deadline.short():
                return _InstanceRead(instance_id, {}, skipped=True)
            try:
                result[name] = logs.read(ref)
            except (ClientError, BotoCoreError, OSError) as error:
                LOGGER.warning("reading %s failed: %s", ref.location, error)
                errors.append(error)
        return _InstanceRead(instance_id, result, tuple(errors))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=LOG_READ_WORKERS) as pool:
        for read in pool.map(read_one, wanted):
            if read.skipped:
                stats.unread += 1
                continue
            stats.streams += len(read.streams)
            stats.bytes_read += sum(r.bytes_read for r in read.streams.values())
            stats.requests += sum(r.requests for r in read.streams.values())
            if read.errors:
                stats.fetch_failures += len(read.errors)
                stats.errors.extend(error_text(e) for e in read.errors)
                unreadable[read.instance_id] = read.errors
            elif read.streams:
                reads[read.instance_id] = read.streams
    LOGGER.info("read %d streams in %.2fs", stats.streams, time.monotonic() - started)
    return reads, unreadable


READ_FAILURE_CAUSES = {
    "kms": "the function may not decrypt with the bucket's KMS key (kms:Decrypt on the key policy "
    "or the function's role)",
    "denied": "the function's role lacks s3:GetObject on the log prefix",
    "gone": "the object was deleted or expired (lifecycle rule) between the listing and the read",
    "busy": "S3 kept throttling or failing after botocore's retries",
    "local": "the local copy could not be read",
}
THROTTLED_OR_UNAVAILABLE = frozenset(
    {
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "500",
        "503",
    }
)


def _read_failure_cause(error: Exception) -> str:
    """kms, denied, gone, busy (throttled, 5xx, no connection), local, or the error code."""
    if isinstance(error, StreamGone):
        return "gone"
    if isinstance(error, OSError):
        return "local"
    code = _error_code(error)
    message = error_message(error).lower()
    if code.startswith("KMS") or "kms" in message:
        return "kms"
    if code in {"AccessDenied", "AllAccessDisabled", "403"}:
        return "denied"
    if code in {"NoSuchKey", "404", "NoSuchBucket"}:
        return "gone"
    if code in THROTTLED_OR_UNAVAILABLE or not isinstance(error, ClientError):
        return "busy"
    return code


def _unreadable_notes(
    unreadable: Mapping[str, tuple[Exception, ...]], shown_as: Mapping[str, str]
) -> list[str]:
    """One note per cause: how many instances, the error code, what it likely means, which."""
    by_cause: dict[str, list[str]] = {}
    codes: dict[str, Counter[str]] = {}
    for instance_id, errors in unreadable.items():
        for cause in dict.fromkeys(_read_failure_cause(e) for e in errors):
            by_cause.setdefault(cause, []).append(instance_id)
        for error in errors:
            codes.setdefault(_read_failure_cause(error), Counter())[_error_code(error)] += 1
    notes = []
    for cause, ids in sorted(by_cause.items(), key=lambda item: (-len(item[1]), item[0])):
        code_text = ", ".join(f"{code} x{n}" if n > 1 else code for code, n in codes[cause].most_common())
        meaning = READ_FAILURE_CAUSES.get(cause, "see the function's log")
        shown = _some_named([shown_as.get(i, i) for i in ids])
        notes.append(
            f"{len(ids)} instance(s)' logs could not be read ({code_text}): {meaning}. "
            f"They show the API's truncated output instead ({shown})."
        )
    return notes


def _suspicious_notes(found: Listing, shown_as: Mapping[str, str], *, failed: set[str]) -> list[str]:
    """A step whose stream came twice: the agent writes one object, any instance may write under
    the prefix, so one of them may be forged. Neither is read (the API's output is shown)."""
    notes = []
    for (instance_id, step), keys in found.suspicious.items():
        if instance_id not in failed:
            continue
        listed = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        notes.append(
            f"Suspicious log: {len(keys)} objects claim to be the output of "
            f"{shown_as.get(instance_id, instance_id)} step {step} ({listed}). The agent writes one "
            "per stream and any instance may write under the log prefix, so one may be forged: none "
            "was read and the API's output is shown. Check who wrote them (CloudTrail S3 data "
            "events, object versions)."
        )
    return notes


def _cut_notes(
    command: Command, listing: Listing, shown_as: Mapping[str, str], *, read: Mapping[str, StepStreams]
) -> list[str]:
    """One note for the instances whose log folder held more objects than the listing looks at."""
    if not listing.cut:
        return []
    where = f"s3://{command.output_bucket}/{command_root(command.output_prefix or '', command.command_id)}"
    looked = max(listing.cut.values())
    ids = list(listing.cut)
    named = _some_named([shown_as.get(i, i) for i in ids])
    lost = [shown_as.get(i, i) for i in ids if i not in read]
    lost_named = _some_named(lost)
    outcome = (
        f"For {len(lost)} of them ({lost_named}) the failed step's log was not among those looked at: "
        "the API's truncated output is shown instead."
        if lost
        else "Each one's failed step log was among those looked at and is shown."
    )
    return [
        f"{len(ids)} instance(s) hold more than {looked:,} objects in their log folder under {where} "
        f"({named}): only the first {looked:,} of each were looked at, to keep the notifier within its "
        "memory and time. The rest were skipped without listing them, so how many were not looked at "
        f"is unknown (S3 counts objects only by listing them). {outcome}"
    ]


def _some_named(names: Sequence[str], shown: int = 5) -> str:
    """The first `shown` names, then how many more: 'web-01, web-02 and 3 more'."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _listing_cause(error: Exception) -> str:
    cause = _read_failure_cause(error)
    if cause in {"denied", "kms"}:
        return "the function's role lacks s3:ListBucket on the log bucket"
    if cause == "busy":
        return "S3 kept throttling or failing after botocore's retries"
    return error_message(error)[:200] or "see the log of the run"


def _missing_log_notes(command: Command, failures: list[Failure], logs: LogStore | None) -> list[str]:
    ran = [f for f in failures if f.status_details.replace(" ", "") not in NEVER_RAN_DETAILS]
    expected = [f for f in ran if f.step is not None]
    missing = [f for f in expected if f.log.source in ("api", "none")]
    if not missing:
        return []
    ids = _some_named([f.instance_name or f.instance_id for f in missing])
    if command.output_bucket is None:
        return [
            f"No output bucket is configured for this command: only the API's first 2,500 characters "
            f"are shown for {len(missing)} instance(s) ({ids})."
        ]
    if logs is None:
        return []
    where = f"s3://{command.output_bucket}/{command.output_prefix or ''}"
    if logs.source == "local":
        return [
            f"{len(missing)} instance(s) have no log in the local copy ({ids}); if S3 has none either, "
            f"{MISSING_LOG_CAUSE}. Showing the API's truncated output instead."
        ]
    return [
        f"{len(missing)} instance(s) wrote no log to {where} ({ids}): {MISSING_LOG_CAUSE}. "
        "Showing the API's truncated output instead."
    ]


def _error_code(error: Exception) -> str:
    if isinstance(error, StreamGone):
        return error.code
    return error_code(error)
