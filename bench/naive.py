"""Baseline (a): the hand-rolled Lambda a team writes in an afternoon.

For every invocation that did not succeed: GetCommandInvocation for each step of the document,
a full GetObject of each failed step's stdout and stderr (from the URLs the API gives), and one
SNS message per failed instance with its status, exit code and the last 40 lines of output.
Sequential, no pagination of S3, no size limits: what it reads grows with the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

DOCUMENT = "AWS-RunPatchBaseline"

STEPS = {DOCUMENT: ("PatchLinux", "PatchWindows", "PatchMacOS")}
TAIL_LINES = 40
SNS_LIMIT = 262_144


def _s3_location(url: str) -> tuple[str, str] | None:
    """https://s3.<region>.amazonaws.com/<bucket>/<key> -> (bucket, key)."""
    if not url:
        return None
    path = urlparse(url).path.lstrip("/")
    bucket, _, key = path.partition("/")
    return (bucket, key) if bucket and key else None


class NaiveNotifier:
    def __init__(self, topic_arn: str) -> None:
        self.topic_arn = topic_arn
        self.ssm = boto3.client("ssm")
        self.s3 = boto3.client("s3")
        self.sns = boto3.client("sns")

    def _download(self, url: str) -> str:
        location = _s3_location(url)
        if location is None:
            return ""
        try:
            body = self.s3.get_object(Bucket=location[0], Key=location[1])["Body"].read()
        except ClientError:  # NoSuchKey: the agent writes no object for an empty stream
            return ""
        return str(body.decode("utf-8", errors="replace"))

    def handler(self, event: Mapping[str, Any], _context: Any = None) -> dict[str, int]:
        command_id = event["detail"]["command-id"]
        document = event["detail"]["document-name"]
        sent = 0
        pages = self.ssm.get_paginator("list_command_invocations").paginate(CommandId=command_id)
        for page in pages:
            for invocation in page["CommandInvocations"]:
                if invocation["Status"] == "Success":
                    continue
                instance_id = invocation["InstanceId"]
                lines = [
                    f"Command {command_id} ({document}) {invocation['Status']} on {instance_id} "
                    f"({invocation.get('InstanceName', '')})"
                ]
                for step in STEPS.get(document, ("aws:runShellScript",)):
                    try:
                        result = self.ssm.get_command_invocation(
                            CommandId=command_id, InstanceId=instance_id, PluginName=step
                        )
                    except ClientError:
                        continue
                    if result["Status"] == "Success":
                        continue
                    output = self._download(result.get("StandardOutputUrl", ""))
                    output += self._download(result.get("StandardErrorUrl", ""))
                    if not output:  # no S3 object: fall back to the API's first 24,000 characters
                        output = result.get("StandardOutputContent", "") + result.get(
                            "StandardErrorContent", ""
                        )
                    tail = "\n".join(output.splitlines()[-TAIL_LINES:])
                    lines.append(f"step {step}: {result['Status']}, exit code {result['ResponseCode']}")
                    lines.append(tail)
                message = "\n".join(lines).encode()[: SNS_LIMIT - 1024].decode(errors="ignore")
                self.sns.publish(
                    TopicArn=self.topic_arn,
                    Subject=f"SSM command failed on {instance_id}"[:99],
                    Message=message,
                )
                sent += 1
        return {"messages": sent}
