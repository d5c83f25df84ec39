"""Patch states as the functions read them (aws/compliance.py), through botocore's Stubber: each
request and response is checked against botocore's SSM model, and no socket is opened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from instance_hygiene.aws.compliance import IDS_PER_CALL, read_failed_patch_states

ENDED = datetime(2026, 12, 3, 9, 40, tzinfo=UTC)


def ids(count: int) -> list[str]:
    return [f"i-{n:017x}" for n in range(count)]


def state(instance_id: str) -> dict[str, Any]:
    """An InstancePatchState with the members the model requires."""
    return {
        "InstanceId": instance_id,
        "PatchGroup": "prod",
        "BaselineId": "pb-0713accee01234567",
        "OperationStartTime": ENDED,
        "OperationEndTime": ENDED,
        "Operation": "Install",
        "MissingCount": 2,
        "FailedCount": 1,
    }


def test_failed_instances_are_read_fifty_ids_and_one_page_a_call(ssm: tuple[Any, Stubber]) -> None:
    client, stubber = ssm
    wanted = ids(IDS_PER_CALL + 3)
    stubber.add_response(
        "describe_instance_patch_states",
        {"InstancePatchStates": [state(i) for i in wanted[:IDS_PER_CALL]]},
        {"InstanceIds": wanted[:IDS_PER_CALL], "MaxResults": IDS_PER_CALL},
    )
    stubber.add_response(
        "describe_instance_patch_states",
        {"InstancePatchStates": [state(wanted[-1])]},  # two of the last three have no state
        {"InstanceIds": wanted[IDS_PER_CALL:], "MaxResults": IDS_PER_CALL},
    )

    states, note = read_failed_patch_states(client, reversed(wanted))

    assert note is None
    assert len(states) == IDS_PER_CALL + 1
    assert (states[wanted[-1]].missing, states[wanted[-1]].failed) == (2, 1)


def test_a_denied_read_is_a_note_and_no_state(ssm: tuple[Any, Stubber]) -> None:
    client, stubber = ssm
    stubber.add_client_error(
        "describe_instance_patch_states", service_error_code="AccessDeniedException", http_status_code=400
    )

    states, note = read_failed_patch_states(client, ids(2))

    assert states == {}
    assert note == (
        "Patch states unavailable (AccessDeniedException): the counts shown are those the logs printed."
    )


def test_no_failed_instance_reads_nothing(ssm: tuple[Any, Stubber]) -> None:
    client, _ = ssm

    assert read_failed_patch_states(client, []) == ({}, None)
