"""A failed command -> one published digest: decide_command, then notify_command (the function's one call)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.aws.compliance import read_failed_patch_states
from instance_hygiene.aws.fleet import describe_instances, read_command, read_invocations
from instance_hygiene.aws.history import HistoryStore, history_notes
from instance_hygiene.aws.ledger import record_night
from instance_hygiene.aws.night import Night, commented_window, read_account_alias, read_night
from instance_hygiene.aws.publish import full_report_key, publish, store_full_report
from instance_hygiene.aws.s3_logs import S3Logs
from instance_hygiene.digest.causes import CauseCount
from instance_hygiene.digest.collect import ReadStats, build_digest
from instance_hygiene.digest.compliance import is_patch_document
from instance_hygiene.digest.history import HistoryView, digest_lines, group_line
from instance_hygiene.digest.history import to_dict as history_dict
from instance_hygiene.digest.invocations import Command, Invocation
from instance_hygiene.digest.model import (
    SEVERITY_ORDER,
    SUCCESS_STATUSES,
    CommandDigest,
    Counts,
    Unread,
    count_statuses,
    to_dict,
    with_patch_states,
)
from instance_hygiene.digest.summary import NightEntry
from instance_hygiene.errors import error_code
from instance_hygiene.events import CommandStatusEvent
from instance_hygiene.notify.statuses import (
    COMMAND_FAILED,
    COMMAND_RUNNING,
    Verdict,
    judge_command,
    needs_api,
)
from instance_hygiene.render.command import email_text, fit
from instance_hygiene.secrets.redact import clean_field
from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

    from instance_hygiene.aws.clients import Clients
    from instance_hygiene.explain.extra_rules import ExtraRules

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandOutcome:
    message_id: str
    subject: str
    failed_instances: int
    groups: int
    trimmed: bool
    report_uri: str | None
    bytes_read: int
    log_fetch_failures: int
    night_recorded: bool | None = None
    """Whether the night's ledger took it (None: the stack keeps no ledger)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CommandDecision:
    verdict: Verdict
    command: Command | None
    """ListCommands' view, when it was needed to decide."""


def night_of(command: Command, *, clients: Clients, settings: NotifierSettings) -> Night:
    """The command's night (aws/night.read_night): in the function's own account the stack's window
    (WINDOW_ID) is the one to match; a member account's window is found by the name in the
    command's comment, as the member stack's tasks write it."""
    member = clients.member is not None
    return read_night(
        clients.ssm,
        window_execution_id=command.window_execution_id,
        requested_at=command.requested_at,
        window_id=None if member else settings.window_id,
        window_named=commented_window(command.comment) if member else None,
    )


def decide_command(event: CommandStatusEvent, *, ssm: SSMClient) -> CommandDecision:
    """Whether the event is told (statuses.judge_command); reads the command only when its status
    alone cannot decide (a Success, or a status the product does not know)."""
    status = event.detail.status
    command = (
        read_command(ssm, event.detail.command_id)
        if needs_api(status, failed=COMMAND_FAILED, running=COMMAND_RUNNING)
        else None
    )
    return CommandDecision(judge_command(status, command), command)


def notify_command(
    event: CommandStatusEvent,
    *,
    decision: CommandDecision,
    clients: Clients,
    settings: NotifierSettings,
    remaining_seconds: Callable[[], float] | None = None,
    rules: ExtraRules | None = None,
) -> CommandOutcome:
    """One digest of the command, about the status `decision` tells; `rules` adds the operator's
    rules (extra_rules.py) and their problems as notes."""
    detail = event.detail
    status = decision.verdict.status
    command = decision.command or read_command(clients.ssm, detail.command_id)
    logs = (
        S3Logs(clients.logs, bucket=command.output_bucket, prefix=command.output_prefix or "")
        if command.output_bucket
        else None
    )
    stats = ReadStats()
    succeeded: list[str] = []
    digest = build_digest(
        command,
        _noting_successes(read_invocations(clients.ssm, detail.command_id), succeeded),
        logs=logs,
        instances=lambda ids: describe_instances(ids, ec2=clients.ec2, ssm=clients.ssm),
        remaining_seconds=remaining_seconds,
        region=event.region,
        account=event.account,
        stats=stats,
        engine=rules.engine if rules else None,
    )
    night = night_of(command, clients=clients, settings=settings)
    if is_patch_document(command.document_name):
        # Each failed instance's counts as Systems Manager records them (its logs' where it has none).
        states, unread = read_failed_patch_states(
            clients.ssm, (f.instance_id for group in digest.groups for f in group.failures)
        )
        digest = replace(
            digest,
            groups=with_patch_states(digest.groups, states, since=command.requested_at),
            notes=(*digest.notes, *((unread,) if unread else ())),
        )
    digest = replace(
        digest,
        window_id=night.window_id,
        window_execution_id=night.window_execution_id,
        window_name=night.window_name,
        local_date=night.local_date,
        account_alias=read_account_alias(clients.iam),
        notes=(*digest.notes, *night.notes),
    )
    if settings.history_table and clients.dynamodb is not None:
        # Read, compared and written before the publish, in the same idempotent step: a retried
        # event replays the same run, which history counts once.
        digest = with_history(
            digest,
            history_notes(
                HistoryStore(clients.dynamodb, settings.history_table),
                digest,
                succeeded=succeeded,
                requested_at=command.requested_at,
                member=clients.member,
            ),
        )
    if rules and rules.notes:
        digest = replace(digest, notes=(*digest.notes, *rules.notes))
    # The decided status is the one this notification is about (ListCommands may lag behind it).
    digest = replace(digest, status=status)
    if command.target_count == 0:
        digest = replace(
            digest,
            notes=(
                "The command reached no instance (TargetCount 0): its tag or instance ids matched "
                "nothing, so nothing was patched or checked.",
                *digest.notes,
            ),
        )
    # The full report (nothing cut) is always written, at a key the window report can find from
    # the command id alone (full_report_key); the message links it.
    key_base = full_report_key(settings.report_prefix, detail.command_id, status)
    report_uri = None
    try:
        report_uri = store_full_report(
            clients.s3,
            bucket=settings.report_bucket,
            key_base=key_base,
            machine=to_dict(digest),
            text=email_text(digest, line_budget=None),
        )
    except (ClientError, BotoCoreError) as error:
        # The message still tells what failed and where: send it, and say what is missing.
        LOGGER.error("writing the full report failed: %s", error)
        note = (
            f"The full report could not be written to s3://{settings.report_bucket}/{key_base}.json "
            f"({error_code(error)}); whatever this message leaves out is in the instances' logs."
        )
        digest = replace(digest, notes=(note, *digest.notes))
    # The report is in the function's own bucket, in its own Region (a central stack's, for an
    # event of another Region): its console link names that Region.
    fitted, rendered = fit(replace(digest, report_uri=report_uri, report_region=clients.s3.meta.region_name))
    message_id = publish(
        clients.sns,
        topic_arn=settings.topic_arn,
        rendered=rendered,
        attributes={
            "kind": "command",
            "document": fitted.document_name,
            "status": status,
            "window_id": fitted.window_id,
        },
    )
    return CommandOutcome(
        message_id=message_id,
        subject=rendered.subject,
        failed_instances=digest.failure_count,
        groups=len(digest.groups),
        trimmed=rendered.trimmed,
        report_uri=report_uri,
        bytes_read=stats.bytes_read,
        log_fetch_failures=stats.fetch_failures,
        night_recorded=record_night(settings, clients.dynamodb, night_entry(event, digest, told=True)),
    )


def night_entry(event: CommandStatusEvent, digest: CommandDigest, *, told: bool) -> NightEntry:
    """The command as the night's ledger keeps it: its targets, the instances it failed on, and its
    causes (redacted again, as any text read back later is), worst first."""
    failures = [f for group in digest.groups for f in group.failures]
    return NightEntry(
        at=event.time,
        account=event.account,
        region=event.region,
        kind="unread" if digest.unread else "command",
        ident=digest.command_id,
        status=digest.status,
        name=digest.document_name,
        told=told,
        instances=None if digest.unread else digest.counts.targets,
        failed=digest.failure_count,
        failed_ids=tuple(dict.fromkeys(f.instance_id for f in failures)),
        causes=tuple(
            CauseCount(
                reason=clean_field(group.reason, 500),
                outcome=SEVERITY_ORDER[group.severity_rank],
                count=group.count,
                next_step=clean_field(group.failures[0].next_step, 500) or None if group.failures else None,
            )
            for group in digest.groups
        ),
        alias=digest.account_alias,
    )


def notify_unread_command(
    event: CommandStatusEvent,
    *,
    unread: Unread,
    sns: SNSClient,
    settings: NotifierSettings,
) -> CommandOutcome:
    """One notification about a command that could not be read at all (`unread` says why and what
    to do): the event's command id, document, status, account and region, nothing else. Nothing
    was read, so no full report is written."""
    detail = event.detail
    digest = CommandDigest(
        command_id=detail.command_id,
        document_name=detail.document_name,
        status=detail.status,
        counts=Counts(),
        groups=(),
        region=event.region,
        account=event.account,
        local_date=event.time.astimezone(UTC).date().isoformat(),
        unread=unread,
    )
    _, rendered = fit(digest)
    message_id = publish(
        sns,
        topic_arn=settings.topic_arn,
        rendered=rendered,
        attributes={"kind": "command", "document": detail.document_name, "status": detail.status},
    )
    return CommandOutcome(
        message_id=message_id,
        subject=rendered.subject,
        failed_instances=0,
        groups=0,
        trimmed=rendered.trimmed,
        report_uri=None,
        bytes_read=0,
        log_fetch_failures=0,
    )


def _noting_successes(invocations: Iterator[Invocation], succeeded: list[str]) -> Iterator[Invocation]:
    """The invocations as they are read (build_digest pages through them), noting the instances
    that succeeded on the way: history needs their ids, the digest only counts them."""
    for invocation in invocations:
        if invocation.status in SUCCESS_STATUSES:
            succeeded.append(invocation.instance_id)
        yield invocation


FIXED_LISTED = 100
"""Fixed instances the machine form lists (all are counted): the message keeps its size bound."""


def with_history(digest: CommandDigest, view: HistoryView) -> CommandDigest:
    """`digest` with what history says: a line per group, the run's lines (fixed, unavailable) and
    the machine form, without its per-instance list and with at most FIXED_LISTED fixed instances
    (the size of a message must not grow with the fleet)."""
    record = history_dict(view, digest)
    record.pop("instances", None)
    record["fixed_count"] = len(record["fixed"])
    record["fixed"] = record["fixed"][:FIXED_LISTED]
    lines = {g.signature: line for g in digest.groups if (line := group_line(view, g))}
    return replace(digest, history=lines, history_notes=digest_lines(view), history_record=record)


def remember_success(event: CommandStatusEvent, *, clients: Clients, settings: NotifierSettings) -> None:
    """Record a command that is not told (a Success on every instance) in the history, so that
    tomorrow's failures are counted from tonight and tonight's fixes are known. Never raises for
    the history (history_notes says "unavailable" instead); off without a history table."""
    if not settings.history_table or clients.dynamodb is None:
        return
    try:
        command = read_command(clients.ssm, event.detail.command_id)
        invocations = list(read_invocations(clients.ssm, event.detail.command_id))
    except (ClientError, BotoCoreError) as error:
        # Nothing failed, so nothing is lost: tomorrow compares with the last run recorded.
        LOGGER.warning("history not recorded for a successful command: %s", error)
        return
    night = night_of(command, clients=clients, settings=settings)
    digest = CommandDigest(
        command_id=command.command_id,
        document_name=command.document_name,
        status=command.status,
        counts=count_statuses(i.status for i in invocations),
        groups=(),
        window_id=night.window_id,
    )
    record_night(settings, clients.dynamodb, night_entry(event, digest, told=False))
    history_notes(
        HistoryStore(clients.dynamodb, settings.history_table),
        digest,
        succeeded=[i.instance_id for i in invocations if i.status in SUCCESS_STATUSES],
        requested_at=command.requested_at,
        member=clients.member,
    )
