"""`hygiene report --command-id` against an account (moto + our SSM stand-in here)."""

from __future__ import annotations

import json

import pytest

from hygiene_cli.main import main
from local.fleet_sim import InstanceResult, Step, play_command
from tests.support.stack import BUCKET, REGION, Stack


def test_report_from_the_account_reads_s3_and_names_instances(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = stack.instances(3, name="api")
    played = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={
            ids[0]: InstanceResult(
                "Failed", "Failed", (Step("PatchLinux", "aws:runShellScript", "Failed", 156, "x\n"),)
            ),
            ids[1]: InstanceResult(
                "Failed", "Failed", (Step("PatchLinux", "aws:runShellScript", "Failed", 156, "y\n"),)
            ),
            ids[2]: InstanceResult("Success", "Success", (Step("PatchLinux", "aws:runShellScript"),)),
        },
        bucket=BUCKET,
    )

    code = main(["report", "--command-id", played.command_id, "--region", REGION, "--format", "json"])

    digest = json.loads(capsys.readouterr().out)
    assert code == 1, "two instances failed: exit 1"
    (group,) = digest["groups"]
    assert group["count"] == 2
    assert {f["instance_name"] for f in group["failures"]} == {"api-01", "api-02"}
    assert {f["log"]["source"] for f in group["failures"]} == {"s3"}
    assert group["failures"][0]["exit_code"] == 156
    assert digest["region"] == REGION


def test_unknown_command_is_a_one_line_error(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--command-id", "00000000-0000-4000-8000-000000000000", "--region", REGION])

    assert code == 2
    assert capsys.readouterr().err.startswith(
        "hygiene: error: command 00000000-0000-4000-8000-000000000000 not found"
    )
