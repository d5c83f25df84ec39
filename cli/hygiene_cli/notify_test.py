"""`hygiene notify-test`: one labelled sample notification, to check a topic's subscriptions.

The sample is a real digest, through the product's own path: the public example log of a
catalogue rule (`SAMPLE_RULE`, the yum lock held by another process) is summarised by
`summarise_failure`, grouped, fitted and rendered like a night's failure, then published with
`aws.publish.publish`. Its subject starts with "TEST", its comment and first note say that
nothing failed, its command id starts with `test-` and its `kind` attribute is "test".
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

from hygiene_cli.stack import MissingOutputError, stack_output
from instance_hygiene.aws.publish import publish
from instance_hygiene.digest.model import (
    CommandDigest,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
)
from instance_hygiene.explain.rules import builtin_catalogue
from instance_hygiene.explain.summarise import StreamText, summarise_failure
from instance_hygiene.render.command import Rendered, fit, safe_subject

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_sns import SNSClient

__all__ = [
    "SAMPLE_RULE",
    "TOPIC_OUTPUT",
    "NotifyTestError",
    "PublishedSample",
    "labelled_rendering",
    "sample_digest",
    "send_test_notification",
    "topic_from_stack",
    "topic_region",
]

SAMPLE_RULE: Final = "dnf_yum.lock-held"
SAMPLE_DOCUMENT: Final = "AWS-RunPatchBaseline"
SAMPLE_STEP: Final = "PatchLinux"
SAMPLE_INSTANCE: Final = "i-0a1b2c3d4e5f60001"
"""The first instance of events/command-failed.json, the project's sample event."""
TOPIC_OUTPUT: Final = "NotificationTopicArn"
"""The template's output naming the notification topic."""
TEST_COMMENT: Final = "TEST notification from hygiene notify-test: nothing failed"

_TOPIC_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:sns:(?P<region>[a-z]{2,4}(?:-[a-z]{2,5})?-[a-z]{2,10}-[0-9]{1,2})"
    r":[0-9]{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?"
)


class NotifyTestError(ValueError):
    """The topic could not be determined from what was given; reported as a usage error."""


@dataclass(frozen=True)
class PublishedSample:
    """What was published: the SNS message id and the subject it carried."""

    message_id: str
    subject: str
    topic_arn: str


def topic_region(topic_arn: str) -> str:
    """The region of an SNS topic ARN; NotifyTestError when it is not one."""
    match = _TOPIC_ARN.fullmatch(topic_arn)
    if match is None:
        raise NotifyTestError(f"not an SNS topic ARN: {topic_arn!r} (arn:aws:sns:REGION:ACCOUNT:NAME)")
    return match.group("region")


def topic_from_stack(cloudformation: CloudFormationClient, stack_name: str) -> str:
    """The stack's `NotificationTopicArn` output (ClientError when there is no such stack)."""
    try:
        topic = stack_output(cloudformation, stack_name, TOPIC_OUTPUT)
    except MissingOutputError as error:
        raise NotifyTestError(str(error)) from None
    topic_region(topic)
    return topic


def sample_digest(*, region: str, command_id: str, local_date: str | None = None) -> CommandDigest:
    """One failed instance whose log is the first public example of `SAMPLE_RULE`."""
    rule = next((r for r in builtin_catalogue().rules if r.id == SAMPLE_RULE), None)
    if rule is None or not rule.examples:
        raise LookupError(f"the catalogue has no example for {SAMPLE_RULE}")
    example = rule.examples[0]
    log = example.log.strip("\n") + "\n"
    summary = summarise_failure(
        document_name=SAMPLE_DOCUMENT,
        status="Failed",
        status_details="Failed",
        step=SAMPLE_STEP,
        response_code=1,
        stdout=StreamText(head=log),
        stderr=None,
    )
    failure = Failure(
        instance_id=SAMPLE_INSTANCE,
        instance_name="notify-test-sample",
        platform="Linux",
        status="Failed",
        status_details="Failed",
        step=SAMPLE_STEP,
        reason=summary.reason,
        exit_code=summary.exit_code,
        exit_meaning=summary.exit_meaning,
        excerpt=summary.excerpt,
        log=LogInfo(
            source="local", bytes_total=len(log.encode()), bytes_read=len(log.encode()), complete=True
        ),
        patch=summary.patch,
        next_step=summary.next_step,
        rule=summary.rule,
        severity=summary.severity,
    )
    return CommandDigest(
        command_id=command_id,
        document_name=SAMPLE_DOCUMENT,
        status="Failed",
        counts=count_statuses(["Failed"]),
        groups=group_failures([failure]),
        region=region,
        comment=TEST_COMMENT,
        local_date=local_date,
        notes=(
            "This is a TEST notification sent by `hygiene notify-test` to check this topic's "
            "subscriptions: no command ran and nothing failed. The failure shown is a sample: "
            f"catalogue rule {SAMPLE_RULE} on its public example log ({example.source}).",
        ),
    )


def labelled_rendering(digest: CommandDigest) -> Rendered:
    """The digest fitted and rendered as a night's message; the subject and the chat title and
    summary (the chat does not show the comment) start with TEST."""
    _, rendered = fit(digest)
    chat = json.loads(rendered.chat)
    chat["content"]["title"] = f"TEST {chat['content'].get('title', '')}".rstrip()
    if isinstance(chat.get("metadata"), dict) and chat["metadata"].get("summary"):
        chat["metadata"]["summary"] = f"TEST {chat['metadata']['summary']}"
    return replace(
        rendered,
        subject=safe_subject(f"TEST {rendered.subject}"),
        chat=json.dumps(chat, ensure_ascii=False, separators=(",", ":")),
    )


def send_test_notification(
    sns: SNSClient, *, topic_arn: str, region: str, local_date: str | None = None
) -> PublishedSample:
    """Publish the sample to `topic_arn` (MessageStructure json, `kind` "test")."""
    digest = sample_digest(region=region, command_id=f"test-{uuid.uuid4()}", local_date=local_date)
    rendered = labelled_rendering(digest)
    message_id = publish(
        sns,
        topic_arn=topic_arn,
        rendered=rendered,
        attributes={
            "kind": "test",
            "document": digest.document_name,
            "status": digest.status,
            "window_id": digest.window_id,
        },
    )
    return PublishedSample(message_id=message_id, subject=rendered.subject, topic_arn=topic_arn)
