"""The history table (DynamoDB): one partition per scope, one item per instance plus one run item.

Items: `pk` = scope (digest/history.py `scope_of`), `sk` = instance id, or RUN_ITEM for the scope's
run record. Every write sets `expires_at` (epoch seconds, the table's TTL attribute) to
HISTORY_TTL_SECONDS after it. DynamoDB deletes expired items only eventually ("typically within
two days", UpdateTimeToLive in the botocore model) and until then they still show in queries, so
`recall` filters them out itself.

`history_notes` is the one call for a command: read, compare, write, and the view to show. A
history failure never loses the notification: any AWS error becomes a view that says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.digest.history import (
    History,
    HistoryUpdate,
    HistoryView,
    InstanceRecord,
    Run,
    ScopeRecord,
    compare,
    outcome_of,
    scope_of,
    view_of,
)
from instance_hygiene.digest.model import CommandDigest
from instance_hygiene.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

LOGGER = logging.getLogger(__name__)

HISTORY_TTL_DAYS = 40
"""Days an item lives after its last write. A monthly window on "the 2nd Tuesday" runs 28 or 35 days
apart, so its history must outlive 35 days; 5 more days cover a run skipped or held back."""
HISTORY_TTL_SECONDS = HISTORY_TTL_DAYS * 24 * 3600
TTL_ATTRIBUTE = "expires_at"
"""The table's TimeToLiveSpecification.AttributeName (template.yaml HistoryTable)."""
RUN_ITEM = "#run"
"""The sort key of a scope's run record; an instance id (i-..., mi-...) never starts with '#'."""
BATCH_ITEMS = 25
"""BatchWriteItem's limit of put or delete requests per call (botocore model: WriteRequests max 25)."""
UNPROCESSED_RETRIES = 4
"""Resends of UnprocessedItems, with exponential backoff as the BatchWriteItem reference advises."""
FIRST_BACKOFF_SECONDS = 0.1


class UnprocessedItems(RuntimeError):
    """BatchWriteItem still returned unprocessed items after every resend."""


class MalformedRecord(ValueError):
    """An item in the table is not one this module wrote (a missing or mistyped attribute)."""


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _instance_item(scope: str, record: InstanceRecord, expires_at: int) -> dict[str, AttributeValueTypeDef]:
    item: dict[str, AttributeValueTypeDef] = {
        "pk": _s(scope),
        "sk": _s(record.instance_id),
        "run": _s(record.run),
        "seen_at": _s(record.seen_at.astimezone(UTC).isoformat()),
        "streak": _n(record.streak),
        "prior_streak": _n(record.prior_streak),
        TTL_ATTRIBUTE: _n(expires_at),
    }
    for name, value in (("cause", record.cause), ("prior_cause", record.prior_cause), ("name", record.name)):
        if value is not None:
            item[name] = _s(value)
    return item


def _scope_item(scope: str, record: ScopeRecord, expires_at: int) -> dict[str, AttributeValueTypeDef]:
    return {
        "pk": _s(scope),
        "sk": _s(RUN_ITEM),
        "recent_runs": {"L": [_s(run) for run in record.recent_runs]},
        "runs": _n(record.runs),
        TTL_ATTRIBUTE: _n(expires_at),
    }


def _text(item: Mapping[str, AttributeValueTypeDef], name: str) -> str:
    try:
        return item[name]["S"]
    except KeyError as missing:
        raise MalformedRecord(f"history item without string attribute {name}") from missing


def _optional_text(item: Mapping[str, AttributeValueTypeDef], name: str) -> str | None:
    return _text(item, name) if name in item else None


def _number(item: Mapping[str, AttributeValueTypeDef], name: str) -> int:
    try:
        return int(item[name]["N"])
    except (KeyError, ValueError) as bad:
        raise MalformedRecord(f"history item without integer attribute {name}") from bad


def _instance_record(item: Mapping[str, AttributeValueTypeDef]) -> InstanceRecord:
    try:
        seen_at = datetime.fromisoformat(_text(item, "seen_at"))
    except ValueError as bad:
        raise MalformedRecord("history item with an unreadable seen_at") from bad
    return InstanceRecord(
        instance_id=_text(item, "sk"),
        run=_text(item, "run"),
        seen_at=seen_at,
        cause=_optional_text(item, "cause"),
        streak=_number(item, "streak"),
        prior_cause=_optional_text(item, "prior_cause"),
        prior_streak=_number(item, "prior_streak"),
        name=_optional_text(item, "name"),
    )


def _scope_record(item: Mapping[str, AttributeValueTypeDef]) -> ScopeRecord:
    try:
        runs = tuple(value["S"] for value in item["recent_runs"]["L"])
    except KeyError as missing:
        raise MalformedRecord("history run item without its list of runs") from missing
    return ScopeRecord(recent_runs=runs, runs=_number(item, "runs"))


class HistoryStore:
    """The history table through a DynamoDB client (its retry settings handle throttled calls)."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self._sleep = sleep

    def recall(self, scope: str, *, now: datetime) -> History:
        """The scope's unexpired records (a strongly consistent Query, every page)."""
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :scope",
            FilterExpression="#expires_at > :now",
            ExpressionAttributeNames={"#expires_at": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":scope": _s(scope), ":now": _n(int(now.timestamp()))},
            ConsistentRead=True,
        )
        scope_record: ScopeRecord | None = None
        instances: dict[str, InstanceRecord] = {}
        for page in pages:
            for item in page.get("Items", []):
                if _text(item, "sk") == RUN_ITEM:
                    scope_record = _scope_record(item)
                else:
                    record = _instance_record(item)
                    instances[record.instance_id] = record
        return History(scope=scope_record, instances=instances)

    def record(self, scope: str, run: Run, update: HistoryUpdate, *, now: datetime) -> None:
        """Write `update` for `run`: the instance records in batches of BATCH_ITEMS, then the run
        item, last, so that a run item on the table means every instance record of the run is
        there too (a retry after a partial write finds the rest to do). Raises ClientError,
        BotoCoreError or UnprocessedItems."""
        expires_at = int(now.timestamp()) + HISTORY_TTL_SECONDS
        requests: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": _instance_item(scope, r, expires_at)}} for r in update.instances
        ]
        for start in range(0, len(requests), BATCH_ITEMS):
            self._write_batch(requests[start : start + BATCH_ITEMS])
        if update.scope is not None:
            self.dynamodb.put_item(TableName=self.table, Item=_scope_item(scope, update.scope, expires_at))
        LOGGER.info(
            "history of %s recorded for run %s: %d instance records", scope, run.command_id, len(requests)
        )

    def _write_batch(self, batch: Sequence[WriteRequestTypeDef]) -> None:
        pending = list(batch)
        delay = FIRST_BACKOFF_SECONDS
        for attempt in range(UNPROCESSED_RETRIES + 1):
            answer = self.dynamodb.batch_write_item(RequestItems={self.table: pending})
            # The unprocessed requests come back as sent: resend them as they are.
            pending = cast(
                "list[WriteRequestTypeDef]", answer.get("UnprocessedItems", {}).get(self.table, [])
            )
            if not pending:
                return
            if attempt < UNPROCESSED_RETRIES:
                self._sleep(delay)
                delay *= 2
        raise UnprocessedItems(f"{len(pending)} history records left unprocessed by BatchWriteItem")


def history_notes(
    store: HistoryStore,
    digest: CommandDigest,
    *,
    succeeded: Iterable[str],
    requested_at: datetime | None = None,
    now: datetime | None = None,
    member: str | None = None,
) -> HistoryView:
    """Read the command's scope, compare this run (the untrimmed `digest` and the ids of the
    instances that succeeded), write the update and return what to show. Never raises for the
    store: an AWS error, unprocessed writes or an unreadable item give a view that says
    "history unavailable (<code>)". `requested_at` (the command's) orders a late event against
    newer runs (naive: UTC); unknown, it is `now`. `member` (`<account>/<region>` of a member
    account's command, central role) keeps its scope apart (digest/history.scope_of)."""
    now = now or datetime.now(UTC)
    scope = scope_of(digest.document_name, digest.window_id, member)
    when = requested_at or now
    run = Run(digest.command_id, when if when.tzinfo else when.replace(tzinfo=UTC))
    try:
        comparison = compare(store.recall(scope, now=now), run, outcome_of(digest, succeeded))
        if not comparison.update.empty:
            store.record(scope, run, comparison.update, now=now)
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("history of %s unavailable: %s", scope, error)
        return HistoryView(scope=scope, unavailable=error_code(error))
    except (UnprocessedItems, MalformedRecord) as error:
        LOGGER.warning("history of %s unavailable: %s", scope, error)
        return HistoryView(scope=scope, unavailable=type(error).__name__)
    return view_of(scope, digest, comparison)
