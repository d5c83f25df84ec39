"""History keys when several accounts share the history table (central role): a member account's
command keeps its scope under its account and region, the function's own account keeps the keys
it always had (existing deployments keep their history)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from instance_hygiene.aws.history import HistoryStore, history_notes
from instance_hygiene.digest.history import scope_of
from instance_hygiene.digest.model import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from local.template import raw_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "instance-hygiene-HistoryTable-1A2B3C4D5E6F"
WINDOW = "mw-0c50858d01EXAMPLE"
NIGHT = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    """moto's DynamoDB with the template's HistoryTable."""
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


def failed_patch(command_id: str, window_id: str | None) -> CommandDigest:
    failure = Failure(
        instance_id="i-0000000000000000a",
        status="Failed",
        status_details="Failed",
        reason="another process has acquired yum lock",
        log=LogInfo(source="s3"),
    )
    return CommandDigest(
        command_id=command_id,
        document_name="AWS-RunPatchBaseline",
        status="Failed",
        counts=count_statuses(["Failed"]),
        groups=group_failures([failure]),
        window_id=window_id,
    )


def partitions(client: DynamoDBClient) -> set[str]:
    return {item["pk"]["S"] for item in client.scan(TableName=TABLE)["Items"]}


def test_the_own_accounts_scopes_are_the_keys_single_role_stacks_always_wrote() -> None:
    assert scope_of("AWS-RunPatchBaseline", WINDOW) == f"window/{WINDOW}/AWS-RunPatchBaseline"
    assert scope_of("AWS-RunPatchBaseline", None) == "document/AWS-RunPatchBaseline"
    assert scope_of("AWS-RunPatchBaseline", None, None) == "document/AWS-RunPatchBaseline"


def test_a_member_accounts_scope_carries_its_account_and_region() -> None:
    assert scope_of("AWS-RunPatchBaseline", None, "210987654321/eu-west-1") == (
        "account/210987654321/eu-west-1/document/AWS-RunPatchBaseline"
    )
    assert scope_of("AWS-RunPatchBaseline", WINDOW, "210987654321/eu-west-1") == (
        f"account/210987654321/eu-west-1/window/{WINDOW}/AWS-RunPatchBaseline"
    )


def test_the_same_document_in_two_accounts_and_the_own_one_never_share_a_history(
    dynamodb: DynamoDBClient,
) -> None:
    store = HistoryStore(dynamodb, TABLE)
    runs = [
        ("00000000-0000-4000-8000-000000000001", None),
        ("00000000-0000-4000-8000-000000000002", "210987654321/eu-west-1"),
        ("00000000-0000-4000-8000-000000000003", "310987654321/eu-west-1"),
        ("00000000-0000-4000-8000-000000000004", "210987654321/us-east-1"),
    ]

    views = [
        history_notes(store, failed_patch(command_id, None), succeeded=[], now=NIGHT, member=member)
        for command_id, member in runs
    ]

    assert [view.scope for view in views] == [
        "document/AWS-RunPatchBaseline",
        "account/210987654321/eu-west-1/document/AWS-RunPatchBaseline",
        "account/310987654321/eu-west-1/document/AWS-RunPatchBaseline",
        "account/210987654321/us-east-1/document/AWS-RunPatchBaseline",
    ]
    assert partitions(dynamodb) == {view.scope for view in views}
    assert all(view.first_run for view in views), "each run is the first of its own scope"
