"""Where `hygiene report` takes a command from: the account (boto3) or saved files."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from instance_hygiene.digest import CommandDigest
from instance_hygiene.fleet import (
    describe_instances,
    parse_invocations_document,
    read_command,
    read_invocations,
)
from instance_hygiene.logs import LocalLogs, S3Logs
from instance_hygiene.report import build_digest


def digest_from_files(invocations_file: str, logs_dir: str | None) -> CommandDigest:
    path = Path(invocations_file)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except IsADirectoryError:
        raise FileNotFoundError(f"{path} is a folder, not an invocations file") from None
    command, invocations = parse_invocations_document(document)
    logs = LocalLogs(Path(logs_dir)) if logs_dir else None
    region = next((p.output_region for i in invocations for p in i.plugins if p.output_region), "")
    return build_digest(command, invocations, logs=logs, region=region or "")


def digest_from_account(command_id: str, *, region: str | None) -> CommandDigest:
    session = boto3.session.Session(region_name=region)
    ssm, s3, ec2 = session.client("ssm"), session.client("s3"), session.client("ec2")
    command = read_command(ssm, command_id)
    logs = (
        S3Logs(s3, bucket=command.output_bucket, prefix=command.output_prefix or "")
        if command.output_bucket
        else None
    )
    return build_digest(
        command,
        read_invocations(ssm, command_id),
        logs=logs,
        instances=lambda ids: describe_instances(ids, ec2=ec2, ssm=ssm),
        region=session.region_name or "",
    )
