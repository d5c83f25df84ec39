"""The morning summary: read the night's ledger and who is expected, publish one message
(the summary function's one call)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.aws.ledger import Ledger
from instance_hygiene.aws.night import local_date
from instance_hygiene.aws.publish import publish
from instance_hygiene.digest.summary import Expected, summarise
from instance_hygiene.errors import error_code
from instance_hygiene.render.summary import render
from instance_hygiene.settings import NotifierSettings, SettingsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient

LOGGER = logging.getLogger(__name__)

NIGHT = timedelta(hours=24)
"""What one summary covers: the day before its scheduled time."""


@dataclass(frozen=True)
class SummaryOutcome:
    message_id: str
    subject: str
    accounts: int
    entries: int
    silent: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def organization_accounts(organizations: Any) -> tuple[dict[str, str] | None, str | None]:
    """The Organization's active accounts (id -> name), or None and a note saying why they could
    not be listed: ListAccounts answers only the management account and delegated administrators."""
    try:
        pages = organizations.get_paginator("list_accounts").paginate()
        accounts = {
            str(a["Id"]): str(a.get("Name", ""))
            for page in pages
            for a in page.get("Accounts", [])
            if (a.get("State") or a.get("Status")) == "ACTIVE"
        }
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("the Organization's accounts were not listed: %s", error)
        return None, (
            f"The Organization's accounts could not be listed ({error_code(error)}): only accounts "
            "seen on an earlier night are expected. ListAccounts answers the management account "
            "and delegated administrators only."
        )
    return accounts, None


def notify_summary(
    scheduled: datetime,
    *,
    dynamodb: DynamoDBClient,
    sns: SNSClient,
    settings: NotifierSettings,
    organizations: Any | None = None,
) -> SummaryOutcome:
    """One summary of the 24 hours before `scheduled`; `organizations` (central role) lists the
    accounts that should report besides those seen before."""
    if not settings.history_table or not settings.night_ledger:
        raise SettingsError("the morning summary needs HISTORY_TABLE and NIGHT_LEDGER=true")
    end = scheduled.astimezone(UTC)
    start = end - NIGHT
    ledger = Ledger(dynamodb, settings.history_table)
    entries, unreadable = ledger.entries(start, end)
    seen, aliases = ledger.seen()
    notes: list[str] = []
    listed = None
    if organizations is not None:
        listed, note = organization_accounts(organizations)
        notes += [note] if note else []
    if unreadable:
        notes.append(f"{unreadable} ledger items could not be read back and are not counted.")
    night, zone = local_date(start, settings.summary_time_zone)
    summary = summarise(
        entries,
        Expected(seen=seen, aliases=aliases, organization=listed),
        start=start,
        end=end,
        night=night or start.date().isoformat(),
        time_zone=zone,
        organization_id=settings.organization_id,
        notes=notes,
    )
    rendered = render(summary)
    message_id = publish(
        sns,
        topic_arn=settings.topic_arn,
        rendered=rendered,
        attributes={"kind": "summary", "status": "ATTENTION" if summary.attention else "OK"},
    )
    return SummaryOutcome(
        message_id=message_id,
        subject=rendered.subject,
        accounts=len(summary.accounts),
        entries=len(entries),
        silent=len(summary.silent) + len(summary.never_reported),
    )
