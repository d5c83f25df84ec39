"""template.yaml in its three deployment roles (DeploymentRole): single (everything in one account,
the default), member (the window, its logs, a read-only role, and a rule that forwards its events
to the central bus) and central (the notifier for the whole Organization, on its own bus).

Each role's template is the SAM translation with its conditions applied (tests.cfn.as_deployed),
for a parameter set its Rules accept (tests.cfn.DEPLOYMENT_ROLES). The facts the checks rely on
are cited where they are used: the IAM user guide ("AWS global condition context keys",
archived in awsdocs/iam-user-guide) for aws:PrincipalArn, aws:PrincipalOrgID, aws:ResourceOrgID
and sts:ExternalId; botocore's service models for names and patterns; the EventBridge user guide
for cross-account delivery.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from local.lambda_env import function_environment
from local.template import Deployment, raw_template
from tests.cfn import DEPLOYMENT_ROLES, ROOT, as_deployed, as_list, policy_statements, translated_template
from tests.cfn_rules import refusals

RAW = raw_template()
TRANSLATED = translated_template()
ROLES = sorted(DEPLOYMENT_ROLES)
RAW_IN = {role: as_deployed(RAW, DEPLOYMENT_ROLES[role]) for role in ROLES}
DEPLOYED = {role: as_deployed(TRANSLATED, DEPLOYMENT_ROLES[role]) for role in ROLES}
SESSION = botocore.session.get_session()
ORGANIZATION_PARAMETERS = [
    "DeploymentRole",
    "OrganizationId",
    "CentralAccountId",
    "CentralRegion",
    "CentralEventBusName",
    "CentralStackName",
    "MemberRoleName",
    "ExternalId",
]
CENTRAL_BUS_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:events:${CentralRegion}:${CentralAccountId}:"
    "event-bus/${CentralEventBusName}"
}
NOTIFIER_FUNCTIONS = ("CommandFailedFunction", "WindowFailedFunction")

# What each role creates beyond what every role has (the log key and bucket, their policy and
# alias, the layer), by logical id in template.yaml.
WINDOW = {
    "HealthcheckDocument",
    "MaintenanceWindow",
    "MaintenanceWindowTarget",
    "PatchTask",
    "HealthcheckTask",
    "MaintenanceWindowRole",
    "InstancePolicy",
    "PublishScriptsFunction",
    "PublishScriptsLogGroup",
    "HealthcheckScripts",
}
NOTIFIER = {
    "NotificationTopic",
    "NotificationTopicPolicy",
    "IdempotencyTable",
    "HistoryTable",
    "NotifierDeadLetterQueue",
    "NotifierDeadLetterQueuePolicy",
    "CommandFailedFunction",
    "CommandFailedLogGroup",
    "WindowFailedFunction",
    "WindowFailedLogGroup",
    "AlarmKey",
    "AlarmTopic",
    "AlarmTopicPolicy",
} | {
    name
    for name, r in RAW["Resources"].items()
    if r["Type"] == "AWS::CloudWatch::Alarm" and r.get("Condition") != "SendsSummary"
}
SUMMARY = {name for name, r in RAW["Resources"].items() if r.get("Condition") == "SendsSummary"}
"""The morning summary's function, log group and alarms: only with a SummarySchedule."""
MEMBER_ONLY = {
    "ForwardToCentralRule",
    "ForwardToCentralRole",
    "ForwardDeadLetterQueue",
    "ForwardDeadLetterQueuePolicy",
    "MemberReadRole",
}
CENTRAL_ONLY = {"CentralEventBus", "CentralEventBusPolicy"}
EVERY_ROLE = {"LogKey", "LogKeyAlias", "LogBucket", "LogBucketPolicy", "HygieneLayer"}


def resource(role: str, logical_id: str) -> dict[str, Any]:
    return DEPLOYED[role]["Resources"][logical_id]  # type: ignore[no-any-return]


# ------------------------------------------------------------------ parameters and rules


def test_the_organization_parameters_are_one_group_left_as_is_for_one_account() -> None:
    groups = RAW["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    (group,) = [g for g in groups if g["Label"]["default"] == "Organization (leave as is for one account)"]

    assert group["Parameters"] == ORGANIZATION_PARAMETERS
    assert RAW["Parameters"]["DeploymentRole"]["AllowedValues"] == ["single", "member", "central"]
    assert RAW["Parameters"]["DeploymentRole"]["Default"] == "single"


@pytest.mark.parametrize(
    ("name", "shape", "service"),
    [
        ("OrganizationId", "OrganizationId", "organizations"),
        ("MemberRoleName", "roleNameType", "iam"),
        ("ExternalId", "externalIdType", "sts"),
    ],
)
def test_a_name_the_parameter_accepts_is_one_the_api_accepts(name: str, shape: str, service: str) -> None:
    metadata = SESSION.get_service_model(service).shape_for(shape).metadata
    parameter = RAW["Parameters"][name]
    # MemberRoleName: the role is <MemberRoleName>-<region>, so the longest name leaves room for
    # "-" and the longest Region code (test_the_longest_member_role_name_fits_iams_limit_in_every_region).
    longest = {"OrganizationId": "o-" + "a" * 32, "MemberRoleName": "r" * 48, "ExternalId": "e" * 1224}[name]

    for value in [longest, parameter["Default"], *["o-a1b2c3d4e5", "hygiene-7f3a9c21", "a.b@c=d,e+f-g"]]:
        if value and re.fullmatch(parameter["AllowedPattern"], value):
            assert re.fullmatch(metadata["pattern"], value), (name, value)
            assert metadata.get("min", 0) <= len(value) <= metadata.get("max", len(value)), (name, value)
    assert re.fullmatch(parameter["AllowedPattern"], longest)
    assert not re.fullmatch(parameter["AllowedPattern"], longest + "a"), f"{name}: no longer than the API's"


def test_the_longest_member_role_name_fits_iams_limit_in_every_region() -> None:
    # Every Region code botocore knows, in every partition (its endpoints data).
    partitions = SESSION.get_data("endpoints")["partitions"]
    longest_region = max(len(region) for p in partitions for region in p["regions"])
    role_name = SESSION.get_service_model("iam").shape_for("roleNameType").metadata
    longest_base = "r" * 48

    assert re.fullmatch(RAW["Parameters"]["MemberRoleName"]["AllowedPattern"], longest_base)
    assert len(f"{longest_base}-") + longest_region <= role_name["max"]


def test_the_bus_and_stack_names_follow_eventbridge_and_cloudformation() -> None:
    # CreateEventBus: a custom bus has no "/" and is not "default"; CreateStack: "can contain only
    # alphanumeric characters (case sensitive) and hyphens ... start with an alphabetical character
    # ... [not] longer than 128 characters" (botocore models' documentation of both).
    bus = RAW["Parameters"]["CentralEventBusName"]["AllowedPattern"]
    stack = RAW["Parameters"]["CentralStackName"]["AllowedPattern"]

    assert not re.fullmatch(bus, "a/b")
    assert re.fullmatch(bus, "x" * 256)
    assert not re.fullmatch(bus, "x" * 257)
    assert re.fullmatch(stack, "a" + "b-1" * 42 + "c")
    assert not re.fullmatch(stack, "1abc")
    assert not re.fullmatch(stack, "a" * 129)


@pytest.mark.parametrize("role", ROLES)
def test_each_roles_parameter_set_is_one_cloudformation_accepts(role: str) -> None:
    assert refusals(RAW, DEPLOYMENT_ROLES[role]) == []


@pytest.mark.parametrize(
    ("role", "missing"),
    [
        ("member", "OrganizationId"),
        ("member", "ExternalId"),
        ("member", "CentralAccountId"),
        ("member", "CentralRegion"),
        ("central", "OrganizationId"),
        ("central", "ExternalId"),
    ],
)
def test_given_a_role_without_what_it_needs_then_the_rules_refuse_it_naming_the_parameter(
    role: str, missing: str
) -> None:
    (refusal,) = refusals(RAW, {**DEPLOYMENT_ROLES[role], missing: ""})

    assert missing in refusal.description
    assert f"A {role} stack" in refusal.description


@pytest.mark.parametrize("role", ["member", "central"])
def test_given_the_default_bus_as_the_central_bus_then_the_rules_refuse_it(role: str) -> None:
    (refusal,) = refusals(RAW, {**DEPLOYMENT_ROLES[role], "CentralEventBusName": "default"})

    assert "CentralEventBusName cannot be default" in refusal.description


def test_given_a_single_account_then_no_organization_parameter_is_asked_for() -> None:
    assert refusals(RAW, {"CentralEventBusName": "default"}) == []


# ------------------------------------------------------------------ what each role creates


@pytest.mark.parametrize(
    ("role", "created"),
    [
        ("single", EVERY_ROLE | WINDOW | NOTIFIER),
        ("member", EVERY_ROLE | WINDOW | MEMBER_ONLY),
        ("central", EVERY_ROLE | NOTIFIER | CENTRAL_ONLY),
    ],
)
def test_each_role_creates_what_it_runs_and_nothing_of_the_others(role: str, created: set[str]) -> None:
    # The instance role and profile come with CreateInstanceRole=true (not in these sets), and the
    # e-mail subscriptions with an address; both only where their part runs.
    assert set(RAW_IN[role]["Resources"]) == created


@pytest.mark.parametrize(("role", "sends"), [("single", True), ("member", False), ("central", True)])
def test_the_morning_summary_is_made_where_the_notifier_runs_when_scheduled(role: str, sends: bool) -> None:
    scheduled = {**DEPLOYMENT_ROLES[role], "SummarySchedule": "cron(0 7 * * ? *)"}
    resources = set(as_deployed(RAW, scheduled)["Resources"])

    assert {
        "NightSummaryFunction",
        "NightSummaryLogGroup",
        "NightSummaryErrorsAlarm",
        "NightSummaryThrottlesAlarm",
        "NightSummaryDroppedEventsAlarm",
        "NightSummaryDeadLetterErrorsAlarm",
        "NightSummaryMissedAlarm",
    } == SUMMARY
    assert (resources >= SUMMARY) is sends
    assert not (SUMMARY & resources) or sends


def test_a_member_runs_no_notifier_and_a_central_stack_no_window_even_when_asked() -> None:
    asked = {"CreateInstanceRole": "true", "NotificationEmail": "ops@example.com"}
    member = as_deployed(RAW, {**DEPLOYMENT_ROLES["member"], **asked})["Resources"]
    central = as_deployed(RAW, {**DEPLOYMENT_ROLES["central"], **asked})["Resources"]

    assert {"InstanceRole", "InstanceProfile"} <= set(member)
    assert not {"NotificationEmailSubscription", "AlarmEmailSubscription"} & set(member)
    assert {"NotificationEmailSubscription", "AlarmEmailSubscription"} <= set(central)
    assert not {"InstanceRole", "InstanceProfile"} & set(central)


@pytest.mark.parametrize(
    ("role", "functions"),
    [
        ("single", {"PublishScriptsFunction", *NOTIFIER_FUNCTIONS}),
        ("member", {"PublishScriptsFunction"}),
        ("central", set(NOTIFIER_FUNCTIONS)),
    ],
)
def test_what_sam_generates_for_a_function_follows_the_functions_condition(
    role: str, functions: set[str]
) -> None:
    resources = DEPLOYED[role]["Resources"]
    lambdas = {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    roles = {name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}

    assert lambdas == functions
    assert {f"{name}Role" for name in functions} <= roles


def references(node: Any) -> Iterator[str]:
    """Every logical id or parameter a node names: Ref, Fn::GetAtt, and ${...} in Fn::Sub."""
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            yield node["Ref"]
        elif set(node) == {"Fn::GetAtt"}:
            target = node["Fn::GetAtt"]
            yield (target.split(".", 1) if isinstance(target, str) else target)[0]
        elif set(node) == {"Fn::Sub"}:
            text, variables = (node["Fn::Sub"], {}) if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"]
            for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                if name not in variables:
                    yield name.split(".", 1)[0]
            yield from references(variables)
        else:
            for value in node.values():
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


@pytest.mark.parametrize("role", ROLES)
def test_everything_a_role_refers_to_is_a_parameter_or_a_resource_that_role_creates(role: str) -> None:
    # CloudFormation refuses a template that refers to a resource whose condition is false
    # ("Unresolved resource dependencies"): outputs and DependsOn included.
    deployed = DEPLOYED[role]
    known = set(deployed["Resources"]) | set(deployed["Parameters"])
    problems = []
    for section in ("Resources", "Outputs"):
        for name, entry in deployed[section].items():
            for target in references(entry):
                if not target.startswith("AWS::") and target not in known:
                    problems.append(f"{section}.{name} refers to {target}")
            for target in as_list(entry.get("DependsOn", [])):
                if target not in deployed["Resources"]:
                    problems.append(f"{section}.{name} depends on {target}")

    assert problems == []


@pytest.mark.parametrize(
    ("role", "outputs"),
    [
        (
            "member",
            {"MemberReadRoleArn", "ForwardDeadLetterQueueUrl", "MaintenanceWindowId", "LogBucketName"},
        ),
        (
            "central",
            {"CentralEventBusArn", "NotificationTopicArn", "NotifierDeadLetterQueueUrl", "LogBucketName"},
        ),
    ],
)
def test_each_role_outputs_what_its_user_needs(role: str, outputs: set[str]) -> None:
    assert outputs <= set(DEPLOYED[role]["Outputs"])


def test_the_new_outputs_name_the_new_resources() -> None:
    outputs = RAW["Outputs"]

    assert outputs["CentralEventBusArn"] == {
        "Condition": "IsCentral",
        "Description": outputs["CentralEventBusArn"]["Description"],
        "Value": {"Fn::GetAtt": ["CentralEventBus", "Arn"]},
    }
    assert outputs["MemberReadRoleArn"]["Value"] == {"Fn::GetAtt": ["MemberReadRole", "Arn"]}
    assert outputs["ForwardDeadLetterQueueUrl"]["Value"] == {"Ref": "ForwardDeadLetterQueue"}


# ------------------------------------------------------------------ the member's read role


def test_the_member_role_trusts_only_the_central_stacks_roles_inside_the_organization() -> None:
    role = resource("member", "MemberReadRole")["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]

    # One role per account and Region (IAM role names are per account; a member stack per Region).
    assert role["RoleName"] == {"Fn::Sub": "${MemberRoleName}-${AWS::Region}"}
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "sts:AssumeRole"
    # The account as principal, narrowed by the conditions: aws:PrincipalArn is the role's ARN for
    # a role session; aws:PrincipalOrgID is present only for a principal in an organization.
    assert statement["Principal"] == {
        "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${CentralAccountId}:root"}
    }
    assert statement["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralStackName}-*"
            }
        },
        "StringEquals": {
            "sts:ExternalId": {"Ref": "ExternalId"},
            "aws:PrincipalOrgID": {"Ref": "OrganizationId"},
        },
    }


def test_the_central_functions_roles_are_named_like_the_pattern_the_member_trusts() -> None:
    # Without a RoleName, CloudFormation names a resource "<stack>-<logical id>-<random>"
    # (CloudFormation Template Reference, "CloudFormation resource custom naming": its example is
    # MyStack-MyBucket-abcdefghijk1). How it shortens a name past IAM's 64 characters is not
    # documented (UNVERIFIED): hence "keep CentralStackName short" (docs/deploy.md).
    stack = RAW["Parameters"]["CentralStackName"]["Default"]
    pattern = f"arn:aws:iam::111122223333:role/{stack}-*"
    central_roles = {
        name for name, r in DEPLOYED["central"]["Resources"].items() if r["Type"] == "AWS::IAM::Role"
    }

    assert central_roles == {f"{name}Role" for name in NOTIFIER_FUNCTIONS}
    for logical_id in central_roles:
        assert "RoleName" not in resource("central", logical_id)["Properties"]
        name = f"{stack}-{logical_id}-abcdefghijk1"
        assert len(name) <= 64, name
        assert fnmatch.fnmatchcase(f"arn:aws:iam::111122223333:role/{name}", pattern)
    assert not fnmatch.fnmatchcase("arn:aws:iam::111122223333:role/other-stack-Role-1", pattern)


def member_read_statements() -> list[dict[str, Any]]:
    return [
        s for logical_id, where, s in policy_statements(DEPLOYED["member"]) if logical_id == "MemberReadRole"
    ][1:]


READ_VERBS = ("Describe", "Get", "List")
WRITE_VERBS = (
    "Add", "Associate", "Attach", "Cancel", "Copy", "Create", "Delete", "Deregister", "Detach",
    "Disable", "Disassociate", "Enable", "Encrypt", "Export", "Generate", "Import", "Invoke", "Modify",
    "Pass", "Publish", "Put", "ReEncrypt", "Reboot", "Register", "Remove", "Replace", "Reset", "Restore",
    "Run", "Send", "Set", "Start", "Stop", "Tag", "Terminate", "Untag", "Update", "Upload", "Write",
)  # fmt: skip


def test_the_member_role_reads_and_never_writes() -> None:
    statements = member_read_statements()
    actions = [action for s in statements for action in as_list(s["Action"])]

    assert statements, "the role has its permissions policy"
    assert all(s["Effect"] == "Allow" for s in statements)
    for action in actions:
        verb = action.split(":", 1)[1]
        assert "*" not in action, action
        assert not verb.startswith(WRITE_VERBS), action
        assert verb.startswith(READ_VERBS) or action == "kms:Decrypt", action


def test_the_member_role_reads_only_the_log_prefix_of_its_own_bucket_and_decrypts_only_through_s3() -> None:
    by_action: dict[str, list[dict[str, Any]]] = {}
    for statement in member_read_statements():
        for action in as_list(statement["Action"]):
            by_action.setdefault(action, []).append(statement)

    (get,) = by_action["s3:GetObject"]
    assert get["Resource"] == {"Fn::Sub": "${LogBucket.Arn}/${LogPrefix}*"}
    assert "Condition" not in get
    (listing,) = by_action["s3:ListBucket"]
    assert listing["Resource"] == {"Fn::GetAtt": ["LogBucket", "Arn"]}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": {"Fn::Sub": "${LogPrefix}*"}}}
    (decrypt,) = by_action["kms:Decrypt"]
    assert decrypt["Resource"] == {"Fn::GetAtt": ["LogKey", "Arn"]}
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
    }
    assert [a for a in by_action if a.startswith(("s3:", "kms:"))] == [
        "s3:ListBucket",
        "s3:GetObject",
        "kms:Decrypt",
    ]


def test_the_member_role_reads_what_the_notifier_functions_read_in_their_own_account() -> None:
    # The central functions read a member through this role what a single stack's functions read
    # with their own: every SSM, EC2 and IAM action of theirs but the extra-rules parameter (read
    # in the central account). Plus DescribeOrganization, to check the member's Organization, and
    # DescribeMaintenanceWindows, to find the member's window by the name a command's comment gives.
    function_roles = {f"{name}Role" for name in NOTIFIER_FUNCTIONS}
    theirs = {
        action
        for logical_id, where, s in policy_statements(DEPLOYED["single"])
        if logical_id in function_roles and where != "AssumeRolePolicyDocument"
        for action in as_list(s["Action"])
        if action.split(":")[0] in {"ssm", "ec2", "iam"}
    } - {"ssm:GetParameter"}
    member = {action for s in member_read_statements() for action in as_list(s["Action"])}

    assert theirs <= member, theirs - member
    assert {a for a in member if a.split(":")[0] in {"ssm", "ec2", "iam"}} == theirs | {
        "ssm:DescribeMaintenanceWindows"
    }
    assert "organizations:DescribeOrganization" in member


def test_the_member_role_reads_this_stacks_window_by_its_arn() -> None:
    (window,) = [s for s in member_read_statements() if "ssm:GetMaintenanceWindow" in as_list(s["Action"])]

    assert window["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:"
        "maintenancewindow/${MaintenanceWindow}"
    }


# ------------------------------------------------------------------ forwarding to the central bus


def test_the_forward_role_can_only_put_events_on_the_one_central_bus() -> None:
    role = resource("member", "ForwardToCentralRole")["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    statements = [s for n, w, s in policy_statements(DEPLOYED["member"]) if n == "ForwardToCentralRole"][1:]

    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert [(s["Effect"], s["Action"], s["Resource"]) for s in statements] == [
        ("Allow", "events:PutEvents", CENTRAL_BUS_ARN)
    ]
    assert "ManagedPolicyArns" not in role


def test_the_forward_rule_targets_the_central_bus_with_its_role_and_parks_failures() -> None:
    rule = resource("member", "ForwardToCentralRule")["Properties"]
    (target,) = rule["Targets"]

    assert "EventBusName" not in rule, "the default bus, where Systems Manager's events arrive"
    assert target["Arn"] == CENTRAL_BUS_ARN
    # A cross-account bus target needs a role (EventBridge user guide, "Sending and receiving events
    # between AWS accounts").
    assert target["RoleArn"] == {"Fn::GetAtt": ["ForwardToCentralRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"]}}
    queue = resource("member", "ForwardDeadLetterQueue")
    assert queue["Properties"]["KmsMasterKeyId"] == {"Ref": "LogKey"}
    assert queue["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("watch_all", ["false", "true"])
def test_the_forward_rule_forwards_what_a_single_stacks_notifier_subscribes(watch_all: str) -> None:
    # Both notifier patterns, as one rule: each "$or" branch with the shared source is one pattern.
    member = as_deployed(TRANSLATED, {**DEPLOYMENT_ROLES["member"], "WatchAllCommands": watch_all})
    single = as_deployed(TRANSLATED, {"WatchAllCommands": watch_all})
    forwarded = member["Resources"]["ForwardToCentralRule"]["Properties"]["EventPattern"]
    subscribed = [
        single["Resources"][f"{function}{event}"]["Properties"]["EventPattern"]
        for function, event in (
            ("CommandFailedFunction", "CommandFailed"),
            ("WindowFailedFunction", "WindowExecution"),
        )
    ]

    assert set(forwarded) == {"source", "$or"}
    assert [{"source": forwarded["source"], **branch} for branch in forwarded["$or"]] == subscribed


def test_the_central_functions_listen_on_the_central_bus_to_every_member() -> None:
    for name in ("CommandFailedFunctionCommandFailed", "WindowFailedFunctionWindowExecution"):
        central = resource("central", name)["Properties"]
        single = resource("single", name)["Properties"]

        assert central["EventBusName"] == {"Ref": "CentralEventBus"}, name
        assert "EventBusName" not in single, f"{name}: the default bus"
        detail = central["EventPattern"]["detail"]
        # What the members forward: their own window's executions, their documents' commands.
        assert not {"window-id", "document-name"} & set(detail), name
        assert central["EventPattern"]["detail-type"] == single["EventPattern"]["detail-type"]
        assert detail["status"] == single["EventPattern"]["detail"]["status"]


# ------------------------------------------------------------------ the central bus and roles


def test_the_central_bus_takes_events_only_from_the_organization() -> None:
    bus = resource("central", "CentralEventBus")["Properties"]
    policy = resource("central", "CentralEventBusPolicy")["Properties"]

    assert bus["Name"] == {"Ref": "CentralEventBusName"}
    assert policy["EventBusName"] == {"Ref": "CentralEventBus"}
    assert policy["Statement"] == {
        "Sid": "OrganizationPutsEvents",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["CentralEventBus", "Arn"]},
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}},
    }


def assume_role_statements(role: str) -> list[dict[str, Any]]:
    return [
        s
        for logical_id, where, s in policy_statements(DEPLOYED[role])
        if where != "AssumeRolePolicyDocument" and "sts:AssumeRole" in as_list(s.get("Action", []))
    ]


def test_only_the_central_functions_assume_a_role_and_only_the_member_role_in_the_organization() -> None:
    statements = assume_role_statements("central")
    holders = {
        logical_id
        for logical_id, where, s in policy_statements(DEPLOYED["central"])
        if where != "AssumeRolePolicyDocument" and "sts:AssumeRole" in as_list(s.get("Action", []))
    }

    assert holders == {f"{name}Role" for name in NOTIFIER_FUNCTIONS}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert as_list(statement["Action"]) == ["sts:AssumeRole"]
        assert statement["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}-*"}
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    assert assume_role_statements("single") == []
    assert assume_role_statements("member") == []


def test_a_central_stack_keeps_no_window_read_of_its_own_nor_a_scripts_deny() -> None:
    # Its functions read the members' windows through the member role; it publishes no scripts.
    window_reads = [
        s
        for _, where, s in policy_statements(DEPLOYED["central"])
        if where != "AssumeRolePolicyDocument" and "maintenancewindow/" in str(s.get("Resource"))
    ]
    bucket_policy = resource("central", "LogBucketPolicy")["Properties"]["PolicyDocument"]["Statement"]

    assert window_reads == []
    assert [s["Sid"] for s in bucket_policy] == ["DenyInsecureTransport"]


# ------------------------------------------------------------------ the functions' environment

REFS = {
    "NotificationTopic": "arn:aws:sns:eu-west-2:123456789012:topic",
    "IdempotencyTable": "idempotency",
    "HistoryTable": "history",
    "LogBucket": "bucket",
    "MaintenanceWindow": "mw-0123456789abcdef0",
}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "single",
            {
                "DEPLOYMENT_ROLE": "single",
                "ORGANIZATION_ID": "",
                "MEMBER_ROLE_NAME": "",
                "MEMBER_EXTERNAL_ID": "",
            },
        ),
        (
            "central",
            {
                "DEPLOYMENT_ROLE": "central",
                "ORGANIZATION_ID": "o-a1b2c3d4e5",
                "MEMBER_ROLE_NAME": "instance-hygiene-member-read",
                "MEMBER_EXTERNAL_ID": "hygiene-7f3a9c21",
            },
        ),
    ],
)
@pytest.mark.parametrize("function", NOTIFIER_FUNCTIONS)
def test_the_notifier_functions_get_the_organization_settings_where_they_apply(
    function: str, role: str, expected: dict[str, str]
) -> None:
    # As the stand-in and `make env-file` resolve it (local.lambda_env), for that role's deploy.
    environment = function_environment(function, Deployment(refs=REFS, parameters=DEPLOYMENT_ROLES[role]))

    assert {name: environment[name] for name in expected} == expected
    if function == "CommandFailedFunction":
        assert environment["WINDOW_ID"] == ("" if role == "central" else REFS["MaintenanceWindow"])


def test_every_test_the_deploy_doc_cites_exists() -> None:
    # docs/deploy.md names the test behind each claim: a renamed or removed test must not leave it stale.
    text = (ROOT / "docs" / "deploy.md").read_text()
    cited = set(re.findall(r"`(test_\w+)`", text))
    defined = {
        name
        for path in (ROOT / "tests").rglob("test_*.py")
        for name in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)
    }

    assert cited, "the doc cites its tests"
    assert cited <= defined, cited - defined
