"""digest.collect: a digest is built from a command, its invocations and their logs; nothing secret gets in.

Each case of tests/fixtures/secrets/cases.json (see its README) is planted, one field at a time,
in every field a digest or a window digest takes from SendCommand's caller, the document, the
instance's tags, the API or the log bucket: the command's Comment, the document name, the output
prefix (and so every S3 key shown), the step name, status details, the instance's Name tag and
the name SSM reports, the API's Output, the window's name, a task's name and ARN and the
execution's status details. Then every rendering (subject, e-mail text, chat JSON, digest JSON,
the SNS message, the full report written to S3) is searched for the secret and its NFKC form.
Expected number of leaks: 0.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from hygiene_cli.sources import LocalLogs
from instance_hygiene.digest.collect import build_digest
from instance_hygiene.digest.invocations import Command, Instance, Invocation, Plugin
from instance_hygiene.digest.logs import StreamRef
from instance_hygiene.digest.model import to_dict
from instance_hygiene.digest.window import assemble
from instance_hygiene.render.command import email_text, render
from instance_hygiene.render.window import render as render_window

ROOT = Path(__file__).resolve().parents[3]
CASES: list[dict[str, Any]] = json.loads((ROOT / "tests" / "fixtures" / "secrets" / "cases.json").read_text())
COMMAND_ID = "5d2c7b1e-0f3a-4b6c-9d8e-7f6a5b4c3d2e"
INSTANCE_ID = "i-0abc123def4567890"
COMMAND_FIELDS = (
    "comment",
    "document_name",
    "output_prefix",
    "step",
    "status_details",
    "tag_name",
    "ssm_name",
    "api_output",
)
WINDOW_FIELDS = ("window_name", "task_name", "task_arn", "execution_details", "task_details")
MULTI_LINE_FIELDS = frozenset({"api_output"})


def plantable(case: dict[str, Any], field: str) -> bool:
    return field in MULTI_LINE_FIELDS or "\n" not in case["text"].strip("\n")


def forms(case: dict[str, Any]) -> list[str]:
    """The secrets as planted and in the NFKC form a rendering could show them in."""
    return sorted(
        {form for secret in case["secrets"] for form in (secret, unicodedata.normalize("NFKC", secret))}
    )


class ShownAsS3(LocalLogs):
    """The local copy of a command's output, shown with the S3 key the agent would have written."""

    def __init__(self, folder: Path, prefix: str) -> None:
        super().__init__(folder)
        self.prefix = prefix

    def link(self, ref: StreamRef) -> str:
        return f"s3://hygiene-logs/{self.prefix}/{Path(ref.location).relative_to(self.folder)}"


def command_bodies(tmp_path: Path, field: str, value: str) -> list[str]:
    planted = {name: value if name == field else "" for name in COMMAND_FIELDS}
    step = planted["step"] or "aws:runShellScript"
    prefix = planted["output_prefix"] or "ssm"
    folder = tmp_path / "out"
    stream = folder / INSTANCE_ID / "awsrunShellScript" / "0.awsrunShellScript"
    stream.mkdir(parents=True, exist_ok=True)
    (stream / "stdout").write_text("ERROR: the script failed\n")
    command = Command(
        command_id=COMMAND_ID,
        document_name=planted["document_name"] or "AWS-RunShellScript",
        status="Failed",
        comment=planted["comment"],
        output_bucket="hygiene-logs",
        output_prefix=prefix,
    )
    invocation = Invocation(
        instance_id=INSTANCE_ID,
        status="Failed",
        status_details=planted["status_details"] or "Failed",
        instance_name=planted["ssm_name"],
        plugins=(
            Plugin(
                name=step,
                status="Failed",
                response_code=1,
                output=planted["api_output"] or "ERROR: the script failed",
            ),
        ),
    )

    def names(ids: list[str]) -> tuple[dict[str, Instance], list[str]]:
        return {
            i: Instance(instance_id=i, name=planted["tag_name"] or None, platform="Linux") for i in ids
        }, []

    digest = build_digest(command, [invocation], logs=ShownAsS3(folder, prefix), instances=names)
    rendered = render(digest)
    full_report = [json.dumps(to_dict(digest), ensure_ascii=False), email_text(digest)]
    return [
        rendered.subject,
        rendered.text,
        rendered.chat,
        rendered.machine,
        rendered.sns_message(),
        *full_report,
    ]


def window_bodies(field: str, value: str) -> list[str]:
    planted = {name: value if name == field else "" for name in WINDOW_FIELDS}
    report = assemble(
        execution={
            "WindowId": "mw-0123456789abcdef0",
            "WindowExecutionId": "7e1d2c3b-4a59-4f68-8e7d-6c5b4a392817",
            "Status": "FAILED",
            "StatusDetails": planted["execution_details"] or "One or more tasks failed.",
        },
        registered=[
            {
                "WindowTaskId": "t-1",
                "Name": planted["task_name"] or "Patch",
                "TaskArn": planted["task_arn"] or "AWS-RunPatchBaseline",
                "Priority": 10,
            }
        ],
        executed=[],
        window_name=planted["window_name"] or "nightly",
    )
    if planted["task_details"]:
        report = assemble(
            execution={"WindowId": "mw-0123456789abcdef0", "Status": "FAILED"},
            registered=[],
            executed=[
                type(report.tasks[0])(
                    task_id="t-1",
                    name="Patch",
                    task_arn="AWS-RunPatchBaseline",
                    priority=10,
                    status="FAILED",
                    status_details=planted["task_details"],
                )
            ],
        )
    rendered = render_window(report)
    return [rendered.subject, rendered.text, rendered.chat, rendered.machine, rendered.sns_message()]


@pytest.mark.parametrize("case", [pytest.param(c, id=c["class"]) for c in CASES])
def test_given_a_secret_in_any_field_when_the_digest_is_built_and_rendered_then_no_rendering_shows_it(
    case: dict[str, Any], tmp_path: Path
) -> None:
    value = case["text"]
    leaks = []
    for field in (f for f in COMMAND_FIELDS if plantable(case, f)):
        bodies = command_bodies(tmp_path / field, field, value)
        leaks.extend((field, secret) for secret in forms(case) for body in bodies if secret in body)
    for field in (f for f in WINDOW_FIELDS if plantable(case, f)):
        bodies = window_bodies(field, value)
        leaks.extend((field, secret) for secret in forms(case) for body in bodies if secret in body)

    assert sorted(set(leaks)) == []


def test_given_an_s3_key_with_a_line_break_when_rendered_then_it_adds_no_line() -> None:
    # Given an output prefix that carries a line of its own (S3 keys may hold any character)
    planted = "ssm\nFAKE: all instances patched"

    # When the digest is built and rendered
    command = Command(
        command_id=COMMAND_ID,
        document_name="AWS-RunShellScript",
        status="Failed",
        output_bucket="b",
        output_prefix=planted,
    )
    invocation = Invocation(instance_id=INSTANCE_ID, status="Failed", status_details="Failed")
    digest = build_digest(command, [invocation], logs=None)
    text, full = render(digest).text, email_text(digest, line_budget=None)

    # Then the key is part of a link (percent-encoded) on the line that names it, never a line of
    # its own, in the e-mail and in the full report
    for rendered in (text, full):
        assert not [line for line in rendered.splitlines() if line.startswith("FAKE")]
    assert "prefix=ssm%20FAKE%3A%20all%20instances%20patched/" in full


# --------------------------------------------------------------------------- forged logs


def test_given_a_suspicious_step_when_the_digest_is_built_then_a_note_names_it_and_the_api_output_is_shown(
    tmp_path: Any,
) -> None:
    # Given a local copy of the command's output with two stdouts for the failed step
    for action, text in (("awsrunShellScript", "ERROR: genuine\n"), ("awsrunPowerShellScript", "all fine\n")):
        folder = tmp_path / "i-0abc" / action / "0.awsrunShellScript"
        folder.mkdir(parents=True)
        (folder / "stdout").write_text(text)
    command = Command(command_id=COMMAND_ID, document_name="AWS-RunShellScript", status="Failed")
    invocation = Invocation(
        instance_id="i-0abc",
        status="Failed",
        status_details="Failed",
        plugins=(
            Plugin(name="aws:runShellScript", status="Failed", response_code=1, output="ERROR: from the API"),
        ),
    )

    # When the digest is built
    digest = build_digest(command, [invocation], logs=LocalLogs(tmp_path))

    # Then the message says which objects compete, reads neither, and does not call the log missing
    failure = digest.groups[0].failures[0]
    assert failure.log.source == "api"
    assert [note for note in digest.notes if note.startswith("Suspicious log: 2 objects")]
    assert not [note for note in digest.notes if "no log" in note.lower() or "missing" in note.lower()]
