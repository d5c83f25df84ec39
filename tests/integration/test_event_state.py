"""local.event_state against the stand-in server: what `make invoke` seeds before `sam local invoke`
(the container tests seed every sample event the same way).

Given a sample event from events/, when it is seeded, then the stand-in answers for what it names:
its command on three instances (their invocations and S3 output), or its window execution with the
patch command its task ran, a sample command's when one ended as the task needs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from local.event_state import PATCH, EventStateError, seed
from local.sam_local import BUCKET, StandinStack
from local.standin.server import running
from tests.support.events import load_event


@pytest.fixture
def stack() -> Iterator[StandinStack]:
    """The stand-in with the stack's bucket, table and topic; moto's backends emptied after."""
    with running(configure_env=False) as endpoint:
        try:
            yield StandinStack.create(endpoint)
        finally:
            requests.post(f"{endpoint.url}/moto-api/reset", timeout=10)


def test_a_command_event_gets_its_command_on_three_instances_with_their_output(stack: StandinStack) -> None:
    event = load_event("command-failed.json")
    command_id = event["detail"]["command-id"]

    seeded = seed(stack, [event])

    assert list(seeded.commands) == [command_id]
    invocations = stack.client("ssm").list_command_invocations(CommandId=command_id)["CommandInvocations"]
    assert sorted(i["Status"] for i in invocations) == ["Failed", "Failed", "Success"]
    written = seeded.commands[command_id].keys_written
    assert written
    for key in written:
        stack.client("s3").head_object(Bucket=BUCKET, Key=key)
    assert seeded.lines() == [f"command {command_id} (AWS-RunPatchBaseline, Failed, 3 instances)"]


def test_a_window_event_alone_gets_a_patch_command_that_ended_as_its_task_did(stack: StandinStack) -> None:
    event = load_event("window-failed.json")
    execution_id = event["detail"]["window-execution-id"]

    seeded = seed(stack, [event])

    ((command_id, played),) = seeded.commands.items()
    assert (played.document_name, played.status) == (PATCH, "Failed")
    assert seeded.executions == {execution_id: "FAILED"}
    tasks = stack.client("ssm").describe_maintenance_window_execution_tasks(WindowExecutionId=execution_id)
    assert [t["Status"] for t in tasks["WindowExecutionTaskIdentities"]] == ["FAILED"]
    assert seeded.lines()[-1] == f"window execution {execution_id} (FAILED)"
    assert command_id != load_event("command-failed.json")["detail"]["command-id"]


def test_a_window_execution_reuses_the_sample_command_that_ended_as_its_task_needs(
    stack: StandinStack,
) -> None:
    command, window = load_event("command-failed.json"), load_event("window-failed.json")

    seeded = seed(stack, [command, window])

    assert list(seeded.commands) == [command["detail"]["command-id"]]


def test_a_status_with_no_sample_outcome_is_refused(stack: StandinStack) -> None:
    event = load_event("command-failed.json")
    event["detail"]["status"] = "Undeliverable"

    with pytest.raises(EventStateError, match="no sample outcome for a Undeliverable AWS-RunPatchBaseline"):
        seed(stack, [event])
