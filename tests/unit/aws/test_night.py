"""Which night a command belongs to (aws/night.py), read through botocore's Stubber: each request and
response is checked against botocore's SSM and IAM models, and no socket is opened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from instance_hygiene.aws.night import commented_window, local_date, read_account_alias, read_night
from instance_hygiene.digest.invocations import parse_command, window_execution_id

EXECUTION_ID = "14bea65d-5ccc-462d-a2f3-e99c80a1b2c3"
WINDOW_ID = "mw-0c50858d01a1b2c3d"
# 23:30 UTC on 2 December is 00:30 on 3 December in Europe/Berlin (UTC+1 in winter).
STARTED = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)


def _execution(stubber: Stubber) -> None:
    stubber.add_response(
        "get_maintenance_window_execution",
        {"WindowExecutionId": EXECUTION_ID, "Status": "FAILED", "StartTime": STARTED, "TaskIds": []},
        {"WindowExecutionId": EXECUTION_ID},
    )


def _listed(stubber: Stubber, ids: list[str], window_id: str = WINDOW_ID) -> None:
    stubber.add_response(
        "describe_maintenance_window_executions",
        {
            "WindowExecutions": [
                {"WindowId": window_id, "WindowExecutionId": i, "Status": "FAILED", "StartTime": STARTED}
                for i in ids
            ]
        },
        {"WindowId": window_id, "Filters": ANY},
    )


def test_a_command_of_the_stacks_window_is_named_after_it_and_dated_in_its_time_zone(ssm: Any) -> None:
    client, stubber = ssm
    _execution(stubber)
    _listed(stubber, ["0b9b2c3d-0000-4000-8000-000000000000", EXECUTION_ID])
    stubber.add_response(
        "get_maintenance_window",
        {"WindowId": WINDOW_ID, "Name": "PatchWithHealthcheck", "ScheduleTimezone": "Europe/Berlin"},
        {"WindowId": WINDOW_ID},
    )

    night = read_night(client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=WINDOW_ID)

    assert (night.window_id, night.window_name) == (WINDOW_ID, "PatchWithHealthcheck")
    assert (night.local_date, night.time_zone) == ("2026-12-03", "Europe/Berlin")
    assert night.window_execution_id == EXECUTION_ID
    assert night.notes == ()


def test_another_windows_execution_keeps_its_id_but_takes_no_name(ssm: Any) -> None:
    client, stubber = ssm
    _execution(stubber)
    _listed(stubber, [])

    night = read_night(client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=WINDOW_ID)

    assert night.window_execution_id == EXECUTION_ID, "the thread still groups the night"
    assert (night.window_id, night.window_name, night.local_date) == (None, None, "2026-12-02")


def test_a_snapshot_id_no_window_has_is_a_command_sent_by_hand(ssm: Any) -> None:
    client, stubber = ssm
    stubber.add_client_error(
        "get_maintenance_window_execution", service_error_code="DoesNotExistException", http_status_code=400
    )

    night = read_night(client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=WINDOW_ID)

    assert night.window_execution_id is None
    assert night.local_date == "2026-12-02"
    assert night.notes == ()


def test_an_unreadable_execution_is_a_note_not_an_error(ssm: Any) -> None:
    client, stubber = ssm
    stubber.add_client_error(
        "get_maintenance_window_execution", service_error_code="AccessDeniedException", http_status_code=400
    )

    night = read_night(client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=WINDOW_ID)

    assert night.window_execution_id == EXECUTION_ID
    assert len(night.notes) == 1
    assert "AccessDeniedException" in night.notes[0]


def test_an_unreadable_window_keeps_the_id_and_the_utc_date(ssm: Any) -> None:
    client, stubber = ssm
    _execution(stubber)
    _listed(stubber, [EXECUTION_ID])
    stubber.add_client_error(
        "get_maintenance_window", service_error_code="AccessDeniedException", http_status_code=400
    )

    night = read_night(client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=WINDOW_ID)

    assert (night.window_id, night.window_name, night.local_date) == (None, None, "2026-12-02")
    assert night.window_execution_id == EXECUTION_ID
    assert len(night.notes) == 1
    assert "AccessDeniedException" in night.notes[0]


def test_a_command_sent_by_hand_reads_nothing(ssm: Any) -> None:
    client, _ = ssm

    night = read_night(client, window_execution_id=None, requested_at=STARTED, window_id=WINDOW_ID)

    assert night.local_date == "2026-12-02"
    assert night.window_id is None


# ------------------------------------------------------------ a member account's command, read centrally

OTHER_WINDOW_ID = "mw-0f1e2d3c4b5a69788"
NAMED = {"Filters": [{"Key": "Name", "Values": ["PatchWithHealthcheck"]}]}


def _named(stubber: Stubber, windows: list[tuple[str, str]]) -> None:
    stubber.add_response(
        "describe_maintenance_windows",
        {
            "WindowIdentities": [
                {"WindowId": ident, "Name": "PatchWithHealthcheck", "ScheduleTimezone": zone}
                for ident, zone in windows
            ]
        },
        NAMED,
    )


def test_a_members_window_is_the_one_of_the_commented_name_that_ran_the_execution(ssm: Any) -> None:
    # Names need not be unique: the window whose executions include the command's is the one.
    client, stubber = ssm
    _execution(stubber)
    _named(stubber, [(OTHER_WINDOW_ID, "America/New_York"), (WINDOW_ID, "Europe/Berlin")])
    _listed(stubber, [], window_id=OTHER_WINDOW_ID)
    _listed(stubber, [EXECUTION_ID])

    night = read_night(
        client,
        window_execution_id=EXECUTION_ID,
        requested_at=STARTED,
        window_id=None,
        window_named="PatchWithHealthcheck",
    )

    assert (night.window_id, night.window_name) == (WINDOW_ID, "PatchWithHealthcheck")
    assert (night.local_date, night.time_zone) == ("2026-12-03", "Europe/Berlin")
    assert night.notes == ()


def test_a_commented_name_no_window_of_which_ran_the_execution_gives_no_name(ssm: Any) -> None:
    client, stubber = ssm
    _execution(stubber)
    _named(stubber, [(WINDOW_ID, "Europe/Berlin")])
    _listed(stubber, [])

    night = read_night(
        client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=None,
        window_named="PatchWithHealthcheck",
    )  # fmt: skip

    assert (night.window_id, night.window_name, night.local_date) == (None, None, "2026-12-02")
    assert night.window_execution_id == EXECUTION_ID
    assert night.notes == ()


def test_a_member_role_that_cannot_list_its_windows_leaves_a_note_and_the_utc_date(ssm: Any) -> None:
    # A member stack deployed before its read role could list windows.
    client, stubber = ssm
    _execution(stubber)
    stubber.add_client_error(
        "describe_maintenance_windows", service_error_code="AccessDeniedException", http_status_code=400
    )

    night = read_night(
        client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=None,
        window_named="PatchWithHealthcheck",
    )  # fmt: skip

    assert (night.window_id, night.local_date) == (None, "2026-12-02")
    (note,) = night.notes
    assert "PatchWithHealthcheck" in note
    assert "AccessDeniedException" in note


def test_without_a_window_or_a_name_only_the_execution_is_read(ssm: Any) -> None:
    client, stubber = ssm
    _execution(stubber)

    night = read_night(client, window_execution_id=EXECUTION_ID, requested_at=STARTED, window_id=None)

    assert (night.window_execution_id, night.local_date) == (EXECUTION_ID, "2026-12-02")


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        # The comments template.yaml's PatchTask and HealthcheckTask give their commands.
        ("PatchWithHealthcheck patch", "PatchWithHealthcheck"),
        ("patch-web.prod healthcheck", "patch-web.prod"),
        # Anything else names no window: a person's comment, an empty one, a name SSM refuses.
        ("", None),
        ("patch", None),
        ("PatchWithHealthcheck reboot", None),
        ("two words patch", None),
        ("ab patch", None),
        ("PatchWithHealthcheck/../x patch", None),
    ],
)
def test_the_window_name_is_taken_only_from_a_comment_our_tasks_write(
    comment: str, expected: str | None
) -> None:
    assert commented_window(comment) == expected


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Berlin", ("2026-12-03", "Europe/Berlin")),
        ("America/Los_Angeles", ("2026-12-02", "America/Los_Angeles")),
        ("", ("2026-12-02", "UTC")),
        ("Not/AZone", ("2026-12-02", "UTC")),
        ("../etc/passwd", ("2026-12-02", "UTC")),
    ],
)
def test_local_date_falls_back_to_utc(zone: str, expected: tuple[str, str]) -> None:
    assert local_date(STARTED, zone) == expected


def test_local_date_respects_summer_time() -> None:
    # 22:30 UTC on 1 July is 00:30 on 2 July in Berlin (UTC+2 in summer), 23:30 on 1 July in London.
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)

    assert local_date(summer, "Europe/Berlin")[0] == "2026-07-02"
    assert local_date(summer, "Europe/London")[0] == "2026-07-01"
    # The same UTC clock in winter (UTC+1) is still the same day in Berlin.
    assert local_date(summer.replace(month=1), "Europe/Berlin")[0] == "2026-01-01"


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        # The healthcheck task's parameter, and AWS-RunPatchBaseline's SnapshotId as the patch
        # task passes it ({{WINDOW_EXECUTION_ID}}, resolved by the window).
        ({"WindowExecutionId": [EXECUTION_ID]}, EXECUTION_ID),
        ({"Operation": ["Install"], "SnapshotId": [EXECUTION_ID]}, EXECUTION_ID),
        ({"SnapshotId": [""]}, None),
        ({"SnapshotId": ["my-own-snapshot"]}, None),
        ({"WindowExecutionId": ["{{WINDOW_EXECUTION_ID}}"]}, None),
        ({}, None),
        (None, None),
        ("not a mapping", None),
    ],
)
def test_window_execution_id_comes_from_the_commands_parameters(
    parameters: Any, expected: str | None
) -> None:
    assert window_execution_id(parameters) == expected
    raw = {"CommandId": "7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70", "Parameters": parameters}
    assert parse_command(raw).window_execution_id == expected


def test_account_alias_is_optional() -> None:
    iam = boto3.client("iam", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(iam) as stubber:
        stubber.add_response(
            "list_account_aliases", {"AccountAliases": ["example-fleet-prod"], "IsTruncated": False}
        )
        stubber.add_response("list_account_aliases", {"AccountAliases": [], "IsTruncated": False})
        stubber.add_client_error(
            "list_account_aliases", service_error_code="AccessDenied", http_status_code=403
        )

        assert read_account_alias(iam) == "example-fleet-prod"
        assert read_account_alias(iam) is None
        assert read_account_alias(iam) is None
    assert read_account_alias(None) is None
