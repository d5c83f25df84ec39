"""Deliver a rendered digest: one SNS message (per-protocol bodies) and, when cut, a full report in S3.

Subscribers filter on message attributes (FilterPolicyScope MessageAttributes, the default):
`kind` (command | window), `document`, `status`, and `window_id` when known. SNS evaluates
these at publish time whatever the message structure. Because attributes are not delivered in
the body of a MessageStructure=json message, every value is also in the digest JSON itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from instance_hygiene.render.command import Rendered

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient


def message_attributes(values: Mapping[str, str | None]) -> dict[str, Any]:
    """String attributes for the non-empty values (SNS rejects empty attribute values)."""
    return {
        name: {"DataType": "String", "StringValue": value[:256]} for name, value in values.items() if value
    }


def publish(
    sns: SNSClient, *, topic_arn: str, rendered: Rendered, attributes: Mapping[str, str | None]
) -> str:
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=rendered.subject,
        Message=rendered.sns_message(),
        MessageStructure="json",
        MessageAttributes=message_attributes(attributes),
    )
    return response["MessageId"]


def full_report_key(report_prefix: str, command_id: str, status: str) -> str:
    """`<prefix>/<command id>/<status>` (without .json/.txt): one report per command and status it
    was told about. A status is one key segment without its spaces ("No Instances In Tag")."""
    return f"{report_prefix.rstrip('/')}/{command_id}/{status.replace(' ', '')}"


def store_full_report(
    s3: S3Client, *, bucket: str, key_base: str, machine: Mapping[str, Any], text: str
) -> str:
    """Put the uncut digest (JSON and text) under the reports prefix; return the JSON's S3 URI."""
    s3.put_object(
        Bucket=bucket,
        Key=f"{key_base}.json",
        Body=json.dumps(machine, ensure_ascii=False, indent=1).encode(),
        ContentType="application/json",
    )
    s3.put_object(
        Bucket=bucket, Key=f"{key_base}.txt", Body=text.encode(), ContentType="text/plain; charset=utf-8"
    )
    return f"s3://{bucket}/{key_base}.json"
