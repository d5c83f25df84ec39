"""`hygiene report --window-execution-id`: a whole night, the window's report and each failed
command's digest (hygiene_cli.night), on moto in process with the SSM stand-in (no socket).

The nights are the demo's (local.demo.night.play_night): the stack's runtime resources
(local.stack.provision), the window with its patch and healthcheck tasks, both tasks' commands
with the agent's logs in S3 (local.agent_logs), and the window execution with its tasks and
invocations (local.fleet_sim.play_window_execution).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import jsonschema
import pytest

from hygiene_cli import main as cli_main
from hygiene_cli.main import AWS_ERROR_EXIT, FAILURES_FOUND, main
from hygiene_cli.night import CENTRAL_OUTPUT, WINDOW_OUTPUT
from hygiene_cli.usage import WINDOW_EXECUTION_ID, WINDOW_ID
from instance_hygiene.render.chat import CustomNotification
from local.agent_logs import HEALTHCHECK, PATCH
from local.demo.night import Night, play_night
from local.demo.scenario import parse_scenario
from local.fleet_sim import create_window
from local.stack import Clients, provision
from local.template import raw_template
from tests.support.stack import standin_in_process

REGION = "eu-west-2"
ROOT = Path(__file__).resolve().parents[3]
DIGEST_SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
UNKNOWN_EXECUTION = "0b9f3c2e-5d4a-4b6c-8e7f-1a2b3c4d5e6f"
SOME_WINDOW = "mw-0123456789abcdef0"

# 4 Linux instances, MaxErrors 50%: one patch run fails on yum's lock, the healthcheck still runs
# and one instance fails its disk check.
FAILED_NIGHT = {
    "seed": 5,
    "fleet": [{"count": 4, "platform": "linux", "name_prefix": "web"}],
    "window": {"max_errors": "50%"},
    "patch": {"outcomes": {"yum-lock": 1}},
    "healthcheck": {"outcomes": {"healthcheck-disk": 1}},
}
CLEAN_NIGHT = {"seed": 6, "fleet": [{"count": 3, "platform": "linux", "name_prefix": "web"}]}


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """No progress line on stderr, however slow the machine (one test asks for it)."""
    monkeypatch.setattr(cli_main, "PROGRESS_AFTER_SECONDS", 3600.0)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    with standin_in_process(monkeypatch) as clients:
        yield clients


def night_of(clients: Clients, raw: Mapping[str, Any], name: str = "night") -> Night:
    scenario = parse_scenario(name, raw)
    return play_night(scenario, clients, provision(clients, region=REGION, seed=scenario.seed))


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def of_night(night: Night, *args: str) -> tuple[str, ...]:
    return ("--window-execution-id", night.window_execution_id, "--window-id", night.window.window_id, *args)


def command_id(night: Night, task: str) -> str:
    played = night.tasks[task].command
    assert played is not None
    return played.command_id


# --------------------------------------------------------------------------- a night


def test_a_night_with_a_failed_patch_and_a_failed_healthcheck_shows_both_and_exits_1(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given
    night = night_of(aws, FAILED_NIGHT)
    patch, health = command_id(night, PATCH), command_id(night, HEALTHCHECK)

    # When
    code, out, err = report(capsys, *of_night(night))

    # Then the window's e-mail, then one per failed command, each under its subject
    assert (code, err) == (FAILURES_FOUND, "")
    subjects = [line for line in out.splitlines() if line.startswith("== ")]
    assert len(subjects) == 3
    assert subjects[0].startswith("== FAILED window PatchWithHealthcheck ")
    assert subjects[0].endswith(": 2 of 2 tasks, 2 of 4 instances did not succeed")
    assert subjects[1].startswith("== FAILED PatchWithHealthcheck patch ")
    assert "1/4 - yum lock held by another process" in subjects[1]
    assert subjects[2].startswith("== FAILED PatchWithHealthcheck healthcheck ")
    assert "1/4 - healthcheck: 1 of 5 checks failed: disk:/" in subjects[2]
    window_text = out.split("\n== ")[0]
    patch_line = "- priority 10: Patch [AWS-RunPatchBaseline] FAILED: 4 instances, 3 succeeded, 1 failed"
    assert patch_line in window_text
    assert "Top causes:" in window_text, "the causes come from the commands' digests"
    assert "yum lock held by another process" in window_text
    assert "healthcheck: 1 of 5 checks failed: disk:/" in window_text
    assert f"Patch command {patch}: " in window_text
    assert f"Healthcheck command {health}: " in window_text
    assert "log (s3, complete):" in out, "the failed steps' logs are read from S3"


def test_a_nights_json_is_one_message_per_line_as_the_topic_carries_them(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given
    night = night_of(aws, FAILED_NIGHT)

    # When
    code, out, _ = report(capsys, *of_night(night, "--format", "json"))
    chat_code, chat, _ = report(capsys, *of_night(night, "--format", "chat"))

    # Then the window report, then each failed command's digest, in task order
    window, *digests = (json.loads(line) for line in out.splitlines())
    assert code == chat_code == FAILURES_FOUND
    assert window["schema"] == "instance-hygiene/window-report@1"
    assert window["window_execution_id"] == night.window_execution_id
    assert [t["status"] for t in window["tasks"]] == ["FAILED", "FAILED"]
    assert {c["reason"].split(" (")[0] for c in window["causes"]} == {
        "yum lock held by another process",
        "healthcheck: 1 of 5 checks failed: disk:/",
    }
    assert [d["command_id"] for d in digests] == [command_id(night, PATCH), command_id(night, HEALTHCHECK)]
    for digest in digests:
        jsonschema.validate(digest, DIGEST_SCHEMA)
        assert (digest["window_id"], digest["window_execution_id"]) == (
            night.window.window_id,
            night.window_execution_id,
        )
        assert digest["window_name"] == "PatchWithHealthcheck"
        assert digest["local_date"] == window["local_date"]
        assert digest["counts"]["failed"] == 1
    payloads = [CustomNotification.model_validate_json(line) for line in chat.splitlines()]
    assert len(payloads) == 3


def test_a_clean_night_is_the_window_report_alone_and_exits_0(
    aws: Clients, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given
    night = night_of(aws, CLEAN_NIGHT)
    monkeypatch.setattr(cli_main, "PROGRESS_AFTER_SECONDS", 0.0)

    # When
    code, out, err = report(capsys, *of_night(night))

    # Then
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("== ")] == [
        f"== SUCCESS window PatchWithHealthcheck {night_date(out)}: "
        "0 of 2 tasks, 0 of 3 instances did not succeed"
    ]
    health_line = "- priority 20: Healthcheck [instance-hygiene-Healthcheck] SUCCESS: 3 instances,"
    assert f"{health_line} 3 succeeded" in out
    assert "Top causes:" not in out
    assert err.startswith(f"hygiene: reading window execution {night.window_execution_id}, ")
    assert err.splitlines()[-1].startswith("hygiene: done in ")


def night_date(out: str) -> str:
    """The night's date as the window report's first line gives it (`..., 2026-12-03`)."""
    return out.splitlines()[1].rsplit(", ", 1)[1]


def test_a_success_that_never_ran_the_healthcheck_exits_1_as_the_window_function_tells_it(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no command failed, and the healthcheck task never ran
    night = night_of(aws, {**CLEAN_NIGHT, "window": {"not_run": ["healthcheck"]}})

    # When
    code, out, _ = report(capsys, *of_night(night))

    # Then
    assert code == FAILURES_FOUND
    assert out.startswith("== INCOMPLETE window PatchWithHealthcheck ")
    assert "What did not happen:" in out


# --------------------------------------------------------------------------- which window


def test_the_window_is_read_from_the_stacks_output(aws: Clients, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a stack with the template's MaintenanceWindowId output (moto's CloudFormation has no
    # AWS::SSM::MaintenanceWindow: the output holds the played window's id)
    template = raw_template()
    assert template["Outputs"][WINDOW_OUTPUT]["Value"] == {"Ref": "MaintenanceWindow"}
    assert template["Resources"]["MaintenanceWindow"]["Type"] == "AWS::SSM::MaintenanceWindow"
    night = night_of(aws, FAILED_NIGHT)
    stack = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {WINDOW_OUTPUT: {"Value": night.window.window_id}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="instance-hygiene", TemplateBody=json.dumps(stack)
    )

    # When
    by_stack = report(
        capsys, "--window-execution-id", night.window_execution_id, "--stack-name", "instance-hygiene"
    )

    # Then
    assert by_stack == report(capsys, *of_night(night))
    assert by_stack[0] == FAILURES_FOUND


def test_without_a_window_id_the_accounts_window_that_ran_it_is_found(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given another window in the account, listed before the night's
    create_window(ssm=aws.ssm, region=REGION, name="Other")
    night = night_of(aws, FAILED_NIGHT)

    found = report(capsys, "--window-execution-id", night.window_execution_id)

    assert found == report(capsys, *of_night(night))
    assert found[0] == FAILURES_FOUND


def test_an_execution_no_window_of_the_account_ran_is_a_usage_error_that_says_what_to_pass(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    night = night_of(aws, CLEAN_NIGHT)
    aws.ssm.delete_maintenance_window(WindowId=night.window.window_id)

    code, out, err = report(capsys, "--window-execution-id", night.window_execution_id)

    assert (code, out) == (2, "")
    assert err == (
        f"hygiene: error: no maintenance window of this account in {REGION} ran window execution"
        f" {night.window_execution_id} (deleted since, or another account's or Region's): pass the"
        " --window-id of the window that ran it, with that account's credentials\n"
    )


def test_a_central_stack_runs_no_window_and_the_error_says_where_a_members_night_is_read(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    # The outputs a central stack has (template.yaml, Condition IsCentral): no MaintenanceWindowId.
    template = raw_template()
    assert template["Outputs"][CENTRAL_OUTPUT]["Condition"] == "IsCentral"
    assert template["Outputs"][WINDOW_OUTPUT]["Condition"] == "RunsWindow"
    stack = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {CENTRAL_OUTPUT: {"Value": "arn:aws:events:eu-west-2:123456789012:event-bus/hygiene"}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="central", TemplateBody=json.dumps(stack)
    )

    code, out, err = report(capsys, "--window-execution-id", UNKNOWN_EXECUTION, "--stack-name", "central")

    assert (code, out) == (2, "")
    assert err.startswith("hygiene: error: stack central is a central stack (it has a CentralEventBusArn")
    assert "with that account's credentials (--profile) in its --region" in err


def test_a_stack_without_the_output_is_a_usage_error(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="other", TemplateBody=json.dumps(stack)
    )

    code, _, err = report(capsys, "--window-execution-id", UNKNOWN_EXECUTION, "--stack-name", "other")

    assert code == 2
    assert err == (
        f"hygiene: error: stack other has no {WINDOW_OUTPUT} output (outputs: none); pass --window-id\n"
    )


def test_an_execution_another_window_ran_is_a_usage_error(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    night = night_of(aws, CLEAN_NIGHT)
    other = create_window(ssm=aws.ssm, region=REGION, name="Other").window_id

    code, out, err = report(capsys, "--window-execution-id", night.window_execution_id, "--window-id", other)

    assert (code, out) == (2, "")
    assert err == (
        f"hygiene: error: window execution {night.window_execution_id} is not one of window {other}'s:"
        " pass the --window-id (or --stack-name) of the window that ran it\n"
    )


# --------------------------------------------------------------------------- errors


def test_an_execution_that_does_not_exist_is_what_aws_said_and_exits_3(
    aws: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    window = create_window(ssm=aws.ssm, region=REGION).window_id

    code, out, err = report(capsys, "--window-execution-id", UNKNOWN_EXECUTION, "--window-id", window)

    assert (code, out) == (AWS_ERROR_EXIT, "")
    assert err == (
        "hygiene: AWS error: An error occurred (DoesNotExistException) when calling the"
        f" GetMaintenanceWindowExecution operation: Window execution {UNKNOWN_EXECUTION} does not exist\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--window-execution-id", UNKNOWN_EXECUTION, "--command-id", "c"],
            "argument --command-id: not allowed with argument --window-execution-id",
        ),
        (
            ["--invocations", "-", "--window-execution-id", UNKNOWN_EXECUTION],
            "argument --window-execution-id: not allowed with argument --invocations",
        ),
        (
            ["--window-execution-id", UNKNOWN_EXECUTION, "--window-id", SOME_WINDOW, "--stack-name", "s"],
            "argument --stack-name: not allowed with argument --window-id",
        ),
        (
            ["--window-execution-id", "9ad8bb56-b2b3-4c7a-8e4c"],
            "argument --window-execution-id: '9ad8bb56-b2b3-4c7a-8e4c' is not a maintenance-window"
            " execution id",
        ),
        (
            ["--window-execution-id", f"{UNKNOWN_EXECUTION}\n"],
            "is not a maintenance-window execution id",
        ),
        (
            ["--window-execution-id", UNKNOWN_EXECUTION, "--window-id", "mw-0123"],
            "argument --window-id: 'mw-0123' is not a maintenance window id",
        ),
    ],
)
def test_conflicting_or_malformed_options_are_argparse_usage_errors_before_any_call(
    no_aws_config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = report(capsys, *argv)

    assert (code, out) == (2, "")
    assert err.startswith("usage: hygiene report ")
    assert "\nhygiene report: error: argument " in err
    assert message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--command-id", "c", "--window-id", SOME_WINDOW], "--window-id and --stack-name are for"),
        (["--invocations", "-", "--stack-name", "s"], "--window-id and --stack-name are for"),
        (
            ["--window-execution-id", UNKNOWN_EXECUTION, "--window-id", SOME_WINDOW, "--logs", "."],
            "--logs is for --invocations",
        ),
    ],
)
def test_options_of_another_source_are_one_usage_error_line(
    no_aws_config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = report(capsys, *argv)

    assert (code, out) == (2, "")
    assert err.startswith(f"hygiene: error: {message}")
    assert err.count("\n") == 1


def test_the_id_shapes_are_botocores() -> None:
    shapes = botocore.loaders.Loader().load_service_model("ssm", "service-2")["shapes"]

    for pattern, shape, length in (
        (WINDOW_EXECUTION_ID, "MaintenanceWindowExecutionId", 36),
        (WINDOW_ID, "MaintenanceWindowId", 20),
    ):
        assert pattern.pattern == shapes[shape]["pattern"]
        assert shapes[shape]["min"] == shapes[shape]["max"] == length
