"""The night's ledger in the history table (DynamoDB): what each function handled, for the morning
summary (digest/summary.py).

Items, beside history's scopes (`window/...`, `document/...`, `account/...`), never meeting them:
- `pk` = `night/<UTC date>`, `sk` = `<UTC time>#<account>#<region>#<kind>#<id>#<status>`: one entry
  per event handled, kept ENTRY_TTL_DAYS. A redelivered event writes the same item again.
- `pk` = SEEN_PK, `sk` = `<account>#<region>`: when that account and Region last reported and the
  night before that (`previous`, the last report more than NIGHT_GAP earlier): their distance is
  its cadence. Kept HISTORY_TTL_DAYS after the last (an account silent longer than that is
  forgotten, unless the Organization lists it).

Writing never raises: the notification is what matters, so a failed write is logged and counted
by the caller. Reading raises, so the summary function fails (and its event reaches the
dead-letter queue) rather than tell a night it could not read as a night where nobody reported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.aws.history import HISTORY_TTL_SECONDS, TTL_ATTRIBUTE
from instance_hygiene.digest.causes import CauseCount
from instance_hygiene.digest.summary import (
    CAUSES_PER_ENTRY,
    FAILED_IDS_KEPT,
    EntryKind,
    NightEntry,
    Seen,
)
from instance_hygiene.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from instance_hygiene.settings import NotifierSettings

LOGGER = logging.getLogger(__name__)

NIGHT_PK = "night/"
SEEN_PK = "seen/accounts"
NIGHT_GAP = timedelta(hours=6)
"""Reports further apart than this are of different nights (a window lasts at most 24 hours, but
its events come within minutes of its end)."""
ENTRY_TTL_DAYS = 3
"""Long enough to run the summary again the next day by hand; the summary reads one night."""
KINDS: frozenset[str] = frozenset({"command", "window", "unread"})


def _s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def _n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _utc(moment: datetime) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def entry_key(entry: NightEntry) -> dict[str, AttributeValueTypeDef]:
    at = _utc(entry.at)
    sort = "#".join((at.isoformat(), entry.account, entry.region, entry.kind, entry.ident, entry.status))
    return {"pk": _s(f"{NIGHT_PK}{at.date().isoformat()}"), "sk": _s(sort)}


def _entry_item(entry: NightEntry, now: datetime) -> dict[str, AttributeValueTypeDef]:
    causes = [
        {"reason": c.reason, "outcome": c.outcome, "count": c.count, "next_step": c.next_step}
        for c in entry.causes[:CAUSES_PER_ENTRY]
    ]
    item: dict[str, AttributeValueTypeDef] = {
        **entry_key(entry),
        "at": _s(_utc(entry.at).isoformat()),
        "account": _s(entry.account),
        "region": _s(entry.region),
        "kind": _s(entry.kind),
        "ident": _s(entry.ident),
        "status": _s(entry.status),
        "told": {"BOOL": entry.told},
        "failed": _n(entry.failed),
        "causes": _s(json.dumps(causes, ensure_ascii=False)),
        TTL_ATTRIBUTE: _n(int(now.timestamp()) + ENTRY_TTL_DAYS * 24 * 3600),
    }
    if entry.name:
        item["name"] = _s(entry.name)
    if entry.instances is not None:
        item["instances"] = _n(entry.instances)
    if entry.failed_ids:
        item["failed_ids"] = _s(" ".join(entry.failed_ids[:FAILED_IDS_KEPT]))
    if entry.alias:
        item["alias"] = _s(entry.alias)
    return item


class Ledger:
    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def record(self, entry: NightEntry, *, now: datetime | None = None) -> bool:
        """Write the entry and move its account's last-seen time forward; False (logged) when
        either write failed."""
        now = now or datetime.now(UTC)
        try:
            self._dynamodb.put_item(TableName=self._table, Item=_entry_item(entry, now))
            self._seen(entry, now)
        except (ClientError, BotoCoreError) as error:
            LOGGER.warning("the night's ledger was not written (%s): %s", error_code(error), error)
            return False
        return True

    def _seen(self, entry: NightEntry, now: datetime) -> None:
        """Move the account's last report forward; when it is of a new night, the old one becomes
        `previous`. Read, then written: two events of one night racing write the same values."""
        key: dict[str, AttributeValueTypeDef] = {
            "pk": _s(SEEN_PK),
            "sk": _s(f"{entry.account}#{entry.region}"),
        }
        held = self._dynamodb.get_item(TableName=self._table, Key=key).get("Item", {})
        at, last, previous = _utc(entry.at), _time(held.get("last_seen")), _time(held.get("previous"))
        if last is not None and at <= last:
            return  # a redelivery, or an older event arriving late
        if last is not None and at - last > NIGHT_GAP:
            previous = last
        item: dict[str, AttributeValueTypeDef] = {
            **key,
            "last_seen": _s(at.isoformat()),
            TTL_ATTRIBUTE: _n(int(now.timestamp()) + HISTORY_TTL_SECONDS),
        }
        if previous is not None:
            item["previous"] = _s(previous.isoformat())
        if entry.alias or "alias" in held:
            item["alias"] = _s(entry.alias or str(held["alias"]["S"]))
        self._dynamodb.put_item(TableName=self._table, Item=item)

    def _query(self, pk: str, between: tuple[str, str] | None = None) -> Iterator[dict[str, Any]]:
        condition = "pk = :pk" + (" AND sk BETWEEN :low AND :high" if between else "")
        values: dict[str, AttributeValueTypeDef] = {":pk": _s(pk)}
        if between:
            values |= {":low": _s(between[0]), ":high": _s(between[1])}
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self._table, KeyConditionExpression=condition, ExpressionAttributeValues=values
        )
        for page in pages:
            yield from cast("list[dict[str, Any]]", page.get("Items", []))

    def entries(self, start: datetime, end: datetime) -> tuple[list[NightEntry], int]:
        """The entries whose time is in [start, end), and how many items could not be read back."""
        start, end = _utc(start), _utc(end)
        day, entries, bad = start.date(), [], 0
        # A sort key starts with its entry's time: those from `start` on sort after start's time,
        # and one at `end` itself (`<end>#...`) after end's, so it is left out as [start, end) says.
        between = (start.isoformat(), end.isoformat())
        while day <= end.date():
            for item in self._query(f"{NIGHT_PK}{day.isoformat()}", between):
                entry = parse_entry(item)
                if entry is None:
                    bad += 1
                elif start <= entry.at < end:
                    entries.append(entry)
            day += timedelta(days=1)
        return entries, bad

    def seen(self) -> tuple[dict[tuple[str, str], Seen], dict[str, str]]:
        """(account, Region) -> when it last reported and its cadence, and the aliases last seen."""
        seen: dict[tuple[str, str], Seen] = {}
        aliases: dict[str, str] = {}
        now = datetime.now(UTC).timestamp()
        for item in self._query(SEEN_PK):
            account, _, region = str(item.get("sk", {}).get("S", "")).partition("#")
            last = _time(item.get("last_seen"))
            expires = item.get(TTL_ATTRIBUTE, {}).get("N")
            if not account or not region or last is None or (expires and float(expires) < now):
                continue
            previous = _time(item.get("previous"))
            seen[(account, region)] = Seen(last, last - previous if previous else None)
            if alias := item.get("alias", {}).get("S"):
                aliases[account] = alias
        return seen, aliases


def record_night(
    settings: NotifierSettings, dynamodb: DynamoDBClient | None, entry: NightEntry
) -> bool | None:
    """Write `entry` when the stack keeps a ledger (NIGHT_LEDGER, with a history table); None when
    it keeps none, else whether the write succeeded."""
    if not settings.night_ledger or not settings.history_table or dynamodb is None:
        return None
    return Ledger(dynamodb, settings.history_table).record(entry)


def _time(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value["S"])
    except (TypeError, KeyError, ValueError):
        return None
    return _utc(moment)


def _causes(value: Any) -> tuple[CauseCount, ...]:
    try:
        raw = json.loads(value["S"])
    except (TypeError, KeyError, ValueError):
        return ()
    if not isinstance(raw, list):
        return ()
    return tuple(
        CauseCount(
            reason=str(c["reason"]),
            outcome=str(c["outcome"]),
            count=int(c["count"]),
            next_step=str(c["next_step"]) if c.get("next_step") else None,
        )
        for c in raw
        if isinstance(c, dict) and isinstance(c.get("reason"), str) and isinstance(c.get("count"), int)
    )


def parse_entry(item: dict[str, Any]) -> NightEntry | None:
    """An entry as `record` wrote it; None for an item this module did not write."""
    at = _time(item.get("at"))
    fields = {name: item.get(name, {}).get("S") for name in ("account", "region", "kind", "ident", "status")}
    if at is None or not all(fields.values()) or fields["kind"] not in KINDS:
        return None
    try:
        failed = int(item.get("failed", {}).get("N", "0"))
        instances = int(item["instances"]["N"]) if "instances" in item else None
    except (TypeError, KeyError, ValueError):
        return None
    return NightEntry(
        at=at,
        account=str(fields["account"]),
        region=str(fields["region"]),
        kind=cast("EntryKind", fields["kind"]),
        ident=str(fields["ident"]),
        status=str(fields["status"]),
        name=str(item.get("name", {}).get("S", "")),
        told=bool(item.get("told", {}).get("BOOL", False)),
        instances=instances,
        failed=failed,
        failed_ids=tuple(str(item.get("failed_ids", {}).get("S", "")).split()),
        causes=_causes(item.get("causes")),
        alias=item.get("alias", {}).get("S") or None,
    )
