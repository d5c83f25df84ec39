"""The command function end to end against moto + our SSM stand-in, read back from a subscribed queue."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import jsonschema
import pytest

from instance_hygiene.aws.fleet import CommandNotFound
from instance_hygiene.digest.logs import HEAD_BYTES, TAIL_BYTES
from instance_hygiene.events import InvalidEvent
from local.fleet_sim import InstanceResult, PlayedCommand, Step, command_event, play_command, skipped
from tests.support.events import EVENTS, load_event
from tests.support.stack import BUCKET, HISTORY, REGION, Stack, lambda_context

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "fixtures" / "logs"
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
SH, PS = "aws:runShellScript", "aws:runPowerShellScript"


def log(name: str) -> str:
    return (LOGS / name).read_text()


def linux_patch(status: str, code: int, stdout: str, stderr: str = "") -> tuple[Step, ...]:
    return (
        Step("PatchLinux", SH, status=status, response_code=code, stdout=stdout, stderr=stderr),
        skipped("PatchWindows", PS, "Windows"),
        skipped("PatchMacOS", SH, "MacOS"),
    )


def windows_patch(status: str, code: int, stdout: str, stderr: str = "") -> tuple[Step, ...]:
    return (
        skipped("PatchLinux", SH, "Linux"),
        Step("PatchWindows", PS, status=status, response_code=code, stdout=stdout, stderr=stderr),
        skipped("PatchMacOS", SH, "MacOS"),
    )


def night(stack: Stack) -> dict[str, InstanceResult]:
    """A patch run on 7 instances: 2 yum locks, a Windows Update failure, a silent log, a timeout."""
    web = stack.instances(4, name="web")
    (win,) = stack.instances(1, windows=True, name="win")
    db, app = stack.instances(2, name="db")
    failed_yum = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    return {
        web[0]: failed_yum,
        web[1]: failed_yum,
        web[2]: InstanceResult(
            "Success", "Success", linux_patch("Success", 0, log("linux_install_success_with_summary.stdout"))
        ),
        web[3]: InstanceResult("TimedOut", "Delivery Timed Out"),
        win: InstanceResult(
            "Failed",
            "Failed",
            windows_patch(
                "Failed",
                -1,
                log("windows_update_search_failed.stdout"),
                log("windows_update_search_failed.stderr"),
            ),
        ),
        db: InstanceResult(
            "Failed", "Failed", linux_patch("Failed", 1, log("linux_no_mirrors.stdout")), logs_reach_s3=False
        ),
        app: InstanceResult(
            "Success", "Success", linux_patch("Success", 0, log("linux_install_success_with_summary.stdout"))
        ),
    }


def play(stack: Stack, outcomes: dict[str, InstanceResult], **options: Any) -> PlayedCommand:
    """Run AWS-RunPatchBaseline (unless told otherwise) on the instances, output to the log bucket."""
    options = {"document_name": "AWS-RunPatchBaseline", "bucket": BUCKET, **options}
    return play_command(ssm=stack.ssm, s3=stack.s3, region=REGION, outcomes=outcomes, **options)


def invoke(app: ModuleType, event: dict[str, Any], remaining_ms: int = 300_000) -> dict[str, Any]:
    return app.handler(event, lambda_context(remaining_ms))  # type: ignore[no-any-return]


def test_one_notification_explains_every_failure(stack: Stack, command_function: ModuleType) -> None:
    played = play(
        stack,
        outcomes=night(stack),
        comment="PatchWithHealthcheck patch",
    )

    result = invoke(command_function, command_event(played, region=REGION))

    (envelope,) = stack.received()
    # Sent by hand (no window execution in its parameters): the document and the UTC date name it,
    # and the worst cause ends the subject.
    assert re.fullmatch(
        r"FAILED AWS-RunPatchBaseline \d{4}-\d\d-\d\d: 5/7 - yum lock held by another process \(pid 2417\)",
        envelope["Subject"],
    ), envelope["Subject"]
    digest = json.loads(envelope["Message"])
    jsonschema.validate(digest, SCHEMA)
    assert digest["counts"] == {
        "targets": 7,
        "succeeded": 2,
        "failed": 4,
        "timed_out": 1,
        "cancelled": 0,
        "other": 0,
    }
    assert [g["count"] for g in digest["groups"]] == [2, 1, 1, 1]
    assert "yum lock" in digest["groups"][0]["reason"]
    failures = {f["instance_name"]: f for g in digest["groups"] for f in g["failures"]}
    assert failures["web-01"]["log"]["source"] == "s3"
    assert failures["web-01"]["log"]["complete"] is True
    assert failures["web-01"]["log"]["links"][0].startswith(f"s3://{BUCKET}/ssm_output/{played.command_id}/")
    assert failures["win-01"]["step"] == "PatchWindows"
    assert "0x80240437" in failures["win-01"]["reason"]
    assert failures["db-01"]["log"]["source"] == "api", "no S3 log: the API's truncated output is used"
    assert any("wrote no log" in n and "s3:PutObject" in n and "db-01" in n for n in digest["notes"])
    # The full report is written for every notification, at a key the window report derives from
    # the command id and status alone, whether or not the message was cut.
    key = f"reports/{played.command_id}/Failed"
    assert result["report_uri"] == f"s3://{BUCKET}/{key}.json"
    assert json.loads(stack.s3.get_object(Bucket=BUCKET, Key=f"{key}.json")["Body"].read())["groups"]
    full_text = stack.s3.get_object(Bucket=BUCKET, Key=f"{key}.txt")["Body"].read().decode()
    assert "web-01" in full_text
    assert failures["web-04"]["status_details"] == "Delivery Timed Out"
    assert failures["web-04"]["step"] is None
    assert result["failed_instances"] == 5


def test_redelivered_event_sends_no_second_message(stack: Stack, command_function: ModuleType) -> None:
    played = play(stack, outcomes=night(stack))
    event = command_event(played, region=REGION)

    first = invoke(command_function, event)
    second = invoke(command_function, {**event, "id": "another-delivery-of-the-same-change"})

    assert len(stack.received()) == 1
    assert second == first


def test_a_different_status_of_the_same_command_is_a_new_message(
    stack: Stack, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))

    invoke(command_function, command_event(played, region=REGION, status="TimedOut"))
    invoke(command_function, command_event(played, region=REGION, status="Failed"))

    received = stack.received()
    assert [json.loads(m["Message"])["status"] for m in received] == ["TimedOut", "Failed"]
    # the night has failed instances: a timed-out command is headed by them, not by its status
    assert [m["Subject"].split()[0] for m in received] == ["FAILED", "FAILED"]


def test_a_command_without_output_bucket_still_notifies(stack: Stack, command_function: ModuleType) -> None:
    played = play(
        stack,
        outcomes=night(stack),
        bucket=None,
    )

    invoke(command_function, command_event(played, region=REGION))

    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    sources = {f["log"]["source"] for g in digest["groups"] for f in g["failures"]}
    assert sources <= {"api", "none"}
    assert any("No output bucket" in note for note in digest["notes"])


def test_a_huge_log_is_read_as_a_bounded_head_and_tail(stack: Stack, command_function: ModuleType) -> None:
    (instance,) = stack.instances(1)
    noise = "".join(
        f"06/11/2024 02:{i // 60 % 60:02d}:{i % 60:02d} root [INFO]: installing package {i}\n"
        for i in range(80_000)
    )
    stdout = noise + "06/11/2024 03:00:00 root [ERROR]: Patch operation failed: disk full\n"
    played = play(
        stack, outcomes={instance: InstanceResult("Failed", "Failed", linux_patch("Failed", 1, stdout))}
    )

    invoke(command_function, command_event(played, region=REGION))

    failure = json.loads(stack.received()[0]["Message"])["groups"][0]["failures"][0]
    assert failure["log"]["bytes_total"] == len(stdout.encode())
    assert failure["log"]["bytes_read"] == HEAD_BYTES + TAIL_BYTES
    assert failure["log"]["complete"] is False
    assert any("disk full" in line for line in failure["excerpt"]), "the cause at the end was read"


def test_many_distinct_failures_are_cut_to_fit_and_the_full_report_is_in_s3(
    stack: Stack, command_function: ModuleType
) -> None:
    ids = stack.instances(400)
    outcomes = {
        instance_id: InstanceResult(
            "Failed",
            "Failed",
            linux_patch(
                "Failed", 1, f"ERROR: custom hook {n} failed: " + "detail " * 200 + "\n" + "context\n" * 50
            ),
        )
        for n, instance_id in enumerate(ids)
    }
    played = play(stack, outcomes=outcomes)

    result = invoke(command_function, command_event(played, region=REGION))

    (envelope,) = stack.received()
    assert len(envelope["Message"].encode()) <= 256 * 1024
    assert result["trimmed"] is True
    report_key = result["report_uri"].removeprefix(f"s3://{BUCKET}/")
    assert report_key.startswith("reports/")
    full = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=report_key)["Body"].read())
    assert full["counts"]["failed"] == 400
    assert sum(len(g["failures"]) for g in full["groups"]) == 400
    assert json.loads(envelope["Message"])["report"] == result["report_uri"]


def test_subscribers_filter_on_document_and_status(stack: Stack, command_function: ModuleType) -> None:
    queue_url = stack.sqs.create_queue(QueueName="healthcheck-only")["QueueUrl"]
    arn = stack.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    stack.sns.subscribe(
        TopicArn=stack.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"kind": ["command"], "document": ["HealthcheckDocument"]})},
    )
    played = play(stack, outcomes=night(stack))

    invoke(command_function, command_event(played, region=REGION))

    assert len(stack.received()) == 1, "the unfiltered subscriber gets it"
    assert stack.sqs.receive_message(QueueUrl=queue_url).get("Messages", []) == [], (
        "the filtered one does not"
    )


def test_a_malformed_event_is_raised_for_retry_and_dead_letter(
    stack: Stack, command_function: ModuleType
) -> None:
    event = load_event("command-failed.json")
    del event["detail"]["command-id"]

    with pytest.raises(InvalidEvent, match="command-id"):
        invoke(command_function, event)
    assert stack.received() == []


def test_an_unknown_command_is_raised_not_swallowed(stack: Stack, command_function: ModuleType) -> None:
    with pytest.raises(CommandNotFound):
        invoke(command_function, load_event("command-failed.json"))
    assert stack.received() == []


@pytest.mark.parametrize(
    "name", sorted(p.name for p in EVENTS.glob("command-*.json") if "success" not in p.name)
)
def test_every_sample_command_event_runs_through_the_handler(
    stack: Stack, command_function: ModuleType, name: str
) -> None:
    event = load_event(name)
    detail = event["detail"]
    instance_ids = [arn.rsplit("/", 1)[1] for arn in event["resources"]]
    ids = stack.instances(len(instance_ids))
    status = detail["status"]
    outcomes = dict(
        zip(
            ids,
            [InstanceResult(status, status, linux_patch(status, 1, log("linux_yum_lock.stdout")))] * len(ids),
            strict=True,
        )
    )
    if detail["document-name"] != "AWS-RunPatchBaseline":
        boto3.client("ssm").create_document(
            Name=detail["document-name"],
            Content=(ROOT / "documents/healthcheck.yaml").read_text(),
            DocumentType="Command",
            DocumentFormat="YAML",
        )
    play(
        stack,
        document_name=detail["document-name"],
        outcomes=outcomes,
        command_id=detail["command-id"],
    )

    result = invoke(command_function, event)

    (envelope,) = stack.received()
    assert envelope["Subject"].startswith(status.upper())
    assert result["failed_instances"] == len(ids)


def succeeded(stack: Stack, count: int) -> dict[str, InstanceResult]:
    return {
        i: InstanceResult(
            "Success", "Success", linux_patch("Success", 0, log("linux_install_success_with_summary.stdout"))
        )
        for i in stack.instances(count)
    }


def test_a_command_that_succeeded_everywhere_is_acknowledged_without_a_message(
    stack: Stack, command_function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    played = play(stack, outcomes=succeeded(stack, 3))

    result = invoke(command_function, command_event(played, region=REGION, status="Success"))

    assert result == {"notified": False, "status": "Success", "why": "every invocation succeeded"}
    assert stack.received() == []
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["Acknowledged"] for m in metrics] == [[1.0]], "counted as checked, nothing to tell"


def test_the_sample_success_event_of_a_command_nobody_knows_is_raised_not_taken_for_success(
    stack: Stack, command_function: ModuleType
) -> None:
    # A Success is checked against ListCommands; a command the API does not know (another
    # region, expired) cannot be called a success: raised, so the failure destination keeps it.
    with pytest.raises(CommandNotFound):
        invoke(command_function, load_event("command-success.json"))
    assert stack.received() == []


def test_a_success_with_failed_invocations_under_max_errors_is_told_as_incomplete(
    stack: Stack, command_function: ModuleType
) -> None:
    # With MaxErrors above 0, a command whose failures stay within it can end Success (or
    # Incomplete): SSM API reference, Command StatusDetails.
    outcomes = succeeded(stack, 8)
    (bad,) = stack.instances(1, name="db")
    outcomes[bad] = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    played = play(stack, outcomes=outcomes, max_errors="25%")

    result = invoke(command_function, command_event(played, region=REGION, status="Success"))

    (envelope,) = stack.received()
    assert re.match(r"INCOMPLETE AWS-RunPatchBaseline \S+: 1/9 - ", envelope["Subject"])
    digest = json.loads(envelope["Message"])
    assert digest["status"] == "Incomplete"
    assert digest["counts"]["failed"] == 1
    assert "yum lock" in digest["groups"][0]["reason"]
    assert result["failed_instances"] == 1


def test_a_success_with_an_unreachable_instance_is_told(stack: Stack, command_function: ModuleType) -> None:
    # Delivery Timed Out invocations do not count against MaxErrors but keep the command from
    # being a plain Success (SSM API reference, CommandInvocation StatusDetails).
    outcomes = succeeded(stack, 4)
    (offline,) = stack.instances(1, name="offline")
    outcomes[offline] = InstanceResult("TimedOut", "Delivery Timed Out")
    played = play(stack, outcomes=outcomes, max_errors="25%")

    invoke(command_function, command_event(played, region=REGION, status="Success"))

    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    assert digest["counts"]["timed_out"] == 1
    assert "delivery" in digest["groups"][0]["reason"].lower()


@pytest.mark.parametrize("status", ["Incomplete", "DeliveryTimedOut", "AccessDenied", "No Instances In Tag"])
def test_a_status_the_product_does_not_know_is_told_when_the_api_shows_a_failure(
    stack: Stack, command_function: ModuleType, status: str
) -> None:
    # Statuses AWS's multi-account patch-reporting sample matches on; whether EventBridge sends
    # them is not documented (aws-ssm-facts.md, section 1).
    played = play(stack, outcomes=night(stack))

    invoke(command_function, command_event(played, region=REGION, status=status))

    (envelope,) = stack.received()
    assert re.match(rf"{status.upper()} AWS-RunPatchBaseline \S+: 5/7 - ", envelope["Subject"])


def test_a_status_the_product_does_not_know_is_acknowledged_when_the_api_shows_success(
    stack: Stack, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=succeeded(stack, 2))

    result = invoke(command_function, command_event(played, region=REGION, status="Exploded"))

    assert result["notified"] is False
    assert stack.received() == []


def test_a_command_that_reached_no_instance_is_told(stack: Stack, command_function: ModuleType) -> None:
    played = play(stack, outcomes={})

    invoke(command_function, command_event(played, region=REGION, status="Success"))

    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    assert digest["counts"]["targets"] == 0
    assert digest["notes"][0].startswith("The command reached no instance (TargetCount 0)")


def test_short_on_time_publishes_a_partial_digest_that_says_so(
    stack: Stack, command_function: ModuleType
) -> None:
    played = play(stack, outcomes=night(stack))

    invoke(command_function, command_event(played, region=REGION), remaining_ms=5_000)

    digest = json.loads(stack.received()[0]["Message"])
    assert digest["partial"] is True
    assert any(note.startswith("Partial digest") for note in digest["notes"])
    assert digest["counts"]["failed"] == 4, "counts never depend on the logs"


def test_a_schema_1_2_document_finds_its_numbered_step_folder(
    stack: Stack, command_function: ModuleType
) -> None:
    (instance,) = stack.instances(1)
    played = play(
        stack,
        document_name="AWS-RunShellScript",
        outcomes={
            instance: InstanceResult(
                "Failed",
                "Failed",
                (Step("aws:runShellScript", "aws:runShellScript", "Failed", 2, "", "boom: no such file\n"),),
            )
        },
    )

    invoke(command_function, command_event(played, region=REGION))

    assert any("/0.awsrunShellScript/stderr" in key for key in played.keys_written)
    failure = json.loads(stack.received()[0]["Message"])["groups"][0]["failures"][0]
    assert failure["log"]["source"] == "s3"
    assert "boom: no such file" in failure["excerpt"]


def test_the_second_night_says_what_recurs_and_what_was_fixed(
    stack: Stack, command_function: ModuleType
) -> None:
    # Given the night's patch run, then the next night's on the same instances, where one of the
    # two yum locks is gone (its instance patched cleanly) and everything else failed again
    first = night(stack)
    invoke(command_function, command_event(play(stack, outcomes=first), region=REGION))
    (first_envelope,) = stack.received()
    fixed_id = list(first)[1]  # night(): web[0] and web[1] both failed on the yum lock
    clean = InstanceResult(
        "Success", "Success", linux_patch("Success", 0, log("linux_install_success_with_summary.stdout"))
    )
    second = {**first, fixed_id: clean}

    # When the second night's command is told
    played = play(stack, outcomes=second)
    invoke(command_function, command_event(played, region=REGION))
    (envelope,) = stack.received()

    # Then the first night had nothing to compare with, and the second names each cause's streak
    # and the instance fixed since
    assert json.loads(first_envelope["Message"])["history"]["first_run"] is True
    digest = json.loads(envelope["Message"])
    jsonschema.validate(digest, SCHEMA)
    history = digest["history"]
    assert history["available"] is True
    assert history["first_run"] is False
    assert [f["instance_id"] for f in history["fixed"]] == [fixed_id]
    assert history["fixed_count"] == 1
    lines = {g["signature"]: g["line"] for g in history["groups"]}
    assert set(lines.values()) == {"2nd night in a row"}, lines
    assert digest["counts"]["failed"] == 3
    # The e-mail (as the full report's text keeps it) says so on each cause and under the counts
    report = stack.s3.get_object(Bucket=BUCKET, Key=f"reports/{played.command_id}/Failed.txt")
    text = report["Body"].read().decode()
    assert "(2nd night in a row)" in text
    assert "fixed since the last run: 1 instance (web-" in text


def test_each_failed_patch_run_shows_its_instances_patch_state(
    stack: Stack, command_function: ModuleType
) -> None:
    # Given yesterday's clean run on web-01 (its summary left a patch state), then tonight's run
    # where web-01 fails on a yum lock before any summary (its state stays yesterday's) and web-02
    # reboots with 2 failed patches after printing its summary (tonight's state)
    web = stack.instances(2, name="web")
    clean = InstanceResult(
        "Success", "Success", linux_patch("Success", 0, log("linux_install_success_with_summary.stdout"))
    )
    play(stack, outcomes={web[0]: clean}, finished=datetime.now(UTC) - timedelta(days=1))
    yum_lock = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    rebooted = InstanceResult(
        "Failed", "Failed", linux_patch("Failed", 195, log("linux_reboot_with_failures.stdout"))
    )

    # When tonight's command is told
    played = play(stack, outcomes={web[0]: yum_lock, web[1]: rebooted})
    invoke(command_function, command_event(played, region=REGION))

    # Then each failure carries its instance's state as DescribeInstancePatchStates gives it
    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    jsonschema.validate(digest, SCHEMA)
    states = {f["instance_id"]: f["patch_state"] for g in digest["groups"] for f in g["failures"]}
    assert states[web[0]]["current"] is False, "yesterday's state, not tonight's"
    assert states[web[1]]["current"] is True
    assert (states[web[1]]["failed"], states[web[1]]["installed_pending_reboot"]) == (2, 3)
    # and the e-mail says tonight's state, and yesterday's for the instance whose log printed none
    text = (
        stack.s3.get_object(Bucket=BUCKET, Key=f"reports/{played.command_id}/Failed.txt")["Body"]
        .read()
        .decode()
    )
    assert "patch state: installed 388, missing 0, failed 2, pending reboot 3" in text
    assert re.search(r"last patch state \(\d{4}-\d\d-\d\d \d\d:\d\d UTC, not this run's\): installed", text)


def test_a_history_that_cannot_be_read_is_a_note_and_the_message_is_sent(
    stack: Stack, command_function: ModuleType
) -> None:
    # Given a history table that is gone (deleted by hand, or a wrong name)
    stack.dynamodb.delete_table(TableName=HISTORY)

    # When a failed command is told
    invoke(command_function, command_event(play(stack, outcomes=night(stack)), region=REGION))

    # Then the message is sent and says that history is unavailable
    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    assert digest["history"]["available"] is False
    assert digest["history"]["lines"] == ["history unavailable (ResourceNotFoundException)"]
