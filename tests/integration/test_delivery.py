"""Delivery semantics: exactly one message per (command or window execution, status).

EventBridge delivers at least once and Lambda retries, so the same event arrives again, at the
same time as itself, and out of order with its neighbours. The functions run here with their own
clients (built with their own Config) against moto + the SSM stand-in; see tests/faults.py.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from botocore.exceptions import ClientError

from local.fleet_sim import (
    InstanceResult,
    TaskRun,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from tests.faults import SNS_INTERNAL_ERROR, SNS_KMS_ACCESS_DENIED, Faults, RetryClock, wire
from tests.integration.test_command_handler import linux_patch, log
from tests.support.stack import BUCKET, REGION, TABLE, Stack, lambda_context

Event = dict[str, Any]


@pytest.fixture
def aws(
    stack: Stack,
    command_function: ModuleType,
    window_function: ModuleType,
    clock: RetryClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Faults:
    """Both functions' clients, each built with its function's Config, through one set of faults."""
    faults = Faults(clock)
    wire(monkeypatch, command_function, faults)
    wire(monkeypatch, window_function, faults)
    return faults


def night(stack: Stack) -> dict[str, Event]:
    """A window run whose patch task failed (healthcheck never ran), and a separate command
    that timed out; their events, and late ones of states that are not final."""
    window = create_window(ssm=stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript")
    ids = stack.instances(3)
    yum = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    fine = InstanceResult("Success", "Success", linux_patch("Success", 0, "Patch operation succeeded\n"))
    patch = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={ids[0]: yum, ids[1]: fine, ids[2]: fine},
        bucket=BUCKET,
        comment="PatchWithHealthcheck patch",
    )
    stuck = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunShellScript",
        outcomes={
            ids[1]: InstanceResult("TimedOut", "Execution Timed Out", linux_patch("TimedOut", -1, "..."))
        },
        bucket=BUCKET,
    )
    execution = play_window_execution(
        region=REGION,
        window=window,
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        tasks=[TaskRun(window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", patch)],
    )
    window_args = {"window_id": window.window_id, "window_execution_id": execution, "region": REGION}
    return {
        "patch failed": command_event(patch, region=REGION),
        "patch in progress (late)": command_event(patch, region=REGION, status="InProgress"),
        "stuck timed out": command_event(stuck, region=REGION),
        "window failed": window_event(status="FAILED", **window_args),
        "window in progress (late)": window_event(status="IN_PROGRESS", **window_args),
    }


NOTIFYING = ("patch failed", "stuck timed out", "window failed")


def message_keys(stack: Stack) -> list[tuple[str, str]]:
    """(command id or window execution id, status) of every message a subscriber received."""
    keys = []
    for envelope in stack.received():
        body = json.loads(envelope["Message"])
        keys.append((body.get("command_id") or body["window_execution_id"], body["status"]))
    return keys


def key_of(event: Event) -> tuple[str, str]:
    detail = event["detail"]
    return detail.get("command-id") or detail["window-execution-id"], detail["status"]


def function_for(event: Event, command: ModuleType, window: ModuleType) -> ModuleType:
    return command if event["detail-type"].startswith("EC2 Command") else window


def deliver(app: ModuleType, event: Event) -> dict[str, Any]:
    return app.handler(event, lambda_context())  # type: ignore[no-any-return]


def deliver_at_once(app: ModuleType, event: Event, copies: int) -> list[dict[str, Any] | Exception]:
    """`copies` invocations started together on threads (what Lambda does with concurrent
    deliveries, each in its own execution environment)."""
    start = threading.Barrier(copies)

    def one(_: int) -> dict[str, Any] | Exception:
        start.wait()
        try:
            return deliver(app, event)
        except Exception as error:  # the test inspects every outcome
            return error

    with ThreadPoolExecutor(max_workers=copies) as pool:
        return list(pool.map(one, range(copies)))


def lambda_retries(app: ModuleType, event: Event, attempts: int = 3) -> dict[str, Any]:
    """Lambda's async retries of an invocation that raised (up to two, with a pause)."""
    for attempt in range(attempts):
        try:
            return deliver(app, event)
        except IdempotencyAlreadyInProgressError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


@pytest.fixture(params=["command", "window"])
def one_event(
    request: pytest.FixtureRequest,
    stack: Stack,
    aws: Faults,
    command_function: ModuleType,
    window_function: ModuleType,
) -> tuple[ModuleType, Event]:
    events = night(stack)
    if request.param == "command":
        return command_function, events["patch failed"]
    return window_function, events["window failed"]


# ------------------------------------------------------------------------------------ duplicates


def test_the_same_event_ten_times_in_sequence_sends_one_message(
    stack: Stack, one_event: tuple[ModuleType, Event]
) -> None:
    app, event = one_event

    results = [deliver(app, event) for _ in range(10)]

    assert message_keys(stack) == [key_of(event)]
    assert all(result == results[0] for result in results), "every copy returns the first outcome"


def test_the_same_event_ten_times_at_once_sends_one_message(
    stack: Stack, aws: Faults, one_event: tuple[ModuleType, Event]
) -> None:
    app, event = one_event
    # The first copy holds the record while it publishes: the others arrive meanwhile.
    aws.before[("sns", "Publish")] = lambda _request: time.sleep(0.5)

    results = deliver_at_once(app, event, copies=10)

    sent = [r for r in results if isinstance(r, dict)]
    raised = [r for r in results if isinstance(r, Exception)]
    assert len(sent) == 1, results
    assert raised, "the copies overlapped"
    assert all(isinstance(e, IdempotencyAlreadyInProgressError) for e in raised), raised
    retried = [lambda_retries(app, event) for _ in raised]
    assert all(r == sent[0] for r in retried), "a retried copy gets the first outcome"
    assert message_keys(stack) == [key_of(event)]
    assert aws.calls[("sns", "Publish")] == 1


def test_ten_copies_of_each_event_at_once_and_in_any_order_send_one_message_each(
    stack: Stack, aws: Faults, command_function: ModuleType, window_function: ModuleType
) -> None:
    events = night(stack)
    deliveries = [name for name in events for _ in range(10)]
    random.Random(6).shuffle(deliveries)  # noqa: S311 - an order of arrival, not a secret
    aws.before[("sns", "Publish")] = lambda _request: time.sleep(0.05)

    def one(name: str) -> dict[str, Any] | Exception:
        try:
            return deliver(function_for(events[name], command_function, window_function), events[name])
        except Exception as error:  # the test inspects every outcome
            return error

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, deliveries))
    retry = [name for name, r in zip(deliveries, results, strict=True) if isinstance(r, Exception)]
    assert all(
        isinstance(r, IdempotencyAlreadyInProgressError) for r in results if isinstance(r, Exception)
    ), results
    for name in retry:
        lambda_retries(function_for(events[name], command_function, window_function), events[name])

    assert sorted(message_keys(stack)) == sorted(key_of(events[name]) for name in NOTIFYING)


# -------------------------------------------------------------------------------------- ordering

ORDERS = ["as emitted", "reversed", "shuffled 1", "shuffled 2", "shuffled 3", "shuffled 4"]


def arrange(names: list[str], order: str) -> list[str]:
    if order == "as emitted":
        return names
    if order == "reversed":
        return names[::-1]
    seed = int(order.split()[1])
    return random.Random(seed).sample(names, len(names))  # noqa: S311 - an order of arrival


@pytest.mark.parametrize("order", ORDERS)
def test_command_and_window_events_out_of_order_notify_once_per_command_and_status(
    stack: Stack, aws: Faults, command_function: ModuleType, window_function: ModuleType, order: str
) -> None:
    events = night(stack)
    emitted = [
        "patch in progress (late)",
        "window in progress (late)",
        "patch failed",
        "stuck timed out",
        "window failed",
        "patch failed",
        "window failed",
        "patch in progress (late)",
    ]

    results = {}
    for name in arrange(emitted, order):
        results[name] = deliver(function_for(events[name], command_function, window_function), events[name])

    assert sorted(message_keys(stack)) == sorted(key_of(events[name]) for name in NOTIFYING)
    assert results["patch in progress (late)"]["notified"] is False
    assert results["patch in progress (late)"]["status"] == "InProgress"
    assert results["window in progress (late)"]["notified"] is False
    assert results["window in progress (late)"]["status"] == "IN_PROGRESS"


def test_a_later_status_of_the_same_command_is_its_own_message(
    stack: Stack, aws: Faults, command_function: ModuleType
) -> None:
    events = night(stack)
    failed = events["patch failed"]
    cancelled = json.loads(json.dumps(failed))
    cancelled["detail"]["status"] = "Cancelled"

    for event in (cancelled, failed, cancelled, failed):
        deliver(command_function, event)

    assert sorted(message_keys(stack)) == sorted([key_of(failed), key_of(cancelled)])


# ------------------------------------------------------------------------------ lost and retried


@pytest.mark.parametrize(
    "fault", [SNS_INTERNAL_ERROR, SNS_KMS_ACCESS_DENIED], ids=["InternalError", "KMSAccessDenied"]
)
def test_a_message_lost_to_sns_is_sent_by_the_retry_and_never_twice(
    stack: Stack, aws: Faults, one_event: tuple[ModuleType, Event], fault: Any
) -> None:
    app, event = one_event
    aws.fail("sns", "Publish", fault)

    with pytest.raises(ClientError):
        deliver(app, event)  # first attempt: SNS refuses for good
    assert stack.received() == []
    assert boto3.client("dynamodb").scan(TableName=TABLE)["Items"] == [], "record deleted: retry may send"

    aws.clear()
    second = deliver(app, event)  # Lambda's retry
    assert message_keys(stack) == [key_of(event)]

    third = deliver(app, event)  # a redelivery after success
    assert stack.received() == []
    assert third == second
    (record,) = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert record["status"]["S"] == "COMPLETED"
