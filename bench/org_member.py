"""Issue 16's accounts, in moto in this process: the bench's stack as the central account's, and one
member account set up as its member stack would be, with the same fleet as the central account's.

The central account is moto's default (the bench's stack: log bucket, tables, topic), made the
management account of an Organization with one member (local.standin.organizations), as
local/demo/organization.py does. The member is set up through the OrganizationAccountAccessRole
CreateAccount gives it: its member stack's resources (local.stack.provision_member: the log key,
the bucket it encrypts by default, the healthcheck document), the window, and MemberReadRole
resolved from template.yaml (`<MemberRoleName>-<region>`, its trust policy and inline policies,
local.demo.organization.create_member_role). It is in the central stack's region, so that the
only difference between the two paths is the account.

`seed_member_command` plays what `bench.scenarios.seed_fleet` plays in the central account (one
AWS-RunPatchBaseline as the patch task of a window execution, the same failure mix, the same
agent's uploads), in the member's account, bucket and window: the objects are written straight
into moto's S3 backend of that account, for set-up speed only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import boto3
from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends

from bench import scenarios
from bench.stack import ACCOUNT, REGION
from local.demo.organization import SETUP_ROLE, create_member_role
from local.fleet_sim import (
    InstanceResult,
    PlayedCommand,
    TaskRun,
    Window,
    command_event,
    create_window,
    play_command,
    play_window_execution,
    window_event,
)
from local.stack import Clients, Stack, provision_member
from local.standin import ssm as standin
from local.standin.organizations import Organization, create_organization
from local.template import Deployment

MEMBER_NAME = "bench-member"
MEMBER_ALIAS = "example-bench-member"
EXTERNAL_ID = "hygiene-bench-16"
SEED = 16


@dataclass(frozen=True)
class Member:
    """The member account as set up: its clients (through OrganizationAccountAccessRole), its member
    stack's resources, its window and the read role's ARN."""

    account: str
    clients: Clients
    stack: Stack
    window: Window
    role_arn: str
    organization: Organization
    instance_ids: tuple[str, ...]


@dataclass(frozen=True)
class Played:
    """One command of a fleet and its window execution, with their events and what was written."""

    command_event: dict[str, Any]
    window_event: dict[str, Any]
    command_id: str
    failed: int
    kinds: dict[str, int]
    objects: int
    log_bytes: int


def member_parameters(organization: Organization) -> dict[str, str]:
    """A member stack's parameter overrides (the template's Rules require each of them)."""
    return {
        "DeploymentRole": "member",
        "OrganizationId": organization.id,
        "CentralAccountId": organization.management_account,
        "CentralRegion": REGION,
        "ExternalId": EXTERNAL_ID,
    }


def central_parameters(organization_id: str) -> dict[str, str]:
    """The central stack's parameter overrides."""
    return {"DeploymentRole": "central", "OrganizationId": organization_id, "ExternalId": EXTERNAL_ID}


def _setup_clients(account: str) -> tuple[Clients, Any]:
    """Clients (and a KMS client) acting in `account`, through its OrganizationAccountAccessRole."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{SETUP_ROLE}", RoleSessionName="bench-setup"
    )["Credentials"]
    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return Clients.create(REGION, session=session), session.client("kms")


def _instances(clients: Clients, account: str, count: int) -> tuple[str, ...]:
    """`count` instances named as bench.scenarios.Fleet names them (web-00001...)."""
    backend = ec2_backends[account][REGION]
    ids: list[str] = []
    while len(ids) < count:
        batch = min(1000, count - len(ids))
        reservation = clients.ec2.run_instances(ImageId=scenarios.LINUX_AMI, MinCount=batch, MaxCount=batch)
        for instance in reservation["Instances"]:
            ids.append(instance["InstanceId"])
            backend.create_tags([ids[-1]], {"Name": f"web-{len(ids):05d}.prod.internal"})
    return tuple(ids)


def create_member(instances: int) -> Member:
    """The Organization, and its member account with its member stack, window, role and fleet."""
    organization = create_organization(ACCOUNT, [MEMBER_NAME], region=REGION)
    account = organization.members[MEMBER_NAME]
    clients, kms = _setup_clients(account)
    parameters = member_parameters(organization)
    stack = provision_member(
        clients,
        kms,
        Deployment(parameters=parameters, region=REGION, account=account),
        seed=SEED,
        alias=MEMBER_ALIAS,
    )
    window = create_window(
        ssm=clients.ssm, region=REGION, healthcheck_document=str(stack.healthcheck_document)
    )
    deployment = replace(
        stack.deployment(window_id=window.window_id, **parameters),
        attributes={"LogBucket.Arn": f"arn:aws:s3:::{stack.bucket}", "LogKey.Arn": str(stack.log_key_arn)},
    )
    role_arn = create_member_role(clients.iam, deployment)
    return Member(
        account=account,
        clients=clients,
        stack=stack,
        window=window,
        role_arn=role_arn,
        organization=organization,
        instance_ids=_instances(clients, account, instances),
    )


def _write_outputs(
    member: Member, played: PlayedCommand, instance_id: str, kind: scenarios.FailureKind
) -> int:
    """The agent's uploads for one instance into the member's bucket, as bench.scenarios writes the
    central account's: every non-empty stream of every step. Returns the bytes written."""
    backend = s3_backends[member.account]["aws"]
    size = 0
    for index, step in enumerate(kind.steps()):
        plugin = standin.PluginResult(
            step.name, step.status, step.status, step.response_code, action=step.action
        )
        own = step.name == kind.step
        streams = (
            (("stdout", kind.stdout), ("stderr", kind.stderr)) if own else (("stdout", step.stdout.encode()),)
        )
        for stream, body in streams:
            key = standin.plugin_output_key(
                scenarios.PREFIX, played.command_id, instance_id, plugin, index=index, stream=stream
            )
            if body and key:
                backend.put_object(member.stack.bucket, key, body, etag="bench", disable_notification=True)
                size += len(body)
                played.keys_written.append(key)
    return size


def seed_member_command(member: Member, fraction: float) -> Played:
    """One AWS-RunPatchBaseline over the member's fleet, `fraction` failing in the bench's mix, as the
    patch task of a FAILED execution of the member's window (its SnapshotId)."""
    ids = member.instance_ids
    kinds = scenarios.fleet_kinds()
    failing = {
        ids[i]: kinds[n % len(kinds)] for n, i in enumerate(scenarios.failing_indices(len(ids), fraction))
    }
    chosen = {iid: failing.get(iid, scenarios.SUCCESS) for iid in ids}
    execution_id = str(uuid.uuid4())
    played = play_command(
        ssm=member.clients.ssm,
        s3=member.clients.s3,
        region=REGION,
        document_name=scenarios.DOCUMENT,
        outcomes={
            iid: InstanceResult(kind.status, kind.status, kind.steps(), logs_reach_s3=False)
            for iid, kind in chosen.items()
        },
        bucket=member.stack.bucket,
        prefix=scenarios.PREFIX,
        comment=scenarios.COMMENT,
        parameters={"Operation": ["Install"], "SnapshotId": [execution_id]},
        account=member.account,
    )
    play_window_execution(
        region=REGION,
        window=member.window,
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        window_execution_id=execution_id,
        tasks=[TaskRun(member.window.patch_task_id, "FAILED", "", played)],
        account=member.account,
    )
    log_bytes = sum(
        _write_outputs(member, played, iid, kind) for iid, kind in chosen.items() if kind.logs_reach_s3
    )
    counts: dict[str, int] = {}
    for kind in failing.values():
        counts[kind.name] = counts.get(kind.name, 0) + 1
    return Played(
        command_event=command_event(played, region=REGION, account=member.account),
        window_event=window_event(
            window_id=member.window.window_id,
            window_execution_id=execution_id,
            status="FAILED",
            region=REGION,
            account=member.account,
        ),
        command_id=played.command_id,
        failed=len(failing),
        kinds=counts,
        objects=len(played.keys_written),
        log_bytes=log_bytes,
    )


def central_played(stack: Any, seeded: scenarios.Seeded, window_id: str) -> Played:
    """What `bench.scenarios.seed_fleet` played in the central account, as a `Played` (the window
    execution's id is the command's SnapshotId)."""
    command = stack.ssm.list_commands(CommandId=seeded.command_id)["Commands"][0]
    return Played(
        command_event=seeded.event,
        window_event=window_event(
            window_id=window_id,
            window_execution_id=command["Parameters"]["SnapshotId"][0],
            status="FAILED",
            region=REGION,
        ),
        command_id=seeded.command_id,
        failed=len(seeded.failed),
        kinds=seeded.kinds(),
        objects=seeded.objects,
        log_bytes=seeded.log_bytes,
    )
