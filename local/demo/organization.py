"""One night across an AWS Organization: the members' windows, told by the central stack.

An Organization scenario (organization_scenario.py) names the central account's region and alias
and, per member account, its alias and a night per region. `run_organization`:

- starts the stand-in and makes moto's default account the management account of an Organization
  with one account per member (local.standin.organizations: moto draws the ids), each reached for
  the setup through the OrganizationAccountAccessRole that CreateAccount gives it;
- deploys there the central stack (DeploymentRole central: log bucket for the full reports, topic
  with a subscribed queue, tables; the functions' environment and rules resolved from
  template.yaml for that role), and in each member account and region the member stack
  (DeploymentRole member: log key and bucket, scripts, document, window, and MemberReadRole as the
  template defines it, resolved: `<MemberRoleName>-<region>`, one per account and region, unless
  the member's `member_role` is false);
- plays each member's nights (night.py), its instances' output in its own bucket (none at all when
  `instance_role_writes_logs` is false: the instances' role may not write there);
- sends each member's aws.ssm events through its ForwardToCentralRule (resolved for the member) to
  the central bus, and hands the central bus's events, in EventBridge's order (shuffled, one of
  them twice), to the central functions' rules (on that bus) and handlers. The handlers run with
  role sessions of the central account named as CloudFormation names the roles SAM makes for them,
  which is what the member role's trust checks (aws:PrincipalArn), and with STS's role trust
  enforced (local.standin.sts.trust_enforced): an AssumeRole of a member role that is missing, or
  that does not trust them, is refused as STS refuses it.

Not modelled: the central bus and its policy as moto resources (the events are routed here, with
the template's patterns), IAM policy enforcement of what the sessions may do (local.standin.iam
is off: the trust of the member role is what is checked), a window in the central account.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session

from local.demo.night import Night, play_night, set_up
from local.demo.organization_scenario import Member, OrganizationScenario
from local.demo.run import (
    FUNCTIONS,
    QUIET,
    Delivery,
    DemoError,
    deliver,
    environment,
    functions_environment,
    reset_standin,
    seed_standin,
    shuffled,
)
from local.demo.subscribers import Notification, received
from local.eventbridge import Forward, Rule, bus_forwards, event_bus_arn, forwarded, template_rules
from local.lambda_env import (
    OFF_AWS,
    SUMMARY_FUNCTION,
    LambdaContext,
    function_environment,
    function_name,
    load_function,
)
from local.stack import Clients, Stack, physical_id, provision_central, provision_member
from local.standin import sts as standin_sts
from local.standin.organizations import Organization, create_organization
from local.standin.server import running
from local.template import ACCOUNT, Deployment

SETUP_ROLE = "OrganizationAccountAccessRole"
"""The role CreateAccount makes in a new member, trusting the management account (moto does too)."""
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}}
    ],
}
"""The trust policy of the execution role SAM makes for a function without Role (the SAM
transform's output for this template: <function>Role)."""


# ---------------------------------------------------------------- the deploys


def member_parameters(scenario: OrganizationScenario, organization: Organization) -> dict[str, str]:
    """A member stack's parameter overrides (the template's Rules require each of them)."""
    return {
        "DeploymentRole": "member",
        "OrganizationId": organization.id,
        "CentralAccountId": organization.management_account,
        "CentralRegion": scenario.central_region,
        "ExternalId": scenario.external_id,
    }


SUMMARY_SCHEDULE = "cron(0 7 * * ? *)"
SUMMARY_TIME_ZONE = "Europe/London"
SUMMARY_AFTER = timedelta(hours=4)
"""When the morning summary runs after the night's end (the schedule's 07:00 after a night ending
around 03:00)."""


def central_parameters(scenario: OrganizationScenario, organization: Organization) -> dict[str, str]:
    """The central stack's parameter overrides (the template's Rules require each of them), with
    the morning summary on."""
    return {
        "DeploymentRole": "central",
        "OrganizationId": organization.id,
        "ExternalId": scenario.external_id,
        "SummarySchedule": SUMMARY_SCHEDULE,
        "SummaryTimezone": SUMMARY_TIME_ZONE,
    }


def _created(deployment: Deployment, logical_id: str) -> Mapping[str, Any]:
    resource: Mapping[str, Any] = deployment.source()["Resources"][logical_id]
    condition = resource.get("Condition")
    if condition and not deployment.condition(condition):
        raise DemoError(f"a {deployment.parameter('DeploymentRole')} stack creates no {logical_id}")
    return resource


def create_member_role(iam: Any, deployment: Deployment) -> str:
    """MemberReadRole as the member deploy creates it: its name, trust policy and inline policies
    resolved from template.yaml. Returns its ARN."""
    props = deployment.resolve(_created(deployment, "MemberReadRole")["Properties"])
    role = iam.create_role(
        RoleName=props["RoleName"],
        AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
        Description=props["Description"],
    )["Role"]
    for policy in props.get("Policies", []):
        iam.put_role_policy(
            RoleName=props["RoleName"],
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    return str(role["Arn"])


def function_sessions(clients: Clients, deployment: Deployment, *, seed: int) -> dict[str, dict[str, str]]:
    """Each function's credentials: a session of its execution role, named as CloudFormation names
    the role SAM makes for it (<stack>-<logical id>Role-<random>), in the central account. Taken
    before role trust is enforced: the role trusts Lambda, not the caller that plays Lambda here."""
    sts = boto3.session.Session(region_name=deployment.region).client("sts")
    sessions = {}
    for function in FUNCTIONS:
        logical_id = f"{function}Role"
        name = f"{deployment.stack_name}-{logical_id}-{physical_id(seed, logical_id, 12)}"
        arn = clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))[
            "Role"
        ]["Arn"]
        credentials = sts.assume_role(RoleArn=arn, RoleSessionName=function_name(function, deployment))[
            "Credentials"
        ]
        sessions[function] = {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
    return sessions


@dataclass
class FunctionContainers:
    """Each delivery runs with its function's credentials; switching function is switching
    container: its credentials in the environment and in boto3's default session (what
    `boto3.client` signs with: botocore keeps the credentials it resolved first), and none of the
    clients the handlers cache (instance_hygiene.aws.clients). The service models stay loaded (one
    botocore loader), as they would in a warm process. `restore()` gives boto3 its session back."""

    sessions: Mapping[str, Mapping[str, str]]
    current: str | None = None
    switches: int = 0
    loader: Any = field(default_factory=lambda: botocore.session.Session().get_component("data_loader"))
    saved: boto3.session.Session | None = field(default_factory=lambda: boto3.DEFAULT_SESSION)

    def __call__(self, function: str) -> None:
        if function == self.current:
            return
        from instance_hygiene.aws import clients  # noqa: PLC0415 - the handlers' own client cache

        credentials = self.sessions[function]
        os.environ.update(credentials)
        session = botocore.session.Session()
        session.register_component("data_loader", self.loader)
        session.set_credentials(
            credentials["AWS_ACCESS_KEY_ID"],
            credentials["AWS_SECRET_ACCESS_KEY"],
            credentials["AWS_SESSION_TOKEN"],
        )
        boto3.setup_default_session(botocore_session=session)
        clients.clear_cache()
        self.current = function
        self.switches += 1

    def restore(self) -> None:
        boto3.DEFAULT_SESSION = self.saved


def _setup_options(sts: Any, account: str) -> dict[str, str]:
    """Client options acting in a member account, through its OrganizationAccountAccessRole."""
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{SETUP_ROLE}", RoleSessionName="demo-setup"
    )["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


# ---------------------------------------------------------------- the run


@dataclass
class MemberNight:
    """One member account's night in one region as played, and what its forward rule sent to the
    central bus."""

    member: Member
    region: str
    account: str
    stack: Stack
    night: Night
    forwards: tuple[Forward, ...]
    forwarded: list[dict[str, Any]] = field(default_factory=list)
    member_role_arn: str | None = None


@dataclass
class OrganizationResult:
    """Everything an Organization run produced, for printing, saving and tests."""

    scenario: OrganizationScenario
    organization: Organization
    central: Stack
    bus: str
    """The central bus's name (the central stack's CentralEventBusName)."""
    bus_arn: str
    members: list[MemberNight]
    deliveries: list[Delivery]
    notifications: list[Notification]
    rules: tuple[Rule, ...]
    trust: list[standin_sts.TrustDecision]
    """Every AssumeRole while the functions ran, as STS decided it."""
    summary: Mapping[str, Any] | None = None
    """What the morning summary function returned."""
    switches: int = 0
    seconds: float = 0.0
    out: Path | None = None
    folders: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.error]

    @property
    def invoked(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.function]

    def member_of(self, event: Mapping[str, Any]) -> MemberNight:
        return next(m for m in self.members if (m.account, m.region) == (event["account"], event["region"]))

    def expected_notifications(self) -> set[tuple[str, str, str]]:
        """(account, command or window execution, status): one per such pair the central rules
        matched whose truth, as the night played it, is worth telling; and one per Region of an
        account whose member role is missing (nothing can be read there: its first event of the
        night is told as unread, the rest only reach the ledger)."""
        keys = set()
        for delivery in self.invoked:
            detail = delivery.event["detail"]
            identity = str(detail.get("command-id") or detail.get("window-execution-id"))
            member = self.member_of(delivery.event)
            if not member.member.member_role:
                keys.add((member.account, member.region, "not read"))
            elif member.night.worth_telling(delivery.event):
                keys.add((member.account, identity, str(detail["status"])))
        return keys


def run_organization(
    scenario: OrganizationScenario, *, tonight: datetime | None = None
) -> OrganizationResult:
    """Play the Organization's night on a fresh stand-in (module docstring); every member's night
    ends at `tonight` (default: now; a fixed moment plays the same renderings byte for byte)."""
    tonight = tonight or datetime.now(UTC)
    region = scenario.central_region
    with environment({"AWS_DEFAULT_REGION": region}), running() as endpoint:
        reset_standin(endpoint.url)
        seed_standin(endpoint.url, scenario.seed)
        try:
            return _play(scenario, tonight, endpoint.url)
        finally:
            reset_standin(endpoint.url)


def _play(scenario: OrganizationScenario, tonight: datetime, endpoint_url: str) -> OrganizationResult:
    region = scenario.central_region
    organization = create_organization(ACCOUNT, [m.name for m in scenario.members], region=region)
    clients = Clients.create(region)
    central = provision_central(
        clients,
        region=region,
        seed=scenario.seed,
        stack_name=Deployment().parameter("CentralStackName"),  # what the members' role trusts
        alias=scenario.central_alias,
    )
    deployment = central.deployment(**central_parameters(scenario, organization))
    bus = deployment.parameter("CentralEventBusName")  # the central bus's name is its Ref
    deployment = replace(deployment, refs={**deployment.refs, "CentralEventBus": bus})
    bus_arn = event_bus_arn(bus, region=region, account=central.account)
    rules = template_rules(deployment)
    session = boto3.session.Session(region_name=region)  # one loader for every member's clients
    setup_sts = session.client("sts")
    members = [
        played
        for member in scenario.members
        for played in _play_member(
            scenario, organization, member, session=session, setup_sts=setup_sts, tonight=tonight
        )
    ]
    stream_in: list[dict[str, Any]] = []
    for played in members:
        for event in played.night.events:
            targets = forwarded(played.forwards, event)
            if targets and targets != [bus_arn]:
                raise DemoError(
                    f"{played.member.name}'s ForwardToCentralRule sends to {targets}, not {bus_arn}"
                )
            if targets:
                played.forwarded.append(event)
                stream_in.append(event)
    stream, again = shuffled(stream_in, rules, seed=scenario.seed, bus=bus)
    containers = FunctionContainers(function_sessions(clients, deployment, seed=scenario.seed))
    with environment(functions_environment(deployment, endpoint_url)):
        handlers = {name: load_function(name).handler for name in FUNCTIONS}
        try:
            with standin_sts.trust_enforced() as trust:
                deliveries = deliver(
                    stream,
                    rules,
                    handlers,
                    deployment=deployment,
                    redelivered_at=again,
                    bus=bus,
                    before=containers,
                )
        finally:
            containers.restore()
    summary = morning_summary(deployment, endpoint_url, at=tonight + SUMMARY_AFTER)
    return OrganizationResult(
        scenario=scenario,
        organization=organization,
        central=central,
        bus=bus,
        bus_arn=bus_arn,
        members=members,
        deliveries=deliveries,
        notifications=received(clients, central),
        summary=summary,
        rules=rules,
        trust=list(trust.decisions),
        switches=containers.switches,
    )


def morning_summary(deployment: Deployment, endpoint_url: str, *, at: datetime) -> Mapping[str, Any]:
    """The central stack's summary function, as its schedule invokes it at `at`, with the central
    account's credentials (its role's rights are the template's, walked by the template tests)."""
    environment_of = function_environment(
        SUMMARY_FUNCTION, deployment, endpoint_url=endpoint_url, extra=OFF_AWS | QUIET
    )
    with environment(environment_of):
        handler = load_function(SUMMARY_FUNCTION).handler
        context = LambdaContext.of(SUMMARY_FUNCTION, deployment)
        scheduled = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return handler({"scheduled_time": scheduled}, context)  # type: ignore[no-any-return]


def _play_member(
    scenario: OrganizationScenario,
    organization: Organization,
    member: Member,
    *,
    session: boto3.session.Session,
    setup_sts: Any,
    tonight: datetime,
) -> list[MemberNight]:
    """The member's stacks, one per region, and each region's night."""
    account = organization.members[member.name]
    options = _setup_options(setup_sts, account)
    parameters = member_parameters(scenario, organization)
    played = []
    for night in member.nights:
        region = night.region
        clients = Clients.create(region, session=session, **options)
        kms = session.client(
            "kms",
            region_name=region,
            aws_access_key_id=options["aws_access_key_id"],
            aws_secret_access_key=options["aws_secret_access_key"],
            aws_session_token=options["aws_session_token"],
        )
        stack = provision_member(
            clients,
            kms,
            Deployment(parameters=parameters, region=region, account=account),
            seed=night.seed,
            alias=member.alias,
        )
        fleet = set_up(night, clients, stack)
        deployment = replace(
            stack.deployment(window_id=fleet.window.window_id, **parameters),
            attributes={
                "LogBucket.Arn": f"arn:aws:s3:::{stack.bucket}",
                "LogKey.Arn": str(stack.log_key_arn),
            },
        )
        role_arn = create_member_role(clients.iam, deployment) if member.member_role else None
        played_night = play_night(night, clients, stack, end=tonight, fleet=fleet)
        played.append(
            MemberNight(
                member,
                region,
                account,
                stack,
                played_night,
                bus_forwards(deployment),
                member_role_arn=role_arn,
            )
        )
    return played


def check_organization(result: OrganizationResult) -> None:
    """Fail loudly when the night did not end in exactly one notification per failure."""
    if result.errors:
        first = result.errors[0]
        detail = first.event["detail"]
        raise DemoError(
            f"{first.function} raised on event {first.event['id']} ({first.event['detail-type']}, "
            f"{detail.get('status')}, account {first.event['account']}): {first.error}"
        )
    expected = result.expected_notifications()
    if result.summary is None or "message_id" not in result.summary:
        raise DemoError(f"the morning summary was not sent: {result.summary}")
    expected.add(("summary", "", ""))
    if len(result.notifications) != len(expected):
        raise DemoError(
            f"expected {len(expected)} notification(s), one per failed command and window execution "
            f"of each member (every one of a member whose role is missing), got {len(result.notifications)}"
        )


__all__ = [
    "MemberNight",
    "OrganizationResult",
    "check_organization",
    "run_organization",
]
