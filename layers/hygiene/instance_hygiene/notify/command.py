"""A failed command -> one published digest: decide_command, then notify_command (the function's one call)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.aws.fleet import describe_instances, read_command, read_invocations
from instance_hygiene.aws.publish import publish, store_full_report
from instance_hygiene.aws.s3_logs import S3Logs
from instance_hygiene.digest.collect import ReadStats, build_digest
from instance_hygiene.digest.invocations import Command
from instance_hygiene.digest.model import to_dict
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
from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class CommandDecision:
    verdict: Verdict
    command: Command | None
    """ListCommands' view, when it was needed to decide."""


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
        S3Logs(clients.s3, bucket=command.output_bucket, prefix=command.output_prefix or "")
        if command.output_bucket
        else None
    )
    stats = ReadStats()
    digest = build_digest(
        command,
        read_invocations(clients.ssm, detail.command_id),
        logs=logs,
        instances=lambda ids: describe_instances(ids, ec2=clients.ec2, ssm=clients.ssm),
        remaining_seconds=remaining_seconds,
        region=event.region,
        account=event.account,
        stats=stats,
        engine=rules.engine if rules else None,
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
    fitted, rendered = fit(digest)
    report_uri = None
    if rendered.trimmed:
        key_base = f"{settings.report_prefix.rstrip('/')}/{detail.command_id}/{_key_part(status)}"
        try:
            report_uri = store_full_report(
                clients.s3,
                bucket=settings.report_bucket,
                key_base=key_base,
                machine=to_dict(digest),
                text=email_text(digest),
            )
        except (ClientError, BotoCoreError) as error:
            # The cut message still tells what failed and where: send it, and say what is missing.
            LOGGER.error("writing the full report failed: %s", error)
            note = (
                f"The full report could not be written to s3://{settings.report_bucket}/{key_base}.json "
                f"({error_code(error)}); this message is cut to fit and the rest is in the instances' logs."
            )
            digest = replace(digest, notes=(note, *digest.notes))
        fitted, rendered = fit(replace(digest, report_uri=report_uri))
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
    )


def _key_part(status: str) -> str:
    """A status as one S3 key segment (statuses such as "No Instances In Tag" have spaces)."""
    return status.replace(" ", "")
