"""Hostile logs, odd events and secrets through the real command handler on moto + our SSM stand-in.

Logs are the raw bytes the agent could upload (invalid UTF-8, NUL, ANSI, 10 MB single lines, CRLF,
UTF-16 and latin-1), written over the objects the simulator stored. Every published body is read
back from moto's topic (`sent_notifications` holds the whole MessageStructure=json message:
e-mail text, chat JSON, digest JSON, subject), and the full report from S3 when one is written.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import jsonschema
import pytest
from moto.sns.models import sns_backends

from instance_hygiene.aws.accounts import AccountRejected
from instance_hygiene.digest.logs import HEAD_BYTES, TAIL_BYTES
from instance_hygiene.events import InvalidEvent
from instance_hygiene.render.chat import CustomNotification
from local.fleet_sim import ACCOUNT, InstanceResult, Step, command_event, play_command
from tests.support.events import BAD_EVENTS
from tests.support.logs import HOSTILE_LOGS
from tests.support.stack import BUCKET, REGION, Stack, lambda_context

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
SECRET_CASES: list[dict[str, Any]] = json.loads(
    (ROOT / "tests" / "fixtures" / "secrets" / "cases.json").read_text()
)
SH = "aws:runShellScript"
PLACEHOLDER = "placeholder: replaced by raw bytes\n"


def shell_step(stdout: str = "", stderr: str = "", code: int = 1) -> tuple[Step, ...]:
    return (Step(SH, SH, status="Failed", response_code=code, stdout=stdout, stderr=stderr),)


def play(stack: Stack, outcomes: dict[str, InstanceResult], **options: Any) -> Any:
    options = {"document_name": "AWS-RunShellScript", "bucket": BUCKET, **options}
    return play_command(ssm=stack.ssm, s3=stack.s3, region=REGION, outcomes=outcomes, **options)


def invoke(app: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return app.handler(event, lambda_context())  # type: ignore[no-any-return]


def published(stack: Stack) -> list[dict[str, Any]]:
    """Every message the handler published: subject and each protocol's body."""
    topic = sns_backends[ACCOUNT][REGION].topics[stack.topic_arn]
    messages = []
    for _, message, subject, _, _ in topic.sent_notifications:
        bodies = json.loads(message)
        messages.append({"subject": subject, "raw": message, **bodies})
    return messages


def the_message(stack: Stack) -> dict[str, Any]:
    (message,) = published(stack)
    assert len(message["raw"].encode("utf-8")) <= 256 * 1024
    digest = json.loads(message["default"])
    jsonschema.validate(digest, SCHEMA)
    chat = CustomNotification.model_validate_json(message["https"])  # else the channel drops it
    return {**message, "digest": digest, "chat": chat}


def key_of(played: Any, instance_id: str, stream: str) -> str:
    (key,) = [k for k in played.keys_written if f"/{instance_id}/" in k and k.endswith(f"/{stream}")]
    return key


# --------------------------------------------------------------------------- hostile logs


def test_hostile_logs_each_end_in_a_correct_failure_of_one_digest(
    stack: Stack, command_function: ModuleType
) -> None:
    ids = stack.instances(len(HOSTILE_LOGS))
    outcomes = {
        instance_id: InstanceResult(
            "Failed",
            "Failed",
            shell_step(**{log.stream: PLACEHOLDER}),
        )
        for instance_id, log in zip(ids, HOSTILE_LOGS, strict=True)
    }
    played = play(stack, outcomes)
    sizes = {}
    for instance_id, log in zip(ids, HOSTILE_LOGS, strict=True):
        data = log.build()
        sizes[instance_id] = len(data)
        stack.s3.put_object(Bucket=BUCKET, Key=key_of(played, instance_id, log.stream), Body=data)

    result = invoke(command_function, command_event(played, region=REGION))

    message = the_message(stack)
    digest = message["digest"]
    assert digest["counts"] == {
        "targets": len(ids),
        "succeeded": 0,
        "failed": len(ids),
        "timed_out": 0,
        "cancelled": 0,
        "other": 0,
    }
    assert result["failed_instances"] == len(ids)
    failures = {f["instance_id"]: f for g in digest["groups"] for f in g["failures"]}
    for instance_id, log in zip(ids, HOSTILE_LOGS, strict=True):
        failure = failures[instance_id]
        assert log.reason.lower() in failure["reason"].lower(), (log.name, failure["reason"])
        if log.excerpt is not None:
            assert any(log.excerpt in line for line in failure["excerpt"]), (log.name, failure["excerpt"])
        assert failure["log"]["source"] == "s3", log.name
        assert failure["log"]["bytes_total"] == sizes[instance_id], log.name
        assert failure["log"]["bytes_read"] <= HEAD_BYTES + TAIL_BYTES, log.name
        for text in (failure["reason"], *failure["excerpt"]):
            assert not [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0], (log.name, text)
    assert f"failed {len(ids)}, timed out 0" in message["email"]
    # Its exact wording is test_command.py's; here: the worst status and document come first.
    assert message["subject"].startswith("FAILED AWS-RunShellScript")
    chat = message["chat"]
    assert f": {len(ids)} of {len(ids)} instances did not succeed" in chat.content.description.splitlines()[0]
    assert chat.metadata is not None
    assert chat.metadata.threadId == (digest["window_execution_id"] or played.command_id)
    for text in (chat.content.title or "", chat.content.description, *(chat.content.nextSteps or [])):
        assert not [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0], text
        assert text.count("`") % 2 == 0, text


# --------------------------------------------------------------------------- odd events


def test_every_invalid_command_event_is_raised_and_nothing_is_published(
    stack: Stack, command_function: ModuleType
) -> None:
    invalid = [case for case in BAD_EVENTS if case.parser == "command" and case.expect != "parses"]
    assert len(invalid) >= 30

    for case in invalid:
        with pytest.raises(InvalidEvent, match=re.escape(f": {case.expect}: ")):
            invoke(command_function, case.event())

    assert published(stack) == []


def test_an_event_from_another_region_is_read_in_its_region(
    stack: Stack, command_function: ModuleType
) -> None:
    # EventBridge only forwards another region's events when someone routes them to this bus.
    # The command is then read where it ran; the message goes to this stack's topic.
    elsewhere = "us-east-1"
    ssm_elsewhere = boto3.client("ssm", region_name=elsewhere)
    (instance,) = stack.instances(1)
    played = play_command(
        ssm=ssm_elsewhere,
        s3=stack.s3,
        region=elsewhere,
        document_name="AWS-RunShellScript",
        outcomes={instance: InstanceResult("Failed", "Failed", shell_step("ERROR: boom\n"))},
        bucket=BUCKET,
    )

    invoke(command_function, command_event(played, region=elsewhere))

    (message,) = published(stack)
    digest = json.loads(message["default"])
    assert (digest["command_id"], digest["region"]) == (played.command_id, elsewhere)
    assert digest["counts"]["failed"] == 1


def test_an_event_from_another_account_is_raised_for_the_dead_letter_queue(
    stack: Stack, command_function: ModuleType
) -> None:
    # Only a cross-account bus permission would deliver it; outside the central role (the stack's
    # default is single) another account is never read: rejected before any read.
    event = command_event(
        play(stack, {i: InstanceResult("Failed", "Failed", shell_step("x\n")) for i in stack.instances(1)}),
        region=REGION,
    )
    event = {
        **event,
        "account": "210987654321",
        "detail": {**event["detail"], "command-id": str(uuid.uuid4())},
    }

    with pytest.raises(
        AccountRejected, match=r"account 210987654321, region eu-west-2, command .*not central"
    ):
        invoke(command_function, event)
    assert published(stack) == []


def test_an_event_with_10mb_of_parameters_gives_one_ordinary_digest(
    stack: Stack, command_function: ModuleType
) -> None:
    (instance,) = stack.instances(1)
    played = play(stack, {instance: InstanceResult("Failed", "Failed", shell_step("E: broken package\n"))})
    event = command_event(played, region=REGION, parameters={"commands": ["x" * (10 * 1024 * 1024)]})

    invoke(command_function, event)

    message = the_message(stack)
    assert message["digest"]["groups"][0]["reason"] == "E: broken package"
    assert len(message["raw"]) < 10_000, "parameters are never rendered"


def test_an_upper_case_command_id_is_read_and_deduplicated_in_lower_case(
    stack: Stack, command_function: ModuleType
) -> None:
    (instance,) = stack.instances(1)
    played = play(stack, {instance: InstanceResult("Failed", "Failed", shell_step("E: broken package\n"))})
    event = command_event(played, region=REGION)
    shouting = {
        **event,
        "id": "another-delivery",
        "detail": {**event["detail"], "command-id": played.command_id.upper()},
    }

    invoke(command_function, shouting)
    invoke(command_function, event)

    (message,) = published(stack)
    assert json.loads(message["default"])["command_id"] == played.command_id


def test_a_non_terminal_status_is_acknowledged_without_a_message(
    stack: Stack, command_function: ModuleType
) -> None:
    (instance,) = stack.instances(1)
    played = play(stack, {instance: InstanceResult("Failed", "Failed", shell_step("x\n"))})

    result = invoke(command_function, command_event(played, region=REGION, status="InProgress"))

    assert (result["notified"], result["status"]) == (False, "InProgress")
    assert published(stack) == []


# --------------------------------------------------------------------------- secrets


def as_log(case: dict[str, Any], where: str) -> str:
    text = case["text"]
    if "\n" in text:
        return f"{where}: starting\n{text}\nERROR: the step above failed in {where}\n"
    return f"{where}: starting\nERROR: {text}\nfailed to run commands: exit status 1\n"


def word(n: int) -> str:
    """A distinct word per number (numbers are normalised away in group signatures)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return letters[n % 26] + letters[n // 26 % 26] + letters[n // 676 % 26]


def filler_log(n: int) -> str:
    """A failure of its own kind with eight long, distinct error lines (a big excerpt)."""
    return "".join(f"ERROR: hook {word(n)} stage {word(k)}: " + "detail " * 60 + "\n" for k in range(8))


def all_secrets() -> list[str]:
    return [secret for case in SECRET_CASES for secret in case["secrets"]]


def test_no_secret_of_the_corpus_reaches_any_body_nor_the_full_report(
    stack: Stack, command_function: ModuleType
) -> None:
    # Each case twice: logs in S3 (in stdout and stderr), and logs that never reached S3 (the
    # API's 2,500-character output is used). Distinct filler failures force a cut message, so
    # the full report is written to S3 too. One instance's Name tag holds a password.
    in_s3 = stack.instances(len(SECRET_CASES), name="s3")
    api_only = stack.instances(len(SECRET_CASES), name="api")
    filler = stack.instances(120, name="filler")
    stack.ec2.create_tags(
        Resources=[in_s3[0]], Tags=[{"Key": "Name", "Value": "db password=Tag-Secret-4321"}]
    )
    outcomes = {}
    for case, s3_instance, api_instance in zip(SECRET_CASES, in_s3, api_only, strict=True):
        outcomes[s3_instance] = InstanceResult(
            "Failed", "Failed", shell_step(stdout=as_log(case, "stdout"), stderr=as_log(case, "stderr"))
        )
        outcomes[api_instance] = InstanceResult(
            "Failed",
            "Failed",
            shell_step(stdout=as_log(case, "stdout"), stderr=as_log(case, "stderr")),
            logs_reach_s3=False,
        )
    for n, instance in enumerate(filler):
        outcomes[instance] = InstanceResult("Failed", "Failed", shell_step(filler_log(n)))
    played = play(stack, outcomes)

    result = invoke(command_function, command_event(played, region=REGION))

    message = the_message(stack)
    assert result["trimmed"] is True
    report_key = result["report_uri"].removeprefix(f"s3://{BUCKET}/").removesuffix(".json")
    report_json = stack.s3.get_object(Bucket=BUCKET, Key=f"{report_key}.json")["Body"].read().decode()
    report_text = stack.s3.get_object(Bucket=BUCKET, Key=f"{report_key}.txt")["Body"].read().decode()
    full = json.loads(report_json)
    assert full["counts"]["failed"] == len(outcomes)
    bodies = {
        "subject": message["subject"],
        "sns message": message["raw"],
        "report json": report_json,
        "report text": report_text,
    }
    leaked = [
        (where, s) for s in [*all_secrets(), "Tag-Secret-4321"] for where, body in bodies.items() if s in body
    ]
    assert leaked == []
    shown = [line for g in full["groups"] for f in g["failures"] for line in (f["reason"], *f["excerpt"])]
    assert sum("[REDACTED" in line for line in shown) >= len(SECRET_CASES), (
        "the redacted lines are what is shown"
    )
    sources = {f["log"]["source"] for g in full["groups"] for f in g["failures"]}
    assert sources == {"s3", "api"}


SECRET_KEY = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbQrSwXvYzKj"
GITHUB_TOKEN = "ghp_Kq7Wm2Rx9Tz4Lp6Vn8Bc3Hd5Jf1Gs0Ya8UeQ"
LARGE = 300_000
POSITIONS = {
    "head": 200,
    "across-head-end": HEAD_BYTES - 30,
    "tail": LARGE - 600,
    "across-tail-start": LARGE - TAIL_BYTES - 25,
}


def large_log(position: int, secret_line: bytes, *, single_line: bool) -> bytes:
    line = b"06/11/2024 02:00:00 root [INFO]: working\n"
    before = (line * (position // len(line) + 1))[:position]
    after = (line * (LARGE // len(line) + 1))[: LARGE - position]
    data = before + secret_line + after + b"ERROR: the run failed\n"
    return data.replace(b"\n", b" ") + b"\n" if single_line else data


def test_secrets_in_large_logs_never_show_whole_or_in_part_wherever_the_reads_cut_them(
    stack: Stack, command_function: ModuleType
) -> None:
    layouts = [
        (where, single, stream, secret, secret_line)
        for where in POSITIONS
        for single in (False, True)
        for stream in ("stdout", "stderr")
        for secret, secret_line in (
            (SECRET_KEY, f" AKIAIOSFODNN7EXAMPLE,{SECRET_KEY}\n".encode()),
            (GITHUB_TOKEN, f" using token {GITHUB_TOKEN} for git\n".encode()),
        )
    ]
    ids = stack.instances(len(layouts))
    played = play(
        stack,
        {
            i: InstanceResult("Failed", "Failed", shell_step(**{layout[2]: PLACEHOLDER}))
            for i, layout in zip(ids, layouts, strict=True)
        },
    )
    for instance_id, (where, single, stream, _, secret_line) in zip(ids, layouts, strict=True):
        data = large_log(POSITIONS[where], secret_line, single_line=single)
        stack.s3.put_object(Bucket=BUCKET, Key=key_of(played, instance_id, stream), Body=data)

    invoke(command_function, command_event(played, region=REGION))

    raw = the_message(stack)["raw"]
    for secret in (SECRET_KEY, GITHUB_TOKEN):
        fragments = {secret[start : start + 10] for start in range(len(secret) - 9)}
        assert [f for f in fragments if f in raw] == [], secret
    assert "ERROR: the run failed" in raw, "the logs were read"


# What a Name tag can hold: one line of at most 256 characters, nothing XML cannot carry (EC2's
# API answers in XML 1.0, which has no control characters).
ONE_LINE_CASES = [
    case
    for case in SECRET_CASES
    if len(case["text"]) <= 256 and not re.search("[\x00-\x1f\x7f-\x9f]", case["text"])
]


def test_secrets_in_the_comment_the_name_tags_and_the_key_prefix_reach_no_body_report_or_log_line(
    stack: Stack, command_function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given one-line secrets where SendCommand's caller and the instances' owners put text: every
    # Name tag holds one case, the command's Comment and its output key prefix another
    instances = stack.instances(len(ONE_LINE_CASES), name="tagged")
    for case, instance in zip(ONE_LINE_CASES, instances, strict=True):
        stack.ec2.create_tags(Resources=[instance], Tags=[{"Key": "Name", "Value": case["text"]}])
    comment_secret = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id
    prefix_secret = "ghp_Kq7Wm2Rx9Tz4Lp6Vn8Bc3Hd5Jf1Gs0Ya8UeQ"
    outcomes = {
        instance: InstanceResult("Failed", "Failed", shell_step(filler_log(n)))
        for n, instance in enumerate(instances)
    }
    played = play(
        stack, outcomes, comment=f"patch key {comment_secret}", prefix=f"out/token={prefix_secret}/"
    )
    capsys.readouterr()

    # When the real handler tells it (a cut message: the full report is written to S3 too)
    result = invoke(command_function, command_event(played, region=REGION))

    # Then no secret is in the message, the full report or the function's own log lines
    message = the_message(stack)
    bodies = {
        "subject": message["subject"],
        "sns message": message["raw"],
        "log lines": capsys.readouterr().out,
    }
    if result.get("report_uri"):
        key = result["report_uri"].removeprefix(f"s3://{BUCKET}/").removesuffix(".json")
        for suffix in (".json", ".txt"):
            bodies[f"report {suffix}"] = (
                stack.s3.get_object(Bucket=BUCKET, Key=f"{key}{suffix}")["Body"].read().decode()
            )
    secrets = [comment_secret, prefix_secret, *(s for case in ONE_LINE_CASES for s in case["secrets"])]
    assert [(where, s) for s in secrets for where, body in bodies.items() if s in body] == []
    assert "[REDACTED" in message["subject"] or "[REDACTED" in message["email"]
