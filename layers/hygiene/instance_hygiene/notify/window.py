"""A window execution that did not go as planned -> one published window digest: decide_window, then
notify_window (the function's one call)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC
from typing import TYPE_CHECKING, Any

from instance_hygiene.aws.ledger import record_night
from instance_hygiene.aws.night import read_account_alias
from instance_hygiene.aws.publish import publish
from instance_hygiene.aws.windows import Reports, read_details, read_window_report
from instance_hygiene.digest.model import Unread
from instance_hygiene.digest.summary import NightEntry
from instance_hygiene.digest.window import WindowDigest, shortfalls
from instance_hygiene.events import WindowExecutionEvent
from instance_hygiene.notify.statuses import WINDOW_FAILED, WINDOW_RUNNING, Verdict, judge_window, needs_api
from instance_hygiene.render.window import render as render_window
from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient


@dataclass(frozen=True)
class WindowOutcome:
    message_id: str
    subject: str
    tasks: int
    night_recorded: bool | None = None
    """Whether the night's ledger took it (None: the stack keeps no ledger)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class WindowDecision:
    verdict: Verdict
    report: WindowDigest | None
    """The execution as the API reports it, when it was needed to decide."""


def _read_report(event: WindowExecutionEvent, ssm: SSMClient) -> WindowDigest:
    """The execution and its tasks (no command details: enough to decide)."""
    detail = event.detail
    return read_window_report(
        ssm,
        window_id=detail.window_id,
        window_execution_id=detail.window_execution_id,
        region=event.region,
        account=event.account,
        details=False,
    )


def decide_window(
    event: WindowExecutionEvent, *, ssm: SSMClient, settings: NotifierSettings
) -> WindowDecision:
    """Whether the event is told (statuses.judge_window); reads the execution only when its status
    alone cannot decide (a SUCCESS, which may have run on no instance, or a status not known)."""
    status = event.detail.status
    report = (
        _read_report(event, ssm) if needs_api(status, failed=WINDOW_FAILED, running=WINDOW_RUNNING) else None
    )
    verdict = judge_window(
        status,
        report.status if report else None,
        shortfalls(report) if report else (),
        on_success=settings.notify_on_success,
    )
    return WindowDecision(verdict, report)


def night_entry(
    event: WindowExecutionEvent, *, status: str, told: bool, report: WindowDigest | None = None
) -> NightEntry:
    """The execution as the night's ledger keeps it: its window's name when it was read, and whether
    it could be read at all."""
    detail = event.detail
    unread = report is not None and report.unread is not None
    return NightEntry(
        at=event.time,
        account=event.account,
        region=event.region,
        kind="unread" if unread else "window",
        ident=detail.window_execution_id,
        status=status,
        name=(report.window_name if report else "") or detail.window_id,
        told=told,
        alias=report.account_alias if report else None,
    )


def remember_window(
    event: WindowExecutionEvent,
    *,
    decision: WindowDecision,
    settings: NotifierSettings,
    dynamodb: DynamoDBClient | None,
) -> bool | None:
    """Write an execution not told (it went as planned) to the night's ledger."""
    entry = night_entry(event, status=decision.verdict.status, told=False, report=decision.report)
    return record_night(settings, dynamodb, entry)


def notify_unread_window(
    event: WindowExecutionEvent,
    *,
    unread: Unread,
    sns: SNSClient,
    settings: NotifierSettings,
) -> WindowOutcome:
    """One window notification about an execution that could not be read at all (`unread` says
    why and what to do): the event's window, execution, status, account and region, nothing else."""
    detail = event.detail
    report = WindowDigest(
        window_id=detail.window_id,
        window_name="",
        window_execution_id=detail.window_execution_id,
        status=detail.status,
        status_details="",
        tasks=(),
        region=event.region,
        account=event.account,
        start=detail.start_time,
        end=detail.end_time,
        local_date=event.time.astimezone(UTC).date().isoformat(),
        unread=unread,
    )
    rendered = render_window(report)
    message_id = publish(
        sns,
        topic_arn=settings.topic_arn,
        rendered=rendered,
        attributes={"kind": "window", "status": detail.status, "window_id": detail.window_id},
    )
    return WindowOutcome(message_id=message_id, subject=rendered.subject, tasks=0)


def notify_window(
    event: WindowExecutionEvent,
    *,
    decision: WindowDecision,
    ssm: SSMClient,
    sns: SNSClient,
    settings: NotifierSettings,
    s3: S3Client | None = None,
    iam: IAMClient | None = None,
    dynamodb: DynamoDBClient | None = None,
) -> WindowOutcome:
    """One window digest, about the status `decision` tells: with each task's counts, the night's
    top causes from the commands' full reports (read with `s3` from the settings' report bucket and
    prefix; without `s3` none are read), the patch task's compliance and, with `iam`, the account's
    alias."""
    detail = event.detail
    status = decision.verdict.status
    reports = Reports(s3, settings.report_bucket, settings.report_prefix) if s3 is not None else None
    report = read_details(ssm, decision.report or _read_report(event, ssm), reports=reports)
    # The decided status is the one this notification is about.
    report = replace(report, status=status, account_alias=read_account_alias(iam))
    rendered = render_window(report)
    message_id = publish(
        sns,
        topic_arn=settings.topic_arn,
        rendered=rendered,
        attributes={"kind": "window", "status": status, "window_id": detail.window_id},
    )
    entry = night_entry(event, status=status, told=True, report=report)
    return WindowOutcome(
        message_id=message_id,
        subject=rendered.subject,
        tasks=len(report.tasks),
        night_recorded=record_night(settings, dynamodb, entry),
    )
