"""Faults injected into the functions' own AWS clients (botocore hooks, see tests/faults.py).

Each fault ends one of three ways, and each test says which:
- absorbed: botocore retries it with backoff (the functions' standard mode, 8 retries) and the
  message is the one a clean run sends;
- degraded: the message is sent and says what could not be read and why;
- raised: the handler raises, so Lambda retries the event and the failure destination keeps it
  (and the idempotency record is gone, so the retry can send).
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import base as powertools_idempotency
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.idempotency.persistence import base as powertools_persistence
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ClientError

from instance_hygiene.aws import idempotency
from instance_hygiene.aws.fleet import CommandNotFound
from instance_hygiene.render.command import SNS_LIMIT_BYTES
from local.fleet_sim import (
    InstanceResult,
    TaskRun,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from local.standin import ssm as standin
from tests.faults import (
    DYNAMODB_THROTTLED,
    DYNAMODB_UNAVAILABLE,
    EC2_THROTTLED,
    EC2_UNAUTHORIZED,
    S3_ACCESS_DENIED,
    S3_INTERNAL_ERROR,
    S3_KMS_ACCESS_DENIED,
    S3_SLOW_DOWN,
    SNS_INTERNAL_ERROR,
    SNS_KEY_DISABLED,
    SNS_KMS_ACCESS_DENIED,
    SNS_THROTTLED,
    SNS_TOPIC_DELETED,
    SSM_ACCESS_DENIED,
    SSM_INVALID_COMMAND_ID,
    SSM_THROTTLED,
    Faults,
    RetryClock,
    connection_refused,
    deadline,
    wire,
)
from tests.integration.test_command_handler import linux_patch, log, night, play
from tests.support.stack import BUCKET, REGION, TABLE, Stack, lambda_context

MAX_ATTEMPTS = 9
"""The functions' Config says max_attempts 8: botocore's retries, so 9 attempts in all."""


@pytest.fixture
def aws(
    stack: Stack, command_function: ModuleType, clock: RetryClock, monkeypatch: pytest.MonkeyPatch
) -> Faults:
    """The command function's clients, built with its own Config, going through the faults."""
    faults = Faults(clock)
    wire(monkeypatch, command_function, faults)
    return faults


@pytest.fixture
def window_aws(
    stack: Stack, window_function: ModuleType, clock: RetryClock, monkeypatch: pytest.MonkeyPatch
) -> Faults:
    faults = Faults(clock)
    wire(monkeypatch, window_function, faults)
    return faults


def invoke(app: ModuleType, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return app.handler(event, context or lambda_context())  # type: ignore[no-any-return]


def only_digest(stack: Stack) -> dict[str, Any]:
    (envelope,) = stack.received()
    assert len(envelope["Message"].encode()) <= SNS_LIMIT_BYTES
    return json.loads(envelope["Message"])  # type: ignore[no-any-return]


def failures_by_name(digest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["instance_name"] or f["instance_id"]: f for g in digest["groups"] for f in g["failures"]}


def idempotency_records() -> list[dict[str, Any]]:
    return boto3.client("dynamodb").scan(TableName=TABLE)["Items"]  # type: ignore[no-any-return]


def key_ends(suffix: str) -> Any:
    return lambda request: urlsplit(request.url).path.endswith(suffix)


def is_command_log(request: AWSPreparedRequest) -> bool:
    return "/ssm_output/" in urlsplit(request.url).path


S3_LOGGED = {"web-01", "web-02", "win-01"}
"""In `night`: the failed instances whose logs are in S3 (win-01 has stdout and stderr)."""
API_ONLY = {"db-01"}
"""In `night`: the failed instance whose role could not write its log."""


def assert_clean(digest: dict[str, Any]) -> None:
    """What `night` looks like when nothing went wrong."""
    failures = failures_by_name(digest)
    assert {n for n, f in failures.items() if f["log"]["source"] == "s3"} == S3_LOGGED
    assert all(failures[n]["log"]["complete"] for n in S3_LOGGED)
    assert digest["counts"]["failed"] == 4
    assert digest["partial"] is False
    assert not any("could not" in note.lower() for note in digest["notes"])
    assert any("wrote no log" in note and "db-01" in note for note in digest["notes"])


# --------------------------------------------------------------------------------------- S3 reads


def test_get_object_access_denied_degrades_to_api_output_and_names_the_permission(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "GetObject", S3_ACCESS_DENIED)

    result = invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    failures = failures_by_name(digest)
    for name in S3_LOGGED:
        assert failures[name]["log"]["source"] == "api"
        assert failures[name]["log"]["complete"] is False
        assert failures[name]["log"]["links"], "the S3 objects are still linked for a reader with access"
    (note,) = [n for n in digest["notes"] if "could not be read" in n]
    assert note.startswith("3 instance(s)' logs could not be read (AccessDenied x4)")
    assert "s3:GetObject" in note
    assert not any("wrote no log" in n and "web-01" in n for n in digest["notes"]), "not called missing"
    assert result["log_fetch_failures"] == 4
    assert aws.calls[("s3", "GetObject")] == 4, "AccessDenied is not retried"
    assert clock.backoffs == []


def test_kms_access_denied_is_told_apart_from_s3_permission(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "GetObject", S3_KMS_ACCESS_DENIED)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    (note,) = [n for n in digest["notes"] if "could not be read" in n]
    assert "kms:Decrypt" in note
    assert "s3:GetObject" not in note
    assert {failures_by_name(digest)[n]["log"]["source"] for n in S3_LOGGED} == {"api"}


def test_list_objects_access_denied_is_not_mistaken_for_missing_logs(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "ListObjectsV2", S3_ACCESS_DENIED)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert any(
        n.startswith("Could not list the logs (AccessDenied") and "s3:ListBucket" in n
        for n in digest["notes"]
    )
    assert not any("wrote no log" in n for n in digest["notes"]), "an unlisted log is not a missing log"
    assert aws.calls[("s3", "GetObject")] == 0
    assert {f["log"]["source"] for f in failures_by_name(digest).values()} <= {"api", "none"}


def test_a_log_expired_between_listing_and_reading_says_so(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))

    def lifecycle_expires_everything(_request: AWSPreparedRequest) -> None:
        for key in played.keys_written:
            stack.s3.delete_object(Bucket=BUCKET, Key=key)

    aws.before[("s3", "GetObject")] = lifecycle_expires_everything

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    (note,) = [n for n in digest["notes"] if "could not be read" in n]
    assert "(NoSuchKey x4)" in note
    assert "expired" in note
    assert aws.calls[("s3", "GetObject")] == 4, "NoSuchKey is not retried"
    assert {failures_by_name(digest)[n]["log"]["source"] for n in S3_LOGGED} == {"api"}


def test_a_log_expired_between_listing_and_reading_is_not_called_a_permission_problem_when_s3_says_403(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    # S3 answers a GET of a missing key with 403 AccessDenied, not 404, unless the caller may list
    # the bucket (GetObject API reference); the function may list only under the log prefix.
    played = play(stack, outcomes=night(stack))

    def expired_after_the_listing(_request: AWSPreparedRequest) -> bool:
        for key in played.keys_written:  # the lifecycle rule runs between the listing and the reads
            stack.s3.delete_object(Bucket=BUCKET, Key=key)
        return True

    aws.fail("s3", "GetObject", S3_ACCESS_DENIED, where=expired_after_the_listing)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    (note,) = [n for n in digest["notes"] if "could not be read" in n]
    assert "(AccessDenied x4)" in note
    assert "expired" in note
    assert "s3:GetObject" not in note, "the role is not blamed for a log that is gone"
    assert {failures_by_name(digest)[n]["log"]["source"] for n in S3_LOGGED} == {"api"}


def test_one_unreadable_stream_means_the_log_is_not_called_complete(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "GetObject", S3_ACCESS_DENIED, where=key_ends("/stderr"))

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    failures = failures_by_name(digest)
    assert failures["win-01"]["log"]["source"] == "api", "stdout was read, stderr was not: not an S3 log"
    assert failures["win-01"]["log"]["complete"] is False
    assert failures["web-01"]["log"]["source"] == "s3"
    (note,) = [n for n in digest["notes"] if "could not be read" in n]
    assert note.startswith("1 instance(s)' logs could not be read (AccessDenied)")
    assert note.endswith("(win-01)."), "named as the message names it"


@pytest.mark.parametrize("fault", [S3_SLOW_DOWN, S3_INTERNAL_ERROR], ids=["SlowDown", "InternalError"])
def test_a_burst_of_three_s3_errors_on_reads_is_absorbed_by_retries(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock, fault: Any
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "GetObject", fault, times=3)

    result = invoke(command_function, command_event(played, region=REGION))

    assert_clean(only_digest(stack))
    assert result["log_fetch_failures"] == 0
    assert aws.calls[("s3", "GetObject")] == 4 + 3
    assert len(clock.backoffs) == 3
    assert all(delay > 0 for delay in clock.backoffs), "every retry waited"


def test_a_burst_of_three_slow_downs_on_the_listing_is_absorbed(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "ListObjectsV2", S3_SLOW_DOWN, times=3)

    invoke(command_function, command_event(played, region=REGION))

    assert_clean(only_digest(stack))
    assert aws.calls[("s3", "ListObjectsV2")] == 4
    assert len(clock.backoffs) == 3


def test_s3_slowing_down_for_good_degrades_honestly_after_every_retry(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "GetObject", S3_SLOW_DOWN)

    result = invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    (note,) = [n for n in digest["notes"] if "could not be read" in n]
    assert "(SlowDown x4)" in note
    assert "kept throttling or failing after botocore's retries" in note
    assert aws.calls[("s3", "GetObject")] == 4 * MAX_ATTEMPTS
    assert len(clock.backoffs) == 4 * (MAX_ATTEMPTS - 1)
    assert clock.rate_waits == [], "standard mode: backoff only, no client-side rate limiter"
    assert result["log_fetch_failures"] == 4
    assert digest["counts"]["failed"] == 4, "counts never depend on the logs"


def test_s3_listing_slowing_down_for_good_is_not_mistaken_for_missing_logs(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("s3", "ListObjectsV2", S3_SLOW_DOWN)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert any("Could not list the logs (SlowDown" in n for n in digest["notes"])
    assert not any("wrote no log" in n for n in digest["notes"])
    assert aws.calls[("s3", "ListObjectsV2")] == MAX_ATTEMPTS


# -------------------------------------------------------------------------------------- SSM reads


def test_a_throttling_burst_on_the_invocation_listing_is_absorbed(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("ssm", "ListCommandInvocations", SSM_THROTTLED, times=3)

    invoke(command_function, command_event(played, region=REGION))

    assert_clean(only_digest(stack))
    assert aws.calls[("ssm", "ListCommandInvocations")] == 4
    assert len(clock.backoffs) == 3


def test_invocation_listing_throttled_for_good_is_raised_for_the_failure_destination(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    aws.fail("ssm", "ListCommandInvocations", SSM_THROTTLED)

    with pytest.raises(ClientError) as raised:
        invoke(command_function, event)

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert aws.calls[("ssm", "ListCommandInvocations")] == MAX_ATTEMPTS
    assert clock.waited > 10, "it backed off before giving up"
    assert stack.received() == [], "no digest that claims nothing failed"
    assert idempotency_records() == [], "the record is deleted so Lambda's retry can send"

    aws.clear()
    invoke(command_function, event)  # Lambda's retry
    assert_clean(only_digest(stack))


@pytest.mark.parametrize("operation", ["ListCommands", "ListCommandInvocations"])
def test_an_invalid_command_id_is_raised_as_command_not_found(
    stack: Stack, aws: Faults, command_function: ModuleType, operation: str
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("ssm", operation, SSM_INVALID_COMMAND_ID)

    with pytest.raises(CommandNotFound, match=played.command_id):
        invoke(command_function, command_event(played, region=REGION))

    assert aws.calls[("ssm", operation)] == 1, "not retried: it will not appear"
    assert stack.received() == []
    assert idempotency_records() == []


@pytest.mark.parametrize(
    "case",
    [
        (EC2_UNAUTHORIZED, 1, "UnauthorizedOperation: the function's role lacks ec2:DescribeInstances"),
        (EC2_THROTTLED, MAX_ATTEMPTS, "RequestLimitExceeded"),
    ],
    ids=["UnauthorizedOperation", "RequestLimitExceeded-for-good"],
)
def test_ec2_names_unavailable_show_ssm_names_or_ids_with_a_note(
    stack: Stack, aws: Faults, command_function: ModuleType, case: tuple[Any, int, str]
) -> None:
    fault, attempts, hint = case
    played = play(stack, outcomes=night(stack))
    aws.fail("ec2", "DescribeInstances", fault)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert any(n.startswith(f"EC2 instance names unavailable ({hint})") for n in digest["notes"])
    failures = [f for g in digest["groups"] for f in g["failures"]]
    reported = {
        i["InstanceId"]: i["InstanceName"]
        for i in stack.ssm.list_command_invocations(CommandId=played.command_id)["CommandInvocations"]
    }
    assert all(f["instance_name"] == (reported[f["instance_id"]] or None) for f in failures), (
        "the name ListCommandInvocations reports, else the id"
    )
    assert {f["platform"] for f in failures} == {None}, "only EC2 knows the platform"
    assert digest["counts"]["failed"] == 4
    assert aws.calls[("ec2", "DescribeInstances")] == attempts


def test_managed_instance_names_denied_shows_ids_with_a_note(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    node = standin.register_managed_instance("123456789012", REGION, name="onprem-01")
    played = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={
            node: InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
        },
        bucket=BUCKET,
    )
    aws.fail("ssm", "DescribeInstanceInformation", SSM_ACCESS_DENIED)

    invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert any(
        n.startswith("Managed instance names unavailable (AccessDeniedException")
        and "ssm:DescribeInstanceInformation" in n
        for n in digest["notes"]
    )
    (failure,) = failures_by_name(digest).values()
    assert failure["instance_id"] == node
    assert failure["platform"] is None, "DescribeInstanceInformation was denied"
    assert failure["log"]["source"] == "s3", "the log is still read"


# ---------------------------------------------------------------------------- idempotency store


def test_idempotency_store_unavailable_is_raised_and_nothing_is_sent_twice_later(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    aws.fail("dynamodb", "PutItem", connection_refused())

    with pytest.raises(IdempotencyPersistenceLayerError):
        invoke(command_function, event)
    assert aws.calls[("dynamodb", "PutItem")] == MAX_ATTEMPTS, "connection errors are retried"
    assert aws.calls[("ssm", "ListCommands")] == 0, "nothing is read or sent without the record"
    assert stack.received() == []

    aws.clear()
    invoke(command_function, event)  # Lambda's retry, the store is back
    invoke(command_function, event)  # a redelivery
    invoke(command_function, event)
    assert_clean(only_digest(stack))


def test_idempotency_store_503_for_good_is_raised(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("dynamodb", "PutItem", DYNAMODB_UNAVAILABLE)

    with pytest.raises(IdempotencyPersistenceLayerError):
        invoke(command_function, command_event(played, region=REGION))

    assert aws.calls[("dynamodb", "PutItem")] == MAX_ATTEMPTS
    assert len(clock.backoffs) == MAX_ATTEMPTS - 1
    assert stack.received() == []


def test_idempotency_store_throttling_burst_is_absorbed(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("dynamodb", "PutItem", DYNAMODB_THROTTLED, times=3)
    aws.fail("dynamodb", "UpdateItem", DYNAMODB_THROTTLED, times=3)

    invoke(command_function, command_event(played, region=REGION))

    assert_clean(only_digest(stack))
    assert len(clock.backoffs) == 6
    (record,) = idempotency_records()
    assert record["status"]["S"] == "COMPLETED"


def test_idempotency_store_failing_after_the_message_was_sent_does_not_send_it_again(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    aws.fail("dynamodb", "UpdateItem", DYNAMODB_UNAVAILABLE)

    result = invoke(command_function, event)

    assert result["idempotency_record_saved"] is False, "told, not raised: a retry would send twice"
    assert_clean(only_digest(stack))
    (record,) = idempotency_records()
    assert record["status"]["S"] == "INPROGRESS"
    with pytest.raises(IdempotencyAlreadyInProgressError):
        invoke(command_function, event)  # a redelivery while the first attempt's lock holds
    assert stack.received() == []


def test_sns_and_the_store_failing_together_keep_the_event_until_the_lock_expires(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    aws.fail("sns", "Publish", SNS_KMS_ACCESS_DENIED)
    aws.fail("dynamodb", "DeleteItem", DYNAMODB_UNAVAILABLE)

    with pytest.raises(IdempotencyPersistenceLayerError):
        invoke(command_function, event)  # nothing sent, and the record could not be deleted
    aws.clear()
    with pytest.raises(IdempotencyAlreadyInProgressError):
        invoke(command_function, event)  # Lambda's retry while the first attempt's lock holds
    assert stack.received() == []

    # The lock is a 30 s lease (idempotency.LeasedStore); once it has lapsed a retry sends.
    (record,) = idempotency_records()
    boto3.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"id": record["id"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": "1000"}},
    )
    invoke(command_function, event)
    invoke(command_function, event)
    assert_clean(only_digest(stack))


# ------------------------------------------------------------------------------------------ SNS


@pytest.mark.parametrize("fault", [SNS_INTERNAL_ERROR, SNS_THROTTLED], ids=["InternalError", "Throttling"])
def test_sns_failing_for_a_moment_is_retried_and_sends_once(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock, fault: Any
) -> None:
    played = play(stack, outcomes=night(stack))
    aws.fail("sns", "Publish", fault, times=3)

    invoke(command_function, command_event(played, region=REGION))

    assert_clean(only_digest(stack))
    assert aws.calls[("sns", "Publish")] == 4
    assert len(clock.backoffs) == 3


@pytest.mark.parametrize(
    ("fault", "attempts"),
    [
        (SNS_INTERNAL_ERROR, MAX_ATTEMPTS),
        (SNS_KMS_ACCESS_DENIED, 1),
        (SNS_KEY_DISABLED, 1),
        (SNS_TOPIC_DELETED, 1),
    ],
    ids=[
        "InternalError-after-retries",
        "KMSAccessDenied-at-once",
        "KeyDisabled-at-once",
        "TopicDeleted-at-once",
    ],
)
def test_sns_failing_for_good_is_raised_and_the_record_removed_so_a_retry_sends(
    stack: Stack, aws: Faults, command_function: ModuleType, fault: Any, attempts: int
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    aws.fail("sns", "Publish", fault)

    with pytest.raises(ClientError):
        invoke(command_function, event)

    assert aws.calls[("sns", "Publish")] == attempts
    assert stack.received() == []
    assert idempotency_records() == []
    aws.clear()
    invoke(command_function, event)
    assert_clean(only_digest(stack))


def test_full_report_unwritable_still_sends_the_cut_message(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    ids = stack.instances(300)
    outcomes = {
        instance_id: InstanceResult(
            "Failed",
            "Failed",
            linux_patch("Failed", 1, f"ERROR: custom hook {n} failed: " + "detail " * 200 + "\n"),
        )
        for n, instance_id in enumerate(ids)
    }
    played = play(stack, outcomes=outcomes)
    aws.fail("s3", "PutObject", S3_ACCESS_DENIED)

    result = invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert result["trimmed"] is True
    assert result["report_uri"] is None
    assert digest["report"] is None
    assert digest["notes"][0].startswith(f"The full report could not be written to s3://{BUCKET}/reports/")
    assert "(AccessDenied)" in digest["notes"][0]
    assert digest["counts"]["failed"] == 300


# ------------------------------------------------------------------------------------------ time


def test_running_out_of_time_while_reading_logs_publishes_a_partial_digest(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    ids = stack.instances(60)
    played = play(
        stack,
        outcomes={
            i: InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
            for i in ids
        },
    )
    aws.latency[("s3", "GetObject")] = 0.1
    # 10 s left: 2 s of reads (0.1 s each) before the 8 s reserve.
    result = invoke(command_function, command_event(played, region=REGION), deadline(clock, 10.0))

    digest = only_digest(stack)
    assert digest["partial"] is True
    first = digest["notes"][0]
    assert first.startswith("Partial digest: time ran short after reading ")
    read = int(first.removeprefix("Partial digest: time ran short after reading ").split()[0])
    assert 0 < read < 60
    assert aws.calls[("s3", "GetObject")] == read, "no read starts once time is short"
    sources = [f["log"]["source"] for g in digest["groups"] for f in g["failures"]]
    assert sources.count("s3") == read
    assert sources.count("api") == 60 - read
    assert digest["counts"]["failed"] == 60, "counts are complete"
    assert result["failed_instances"] == 60


def test_running_out_of_time_while_summarising_publishes_a_partial_digest(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    # 7 s left (below the 8 s reserve: no listing, no names, no reads) and each look at the
    # clock comes after 0.5 s of work: a few failures are summarised from the API's output
    # before the 4 s summary reserve, the rest from status and exit code.
    context = deadline(clock, 7.0, work_per_check=0.5)

    invoke(command_function, command_event(played, region=REGION), context)

    digest = only_digest(stack)
    assert digest["partial"] is True
    notes = [n for n in digest["notes"] if n.startswith("Partial digest")]
    assert any("before the logs could be listed" in n for n in notes)
    assert any("before instance names could be looked up" in n for n in notes)
    (summary_note,) = [n for n in notes if "summarising" in n]
    summarised = int(summary_note.split("after summarising ")[1].split()[0])
    assert 0 < summarised < 5
    assert aws.calls[("s3", "ListObjectsV2")] == 0
    assert aws.calls[("ec2", "DescribeInstances")] == 0
    sources = [f["log"]["source"] for g in digest["groups"] for f in g["failures"]]
    assert sources.count("none") >= 5 - summarised
    assert digest["counts"]["failed"] == 4
    assert every_failure_has_a_reason(digest)


def every_failure_has_a_reason(digest: dict[str, Any]) -> bool:
    return all(f["reason"] for g in digest["groups"] for f in g["failures"])


# ------------------------------------------------------------------------------------------ scale


def test_three_thousand_instances_sixty_pages_one_message(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    ids = [f"i-{n:017x}" for n in range(3000)]  # not in EC2: names are not the point here
    yum = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    mirrors = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_no_mirrors.stdout")))
    fine = InstanceResult("Success", "Success", linux_patch("Success", 0, "Patch operation succeeded\n"))
    outcomes = {i: yum if n % 20 == 0 else mirrors if n % 20 == 1 else fine for n, i in enumerate(ids)}
    played = play(stack, outcomes=outcomes)
    # and a throttling burst in the middle of the paging: the listing resumes where it was
    aws.fail("ssm", "ListCommandInvocations", SSM_THROTTLED, times=3, where=lambda r: b"NextToken" in r.body)

    result = invoke(command_function, command_event(played, region=REGION))

    digest = only_digest(stack)
    assert aws.calls[("ssm", "ListCommandInvocations")] == 60 + 3
    assert digest["counts"] == {
        "targets": 3000,
        "succeeded": 2700,
        "failed": 300,
        "timed_out": 0,
        "cancelled": 0,
        "other": 0,
    }
    assert sum(g["count"] for g in digest["groups"]) == 300
    assert [g["count"] for g in digest["groups"]] == [150, 150]
    assert result["log_fetch_failures"] == 0
    assert aws.calls[("s3", "ListObjectsV2")] == 3, "one listing: 3,000 keys in pages of 1,000"
    assert aws.calls[("s3", "GetObject")] == 300
    assert aws.calls[("ec2", "DescribeInstances")] == 2, "200 ids a call"
    assert digest["partial"] is False


# ---------------------------------------------------------------------------------------- window


def failed_window_night(stack: Stack) -> dict[str, Any]:
    window = create_window(ssm=stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript")
    (instance,) = stack.instances(1)
    patch = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={instance: InstanceResult("Failed", "Failed", linux_patch("Failed", 1, "yum lock\n"))},
        bucket=BUCKET,
    )
    execution = play_window_execution(
        region=REGION,
        window=window,
        status="FAILED",
        tasks=[TaskRun(window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", patch)],
    )
    return window_event(
        window_id=window.window_id, window_execution_id=execution, status="FAILED", region=REGION
    )


def window_report(stack: Stack) -> dict[str, Any]:
    (envelope,) = stack.received()
    return json.loads(envelope["Message"])  # type: ignore[no-any-return]


def test_window_sns_failing_for_good_is_raised_and_the_retry_sends_once(
    stack: Stack, window_aws: Faults, window_function: ModuleType
) -> None:
    event = failed_window_night(stack)
    window_aws.fail("sns", "Publish", SNS_INTERNAL_ERROR)

    with pytest.raises(ClientError):
        invoke(window_function, event)
    assert window_aws.calls[("sns", "Publish")] == MAX_ATTEMPTS
    assert stack.received() == []
    assert idempotency_records() == []

    window_aws.clear()
    invoke(window_function, event)
    invoke(window_function, event)
    assert window_report(stack)["status"] == "FAILED"


def test_window_reads_throttled_in_bursts_are_absorbed_and_for_good_raised(
    stack: Stack, window_aws: Faults, window_function: ModuleType
) -> None:
    event = failed_window_night(stack)
    window_aws.fail("ssm", "GetMaintenanceWindowExecution", SSM_THROTTLED)

    with pytest.raises(ClientError, match="ThrottlingException"):
        invoke(window_function, event)
    assert stack.received() == []

    window_aws.clear()
    window_aws.fail("ssm", "GetMaintenanceWindowExecution", SSM_THROTTLED, times=3)
    window_aws.fail("ssm", "DescribeMaintenanceWindowTasks", SSM_THROTTLED, times=3)
    invoke(window_function, event)
    report = window_report(stack)
    assert [t["status"] for t in report["tasks"]] == ["FAILED", "NOT_RUN"]
    assert report["notes"] == []


def test_window_extras_denied_degrade_with_notes(
    stack: Stack, window_aws: Faults, window_function: ModuleType
) -> None:
    event = failed_window_night(stack)
    window_aws.fail("ssm", "GetMaintenanceWindow", SSM_ACCESS_DENIED)
    window_aws.fail("ssm", "DescribeMaintenanceWindowExecutionTaskInvocations", SSM_ACCESS_DENIED)

    invoke(window_function, event)

    report = window_report(stack)
    assert report["window_name"] == ""
    assert report["tasks"][0]["command_ids"] == []
    assert report["notes"] == [
        "The window's name is unavailable (AccessDeniedException); it is shown by id.",
        "Task Patch: its command ids are unavailable (AccessDeniedException); each failed command still "
        "sends its own notification.",
    ]


# ------------------------------------------------------------------------------ listing: deadline


def test_running_out_of_time_while_listing_logs_publishes_a_partial_digest(
    stack: Stack, aws: Faults, command_function: ModuleType, clock: RetryClock
) -> None:
    ids = [f"i-{n:017x}" for n in range(1200)]  # not in EC2: names are not the point here
    yum = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    played = play(stack, outcomes=dict.fromkeys(ids, yum))
    aws.latency[("s3", "ListObjectsV2")] = 3.0
    # 10 s left: the first page (1,000 keys) starts, the second would start with 7 s left.
    invoke(command_function, command_event(played, region=REGION), deadline(clock, 10.0))

    digest = only_digest(stack)
    assert aws.calls[("s3", "ListObjectsV2")] == 1, "no listing page starts once time is short"
    assert digest["partial"] is True
    assert (
        "Partial digest: time ran short while listing the logs; 200 instance(s)' logs were not looked for "
        "and show the API's truncated output."
    ) in digest["notes"]
    assert not any("wrote no log" in n for n in digest["notes"]), "not looked for is not missing"
    assert digest["counts"]["failed"] == 1200


# -------------------------------------------------------------- idempotency: a crashed invocation

LAMBDA_FIRST_RETRY_SECONDS = 60
"""Lambda retries a failed asynchronous invocation after about a minute, then after two more."""


class RuntimeKilled(BaseException):
    """An invocation that dies (out of memory, runtime exit): no `except Exception` runs, so nothing
    deletes its idempotency record."""


@pytest.fixture
def store_clock(clock: RetryClock, monkeypatch: pytest.MonkeyPatch) -> RetryClock:
    """Powertools' idempotency records (their expiry checks) and the lease on the retry clock, so
    Lambda's retry delays can pass without waiting."""

    class VirtualDatetime(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> VirtualDatetime:
            moment = datetime.datetime.fromtimestamp(clock.now(), tz)
            return cls.combine(moment.date(), moment.timetz())

    shim = SimpleNamespace(datetime=VirtualDatetime, timedelta=datetime.timedelta)
    for module in (powertools_idempotency, powertools_persistence, datarecord, dynamodb, idempotency):
        monkeypatch.setattr(module, "dt", shim)
    return clock


def test_a_crashed_attempt_leaves_a_lock_that_lapses_before_lambdas_first_retry(
    stack: Stack, aws: Faults, command_function: ModuleType, store_clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)

    def killed(_request: AWSPreparedRequest) -> None:
        raise RuntimeKilled

    aws.before[("s3", "ListObjectsV2")] = killed  # after the record is written, before anything is sent
    crashed_at = store_clock.now()
    with pytest.raises(RuntimeKilled):
        invoke(command_function, event)  # lambda_context: 300 s left, as the command function has
    del aws.before[("s3", "ListObjectsV2")]

    (record,) = idempotency_records()
    assert record["status"]["S"] == "INPROGRESS", "nothing ran to delete it"
    lapses_in = int(record["in_progress_expiration"]["N"]) / 1000 - crashed_at
    assert 0 < lapses_in <= idempotency.LEASE_SECONDS + 1, "a lease, not the invocation's 300 s deadline"

    store_clock.spend(10)  # a duplicate delivered meanwhile still finds the lock held
    with pytest.raises(IdempotencyAlreadyInProgressError):
        invoke(command_function, event)

    store_clock.spend(LAMBDA_FIRST_RETRY_SECONDS - 10)  # Lambda's first retry
    invoke(command_function, event)
    assert_clean(only_digest(stack))

    store_clock.spend(120)  # Lambda's second retry would not come (the first succeeded); a redelivery
    invoke(command_function, event)
    assert stack.received() == []
    (record,) = idempotency_records()
    assert record["status"]["S"] == "COMPLETED"


def test_a_live_attempt_renews_its_lock_so_a_duplicate_after_the_lease_still_waits(
    stack: Stack,
    aws: Faults,
    command_function: ModuleType,
    store_clock: RetryClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renewals: list[Callable[[], bool]] = []

    class Heartbeat:
        """The heartbeat thread, driven by the test: it renews when the test says time has passed."""

        def __init__(self, renew: Callable[[], bool], *_: Any, **__: Any) -> None:
            renewals.append(renew)

        def __enter__(self) -> Heartbeat:
            return self

        def __exit__(self, *_: object) -> None:
            return None

    monkeypatch.setattr(idempotency, "Heartbeat", Heartbeat)
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    duplicate: list[BaseException | dict[str, Any]] = []

    def long_digest(_request: AWSPreparedRequest) -> None:
        """Before the publish: 80 s of work, renewed every 10 s, then a duplicate arrives."""
        if duplicate:
            return
        duplicate.append({})
        for _ in range(8):
            store_clock.spend(idempotency.RENEW_EVERY_SECONDS)
            assert renewals[0]() is True
        worker = threading.Thread(target=lambda: duplicate.append(attempt(command_function, event)))
        worker.start()
        worker.join()

    aws.before[("sns", "Publish")] = long_digest
    invoke(command_function, event)

    assert isinstance(duplicate[-1], IdempotencyAlreadyInProgressError), duplicate[-1]
    assert_clean(only_digest(stack))
    store_clock.spend(LAMBDA_FIRST_RETRY_SECONDS)
    invoke(command_function, event)  # the duplicate's retry gets the stored outcome
    assert stack.received() == []
    assert renewals[0]() is False, "a completed record is no longer renewed"


def attempt(app: ModuleType, event: dict[str, Any]) -> BaseException | dict[str, Any]:
    try:
        return invoke(app, event)
    except Exception as error:  # the outcome under test
        return error


def test_sns_and_the_store_failing_together_are_sent_by_lambdas_retry_once_the_lease_lapses(
    stack: Stack, aws: Faults, command_function: ModuleType, store_clock: RetryClock
) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)
    aws.fail("sns", "Publish", SNS_KMS_ACCESS_DENIED)
    aws.fail("dynamodb", "DeleteItem", DYNAMODB_UNAVAILABLE)

    with pytest.raises(IdempotencyPersistenceLayerError):
        invoke(command_function, event)  # nothing sent, and the record could not be deleted
    aws.clear()
    (record,) = idempotency_records()
    assert record["status"]["S"] == "INPROGRESS"

    store_clock.spend(LAMBDA_FIRST_RETRY_SECONDS)
    invoke(command_function, event)
    invoke(command_function, event)
    assert_clean(only_digest(stack))
