"""A central stack's full report is in its own bucket, in its own Region, while the command ran in
a member's: the report's console link names the bucket's Region, the other links the command's."""

from __future__ import annotations

import json

from instance_hygiene.digest.model import CommandDigest, Counts
from instance_hygiene.render.command import render

COMMAND = "0b8a7c6d-1111-2222-3333-444455556666"
REPORT = f"s3://instance-hygiene-central-logbucket-1a2b3c/reports/{COMMAND}/Failed.json"


def digest(report_region: str | None) -> CommandDigest:
    return CommandDigest(
        command_id=COMMAND,
        document_name="AWS-RunPatchBaseline",
        status="Failed",
        counts=Counts(targets=1, failed=1),
        groups=(),
        region="us-east-1",
        account="111111111111",
        report_uri=REPORT,
        report_region=report_region,
    )


def test_the_full_reports_link_names_the_buckets_region() -> None:
    rendered = render(digest("eu-west-2"))
    (report_line,) = [line for line in rendered.text.splitlines() if line.startswith("Full report")]
    chat_steps = json.loads(rendered.chat)["content"]["nextSteps"]

    assert "region=eu-west-2" in report_line
    assert any(step.startswith("Full report") and "region=eu-west-2" in step for step in chat_steps)
    assert "run-command/" in rendered.text
    assert "us-east-1.console.aws.amazon.com/systems-manager/run-command/" in rendered.text


def test_without_its_region_the_commands_region_is_used_as_before() -> None:
    (report_line,) = [
        line for line in render(digest(None)).text.splitlines() if line.startswith("Full report")
    ]
    assert "region=us-east-1" in report_line
