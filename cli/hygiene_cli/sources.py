"""Where `hygiene report` takes a command from: the account (boto3) or saved files (LocalLogs)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from instance_hygiene.aws.fleet import describe_instances, read_command, read_invocations
from instance_hygiene.aws.s3_logs import S3Logs
from instance_hygiene.digest.collect import build_digest
from instance_hygiene.digest.invocations import parse_invocations_document
from instance_hygiene.digest.logs import (
    Listing,
    ListingPlan,
    LogSourceName,
    StreamRead,
    StreamRef,
    read_bounded,
)
from instance_hygiene.digest.model import CommandDigest

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient


class LocalLogs:
    """A local copy of one command's output (`aws s3 sync s3://BUCKET/PREFIX/ID DIR`)."""

    source: LogSourceName = "local"

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"log folder not found: {folder}")
        self.folder = folder

    def find(
        self, command_id: str, wanted: Mapping[str, str], *, stop: Callable[[], bool] | None = None
    ) -> Listing:
        """Every file is looked at (a local copy has no pages and no cap)."""
        plan = ListingPlan(os.path.join(self.folder, ""), wanted, cap=None)
        entries = []
        for directory, _, files in os.walk(self.folder):
            for name in files:
                path = os.path.join(directory, name)
                entries.append((path, os.path.getsize(path)))
        plan.take(sorted(entries), more=False)
        return plan.result()

    def read(self, ref: StreamRef) -> StreamRead:
        with open(ref.location, "rb") as handle:

            def fetch(first: int, last: int) -> bytes:
                handle.seek(first)
                return handle.read(last - first + 1)

            return read_bounded(fetch, ref.size)

    def link(self, ref: StreamRef) -> str:
        return ref.location


def digest_from_files(invocations_file: str, logs_dir: str | None) -> CommandDigest:
    """`invocations_file` is a path, or `-` for standard input
    (`aws ssm list-command-invocations ... | hygiene report --invocations -`)."""
    path = Path(invocations_file)
    try:
        text = sys.stdin.read() if invocations_file == "-" else path.read_text(encoding="utf-8")
        document = json.loads(text)
    except IsADirectoryError:
        raise FileNotFoundError(f"{path} is a folder, not an invocations file") from None
    command, invocations = parse_invocations_document(document)
    logs = LocalLogs(Path(logs_dir)) if logs_dir else None
    region = next((p.output_region for i in invocations for p in i.plugins if p.output_region), "")
    return build_digest(command, invocations, logs=logs, region=region or "")


def digest_from_account(command_id: str, *, region: str | None, profile: str | None = None) -> CommandDigest:
    session = boto3.session.Session(profile_name=profile, region_name=region)
    return command_digest(Account.of(session), command_id)


@dataclass(frozen=True)
class Account:
    """The clients a command's digest reads with, in one account and region."""

    ssm: SSMClient
    s3: S3Client
    ec2: EC2Client
    region: str

    @classmethod
    def of(cls, session: boto3.session.Session) -> Account:
        clients = (session.client("ssm"), session.client("s3"), session.client("ec2"))
        return cls(*clients, region=session.region_name or "")


def command_digest(account: Account, command_id: str) -> CommandDigest:
    """The digest of one command: its invocations, their logs in S3 and the instances' names."""
    ssm, ec2 = account.ssm, account.ec2
    command = read_command(ssm, command_id)
    logs = (
        S3Logs(account.s3, bucket=command.output_bucket, prefix=command.output_prefix or "")
        if command.output_bucket
        else None
    )
    return build_digest(
        command,
        read_invocations(ssm, command_id),
        logs=logs,
        instances=lambda ids: describe_instances(ids, ec2=ec2, ssm=ssm),
        region=account.region,
    )
