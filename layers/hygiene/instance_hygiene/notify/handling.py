"""What both event handlers do around a notification: tell a member account that could not be read,
once per night, and log and count what was sent.

A member role that cannot be assumed stays so all night: every command and window execution of
that account and Region would say the same. So the first event of the night is told and the rest
are only written to the night's ledger (the morning summary counts them). A night is the
NOT_READ_QUIET_SECONDS after the message, not a calendar date, so a window that runs across
midnight (UTC's or its own) is told once; both functions share the key (NOT_READ_KEY_PREFIX), so
the command function's message and the window function's are one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from instance_hygiene.aws import clients
from instance_hygiene.aws.idempotency import NOT_RECORDED, once
from instance_hygiene.aws.ledger import record_night
from instance_hygiene.digest.summary import NightEntry
from instance_hygiene.events import CommandDetail, CommandStatusEvent, WindowExecutionEvent

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sns import SNSClient

    from instance_hygiene.aws.accounts import RoleNotAssumed
    from instance_hygiene.digest.model import Unread
    from instance_hygiene.settings import NotifierSettings

NOT_READ_KEY_PREFIX = "instance-hygiene.member-not-read"
NOT_READ_QUIET_SECONDS = 20 * 3600
"""How long after a "not read" message the account and Region's next events are not told again:
longer than any night's events are apart (a window lasts at most 24 hours, most a few), shorter
than the 23 hours between two nightly windows across a daylight-saving change."""


def not_read_key(access: RoleNotAssumed) -> dict[str, str]:
    """One key per account and Region; it is new again NOT_READ_QUIET_SECONDS after its message."""
    return {"not_read": f"{access.account}/{access.region}"}


def not_read_entry(event: CommandStatusEvent | WindowExecutionEvent) -> NightEntry:
    """An event that could not be read, as the night's ledger keeps it: only what the event says."""
    detail = event.detail
    if isinstance(detail, CommandDetail):
        ident, name = detail.command_id, detail.document_name
    else:
        ident, name = detail.window_execution_id, detail.window_id
    return NightEntry(
        at=event.time,
        account=event.account,
        region=event.region,
        kind="unread",
        ident=ident,
        status=detail.status,
        name=name,
    )


class UnreadNotifier[E: (CommandStatusEvent, WindowExecutionEvent)](Protocol):
    """notify.command.notify_unread_command or notify.window.notify_unread_window."""

    def __call__(
        self, event: E, /, *, unread: Unread, sns: SNSClient, settings: NotifierSettings
    ) -> Told: ...


class Told(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def tell_not_read[E: (CommandStatusEvent, WindowExecutionEvent)](
    access: RoleNotAssumed,
    *,
    event: E,
    notify: UnreadNotifier[E],
    settings: NotifierSettings,
    context: LambdaContext,
    metrics: Metrics,
    logger: Logger,
) -> dict[str, Any]:
    """`notify` (the "not read" message, what `access` says) unless tonight's was sent for this
    account and Region: then the first one's outcome, marked `repeat`. Either way the event goes
    to the ledger."""
    entry = not_read_entry(event)
    told_now: list[bool] = []

    @once(
        settings,
        context,
        dynamodb=clients.dynamodb(),
        key_prefix=NOT_READ_KEY_PREFIX,
        expires_after_seconds=NOT_READ_QUIET_SECONDS,
    )
    def notify_once(key: dict[str, str]) -> dict[str, Any]:
        outcome = notify(event, unread=access.unread(), sns=clients.sns(), settings=settings).as_dict()
        told_now.append(True)
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        return outcome

    metrics.add_metric(name="MemberRoleNotAssumed", unit=MetricUnit.Count, value=1)
    result = notify_once(key=not_read_key(access))
    record_night(settings, clients.dynamodb(), replace(entry, told=bool(told_now)))
    return sent(
        result if told_now else {**result, "repeat": "already told tonight"}, metrics=metrics, logger=logger
    )


def sent(result: dict[str, Any], *, metrics: Metrics, logger: Logger) -> dict[str, Any]:
    """Log what was sent; count an idempotency record that could not be completed, and a ledger
    entry that could not be written."""
    if result.get(NOT_RECORDED) is False:
        metrics.add_metric(name="IdempotencyRecordsNotSaved", unit=MetricUnit.Count, value=1)
    if result.get("night_recorded") is False:
        metrics.add_metric(name="LedgerEntriesNotWritten", unit=MetricUnit.Count, value=1)
    logger.info("notified", extra=result)
    return result
