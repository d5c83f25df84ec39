"""hygiene_cli: `hygiene notify-test` publishes one labelled sample to the topic (moto in process).

The sample is the catalogue's yum-lock rule on its public example log (NethServer/dev#5667, in
explain/catalogue/dnf_yum.toml); the stack is the template's own NotificationTopicArn output.
moto runs in process (no socket); the credential and connection failures are botocore's own,
with the unit tests' socket guard standing in for an unreachable endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import jsonschema
import pytest
from moto import mock_aws

from hygiene_cli.main import AWS_ERROR_EXIT, main
from hygiene_cli.notify_test import (
    SAMPLE_RULE,
    TEST_COMMENT,
    TOPIC_OUTPUT,
    labelled_rendering,
    sample_digest,
)
from instance_hygiene.explain.rules import builtin_catalogue
from instance_hygiene.render.chat import CustomNotification
from instance_hygiene.render.command import SUBJECT_MAX, message_bytes
from local.template import raw_template

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REGION = "eu-west-2"
ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())

# The plugin warns each time it refuses a socket; in the connection test the refusal is the point.
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")


def queue(
    sqs: SQSClient, sns: Any, topic_arn: str, name: str, filter_policy: dict[str, Any] | None = None
) -> str:
    """A queue subscribed to the topic (SNS envelope, optionally a filter on message attributes)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def received(sqs: SQSClient, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def message_id(out: str) -> str:
    line = out.strip().splitlines()[-1]
    assert line.startswith("MessageId: ")
    return line.removeprefix("MessageId: ")


# --------------------------------------------------------------------------- the sample


def test_given_the_sample_when_rendered_then_every_rendering_says_test_and_explains_a_real_rule() -> None:
    # Given
    rule = next(r for r in builtin_catalogue().rules if r.id == SAMPLE_RULE)
    digest = sample_digest(region=REGION, command_id="test-0", local_date="2026-03-27")

    # When
    rendered = labelled_rendering(digest)

    # Then the failure is the rule's, from its public example
    assert [failure.rule for group in digest.groups for failure in group.failures] == [SAMPLE_RULE]
    assert digest.groups[0].reason.startswith("yum lock held by another process")
    assert rule.examples[0].source in digest.notes[0]
    # and each rendering is labelled
    assert rendered.subject.startswith("TEST FAILED AWS-RunPatchBaseline")
    assert len(rendered.subject) <= SUBJECT_MAX
    first_line = rendered.text.splitlines()[0]
    assert TEST_COMMENT in first_line
    assert "Note: This is a TEST notification" in rendered.text
    chat = CustomNotification.model_validate_json(rendered.chat)
    assert (chat.content.title or "").startswith("TEST ")
    assert "TEST notification" in chat.content.description
    machine = json.loads(rendered.machine)
    jsonschema.validate(machine, SCHEMA)
    assert machine["comment"] == TEST_COMMENT
    assert message_bytes(rendered) < 262_144
    body = json.loads(rendered.sns_message())
    assert body["sms"] == rendered.subject
    assert body["email"] == rendered.text


# --------------------------------------------------------------------------- publishing


def test_given_a_topic_with_queues_when_notify_test_runs_then_one_test_message_arrives_with_kind_test(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a topic, an unfiltered queue, one filtered on kind=test and one on kind=command
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="instance-hygiene-notifications")["TopicArn"]
    every = queue(sqs, sns, topic_arn, "every")
    tests = queue(sqs, sns, topic_arn, "tests", {"kind": ["test"]})
    commands = queue(sqs, sns, topic_arn, "commands", {"kind": ["command"]})

    # When
    code = main(["notify-test", "--topic-arn", topic_arn])

    # Then
    assert code == 0
    published = message_id(capsys.readouterr().out)
    [envelope] = received(sqs, every)
    assert envelope["MessageId"] == published
    assert envelope["Subject"].startswith("TEST ")
    digest = json.loads(envelope["Message"])  # the "default" body: the digest JSON
    jsonschema.validate(digest, SCHEMA)
    assert digest["comment"] == TEST_COMMENT
    assert digest["command_id"].startswith("test-")
    assert digest["region"] == REGION
    assert [e["MessageId"] for e in received(sqs, tests)] == [published]
    assert received(sqs, commands) == []


def test_given_the_stack_when_notify_test_reads_its_output_then_it_publishes_to_that_topic(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack with the template's own topic output (and a bare topic behind it)
    outputs = raw_template()["Outputs"]
    assert outputs[TOPIC_OUTPUT]["Value"] == {"Ref": "NotificationTopic"}
    # (without its Condition: the output exists where the notifier runs, and this stack declares none)
    output = {key: value for key, value in outputs[TOPIC_OUTPUT].items() if key != "Condition"}
    template = {
        "Resources": {"NotificationTopic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {TOPIC_OUTPUT: output},
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="instance-hygiene", TemplateBody=json.dumps(template))
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    [topic_arn] = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    every = queue(sqs, sns, topic_arn, "every")

    # When
    code = main(["notify-test", "--stack-name", "instance-hygiene", "--region", REGION])

    # Then
    assert code == 0
    out = capsys.readouterr().out
    assert f"published to {topic_arn}: TEST " in out
    assert [e["MessageId"] for e in received(sqs, every)] == [message_id(out)]


def test_given_a_stack_without_the_output_when_notify_test_runs_then_it_is_a_usage_error(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"Other": {"Value": "x"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="other", TemplateBody=json.dumps(template)
    )

    assert main(["notify-test", "--stack-name", "other"]) == 2
    assert f"stack other has no {TOPIC_OUTPUT} output (outputs: Other)" in capsys.readouterr().err


# --------------------------------------------------------------------------- AWS errors: exit 3


def test_given_a_topic_that_does_not_exist_when_notify_test_runs_then_it_exits_3(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["notify-test", "--topic-arn", f"arn:aws:sns:{REGION}:123456789012:missing"])

    assert code == AWS_ERROR_EXIT == 3
    assert "AWS error" in capsys.readouterr().err


def test_given_a_stack_that_does_not_exist_when_notify_test_runs_then_it_exits_3(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["notify-test", "--stack-name", "absent"]) == AWS_ERROR_EXIT
    assert "absent" in capsys.readouterr().err


def test_given_no_credentials_when_notify_test_runs_then_it_exits_3(
    no_aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["notify-test", "--topic-arn", f"arn:aws:sns:{REGION}:123456789012:topic"])

    assert code == AWS_ERROR_EXIT
    assert "Unable to locate credentials" in capsys.readouterr().err


def test_given_an_unreachable_endpoint_when_notify_test_runs_then_it_exits_3(
    unreachable_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given credentials but no way out (unreachable_aws): when
    code = main(["notify-test", "--topic-arn", f"arn:aws:sns:{REGION}:123456789012:topic"])

    # Then botocore's own connection failure is reported as an AWS error
    assert code == AWS_ERROR_EXIT
    assert "AWS error: An HTTP Client raised an unhandled exception" in capsys.readouterr().err


# --------------------------------------------------------------------------- usage errors: exit 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["notify-test"], "one of the arguments --topic-arn --stack-name is required", id="no-topic"
        ),
        pytest.param(
            ["notify-test", "--topic-arn", "a", "--stack-name", "b"], "not allowed with argument", id="both"
        ),
        pytest.param(["notify-test", "--topic-arn", "my-topic"], "not an SNS topic ARN", id="not-an-arn"),
        pytest.param(
            ["notify-test", "--topic-arn", f"arn:aws:sqs:{REGION}:123456789012:q"],
            "not an SNS topic ARN",
            id="a-queue-arn",
        ),
        pytest.param(
            ["notify-test", "--topic-arn", f"arn:aws:sns:{REGION}:123456789012:t", "--region", "us-east-1"],
            f"the topic is in {REGION}, not in --region us-east-1",
            id="other-region",
        ),
    ],
)
def test_given_bad_arguments_when_notify_test_runs_then_it_is_a_usage_error(
    argv: list[str], message: str, no_aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_given_an_unknown_profile_when_notify_test_runs_then_it_is_a_usage_error(
    no_aws_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["notify-test", "--topic-arn", f"arn:aws:sns:{REGION}:123456789012:t", "--profile", "nope"])

    assert code == 2
    assert "nope" in capsys.readouterr().err


def test_given_a_stack_and_no_region_anywhere_when_notify_test_runs_then_it_is_a_usage_error(
    no_aws_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)

    assert main(["notify-test", "--stack-name", "instance-hygiene"]) == 2
    assert "region" in capsys.readouterr().err.lower()


# --------------------------------------------------------------------------- the template's subscriptions


def test_the_templates_own_topic_subscriptions_do_not_filter_out_kind_test() -> None:
    """The test message reaches what the template subscribes (no filter policy on its topic's
    subscriptions); a subscription a user adds with {"kind": ["command"]} would drop it."""
    resources = raw_template()["Resources"]
    subscriptions = [
        resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::SNS::Subscription"
        and resource["Properties"].get("TopicArn") == {"Ref": "NotificationTopic"}
    ]
    assert subscriptions
    for properties in subscriptions:
        policy = properties.get("FilterPolicy")
        assert policy is None or "test" in json.dumps(policy.get("kind", ["test"]))
