"""A command or window execution that could not be read at all (the member role of its account could
not be assumed): every rendering (subject, e-mail text, chat JSON, digest JSON) names the account,
region, id and status, says why and gives the next step; the digest JSON stays valid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from instance_hygiene.digest.model import CommandDigest, Counts, Unread
from instance_hygiene.digest.window import WindowDigest
from instance_hygiene.render.chat import CustomNotification
from instance_hygiene.render.command import SUBJECT_MAX, render
from instance_hygiene.render.window import render as render_window
from tests.unit.render.test_chat import assert_chat_safe

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
ACCOUNT = "210987654321"
REGION = "eu-west-1"
COMMAND_ID = "0b4f2a9c-1d2e-4f30-8a1b-2c3d4e5f6071"
WINDOW_ID = "mw-0c50858d01ab23cd4"
EXECUTION_ID = "5a6b7c8d-1d2e-4f30-8a1b-2c3d4e5f6071"
UNREAD = Unread(
    reason=(
        "The member role instance-hygiene-member-read in account 210987654321 could not be assumed "
        "(AccessDenied: User: arn:aws:sts::123456789012:assumed-role/fn-role/instance-hygiene-fn is not "
        "authorized to perform: sts:AssumeRole on resource: "
        "arn:aws:iam::210987654321:role/instance-hygiene-member-read); nothing was read there."
    ),
    next_step=(
        "Deploy the member stack in account 210987654321, region eu-west-1, with OrganizationId "
        "o-a1b2c3d4e5 and this stack's ExternalId; check that its MemberRoleName is "
        "instance-hygiene-member-read."
    ),
)


def unread_command() -> CommandDigest:
    return CommandDigest(
        command_id=COMMAND_ID,
        document_name="AWS-RunPatchBaseline",
        status="Failed",
        counts=Counts(),
        groups=(),
        region=REGION,
        account=ACCOUNT,
        local_date="2026-11-26",
        unread=UNREAD,
    )


def unread_window() -> WindowDigest:
    return WindowDigest(
        window_id=WINDOW_ID,
        window_name="",
        window_execution_id=EXECUTION_ID,
        status="FAILED",
        status_details="",
        tasks=(),
        region=REGION,
        account=ACCOUNT,
        start=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
        end=datetime(2026, 11, 26, 4, 0, tzinfo=UTC),
        local_date="2026-11-26",
        unread=UNREAD,
    )


def test_a_command_that_could_not_be_read_is_told_in_every_rendering() -> None:
    rendered = render(unread_command())

    assert rendered.subject == (
        f"FAILED AWS-RunPatchBaseline 2026-11-26: not read in account {ACCOUNT}, {REGION}"
    )
    assert len(rendered.subject) <= SUBJECT_MAX
    lines = rendered.text.splitlines()
    assert lines[0] == (
        f"account {ACCOUNT}, {REGION}: command {COMMAND_ID} (AWS-RunPatchBaseline) Failed: "
        "it could not be read"
    )
    assert "could not be assumed (AccessDenied: User: arn:aws:sts::123456789012" in lines[1]
    assert lines[2] == f"next step: {UNREAD.next_step}"
    assert "0 of 0" not in rendered.text, "unknown counts are not shown as zeros"
    machine = json.loads(rendered.machine)
    jsonschema.validate(machine, SCHEMA)
    assert machine["unread"] == {"reason": UNREAD.reason, "next_step": UNREAD.next_step}
    assert (machine["account"], machine["region"], machine["command_id"], machine["status"]) == (
        ACCOUNT,
        REGION,
        COMMAND_ID,
        "Failed",
    )
    assert machine["report"] is None
    assert_chat_safe(rendered.chat)
    chat = CustomNotification.model_validate_json(rendered.chat)
    assert chat.content.description.startswith(
        f"account `{ACCOUNT}`, `{REGION}`, `2026-11-26`: command `{COMMAND_ID}` (Failed) could not be read."
    )
    assert "could not be assumed" in chat.content.description
    assert "AccessDenied" in chat.content.description
    steps = chat.content.nextSteps or []
    assert "Deploy the member stack in account" in steps[0]
    assert any("Open the command: https://eu-west-1.console.aws.amazon.com/" in step for step in steps)
    assert chat.metadata is not None
    assert chat.metadata.eventType == "CommandNotRead"


def test_a_digest_that_was_read_has_no_unread_and_stays_valid() -> None:
    machine = json.loads(render(CommandDigest("c", "AWS-RunShellScript", "Failed", Counts(), ())).machine)

    jsonschema.validate(machine, SCHEMA)
    assert machine["unread"] is None


def test_a_window_execution_that_could_not_be_read_is_told_in_every_rendering() -> None:
    rendered = render_window(unread_window())

    assert (
        rendered.subject == f"FAILED window {WINDOW_ID} 2026-11-26: not read in account {ACCOUNT}, {REGION}"
    )
    lines = rendered.text.splitlines()
    assert lines[0] == (
        f"account {ACCOUNT}, {REGION}: Maintenance window {WINDOW_ID} execution {EXECUTION_ID} FAILED: "
        "it could not be read"
    )
    assert "could not be assumed (AccessDenied" in lines[1]
    assert lines[2] == f"next step: {UNREAD.next_step}"
    assert any(line.startswith("Execution: https://eu-west-1.console.aws.amazon.com/") for line in lines)
    machine = json.loads(rendered.machine)
    assert machine["schema"] == "instance-hygiene/window-report@1"
    assert machine["unread"] == {"reason": UNREAD.reason, "next_step": UNREAD.next_step}
    assert (machine["account"], machine["region"], machine["window_execution_id"]) == (
        ACCOUNT,
        REGION,
        EXECUTION_ID,
    )
    assert machine["tasks"] == []
    assert_chat_safe(rendered.chat)
    chat = CustomNotification.model_validate_json(rendered.chat)
    assert f"window `{WINDOW_ID}` execution `{EXECUTION_ID}` (FAILED) could not be read." in (
        chat.content.description
    )
    assert "could not be assumed" in chat.content.description
    assert "Deploy the member stack" in (chat.content.nextSteps or [""])[0]
    assert chat.metadata is not None
    assert chat.metadata.threadId == EXECUTION_ID, "the thread the execution's commands join"
