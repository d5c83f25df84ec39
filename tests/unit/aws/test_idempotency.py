"""The idempotency lock as a lease: the heartbeat's loop and the renewal's conditional write.

No sockets: the heartbeat gets a fake wait, the store a botocore Stubber. The lease against a
crashed invocation and Lambda's retry timing, through the handler on moto, is in
tests/integration/test_faults.py (`test_a_crashed_attempt_...`, `test_a_live_attempt_...`).
"""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.stub import ANY, Stubber

from instance_hygiene.aws.idempotency import (
    LEASE_SECONDS,
    RENEW_EVERY_SECONDS,
    Heartbeat,
    LeasedStore,
)


def test_given_a_running_heartbeat_then_it_renews_every_interval_until_stopped() -> None:
    waits: list[float] = []
    renewals: list[int] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return len(waits) > 3  # stopped before the fourth renewal

    Heartbeat(lambda: renewals.append(1) is None, 10, wait=wait).run()

    assert waits == [10, 10, 10, 10]
    assert len(renewals) == 3


def test_given_a_renewal_that_finds_the_lease_gone_then_the_heartbeat_stops() -> None:
    answers = iter([True, False, True])
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    Heartbeat(lambda: next(answers), 10, wait=wait).run()

    assert len(waits) == 2, "no renewal after the lease was lost"


def test_given_the_heartbeat_as_a_context_then_leaving_it_stops_the_thread() -> None:
    with Heartbeat(lambda: True, 3600) as beat:
        assert beat._thread.is_alive()
    assert not beat._thread.is_alive()


def test_the_lease_is_renewed_thrice_before_it_lapses_and_lapses_before_lambdas_first_retry() -> None:
    assert LEASE_SECONDS >= 3 * RENEW_EVERY_SECONDS
    # A crash lapses at most one lease after the last renewal; Lambda's first retry comes ~60 s after
    # the crash: half of that leaves room for its jitter.
    assert LEASE_SECONDS <= 60 / 2


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> tuple[LeasedStore, Stubber]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    client = boto3.client("dynamodb", aws_access_key_id="x", aws_secret_access_key="x")
    return LeasedStore(table_name="idempotency", boto3_client=client), Stubber(client)


def held(store: LeasedStore, stub: Stubber, expiry: int) -> None:
    """Powertools' conditional PutItem of the IN_PROGRESS record succeeds: the lock is ours."""
    stub.add_response(
        "put_item",
        {},
        {
            "TableName": "idempotency",
            "Item": ANY,
            "ConditionExpression": ANY,
            "ExpressionAttributeNames": ANY,
            "ExpressionAttributeValues": ANY,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        },
    )
    with stub:
        store._put_record(
            DataRecord(
                idempotency_key="fn#abc",
                status="INPROGRESS",
                expiry_timestamp=int(time.time()) + 3600,
                in_progress_expiry_timestamp=expiry,
            )
        )


def renewal(expiry: int) -> dict[str, Any]:
    return {
        "TableName": "idempotency",
        "Key": {"id": {"S": "fn#abc"}},
        "UpdateExpression": "SET #in_progress_expiry = :lease_until",
        "ConditionExpression": "#status = :in_progress AND #in_progress_expiry = :held_until",
        "ExpressionAttributeNames": {"#status": "status", "#in_progress_expiry": "in_progress_expiration"},
        "ExpressionAttributeValues": {
            ":in_progress": {"S": "INPROGRESS"},
            ":held_until": {"N": str(expiry)},
            ":lease_until": ANY,
        },
    }


def test_given_the_lock_is_still_ours_then_renewal_moves_it_and_the_next_renewal_expects_the_new_expiry(
    store: tuple[LeasedStore, Stubber],
) -> None:
    leased, stub = store
    held(leased, stub, 1_000)
    stub.add_response("update_item", {}, renewal(1_000))

    with stub:
        assert leased.renew() is True
        assert leased._held is not None
        key, renewed = leased._held
        assert (key, renewed > 1_000) == ("fn#abc", True)
        stub.add_client_error(
            "update_item", "ConditionalCheckFailedException", expected_params=renewal(renewed)
        )
        assert leased.renew() is False, "completed, removed or taken over: stop renewing"
        assert leased.renew() is False, "nothing held: no call"
    stub.assert_no_pending_responses()


def test_given_the_store_failing_then_renewal_keeps_trying(store: tuple[LeasedStore, Stubber]) -> None:
    leased, stub = store
    held(leased, stub, 1_000)
    stub.add_client_error(
        "update_item", "ProvisionedThroughputExceededException", expected_params=renewal(1_000)
    )

    with stub:
        assert leased.renew() is True
    assert leased._held == ("fn#abc", 1_000), "the expiry written is still the old one"


def test_given_less_time_left_than_a_lease_then_the_lock_ends_with_the_invocation(
    store: tuple[LeasedStore, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    leased, _ = store
    asked: list[int | None] = []
    monkeypatch.setattr(
        "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb.DynamoDBPersistenceLayer.save_inprogress",
        lambda _self, _data, remaining: asked.append(remaining),
    )

    leased.save_inprogress({"k": 1}, 300_000)
    leased.save_inprogress({"k": 1}, 5_000)
    leased.save_inprogress({"k": 1}, None)

    assert asked == [LEASE_SECONDS * 1000, 5_000, LEASE_SECONDS * 1000]
