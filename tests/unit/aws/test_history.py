"""aws.history: the history table on moto in process (no sockets), its failure modes on a Stubber.

The table is created from template.yaml's own HistoryTable properties, its TTL turned on as
CloudFormation would (moto's CreateTable takes no TimeToLiveSpecification). Limits come from the
botocore DynamoDB model (BatchWriteItem: at most 25 write requests) and the DynamoDB API reference
(unprocessed items are resent with backoff; expired items still show in queries until TTL deletes
them). Failure reasons are AWS-RunPatchBaseline texts from the Patch Manager troubleshooting pages
(/work/shared/reference/aws-ssm-facts.md §4).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from instance_hygiene.aws.history import (
    BATCH_ITEMS,
    HISTORY_TTL_DAYS,
    HISTORY_TTL_SECONDS,
    RUN_ITEM,
    TTL_ATTRIBUTE,
    HistoryStore,
    history_notes,
)
from instance_hygiene.digest.history import digest_lines, group_line, scope_of
from instance_hygiene.digest.model import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from instance_hygiene.settings import NotifierSettings
from local.template import raw_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "instance-hygiene-HistoryTable-1A2B3C4D5E6F"
WINDOW = "mw-0c50858d01EXAMPLE"
YUM_LOCK = "another process has acquired yum lock"
NO_MIRRORS = "[Errno 256] No more mirrors to try."
NIGHT_ONE = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
SCOPE = scope_of("AWS-RunPatchBaseline", WINDOW)


def template_table() -> dict[str, Any]:
    return raw_template()["Resources"]["HistoryTable"]["Properties"]  # type: ignore[no-any-return]


def instance(n: int) -> str:
    return f"i-{n:017x}"


def command_id(night: int) -> str:
    return f"00000000-0000-4000-8000-{night:012d}"


def digest(night: int, *failures: tuple[int, str]) -> CommandDigest:
    """Night `night`'s patch command of the window, failed on these instances for these reasons."""
    listed = [
        Failure(
            instance_id=instance(n),
            instance_name=f"web-{n:02d}",
            status="Failed",
            status_details="Failed",
            reason=reason,
            log=LogInfo(source="s3"),
        )
        for n, reason in failures
    ]
    return CommandDigest(
        command_id=command_id(night),
        document_name="AWS-RunPatchBaseline",
        status="Failed",
        counts=count_statuses(f.status for f in listed),
        groups=group_failures(listed),
        window_id=WINDOW,
    )


def tell(store: HistoryStore, night: int, *failures: tuple[int, str], succeeded: tuple[int, ...] = ()) -> Any:
    return history_notes(
        store,
        digest(night, *failures),
        succeeded=[instance(n) for n in succeeded],
        requested_at=NIGHT_ONE + timedelta(days=night),
        now=NIGHT_ONE + timedelta(days=night, minutes=5),
    )


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    """moto's DynamoDB with the template's HistoryTable."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_aws():
        client = boto3.client("dynamodb")
        table = template_table()
        client.create_table(
            TableName=TABLE,
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            BillingMode=table["BillingMode"],
        )
        client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification=table["TimeToLiveSpecification"])
        yield client


def items(client: DynamoDBClient) -> dict[str, dict[str, Any]]:
    return {i["sk"]["S"]: i for i in client.scan(TableName=TABLE)["Items"]}


# ------------------------------------------------------------------ the table as the template declares it


def test_the_ttl_attribute_is_the_tables_and_outlives_a_monthly_window() -> None:
    table = template_table()

    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert HISTORY_TTL_DAYS >= 35, "a monthly window's runs can be 35 days apart"
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]


# ------------------------------------------------------------------ across nights on moto


def test_given_three_nights_then_recurring_failures_read_in_a_row_and_fixes_are_named(
    dynamodb: DynamoDBClient,
) -> None:
    store = HistoryStore(dynamodb, TABLE)
    first = tell(store, 0, (1, YUM_LOCK), (2, YUM_LOCK))
    tell(store, 1, (1, YUM_LOCK), (2, YUM_LOCK))

    view = tell(store, 2, (1, YUM_LOCK), (3, NO_MIRRORS), succeeded=(2, 4))

    assert digest_lines(first) == ("history: the first run recorded; nothing to compare with yet",)
    groups = digest(2, (1, YUM_LOCK), (3, NO_MIRRORS)).groups
    assert {g.reason: group_line(view, g) for g in groups} == {
        YUM_LOCK: "3rd night in a row",
        NO_MIRRORS: "new tonight",
    }
    assert digest_lines(view) == ("fixed since the last run: 1 instance (web-02)",)
    assert dynamodb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "TimeToLiveStatus": "ENABLED",
    }


def test_every_write_sets_the_ttl_attribute_days_ahead(dynamodb: DynamoDBClient) -> None:
    tell(HistoryStore(dynamodb, TABLE), 0, (1, YUM_LOCK))
    written_at = int((NIGHT_ONE + timedelta(minutes=5)).timestamp())

    stored = items(dynamodb)

    assert set(stored) == {instance(1), RUN_ITEM}
    for item in stored.values():
        assert int(item[TTL_ATTRIBUTE]["N"]) == written_at + HISTORY_TTL_SECONDS
    assert HISTORY_TTL_SECONDS >= 35 * 24 * 3600


def test_given_the_same_event_twice_then_the_second_reads_the_same_and_advances_nothing(
    dynamodb: DynamoDBClient,
) -> None:
    store = HistoryStore(dynamodb, TABLE)
    tell(store, 0, (1, YUM_LOCK))
    once = tell(store, 1, (1, YUM_LOCK))
    before = items(dynamodb)

    twice = tell(store, 1, (1, YUM_LOCK))

    assert twice == once
    assert items(dynamodb) == before
    assert tell(store, 2, (1, YUM_LOCK)).streaks == {instance(1): 3}


def test_given_items_past_their_expiry_not_yet_deleted_then_they_are_not_history(
    dynamodb: DynamoDBClient,
) -> None:
    store = HistoryStore(dynamodb, TABLE)
    tell(store, 0, (1, YUM_LOCK))

    # 41 nights later: every item is past expires_at, though TTL may not have deleted it yet.
    view = tell(store, 41, (1, YUM_LOCK))

    assert view.first_run
    assert view.streaks == {instance(1): 1}


def test_given_more_records_than_one_batch_then_they_go_in_batches_of_25(dynamodb: DynamoDBClient) -> None:
    sizes: list[int] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem",
        lambda params, **_: sizes.append(len(params["RequestItems"][TABLE])),
    )
    failures = [(n, YUM_LOCK) for n in range(60)]

    view = tell(HistoryStore(dynamodb, TABLE), 0, *failures)

    assert sizes == [BATCH_ITEMS, BATCH_ITEMS, 10]
    assert len(items(dynamodb)) == 61
    assert view.unavailable is None


# ------------------------------------------------------------------ failure modes


def test_given_no_table_then_history_is_unavailable_and_nothing_raises(dynamodb: DynamoDBClient) -> None:
    view = tell(HistoryStore(dynamodb, "no-such-table"), 0, (1, YUM_LOCK))

    assert view.unavailable == "ResourceNotFoundException"
    assert digest_lines(view) == ("history unavailable (ResourceNotFoundException)",)


def test_given_the_endpoint_unreachable_then_history_is_unavailable(dynamodb: DynamoDBClient) -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com")

    dynamodb.meta.events.register("before-call.dynamodb.Query", unreachable)

    assert tell(HistoryStore(dynamodb, TABLE), 0, (1, YUM_LOCK)).unavailable == "EndpointConnectionError"


def test_given_an_item_this_module_did_not_write_then_history_is_unavailable(
    dynamodb: DynamoDBClient,
) -> None:
    dynamodb.put_item(
        TableName=TABLE,
        Item={"pk": {"S": SCOPE}, "sk": {"S": instance(1)}, TTL_ATTRIBUTE: {"N": "9999999999"}},
    )

    assert tell(HistoryStore(dynamodb, TABLE), 0, (1, YUM_LOCK)).unavailable == "MalformedRecord"


def test_given_the_run_item_write_failing_then_the_retry_completes_it_without_counting_twice(
    dynamodb: DynamoDBClient,
) -> None:
    store = HistoryStore(dynamodb, TABLE)
    tell(store, 0, (1, YUM_LOCK), (2, YUM_LOCK))
    failures = iter([True])

    def throttle_once(**_: Any) -> None:
        if next(failures, False):
            raise ClientError(
                {
                    "Error": {
                        "Code": "ThrottlingException",
                        "Message": "Rate of requests exceeds the allowed throughput.",
                    }
                },
                "PutItem",
            )

    dynamodb.meta.events.register("before-call.dynamodb.PutItem", throttle_once)

    cut = tell(store, 1, (1, YUM_LOCK), succeeded=(2,))
    retried = tell(store, 1, (1, YUM_LOCK), succeeded=(2,))

    assert cut.unavailable == "ThrottlingException"
    assert retried.streaks == {instance(1): 2}
    assert [f.instance_id for f in retried.fixed] == [instance(2)]
    assert [run["S"] for run in items(dynamodb)[RUN_ITEM]["recent_runs"]["L"]] == [
        command_id(0),
        command_id(1),
    ]


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> tuple[DynamoDBClient, Stubber]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    client = boto3.client("dynamodb", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def empty_table(stub: Stubber) -> None:
    stub.add_response(
        "query", {"Items": [], "Count": 0, "ScannedCount": 0}, {"TableName": TABLE, **ANY_QUERY}
    )


ANY_QUERY = {
    "KeyConditionExpression": "pk = :scope",
    "FilterExpression": "#expires_at > :now",
    "ExpressionAttributeNames": {"#expires_at": TTL_ATTRIBUTE},
    "ExpressionAttributeValues": ANY,
    "ConsistentRead": True,
}


def test_given_a_throttled_batch_write_then_history_is_unavailable(
    stubbed: tuple[DynamoDBClient, Stubber],
) -> None:
    client, stub = stubbed
    empty_table(stub)
    stub.add_client_error(
        "batch_write_item",
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )

    with stub:
        view = tell(HistoryStore(client, TABLE), 0, (1, YUM_LOCK))

    assert view.unavailable == "ProvisionedThroughputExceededException"
    stub.assert_no_pending_responses()


def test_given_unprocessed_items_then_exactly_those_are_resent_with_backoff(
    stubbed: tuple[DynamoDBClient, Stubber],
) -> None:
    client, stub = stubbed
    slept: list[float] = []
    empty_table(stub)
    left = {"PutRequest": {"Item": {"pk": {"S": SCOPE}, "sk": {"S": instance(2)}}}}
    stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [left]}}, {"RequestItems": ANY})
    stub.add_response("batch_write_item", {"UnprocessedItems": {}}, {"RequestItems": {TABLE: [left]}})
    stub.add_response("put_item", {}, {"TableName": TABLE, "Item": ANY})

    with stub:
        view = tell(HistoryStore(client, TABLE, sleep=slept.append), 0, (1, YUM_LOCK), (2, YUM_LOCK))

    assert view.unavailable is None
    assert slept == [0.1]
    stub.assert_no_pending_responses()


def test_given_items_left_unprocessed_every_time_then_the_run_item_is_not_written(
    stubbed: tuple[DynamoDBClient, Stubber],
) -> None:
    client, stub = stubbed
    slept: list[float] = []
    empty_table(stub)
    left = {"PutRequest": {"Item": {"pk": {"S": SCOPE}, "sk": {"S": instance(1)}}}}
    for _ in range(5):
        stub.add_response("batch_write_item", {"UnprocessedItems": {TABLE: [left]}}, {"RequestItems": ANY})

    with stub:  # no put_item stubbed: writing the run item would fail the test
        view = tell(HistoryStore(client, TABLE, sleep=slept.append), 0, (1, YUM_LOCK))

    assert view.unavailable == "UnprocessedItems"
    assert slept == [0.1, 0.2, 0.4, 0.8], "exponential backoff between the resends"
    stub.assert_no_pending_responses()


# ------------------------------------------------------------------ the setting


@pytest.mark.parametrize(("value", "table"), [(TABLE, TABLE), ("", None), ("  ", None)])
def test_given_history_table_in_the_environment_then_history_is_on_only_when_it_names_one(
    value: str, table: str | None
) -> None:
    env = {
        "TOPIC_ARN": "arn:aws:sns:eu-west-2:123456789012:t",
        "IDEMPOTENCY_TABLE": "i",
        "REPORT_BUCKET": "b",
    }

    assert NotifierSettings.from_env({**env, "HISTORY_TABLE": value}).history_table == table
    assert NotifierSettings.from_env(env).history_table is None
