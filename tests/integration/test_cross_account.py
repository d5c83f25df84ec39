"""The functions in central role read a member account's events with the member role, and publish on
the central topic: end to end against moto (several accounts in one process) and our SSM stand-in.

Account A (moto's default, 123456789012) runs the stack in eu-west-2 with DEPLOYMENT_ROLE=central;
account B is a member of A's organization (Organizations create_account), where the command and
the window ran, in eu-west-1, with their logs in B's bucket. moto serves an sts:AssumeRole into
`arn:aws:iam::<B>:role/<name>` as account B (moto's documentation, "Multi-account support"); it
does not evaluate trust policies, so the member role's trust policy is created for the record and
an AccessDenied is stubbed (botocore's Stubber on the STS client the functions' factory hands out).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber

from instance_hygiene.aws import clients as aws_clients
from instance_hygiene.aws.accounts import AccountRejected
from local.fleet_sim import (
    InstanceResult,
    PlayedCommand,
    TaskRun,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from tests.integration.test_command_handler import SCHEMA, linux_patch, log
from tests.support.stack import BUCKET, HISTORY, LINUX_AMI, REGION, TABLE, Stack, lambda_context

CENTRAL = "123456789012"
MEMBER_REGION = "eu-west-1"
MEMBER_BUCKET = "member-ssm-output-9f8e7d6c"
ROLE_NAME = "instance-hygiene-member-read"
MEMBER_ROLE = f"{ROLE_NAME}-{MEMBER_REGION}"
"""The role the member stack of MEMBER_REGION makes: <MemberRoleName>-<region>."""
EXTERNAL_ID = "hygiene-2f6c1e"
ALIAS = "member-b"


@dataclass(frozen=True)
class Member:
    account: str
    organization_id: str
    client: Callable[[str], Any]
    """A boto3 client acting in the member account, in its region (the test's own setup)."""

    def instances(self, count: int, name: str = "web") -> list[str]:
        ec2 = self.client("ec2")
        reservation = ec2.run_instances(ImageId=LINUX_AMI, MinCount=count, MaxCount=count)
        ids = [i["InstanceId"] for i in reservation["Instances"]]
        for n, instance_id in enumerate(ids, start=1):
            ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": f"{name}-{n:02d}"}])
        return ids

    def play(self, outcomes: dict[str, InstanceResult], **sent: Any) -> PlayedCommand:
        """AWS-RunPatchBaseline in the member account, its output in the member's bucket; `sent`
        adds to SendCommand's request as play_command takes it (a window task's comment, ...)."""
        return play_command(
            ssm=self.client("ssm"),
            s3=self.client("s3"),
            region=MEMBER_REGION,
            document_name="AWS-RunPatchBaseline",
            outcomes=outcomes,
            bucket=MEMBER_BUCKET,
            account=self.account,
            **sent,
        )

    def night(self, **sent: Any) -> PlayedCommand:
        """One instance on yum's lock, one patched."""
        failed, patched = self.instances(2)
        return self.play(
            {
                failed: InstanceResult(
                    "Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout"))
                ),
                patched: InstanceResult(
                    "Success",
                    "Success",
                    linux_patch("Success", 0, log("linux_install_success_with_summary.stdout")),
                ),
            },
            **sent,
        )


@pytest.fixture
def member(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Member:
    """B in A's organization, with the member role, an alias and its output bucket; the functions
    deployed as central for that organization."""
    organizations = boto3.client("organizations")
    organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    account = organizations.create_account(AccountName="member", Email="member@example.com")[
        "CreateAccountStatus"
    ]["AccountId"]
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=MEMBER_REGION,
    )
    iam = session.client("iam")
    iam.create_role(
        RoleName=MEMBER_ROLE,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"},
                        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
                    }
                ],
            }
        ),
    )
    iam.create_account_alias(AccountAlias=ALIAS)
    session.client("s3").create_bucket(
        Bucket=MEMBER_BUCKET, CreateBucketConfiguration={"LocationConstraint": MEMBER_REGION}
    )
    for name, value in {
        "DEPLOYMENT_ROLE": "central",
        "ORGANIZATION_ID": organization_id,
        "MEMBER_ROLE_NAME": ROLE_NAME,
        "MEMBER_EXTERNAL_ID": EXTERNAL_ID,
    }.items():
        monkeypatch.setenv(name, value)
    return Member(account, organization_id, session.client)


def idempotency_records(stack: Stack) -> int:
    return len(stack.dynamodb.scan(TableName=TABLE)["Items"])


def test_a_member_accounts_failed_command_is_explained_from_its_logs_on_the_central_topic(
    stack: Stack, command_function: ModuleType, member: Member
) -> None:
    played = member.night()
    event = command_event(played, region=MEMBER_REGION, account=member.account)

    result = command_function.handler(event, lambda_context())

    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    jsonschema.validate(digest, SCHEMA)
    assert (digest["account"], digest["region"], digest["account_alias"]) == (
        member.account,
        MEMBER_REGION,
        ALIAS,
    ), "named with the member's alias, read through the member role"
    assert envelope["Subject"].startswith("FAILED AWS-RunPatchBaseline ")
    assert "yum lock held by another process" in envelope["Subject"]
    (group,) = digest["groups"]
    (failure,) = group["failures"]
    assert failure["instance_name"] == "web-01", "EC2 names read in the member account"
    assert failure["log"]["source"] == "s3"
    assert failure["log"]["links"][0].startswith(f"s3://{MEMBER_BUCKET}/ssm_output/{played.command_id}/")
    # The full report is written to the central stack's own bucket, where its window report reads it.
    assert result["report_uri"] == f"s3://{BUCKET}/reports/{played.command_id}/Failed.json"
    text = stack.s3.get_object(Bucket=BUCKET, Key=f"reports/{played.command_id}/Failed.txt")["Body"].read()
    assert text.decode().startswith(f"account {member.account} ({ALIAS}), {MEMBER_REGION}: ")
    # The member's history is kept apart from the central account's own in the shared table.
    assert (
        digest["history"]["scope"]
        == f"account/{member.account}/{MEMBER_REGION}/document/AWS-RunPatchBaseline"
    )
    scopes = {i["pk"]["S"] for i in stack.dynamodb.scan(TableName=HISTORY)["Items"]}
    assert scopes == {digest["history"]["scope"]}

    command_function.handler(event, lambda_context())

    assert stack.received() == [], "a redelivered member event sends nothing more"
    assert idempotency_records(stack) == 1


def test_a_member_windows_command_is_named_after_the_window_and_dated_in_its_time_zone(
    stack: Stack, command_function: ModuleType, member: Member
) -> None:
    # The central stack knows no member window: the member stack's patch task comments its
    # commands "<WindowName> patch" (template.yaml), and the window of that name which ran the
    # execution gives the name and its time zone. 23:30 UTC on 1 July is 00:30 on 2 July in London.
    window = create_window(
        ssm=member.client("ssm"), region=MEMBER_REGION, healthcheck_document="AWS-RunShellScript"
    )
    execution_id = str(uuid.uuid4())
    start = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    patch = member.night(
        parameters={"Operation": ["Install"], "SnapshotId": [execution_id]},
        comment="PatchWithHealthcheck patch",
        requested=start + timedelta(minutes=1),
    )
    play_window_execution(
        region=MEMBER_REGION,
        window=window,
        status="FAILED",
        tasks=[TaskRun(window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", patch)],
        window_execution_id=execution_id,
        start=start,
        end=start + timedelta(hours=1),
        account=member.account,
    )

    command_function.handler(
        command_event(patch, region=MEMBER_REGION, account=member.account), lambda_context()
    )

    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    assert (digest["window_id"], digest["window_name"]) == (window.window_id, "PatchWithHealthcheck")
    assert digest["window_execution_id"] == execution_id
    assert digest["local_date"] == "2026-07-02", "the window's Europe/London date, not UTC's 1 July"
    assert envelope["Subject"].startswith("FAILED PatchWithHealthcheck patch 2026-07-02: ")
    assert envelope["MessageAttributes"]["window_id"]["Value"] == window.window_id


def test_a_member_accounts_window_execution_is_reported_on_the_central_topic(
    stack: Stack, command_function: ModuleType, window_function: ModuleType, member: Member
) -> None:
    window = create_window(
        ssm=member.client("ssm"), region=MEMBER_REGION, healthcheck_document="AWS-RunShellScript"
    )
    patch = member.night()
    execution = play_window_execution(
        region=MEMBER_REGION,
        window=window,
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        tasks=[TaskRun(window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", patch)],
        account=member.account,
    )
    command_function.handler(
        command_event(patch, region=MEMBER_REGION, account=member.account), lambda_context()
    )

    window_function.handler(
        window_event(
            window_id=window.window_id,
            window_execution_id=execution,
            status="FAILED",
            region=MEMBER_REGION,
            account=member.account,
        ),
        lambda_context(),
    )

    reports = [json.loads(e["Message"]) for e in stack.received()]
    (report,) = [r for r in reports if r["schema"] == "instance-hygiene/window-report@1"]
    assert (report["account"], report["region"], report["account_alias"]) == (
        member.account,
        MEMBER_REGION,
        ALIAS,
    )
    assert (report["window_id"], report["window_name"], report["status"]) == (
        window.window_id,
        "PatchWithHealthcheck",
        "FAILED",
    )
    patch_task = next(t for t in report["tasks"] if t["task_arn"] == "AWS-RunPatchBaseline")
    assert patch_task["counts"]["failed"] == 1
    (command,) = patch_task["commands"]
    assert command["report"] == f"s3://{BUCKET}/reports/{patch.command_id}/Failed.json"
    assert "yum lock held by another process" in report["causes"][0]["reason"], (
        "the night's cause, from the full report the command function wrote from B's logs"
    )


def deny_assume_role(monkeypatch: pytest.MonkeyPatch, account: str, times: int) -> Stubber:
    """The functions' STS client answers AssumeRole with AccessDenied `times` times (stubbed: moto
    grants every AssumeRole). Code and message as STS sends them (IAM user guide, "Troubleshoot IAM
    roles"; the message's shape as public error reports quote it)."""
    sts = boto3.client("sts", region_name=REGION)
    stub = Stubber(sts)
    # botocore's sts model: GetCallerIdentity's answer, for the function's own role.
    stub.add_response(
        "get_caller_identity",
        {
            "UserId": "AROAEXAMPLEID:instance-hygiene-fn",
            "Account": CENTRAL,
            "Arn": f"arn:aws:sts::{CENTRAL}:assumed-role/CommandFailedFunctionRole/fn",
        },
    )
    for _ in range(times):
        stub.add_client_error(
            "assume_role",
            "AccessDenied",
            f"User: arn:aws:sts::{CENTRAL}:assumed-role/CommandFailedFunctionRole/instance-hygiene-fn is "
            "not authorized to perform: sts:AssumeRole on resource: "
            f"arn:aws:iam::{account}:role/{MEMBER_ROLE}",
            403,
        )
    stub.activate()
    monkeypatch.setattr(aws_clients, "sts", lambda: sts)
    return stub


def test_a_member_role_that_cannot_be_assumed_is_told_once_with_the_next_step(
    stack: Stack, command_function: ModuleType, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    played = member.night()
    event = command_event(played, region=MEMBER_REGION, account=member.account)
    stub = deny_assume_role(monkeypatch, member.account, times=2)

    result = command_function.handler(event, lambda_context())
    command_function.handler(event, lambda_context())

    (envelope,) = stack.received()
    assert envelope["Subject"].startswith("FAILED AWS-RunPatchBaseline ")
    assert envelope["Subject"].endswith(f": not read in account {member.account}, {MEMBER_REGION}")
    digest = json.loads(envelope["Message"])
    jsonschema.validate(digest, SCHEMA)
    assert (digest["command_id"], digest["status"], digest["account"], digest["region"]) == (
        played.command_id,
        "Failed",
        member.account,
        MEMBER_REGION,
    )
    reason, next_step = digest["unread"]["reason"], digest["unread"]["next_step"]
    assert (
        f"The member role {MEMBER_ROLE} in account {member.account} could not be assumed (AccessDenied: "
        in (reason)
    )
    assert "not authorized to perform: sts:AssumeRole" in reason
    assert next_step.startswith(
        f"Deploy the member stack in account {member.account}, region {MEMBER_REGION}"
    )
    assert f"OrganizationId {member.organization_id}" in next_step
    assert EXTERNAL_ID not in envelope["Message"], "the ExternalId's value is not broadcast"
    assert result["report_uri"] is None
    assert stack.s3.list_objects_v2(Bucket=BUCKET, Prefix="reports/").get("KeyCount", 0) == 0
    stub.assert_no_pending_responses()


def test_a_member_window_whose_role_cannot_be_assumed_is_told_with_the_next_step(
    stack: Stack, window_function: ModuleType, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    deny_assume_role(monkeypatch, member.account, times=1)
    event = window_event(
        window_id="mw-0c50858d01ab23cd4",
        window_execution_id="5a6b7c8d-1d2e-4f30-8a1b-2c3d4e5f6071",
        status="TIMED_OUT",
        region=MEMBER_REGION,
        account=member.account,
    )

    window_function.handler(event, lambda_context())

    (envelope,) = stack.received()
    assert envelope["Subject"] == (
        f"TIMED_OUT window mw-0c50858d01ab23cd4 {json.loads(envelope['Message'])['local_date']}: "
        f"not read in account {member.account}, {MEMBER_REGION}"
    )
    report = json.loads(envelope["Message"])
    assert (report["account"], report["region"], report["window_execution_id"], report["status"]) == (
        member.account,
        MEMBER_REGION,
        "5a6b7c8d-1d2e-4f30-8a1b-2c3d4e5f6071",
        "TIMED_OUT",
    )
    assert "could not be assumed (AccessDenied" in report["unread"]["reason"]
    assert report["unread"]["next_step"].startswith(f"Deploy the member stack in account {member.account}")


def test_a_member_that_cannot_be_read_is_told_once_a_night_by_both_functions(
    stack: Stack,
    command_function: ModuleType,
    window_function: ModuleType,
    member: Member,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its role is missing all night: the window's execution says the same as its command did.
    played = member.night()
    deny_assume_role(monkeypatch, member.account, times=2)
    command = command_event(played, region=MEMBER_REGION, account=member.account)
    window = window_event(
        window_id="mw-0c50858d01ab23cd4",
        window_execution_id="5a6b7c8d-1d2e-4f30-8a1b-2c3d4e5f6071",
        status="FAILED",
        region=MEMBER_REGION,
        account=member.account,
    )

    first = command_function.handler(command, lambda_context())
    second = window_function.handler(window, lambda_context())

    (envelope,) = stack.received()
    assert envelope["Subject"].endswith(f": not read in account {member.account}, {MEMBER_REGION}")
    assert "repeat" not in first
    assert second["repeat"] == "already told tonight"
    assert second["message_id"] == first["message_id"]


def test_a_night_across_midnight_is_told_once_and_the_next_night_again(
    stack: Stack, command_function: ModuleType, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window from 23:30 to 01:30 UTC (00:30 to 02:30 in Berlin in winter): its patch command ends
    # before UTC's midnight, its healthcheck after. One night, one message.
    patch, healthcheck = member.night(), member.night()
    deny_assume_role(monkeypatch, member.account, times=3)
    before = datetime(2026, 12, 2, 23, 50, tzinfo=UTC)

    first = command_function.handler(
        command_event(patch, region=MEMBER_REGION, account=member.account, time=before), lambda_context()
    )
    second = command_function.handler(
        command_event(
            healthcheck, region=MEMBER_REGION, account=member.account, time=before + timedelta(minutes=40)
        ),
        lambda_context(),
    )

    assert len(stack.received()) == 1
    assert second["repeat"] == "already told tonight"
    assert second["message_id"] == first["message_id"]

    # The next night: the quiet period (NOT_READ_QUIET_SECONDS) has passed since the message, as
    # the record's expiry says (Powertools treats an expired record as absent).
    (record,) = [
        i for i in stack.dynamodb.scan(TableName=TABLE)["Items"] if "member-not-read" in i["id"]["S"]
    ]
    stack.dynamodb.update_item(
        TableName=TABLE,
        Key={"id": record["id"]},
        UpdateExpression="SET expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(datetime.now(UTC).timestamp()) - 1)}},
    )
    tomorrow = member.night()
    third = command_function.handler(
        command_event(
            tomorrow, region=MEMBER_REGION, account=member.account, time=before + timedelta(days=1)
        ),
        lambda_context(),
    )

    assert len(stack.received()) == 1, "told again the next night"
    assert "repeat" not in third


@pytest.mark.parametrize(
    "setting",
    [
        ("ORGANIZATION_ID", "o-zzzzzzzzzz", "not o-zzzzzzzzzz"),
        ("DEPLOYMENT_ROLE", "single", "DEPLOYMENT_ROLE is single, not central"),
        ("DEPLOYMENT_ROLE", "", "DEPLOYMENT_ROLE is single, not central"),
    ],
    ids=["another-organization", "single", "role-not-set"],
)
def test_a_member_event_the_function_may_not_read_is_raised_and_not_marked_done(
    stack: Stack,
    command_function: ModuleType,
    member: Member,
    monkeypatch: pytest.MonkeyPatch,
    setting: tuple[str, str, str],
) -> None:
    variable, value, why = setting
    played = member.night()
    monkeypatch.setenv(variable, value)

    with pytest.raises(AccountRejected, match=f"account {member.account}, region {MEMBER_REGION}, .*{why}"):
        command_function.handler(
            command_event(played, region=MEMBER_REGION, account=member.account), lambda_context()
        )

    assert stack.received() == []
    assert idempotency_records(stack) == 0, "not done: a retry or the dead-letter queue keeps it"


def test_in_central_role_the_own_accounts_command_keeps_its_single_role_keys(
    stack: Stack, command_function: ModuleType, member: Member
) -> None:
    (instance,) = stack.instances(1)
    played = play_command(
        ssm=stack.ssm,
        s3=stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={
            instance: InstanceResult(
                "Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout"))
            )
        },
        bucket=BUCKET,
    )

    command_function.handler(command_event(played, region=REGION), lambda_context())

    (envelope,) = stack.received()
    digest = json.loads(envelope["Message"])
    assert (digest["account"], digest["region"]) == (CENTRAL, REGION)
    assert digest["history"]["scope"] == "document/AWS-RunPatchBaseline"
    assert aws_clients.member_session.cache_info().currsize == 0, "no role assumed for its own account"
