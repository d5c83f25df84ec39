"""The night's ledger in the history table (aws/ledger.py), on moto's DynamoDB with the template's
HistoryTable: entries read back for a night, each account's cadence, writes that never raise."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from instance_hygiene.aws.ledger import Ledger, parse_entry, record_night
from instance_hygiene.digest.causes import CauseCount
from instance_hygiene.digest.summary import NightEntry
from instance_hygiene.settings import NotifierSettings
from local.template import raw_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "instance-hygiene-HistoryTable-1A2B3C4D5E6F"
TONIGHT = datetime(2026, 12, 3, 2, 40, tzinfo=UTC)
ACCOUNT = "111111111111"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_aws():
        client = boto3.client("dynamodb")
        table: dict[str, Any] = raw_template()["Resources"]["HistoryTable"]["Properties"]
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            BillingMode=table["BillingMode"],
        )
        yield client


def entry(at: datetime = TONIGHT, **fields: object) -> NightEntry:
    values: dict[str, object] = {
        "account": ACCOUNT,
        "region": "eu-west-2",
        "kind": "command",
        "ident": "0b8a7c6d-1111-2222-3333-444455556666",
        "status": "Failed",
        "name": "AWS-RunPatchBaseline",
        "told": True,
        "instances": 500,
        "failed": 2,
        "failed_ids": ("i-0123456789abcdef0", "i-0fedcba9876543210"),
        "causes": (CauseCount("exit status 4294967295", "failed", 2, "Read the step's output."),),
        "alias": "retail-prod",
    }
    values.update(fields)
    return NightEntry(at=at, **values)  # type: ignore[arg-type]


def test_an_entry_is_read_back_whole_for_its_night(dynamodb: DynamoDBClient) -> None:
    ledger = Ledger(dynamodb, TABLE)
    written = entry()
    assert ledger.record(written)
    entries, bad = ledger.entries(TONIGHT - timedelta(hours=20), TONIGHT + timedelta(hours=4))
    assert (entries, bad) == ([written], 0)


def test_the_night_spans_two_utc_dates_and_its_ends_hold(dynamodb: DynamoDBClient) -> None:
    ledger = Ledger(dynamodb, TABLE)
    start = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    end = start + timedelta(hours=24)
    for at, ident in ((start, "at-start"), (start + timedelta(hours=20), "next-day"), (end, "at-end")):
        ledger.record(entry(at=at, ident=ident))
    entries, _ = ledger.entries(start, end)
    assert sorted(e.ident for e in entries) == ["at-start", "next-day"]


def test_a_redelivery_writes_the_same_item(dynamodb: DynamoDBClient) -> None:
    ledger = Ledger(dynamodb, TABLE)
    ledger.record(entry())
    ledger.record(entry())
    entries, _ = ledger.entries(TONIGHT - timedelta(hours=1), TONIGHT + timedelta(hours=1))
    assert len(entries) == 1


def test_the_cadence_is_the_distance_between_two_nights(dynamodb: DynamoDBClient) -> None:
    ledger = Ledger(dynamodb, TABLE)
    last_week = TONIGHT - timedelta(days=7)
    ledger.record(entry(at=last_week))
    ledger.record(entry(at=last_week + timedelta(minutes=20)))  # the same night: no new cadence
    ledger.record(entry(at=TONIGHT))
    ledger.record(entry(at=TONIGHT - timedelta(days=3)))  # late and older: changes nothing
    seen, aliases = ledger.seen()
    record = seen[(ACCOUNT, "eu-west-2")]
    assert record.last == TONIGHT
    assert record.cadence == timedelta(days=7) - timedelta(minutes=20)
    assert aliases == {ACCOUNT: "retail-prod"}


def test_a_write_that_fails_is_false_not_raised(dynamodb: DynamoDBClient) -> None:
    assert Ledger(dynamodb, "no-such-table").record(entry()) is False


def test_no_ledger_is_kept_unless_the_stack_asks(dynamodb: DynamoDBClient) -> None:
    base = {
        "TOPIC_ARN": "arn:aws:sns:eu-west-2:111111111111:t",
        "IDEMPOTENCY_TABLE": "i",
        "REPORT_BUCKET": "b",
    }
    off = NotifierSettings.from_env({**base, "HISTORY_TABLE": TABLE})
    on = NotifierSettings.from_env({**base, "HISTORY_TABLE": TABLE, "NIGHT_LEDGER": "true"})
    assert record_night(off, dynamodb, entry()) is None
    assert record_night(on, dynamodb, entry()) is True


def test_an_item_the_ledger_did_not_write_is_refused() -> None:
    assert parse_entry({"pk": {"S": "night/2026-12-03"}, "sk": {"S": "x"}}) is None
    assert parse_entry({"at": {"S": "not a time"}, "account": {"S": ACCOUNT}}) is None
