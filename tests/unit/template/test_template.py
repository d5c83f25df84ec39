"""template.yaml, parsed and translated offline: what `sam deploy` would create."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from instance_hygiene.aws.history import RUN_ITEM, TTL_ATTRIBUTE
from local.template import raw_template
from tests.cfn import (
    DEPLOYMENT_ROLES,
    ROOT,
    as_deployed,
    as_list,
    conditions_for,
    include_location,
    load_document,
    policy_statements,
    resolve_if,
    translated_template,
)

RAW = raw_template()
RESOURCES = RAW["Resources"]
PARAMETERS = RAW["Parameters"]
# The conditions of a single-account deploy with the default parameters.
SINGLE = conditions_for(RAW)
ROLES = sorted(DEPLOYMENT_ROLES)

# Statements allowed to use Resource "*", each with the reason the API leaves no narrower choice.
WILDCARD_RESOURCE_ALLOWED = {
    ("LogKey", "AccountAdministersTheKey"): "a key policy's resource is always the key itself",
    ("LogKey", "AccountPrincipalsUseTheKeyThroughIamPolicies"): "a key policy's resource is the key",
    ("MaintenanceWindowRole", "FollowAndCancelCommands"): "Run Command reads support no resource ARNs",
    ("MaintenanceWindowRole", "ResolveInstanceTargets"): "Describe calls support no resource ARNs",
    ("AlarmKey", "AccountAdministersAndUsesTheKey"): "a key policy's resource is the key",
    ("AlarmKey", "CloudWatchAlarmsPublishToTheEncryptedTopic"): "a key policy's resource is the key",
    ("LogKey", "EventBridgeParksEventsInTheEncryptedDeadLetterQueue"): "a key policy's resource is the key",
    ("CommandFailedFunctionRole", "ReadCommandsAndInstances"): "Run Command reads support no resource ARNs",
    ("WindowFailedFunctionRole", "ReadWindowExecutions"): "window execution reads support no resource ARNs",
    ("CommandFailedFunctionRole", "ReadTheNightsWindow"): "window execution reads support no resource ARNs",
    ("WindowFailedFunctionRole", "CountTheTasksCommands"): (
        "ListCommandInvocations supports no resource ARNs; DescribeInstancePatchStates: UNVERIFIED"
    ),
    ("CommandFailedFunctionRole", "ReadTheAccountAlias"): "ListAccountAliases supports no resource ARNs",
    ("WindowFailedFunctionRole", "ReadTheAccountAlias"): "ListAccountAliases supports no resource ARNs",
    ("NightSummaryFunctionRole", "ListTheOrganizationsAccounts"): "ListAccounts supports no resource ARNs",
    (
        "CommandFailedFunctionRole",
        "ReadPatchStates",
    ): "DescribeInstancePatchStates: UNVERIFIED (as the window's)",
    # The member's read role: the same reads as the notifier functions', for the central ones.
    ("MemberReadRole", "ReadCommandsInstancesAndPatchStates"): (
        "Run Command reads and Describe calls support no resource ARNs; "
        "DescribeInstancePatchStates: UNVERIFIED"
    ),
    ("MemberReadRole", "ReadWindowExecutions"): "window execution reads support no resource ARNs",
    ("MemberReadRole", "FindThisWindowByName"): "DescribeMaintenanceWindows takes no resource ARN",
    ("MemberReadRole", "ReadTheAccountAliasAndOrganization"): (
        "ListAccountAliases supports no resource ARNs; DescribeOrganization has no input (botocore model)"
    ),
}


def props(logical_id: str) -> dict[str, Any]:
    return RESOURCES[logical_id]["Properties"]  # type: ignore[no-any-return]


# ------------------------------------------------------------------ parameters


def test_every_parameter_is_described_and_grouped_once() -> None:
    groups = RAW["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]

    assert sorted(grouped) == sorted(PARAMETERS), "each parameter in exactly one group"
    for name, parameter in PARAMETERS.items():
        assert len(parameter.get("Description", "")) > 20, name
        assert "Default" in parameter, f"{name} needs a default so `sam deploy --guided` can accept it"


def test_every_parameter_has_a_label_for_sam_deploy_guided_and_the_console() -> None:
    labels = RAW["Metadata"]["AWS::CloudFormation::Interface"]["ParameterLabels"]

    assert sorted(labels) == sorted(PARAMETERS)
    for name, label in labels.items():
        assert 5 <= len(label["default"]) <= 80, name


CONSTRAINED = sorted(n for n, p in PARAMETERS.items() if "AllowedPattern" in p or "MinValue" in p)


def examples(constraint: str) -> list[str]:
    """The values a ConstraintDescription gives after its last `(e.g. `, up to its closing `)`."""
    if "(e.g. " not in constraint:
        return []
    assert constraint.endswith(")"), constraint
    return constraint.rsplit("(e.g. ", 1)[1][:-1].split("; ")


@pytest.mark.parametrize("name", CONSTRAINED)
def test_a_constrained_parameter_says_in_words_what_it_accepts_and_its_examples_are_accepted(
    name: str,
) -> None:
    # A value that fails AllowedPattern or a range shows this text, not the raw regex.
    parameter = PARAMETERS[name]
    constraint = parameter.get("ConstraintDescription", "")

    assert constraint, f"{name}: a bad value would show only the raw constraint"
    assert "^" not in constraint, "words, not the regex"
    assert "\\" not in constraint, "words, not the regex"
    if "MinValue" in parameter:
        assert f"from {parameter['MinValue']} to {parameter['MaxValue']}" in constraint
    for example in examples(constraint):
        values = example.split(",") if parameter["Type"] == "CommaDelimitedList" else [example]
        assert all(re.fullmatch(parameter["AllowedPattern"], v) for v in values), (name, example)
    if parameter.get("Default") == "" and "AllowedPattern" in parameter:
        assert constraint.startswith("empty, or "), f"{name} may be left empty: say so"


def test_without_a_notification_email_the_outputs_warn_that_nobody_is_subscribed() -> None:
    output = RAW["Outputs"]["NobodyIsSubscribed"]

    assert output["Condition"] == "WarnsNobodyIsSubscribed"
    assert RAW["Conditions"]["WarnsNobodyIsSubscribed"] == {
        "Fn::And": [{"Condition": "RunsNotifier"}, {"Condition": "NoNotificationEmail"}]
    }
    assert RAW["Conditions"]["NoNotificationEmail"] == {"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}
    assert output["Description"].startswith("Warning: ")
    assert "hygiene notify-test" in output["Value"]["Fn::Sub"]


def test_samconfig_names_the_region_every_command_uses() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    assert re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", config["default"]["global"]["parameters"]["region"])


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameter_default_satisfies_its_own_constraints(name: str) -> None:
    parameter = PARAMETERS[name]
    default = str(parameter["Default"])
    values = default.split(",") if parameter["Type"] == "CommaDelimitedList" else [default]
    for value in values:
        if "AllowedPattern" in parameter:
            assert re.fullmatch(parameter["AllowedPattern"], value), (name, value)
        if "AllowedValues" in parameter:
            assert value in [str(v) for v in parameter["AllowedValues"]], (name, value)
        if "MinValue" in parameter:
            assert parameter["MinValue"] <= int(value) <= parameter["MaxValue"], (name, value)


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("TargetInstanceIds", "i-123; rm"),
        ("HealthcheckRequiredServices", "sshd;reboot"),
        ("HealthcheckRequiredServices", "$(id)"),
        ("HealthcheckHttpEndpoint", "http://example.com/"),
        ("HealthcheckHttpEndpoint", "http://localhost/`id`"),
        ("LogPrefix", "ssm_output"),
        ("LogPrefix", "../x/"),
        ("MaxConcurrency", "0"),
        ("MaxConcurrency", "101%"),
        ("WindowName", "no spaces allowed"),
        ("NotificationEmail", "not-an-address"),
    ],
)
def test_parameter_patterns_reject_unsafe_values(name: str, bad: str) -> None:
    assert not re.fullmatch(PARAMETERS[name]["AllowedPattern"], bad)


# ------------------------------------------------------------------ window, target and tasks


def test_window_defaults_follow_the_seed() -> None:
    window = props("MaintenanceWindow")

    assert window["Schedule"] == {"Ref": "Schedule"}
    assert PARAMETERS["Schedule"]["Default"] == "cron(0 9 ? * * *)"
    assert window["ScheduleTimezone"] == {"Ref": "ScheduleTimezone"}
    assert PARAMETERS["ScheduleTimezone"]["Default"] == "Europe/London"
    assert (PARAMETERS["WindowDuration"]["Default"], PARAMETERS["WindowCutoff"]["Default"]) == (3, 1)
    assert resolve_if(window, {"HasScheduleOffset": False}).get("ScheduleOffset") is None
    assert resolve_if(window, {"HasScheduleOffset": True})["ScheduleOffset"] == {"Ref": "ScheduleOffset"}


@pytest.mark.parametrize(
    ("by_ids", "expected"),
    [
        (False, [{"Key": {"Fn::Sub": "tag:${TargetTagKey}"}, "Values": [{"Ref": "TargetTagValue"}]}]),
        (True, [{"Key": "InstanceIds", "Values": {"Ref": "TargetInstanceIds"}}]),
    ],
)
def test_target_is_the_tag_or_the_instance_ids(by_ids: bool, expected: list[Any]) -> None:
    target = resolve_if(props("MaintenanceWindowTarget"), {"TargetByInstanceIds": by_ids})

    assert target["Targets"] == expected
    assert target["ResourceType"] == "INSTANCE"
    assert PARAMETERS["TargetTagKey"]["Default"] == "Patch Group"


def test_condition_picks_ids_only_when_some_are_given() -> None:
    condition = RAW["Conditions"]["TargetByInstanceIds"]

    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "TargetInstanceIds"}]}, ""]}]}
    assert PARAMETERS["TargetInstanceIds"]["Default"] == ""


def test_patch_runs_first_then_healthcheck_on_the_same_targets() -> None:
    patch, health = props("PatchTask"), props("HealthcheckTask")

    assert patch["TaskArn"] == "AWS-RunPatchBaseline"
    assert health["TaskArn"] == {"Ref": "HealthcheckDocument"}
    assert patch["Priority"] == 10
    assert health["Priority"] == 20
    for task in (patch, health):
        assert task["TaskType"] == "RUN_COMMAND"
        assert task["Targets"] == [{"Key": "WindowTargetIds", "Values": [{"Ref": "MaintenanceWindowTarget"}]}]
        assert task["ServiceRoleArn"] == {"Fn::GetAtt": ["MaintenanceWindowRole", "Arn"]}
        assert task["MaxConcurrency"] == {"Ref": "MaxConcurrency"}
        assert task["MaxErrors"] == {"Ref": "MaxErrors"}
    assert (PARAMETERS["MaxConcurrency"]["Default"], PARAMETERS["MaxErrors"]["Default"]) == ("100%", "0")


def test_both_tasks_write_output_to_the_log_bucket_prefix() -> None:
    for task in ("PatchTask", "HealthcheckTask"):
        run = props(task)["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]
        assert run["OutputS3BucketName"] == {"Ref": "LogBucket"}, task
        assert run["OutputS3KeyPrefix"] == {"Ref": "LogPrefix"}, task
    assert PARAMETERS["LogPrefix"]["Default"] == "ssm_output/"


def test_patch_task_parameters() -> None:
    run = props("PatchTask")["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]

    assert run["Parameters"] == {
        "Operation": [{"Ref": "PatchOperation"}],
        "RebootOption": [{"Ref": "PatchRebootOption"}],
        "SnapshotId": ["{{WINDOW_EXECUTION_ID}}"],
    }
    assert PARAMETERS["PatchOperation"]["AllowedValues"] == ["Scan", "Install"]
    assert PARAMETERS["PatchOperation"]["Default"] == "Scan"
    assert PARAMETERS["PatchRebootOption"]["AllowedValues"] == ["NoReboot", "RebootIfNeeded"]
    assert PARAMETERS["PatchRebootOption"]["Default"] == "NoReboot"


# ------------------------------------------------------------------ healthcheck document


def test_document_comes_from_the_file_in_documents() -> None:
    location = include_location(props("HealthcheckDocument")["Content"])

    assert (ROOT / location).resolve() == (ROOT / "documents" / "healthcheck.yaml").resolve()
    assert props("HealthcheckDocument")["DocumentType"] == "Command"
    assert "healthcheck" not in str(props("HealthcheckDocument")).replace(location, ""), "no inline copy"


def test_healthcheck_task_parameters_are_the_documents_parameters() -> None:
    document = load_document(ROOT / include_location(props("HealthcheckDocument")["Content"]))
    run = props("HealthcheckTask")["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]
    declared = document["parameters"]
    required = {name for name, spec in declared.items() if "default" not in spec}

    assert set(run["Parameters"]) <= set(declared), "the task may only pass parameters the document has"
    assert required <= set(run["Parameters"]), "every required document parameter is passed"
    assert run["Parameters"]["ScriptBucket"] == [{"Ref": "LogBucket"}]
    assert run["Parameters"]["LinuxScriptKey"] == [{"Fn::Sub": "${ScriptsPrefix}healthcheck.sh"}]


def test_healthcheck_task_requires_the_hashes_the_publisher_returns() -> None:
    run = props("HealthcheckTask")["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]
    scripts = props("HealthcheckScripts")

    assert run["Parameters"]["LinuxScriptSha256"] == [{"Fn::GetAtt": ["HealthcheckScripts", "LinuxSha256"]}]
    assert run["Parameters"]["WindowsScriptSha256"] == [
        {"Fn::GetAtt": ["HealthcheckScripts", "WindowsSha256"]}
    ]
    assert scripts["LinuxScriptSha256"] == {"Ref": "HealthcheckLinuxScriptSha256"}
    assert scripts["WindowsScriptSha256"] == {"Ref": "HealthcheckWindowsScriptSha256"}
    assert scripts["OtherPrefixes"] == [{"Ref": "LogPrefix"}, {"Ref": "ReportsPrefix"}]


@pytest.mark.parametrize("name", ["HealthcheckLinuxScriptSha256", "HealthcheckWindowsScriptSha256"])
def test_a_declared_script_hash_is_empty_or_64_lowercase_hex(name: str) -> None:
    pattern = PARAMETERS[name]["AllowedPattern"]

    assert PARAMETERS[name]["Default"] == ""
    assert re.fullmatch(pattern, "0123456789abcdef" * 4)
    for bad in ("0123456789ABCDEF" * 4, "0" * 63, "0" * 65, "x" * 64, "'$(id)'"):
        assert not re.fullmatch(pattern, bad), bad
    assert PARAMETERS[name]["ConstraintDescription"]


def test_packaged_scripts_are_the_documents_scripts() -> None:
    packaged = ROOT / "functions" / "publish_scripts" / "scripts"

    assert packaged.resolve() == (ROOT / "documents" / "scripts").resolve()
    assert {p.name for p in packaged.iterdir()} >= {"healthcheck.sh", "healthcheck.ps1"}


# ------------------------------------------------------------------ bucket


def test_bucket_is_encrypted_with_the_rotating_customer_key() -> None:
    rule = props("LogBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]

    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Fn::GetAtt": ["LogKey", "Arn"]},
    }
    assert rule["BucketKeyEnabled"] is True
    assert props("LogKey")["EnableKeyRotation"] is True


def test_bucket_blocks_public_access_and_enforces_owner() -> None:
    bucket = props("LogBucket")

    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_bucket_policy_denies_requests_without_tls() -> None:
    policy = resolve_if(props("LogBucketPolicy"), SINGLE)["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    statement = statements["DenyInsecureTransport"]

    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [{"Fn::GetAtt": ["LogBucket", "Arn"]}, {"Fn::Sub": "${LogBucket.Arn}/*"}]


@pytest.mark.parametrize("operator", [False, True])
def test_bucket_policy_lets_only_the_publisher_and_the_operator_role_write_the_scripts(
    operator: bool,
) -> None:
    conditions = {**SINGLE, "HasScriptsOperatorRole": operator}
    policy = resolve_if(props("LogBucketPolicy"), conditions)["PolicyDocument"]
    deny = {s["Sid"]: s for s in policy["Statement"]}["OnlyThePublisherWritesTheScripts"]

    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    assert deny["Resource"] == {"Fn::Sub": "${LogBucket.Arn}/${ScriptsPrefix}*"}
    writes = {"s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject", "s3:DeleteObjectVersion"}
    assert writes <= set(deny["Action"])
    assert not any(a.startswith(("s3:Get", "s3:List")) for a in deny["Action"]), "instances still read them"
    allowed = [{"Fn::GetAtt": ["PublishScriptsFunctionRole", "Arn"]}]
    if operator:
        allowed.append({"Ref": "ScriptsOperatorRoleArn"})
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": allowed}}
    # SAM names the function's generated role <function>Role: the ARN the deny exempts exists.
    assert TRANSLATED["Resources"]["PublishScriptsFunctionRole"]["Type"] == "AWS::IAM::Role"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("arn:aws:iam::123456789012:role/script-admin", True),
        ("arn:aws-us-gov:iam::123456789012:role/ops/script-admin", True),
        ("arn:aws:iam::123456789012:user/alice", False),
        ("arn:aws:iam::123456789012:root", False),
        ("*", False),
        ("arn:aws:iam::*:role/x", False),
    ],
)
def test_the_operator_role_parameter_takes_only_a_role_arn(value: str, accepted: bool) -> None:
    pattern = PARAMETERS["ScriptsOperatorRoleArn"]["AllowedPattern"]

    assert (re.fullmatch(pattern, value) is not None) is accepted


@pytest.mark.parametrize("archive", [False, True])
def test_lifecycle_expires_logs_but_not_scripts(archive: bool) -> None:
    rules = resolve_if(props("LogBucket"), {"HasArchiveTransition": archive})["LifecycleConfiguration"][
        "Rules"
    ]
    by_prefix = {str(rule.get("Prefix")): rule for rule in rules}

    logs = by_prefix[str({"Ref": "LogPrefix"})]
    assert logs["ExpirationInDays"] == {"Ref": "LogRetentionDays"}
    assert PARAMETERS["LogRetentionDays"]["Default"] == 90
    assert ("Transitions" in logs) is archive
    scripts = by_prefix[str({"Ref": "ScriptsPrefix"})]
    assert "ExpirationInDays" not in scripts, "current scripts never expire"
    (abort,) = [rule for rule in rules if "AbortIncompleteMultipartUpload" in rule]
    assert "Prefix" not in abort, "aborts incomplete uploads everywhere"
    assert all(rule["Status"] == "Enabled" for rule in rules)


def test_topic_is_encrypted_with_the_key() -> None:
    assert props("NotificationTopic")["KmsMasterKeyId"] == {"Ref": "LogKey"}


# ------------------------------------------------------------------ IAM


def test_window_role_trusts_only_ssm_in_this_account() -> None:
    (statement,) = props("MaintenanceWindowRole")["AssumeRolePolicyDocument"]["Statement"]

    assert statement["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnEqualsIfExists": {
            "aws:SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:"
                "maintenancewindow/${MaintenanceWindow}"
            }
        },
    }
    # The window does not depend on its role (the tasks do): naming the window makes no cycle.
    assert "MaintenanceWindowRole" not in str(props("MaintenanceWindow"))


def test_window_role_sends_only_the_two_documents() -> None:
    (send,) = [
        s
        for _, where, s in policy_statements(RAW)
        if where.startswith("Policies") and "ssm:SendCommand" in as_list(s["Action"])
    ]
    documents = [r for r in send["Resource"] if ":document/" in str(r)]

    assert len(documents) == 2
    assert "AWS-RunPatchBaseline" in str(documents[0])
    assert "${HealthcheckDocument}" in str(documents[1])


def test_window_role_can_resolve_a_tag_target() -> None:
    # The user guide's base policy for a maintenance window's service role ("Control access to
    # maintenance windows") lists ssm:ListTagsForResource and tag:GetResources; without what a tag
    # target needs, the window resolves no instance and the night runs on nobody.
    granted = {
        action
        for _, where, s in policy_statements(RAW)
        if where == "Policies/RunWindowTasks"
        for action in as_list(s["Action"])
    }

    assert {"ssm:ListTagsForResource", "tag:GetResources", "ssm:DescribeInstanceInformation"} <= granted


def test_instance_policy_grants_what_the_agent_needs_for_logs_and_scripts() -> None:
    statements = {s["Sid"]: s for s in props("InstancePolicy")["PolicyDocument"]["Statement"]}

    assert statements["ReadHealthcheckScripts"]["Resource"] == {
        "Fn::Sub": "${LogBucket.Arn}/${ScriptsPrefix}*"
    }
    assert "s3:PutObject" in statements["WriteCommandOutput"]["Action"]
    uuid = "????????-????-????-????-????????????"
    assert statements["WriteCommandOutput"]["Resource"] == [
        {"Fn::Sub": f"${{LogBucket.Arn}}/${{LogPrefix}}{uuid}/i-*/*"},
        {"Fn::Sub": f"${{LogBucket.Arn}}/${{LogPrefix}}{uuid}/mi-*/*"},
    ]
    assert "s3:GetEncryptionConfiguration" in statements["AgentChecksBucketEncryptionAndRegion"]["Action"]
    kms = statements["UseTheLogKeyThroughS3"]
    assert set(kms["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert kms["Resource"] == {"Fn::GetAtt": ["LogKey", "Arn"]}


@pytest.mark.parametrize(
    ("existing", "create"),
    [(False, False), (True, False), (False, True), (True, True)],
)
def test_instance_policy_attaches_to_named_and_created_roles(existing: bool, create: bool) -> None:
    resolved = resolve_if(props("InstancePolicy"), {"HasExistingInstanceRoles": existing})

    assert ("Roles" in resolved) is existing
    role = RESOURCES["InstanceRole"]
    assert role["Condition"] == "CreatesInstanceRole"
    assert {"Ref": "InstancePolicy"} in role["Properties"]["ManagedPolicyArns"]
    assert RESOURCES["InstanceProfile"]["Condition"] == "CreatesInstanceRole"
    created = conditions_for(RAW, {"CreateInstanceRole": str(create).lower()})["CreatesInstanceRole"]
    assert created is create


def test_key_policy_delegates_every_kms_action_the_iam_policies_grant() -> None:
    delegated = {
        action
        for logical_id, _, s in policy_statements(RAW)
        if logical_id == "LogKey"
        for action in as_list(s["Action"])
    }
    granted = {
        action
        for logical_id, where, s in policy_statements(translated_template())
        if logical_id != "LogKey" and s["Effect"] == "Allow" and where != "AssumeRolePolicyDocument"
        for action in as_list(s["Action"])
        if action.startswith("kms:")
    }

    assert granted
    assert granted <= delegated


def test_no_wildcard_actions_and_only_justified_wildcard_resources() -> None:
    translated = translated_template()
    problems = []
    for logical_id, where, statement in policy_statements(translated):
        actions = as_list(statement.get("Action", []))
        if statement["Effect"] == "Allow" and any("*" in action for action in actions):
            problems.append(f"{logical_id} {where}: wildcard action {actions}")
        if statement["Effect"] == "Allow" and "*" in as_list(statement.get("Resource", [])):
            key = (logical_id, statement.get("Sid", ""))
            if key not in WILDCARD_RESOURCE_ALLOWED:
                problems.append(f"{logical_id} {where}: Resource '*' without a recorded reason")
        if statement["Effect"] == "Deny":
            assert "Condition" in statement, f"{logical_id}: an unconditional deny is a mistake"

    assert problems == []


def test_translated_template_has_the_custom_resource_wired_to_a_function_version() -> None:
    translated = translated_template()
    scripts = translated["Resources"]["HealthcheckScripts"]["Properties"]

    assert scripts["ServiceToken"] == {"Fn::GetAtt": ["PublishScriptsFunction", "Arn"]}
    version_ref = scripts["Revision"]["Ref"]
    assert translated["Resources"][version_ref]["Type"] == "AWS::Lambda::Version"


def test_custom_resource_gives_up_long_before_an_hour_but_after_lambdas_retries() -> None:
    # CloudFormation waits ServiceTimeout seconds (default and maximum 3,600) for an answer; it
    # invokes the function asynchronously, so Lambda retries a crash twice (Lambda developer guide,
    # "Using AWS Lambda with CloudFormation", "Asynchronous invocation").
    timeout = props("HealthcheckScripts")["ServiceTimeout"]
    function_timeout = props("PublishScriptsFunction")["Timeout"]

    assert 3 * function_timeout < timeout < 3600


def test_publisher_may_list_the_scripts_prefix_so_a_missing_script_is_not_a_403() -> None:
    statements = {s["Sid"]: s for s in props("PublishScriptsFunction")["Policies"][0]["Statement"]}

    assert statements["FindPublishedScripts"] == {
        "Sid": "FindPublishedScripts",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": {"Fn::GetAtt": ["LogBucket", "Arn"]},
        "Condition": {"StringLike": {"s3:prefix": {"Fn::Sub": "${ScriptsPrefix}*"}}},
    }


# ------------------------------------------------------------------ notifier functions


def _rule(function: str) -> dict[str, Any]:
    (event,) = props(function)["Events"].values()
    assert event["Type"] == "EventBridgeRule"
    return event["Properties"]  # type: ignore[no-any-return]


def _status_matches(pattern: dict[str, Any], status: str) -> bool:
    """EventBridge's matching of one status against a pattern's list (exact values, anything-but)."""
    for expected in pattern["detail"]["status"]:
        if isinstance(expected, dict):
            if status not in expected["anything-but"]:
                return True
        elif expected == status:
            return True
    return False


COMMAND_END_STATES = ["Success", "Failed", "TimedOut", "Cancelled"]
# Beyond the documented ones: what AWS's multi-account patch-reporting sample matches on.
COMMAND_OTHER_STATES = [
    "Incomplete",
    "DeliveryTimedOut",
    "RateExceeded",
    "AccessDenied",
    "No Instances In Tag",
]


@pytest.mark.parametrize(("watch_all", "documents"), [(False, True), (True, False)])
def test_command_rule_sends_every_end_state_of_the_windows_documents_or_all(
    watch_all: bool, documents: bool
) -> None:
    conditions = conditions_for(RAW, {"WatchAllCommands": str(watch_all).lower()})
    rule = resolve_if(_rule("CommandFailedFunction"), conditions)
    pattern = rule["Pattern"]

    assert pattern["source"] == ["aws.ssm"]
    assert pattern["detail-type"] == ["EC2 Command Status-change Notification"]
    for status in COMMAND_END_STATES + COMMAND_OTHER_STATES:
        assert _status_matches(pattern, status), f"{status}: a Success may hide failures; others are checked"
    for status in ["Pending", "InProgress", "Delayed", "Cancelling"]:
        assert not _status_matches(pattern, status), f"{status} is not an end state"
    assert ("document-name" in pattern["detail"]) is documents
    if documents:
        assert pattern["detail"]["document-name"] == ["AWS-RunPatchBaseline", {"Ref": "HealthcheckDocument"}]


def test_window_rule_sends_every_end_state_of_this_window_whatever_notify_on_success() -> None:
    pattern = resolve_if(_rule("WindowFailedFunction"), SINGLE)["Pattern"]

    assert pattern["detail-type"] == ["Maintenance Window Execution State-change Notification"]
    assert pattern["detail"]["window-id"] == [{"Ref": "MaintenanceWindow"}]
    for status in ["SUCCESS", "FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED_OVERLAPPING"]:
        assert _status_matches(pattern, status), f"{status}: a SUCCESS may have run on no instance"
    for status in ["PENDING", "IN_PROGRESS", "CANCELLING"]:
        assert not _status_matches(pattern, status)
    assert props("WindowFailedFunction")["Environment"]["Variables"]["NOTIFY_ON_SUCCESS"] == {
        "Ref": "NotifyOnSuccess"
    }


@pytest.mark.parametrize("function", ["CommandFailedFunction", "WindowFailedFunction"])
def test_no_event_is_lost_between_eventbridge_lambda_and_the_dead_letter_queue(function: str) -> None:
    function_props = props(function)
    rule = _rule(function)

    assert rule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["NotifierDeadLetterQueue", "Arn"]}}
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert function_props["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["NotifierDeadLetterQueue", "Arn"]},
    }
    assert function_props["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    assert function_props["Timeout"] >= 60
    log_group = function_props["LoggingConfig"]["LogGroup"]["Ref"]
    assert props(log_group)["RetentionInDays"] > 0
    assert RAW["Globals"]["Function"]["Tracing"] == "Active"


def test_no_function_reserves_concurrency_unless_the_parameter_asks() -> None:
    # Lambda keeps 100 of the account's concurrency unreserved: in a new account (quota 10 or 50)
    # any reservation fails the first deploy ("... below its minimum value").
    reserved = {
        name: resource["Properties"]["ReservedConcurrentExecutions"]
        for name, resource in RESOURCES.items()
        if "ReservedConcurrentExecutions" in resource.get("Properties", {})
    }

    assert reserved == {
        "CommandFailedFunction": {
            "Fn::If": [
                "HasNotifierReservedConcurrency",
                {"Ref": "NotifierReservedConcurrency"},
                {"Ref": "AWS::NoValue"},
            ]
        }
    }
    assert PARAMETERS["NotifierReservedConcurrency"]["Default"] == ""
    assert RAW["Conditions"]["HasNotifierReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotifierReservedConcurrency"}, ""]}]
    }


def test_dead_letter_queue_is_encrypted_and_alarmed() -> None:
    queue = props("NotifierDeadLetterQueue")
    alarm = props("NotifierDeadLetterAlarm")

    assert queue["KmsMasterKeyId"] == {"Ref": "LogKey"}
    assert queue["MessageRetentionPeriod"] == 1_209_600
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["NotifierDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert props("NotifierDeadLetterArrivalAlarm")["MetricName"] == "NumberOfMessagesSent", "every arrival"


@pytest.mark.parametrize("logical_id", ["NotifierDeadLetterQueue", "IdempotencyTable", "HistoryTable"])
def test_the_dead_letter_queue_and_the_idempotency_records_outlive_the_stack(logical_id: str) -> None:
    assert RESOURCES[logical_id]["DeletionPolicy"] == "Retain"
    assert RESOURCES[logical_id]["UpdateReplacePolicy"] == "Retain"


def _alarms_on(namespace: str, metric: str) -> dict[str, Any]:
    return {
        str(a["Properties"]["Dimensions"][0]["Value"]): a["Properties"]
        for a in RESOURCES.values()
        if a["Type"] == "AWS::CloudWatch::Alarm"
        and (a["Properties"]["Namespace"], a["Properties"]["MetricName"]) == (namespace, metric)
    }


@pytest.mark.parametrize("metric", ["Errors", "Throttles", "AsyncEventsDropped", "DeadLetterErrors"])
def test_every_notifier_function_is_alarmed_on_its_own_failures(metric: str) -> None:
    alarmed = _alarms_on("AWS/Lambda", metric)

    assert set(alarmed) == {
        str({"Ref": "CommandFailedFunction"}),
        str({"Ref": "WindowFailedFunction"}),
        str({"Ref": "NightSummaryFunction"}),
    }


@pytest.mark.parametrize("role", ["single", "central"])
@pytest.mark.parametrize("metric", ["FailedInvocations", "InvocationsFailedToBeSentToDlq"])
def test_every_rule_is_alarmed_when_eventbridge_cannot_deliver(metric: str, role: str) -> None:
    # Where the notifier runs. A member stack has no alarm topic (no notifier): what its forwarding
    # rule cannot deliver waits in ForwardDeadLetterQueue, unalarmed (docs/deploy.md says so).
    deployed = as_deployed(translated_template(), DEPLOYMENT_ROLES[role])["Resources"]
    rules = [name for name, r in deployed.items() if r["Type"] == "AWS::Events::Rule"]

    assert set(_alarms_on("AWS/Events", metric)) == {str({"Ref": name}) for name in rules}


def test_alarms_reach_a_person_without_the_notification_topic_or_its_key() -> None:
    alarms = {n: r["Properties"] for n, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    subscription = props("AlarmEmailSubscription")

    assert len(alarms) == 19
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        # Only the alarm on a summary that never ran treats no data (no invocation) as breaching.
        missing = "breaching" if name == "NightSummaryMissedAlarm" else "notBreaching"
        assert alarm["TreatMissingData"] == missing, name
    assert props("AlarmTopic")["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    assert props("AlarmKey")["EnableKeyRotation"] is True
    assert "LogKey" not in str(props("AlarmKey")) + str(props("AlarmTopic"))
    assert subscription["Endpoint"] == {
        "Fn::If": ["HasAlarmEmail", {"Ref": "AlarmEmail"}, {"Ref": "NotificationEmail"}]
    }
    assert RESOURCES["AlarmEmailSubscription"]["Condition"] == "SubscribesAlarmEmail"
    assert RAW["Conditions"]["SubscribesAlarmEmail"] == {
        "Fn::And": [{"Condition": "RunsNotifier"}, {"Condition": "HasAnyAlarmEmail"}]
    }


def test_idempotency_table_is_encrypted_and_expires_records() -> None:
    table = props("IdempotencyTable")

    assert table["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Ref": "LogKey"},
    }
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_history_table_is_encrypted_recoverable_and_expires_records_on_the_adapters_attribute() -> None:
    table = props("HistoryTable")

    assert table["SSESpecification"] == props("IdempotencyTable")["SSESpecification"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert not RUN_ITEM.startswith(("i-", "mi-")), "the run item's sort key is never an instance id"


def test_reports_expire_with_the_logs() -> None:
    rules = props("LogBucket")["LifecycleConfiguration"]["Rules"]
    (reports,) = [rule for rule in rules if rule.get("Prefix") == {"Ref": "ReportsPrefix"}]

    assert reports["ExpirationInDays"] == {"Ref": "LogRetentionDays"}


def test_command_function_reads_only_the_log_prefix_and_writes_only_reports() -> None:
    policy = resolve_if(props("CommandFailedFunction")["Policies"][0], SINGLE)
    statements = {s["Sid"]: s for s in policy["Statement"]}

    assert statements["ReadCommandOutput"]["Resource"] == {"Fn::Sub": "${LogBucket.Arn}/${LogPrefix}*"}
    assert statements["ListCommandOutput"]["Condition"] == {
        "StringLike": {"s3:prefix": {"Fn::Sub": "${LogPrefix}*"}}
    }
    assert statements["WriteFullReports"]["Resource"] == {"Fn::Sub": "${LogBucket.Arn}/${ReportsPrefix}*"}
    assert statements["Publish"]["Resource"] == {"Ref": "NotificationTopic"}


# ------------------------------------------------------------------ security (issue 6, part 5)

# AWS managed policies the translated template attaches, each with the reason it is acceptable.
MANAGED_POLICIES_ALLOWED = {
    "AWSLambdaBasicExecutionRole": "SAM's default: the function's own log group and streams",
    "AWSXrayWriteOnlyAccess": "Tracing: Active (Globals): trace segments only, no reads",
    "AmazonSSMManagedInstanceCore": "the instance role created on request needs the SSM agent's core rights",
}
KEY = "LogKey"
TRANSLATED = translated_template()
T_RESOURCES = TRANSLATED["Resources"]
# What each deployment role creates (DEPLOYMENT_ROLES): the walks below run on each.
DEPLOYED = {role: as_deployed(TRANSLATED, DEPLOYMENT_ROLES[role]) for role in ROLES}
# The one Allow to every principal: the central bus, for the Organization's principals only.
ORGANIZATION_ONLY = {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}


def of_type(resource_type: str, role: str = "single") -> dict[str, dict[str, Any]]:
    return {name: r for name, r in DEPLOYED[role]["Resources"].items() if r["Type"] == resource_type}


def is_the_key(node: Any) -> bool:
    return node in ({"Ref": KEY}, {"Fn::GetAtt": [KEY, "Arn"]}, {"Fn::GetAtt": f"{KEY}.Arn"})


def refers_to(node: Any, logical_id: str) -> bool:
    return node in (
        {"Ref": logical_id},
        {"Fn::GetAtt": [logical_id, "Arn"]},
        {"Fn::GetAtt": f"{logical_id}.Arn"},
    )


@pytest.mark.parametrize("role", ROLES)
def test_given_the_translated_template_when_walking_every_policy_then_no_not_elements_nor_public_allows(
    role: str,
) -> None:
    problems = []
    for logical_id, where, statement in policy_statements(DEPLOYED[role]):
        for element in ("NotAction", "NotResource", "NotPrincipal"):
            if element in statement:
                problems.append(f"{logical_id} {where}: {element} widens the statement")
        principal = statement.get("Principal")
        to_everyone = statement["Effect"] == "Allow" and principal in ("*", {"AWS": "*"})
        if to_everyone and statement.get("Condition") != ORGANIZATION_ONLY:
            problems.append(f"{logical_id} {where}: Allow to everyone, not only the Organization")
        if statement["Effect"] == "Allow" and "Condition" not in statement:
            service = principal.get("Service") if isinstance(principal, dict) else None
            if service and where != "AssumeRolePolicyDocument":
                problems.append(f"{logical_id} {where}: service principal {service} without a condition")

    assert problems == []


def test_given_the_wildcard_allow_list_when_compared_with_the_template_then_no_entry_is_stale() -> None:
    used = {
        (logical_id, statement.get("Sid", ""))
        for logical_id, _, statement in policy_statements(TRANSLATED)
        if statement["Effect"] == "Allow" and "*" in as_list(statement.get("Resource", []))
    }

    assert set(WILDCARD_RESOURCE_ALLOWED) == used, "each allowed wildcard still exists, and only those"


# The member's read role is the one role another account's principals assume (its trust:
# tests/unit/template/test_organization.py).
CROSS_ACCOUNT_ROLES = {"MemberReadRole"}
SERVICES = {"lambda.amazonaws.com", "ssm.amazonaws.com", "ec2.amazonaws.com", "events.amazonaws.com"}


@pytest.mark.parametrize("deployment_role", ROLES)
def test_given_every_role_then_only_our_services_assume_it_and_managed_policies_are_justified(
    deployment_role: str,
) -> None:
    for logical_id, role in of_type("AWS::IAM::Role", deployment_role).items():
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        for statement in trust:
            if logical_id in CROSS_ACCOUNT_ROLES:
                continue
            services = set(as_list(statement["Principal"].get("Service", [])))
            assert services, f"{logical_id}: only service principals may assume it"
            assert services <= SERVICES, logical_id
            assert set(statement["Principal"]) == {"Service"}, logical_id
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            text = arn if isinstance(arn, str) else str(arn.get("Fn::Sub", arn))
            if ":iam::aws:policy/" in text:
                name = text.rsplit("/", 1)[1]
                assert name in MANAGED_POLICIES_ALLOWED, f"{logical_id}: unexpected AWS managed policy {name}"


@pytest.mark.parametrize(
    ("role", "counts"),
    # Buckets, topics, queues, tables. A member keeps its bucket and has the forwarding rule's queue.
    [("single", (1, 2, 1, 2)), ("member", (1, 0, 1, 0)), ("central", (1, 2, 1, 2))],
)
def test_given_every_data_store_then_it_is_encrypted_at_rest_with_the_rotating_key(
    role: str, counts: tuple[int, int, int, int]
) -> None:
    buckets = of_type("AWS::S3::Bucket", role)
    topics = of_type("AWS::SNS::Topic", role)
    queues = of_type("AWS::SQS::Queue", role)
    tables = of_type("AWS::DynamoDB::Table", role)

    assert (len(buckets), len(topics), len(queues), len(tables)) == counts
    for name, bucket in buckets.items():
        for rule in bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]:
            default = rule["ServerSideEncryptionByDefault"]
            assert default["SSEAlgorithm"] == "aws:kms", name
            assert is_the_key(default["KMSMasterKeyID"]), name
    for name, topic in topics.items():
        # The alarm topic has a rotating key of its own (test_alarms_reach_a_person_...).
        expected = {"Ref": "AlarmKey"} if name == "AlarmTopic" else None
        key_ref = topic["Properties"]["KmsMasterKeyId"]
        assert key_ref == expected if expected else is_the_key(key_ref), name
    for name, queue in queues.items():
        # A customer managed key, not SQS-managed SSE: EventBridge can only write to a CMK queue.
        assert is_the_key(queue["Properties"]["KmsMasterKeyId"]), name
        assert "SqsManagedSseEnabled" not in queue["Properties"], name
    for name, table in tables.items():
        sse = table["Properties"]["SSESpecification"]
        assert (sse["SSEEnabled"], sse["SSEType"]) == (True, "KMS"), name
        assert is_the_key(sse["KMSMasterKeyId"]), name
    key = T_RESOURCES[KEY]["Properties"]
    assert key["EnableKeyRotation"] is True
    assert T_RESOURCES[KEY]["DeletionPolicy"] == "Retain"


def _tls_denials(policy_type: str, target_property: str, logical_id: str, role: str) -> list[dict[str, Any]]:
    denials = []
    for policy in of_type(policy_type, role).values():
        targets = as_list(policy["Properties"][target_property])
        if not any(refers_to(target, logical_id) for target in targets):
            continue
        for statement in as_list(policy["Properties"]["PolicyDocument"]["Statement"]):
            if (
                statement["Effect"] == "Deny"
                and statement.get("Principal") == "*"
                and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            ):
                denials.append(statement)
    return denials


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("resource_type", "policy_type", "target_property", "required_actions"),
    [
        ("AWS::S3::Bucket", "AWS::S3::BucketPolicy", "Bucket", {"s3:*"}),
        ("AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "Queues", {"sqs:*"}),
        ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "Topics", {"sns:Publish", "sns:Subscribe"}),
    ],
)
def test_given_a_bucket_topic_or_queue_when_requested_without_tls_then_its_policy_denies_it(
    resource_type: str, policy_type: str, target_property: str, required_actions: set[str], role: str
) -> None:
    for logical_id in of_type(resource_type, role):
        denials = _tls_denials(policy_type, target_property, logical_id, role)

        assert denials, f"{logical_id}: no TLS-only policy"
        actions = {action for statement in denials for action in as_list(statement["Action"])}
        assert required_actions <= actions, logical_id
        resources = [resource for statement in denials for resource in as_list(statement["Resource"])]
        assert any(refers_to(resource, logical_id) for resource in resources), logical_id
        if resource_type == "AWS::S3::Bucket":
            assert {"Fn::Sub": f"${{{logical_id}.Arn}}/*"} in resources, "objects too, not only the bucket"


@pytest.mark.parametrize(("role", "topics"), [("single", 2), ("member", 0), ("central", 2)])
def test_given_a_topic_when_someone_subscribes_a_plain_http_endpoint_then_the_policy_denies_it(
    role: str, topics: int
) -> None:
    policies = of_type("AWS::SNS::TopicPolicy", role).values()

    assert len(policies) == topics
    for policy in policies:
        statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
        deny = statements["DenyPlainHttpSubscriptions"]
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Subscribe")
        assert deny["Condition"] == {"StringEquals": {"sns:Protocol": "http"}}


@pytest.mark.parametrize(
    ("key", "service", "why"),
    [
        (
            "LogKey",
            "events.amazonaws.com",
            "rules park undeliverable events in the encrypted dead-letter queue",
        ),
        ("AlarmKey", "cloudwatch.amazonaws.com", "alarms publish to the encrypted alarm topic"),
    ],
)
def test_given_a_service_that_writes_encrypted_data_when_it_uses_the_key_then_the_key_policy_lets_it(
    key: str, service: str, why: str
) -> None:
    granted = {
        action
        for logical_id, _, statement in policy_statements(TRANSLATED)
        if logical_id == key
        and statement["Effect"] == "Allow"
        and service in as_list(statement["Principal"].get("Service", []))
        for action in as_list(statement["Action"])
    }

    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= granted, why


@pytest.mark.parametrize(
    ("role", "queue"),
    [
        ("single", "NotifierDeadLetterQueue"),
        ("member", "ForwardDeadLetterQueue"),
        ("central", "NotifierDeadLetterQueue"),
    ],
)
def test_given_every_rule_with_a_dead_letter_queue_then_the_queue_policy_lets_eventbridge_write(
    role: str, queue: str
) -> None:
    (queue_policy,) = of_type("AWS::SQS::QueuePolicy", role).values()
    assert queue_policy["Properties"]["Queues"] == [{"Ref": queue}]
    (allow,) = [
        s
        for s in queue_policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    source_arns = as_list(allow["Condition"]["ArnEquals"]["aws:SourceArn"])

    rules = of_type("AWS::Events::Rule", role)
    assert rules
    assert sorted(source_arns, key=str) == sorted(({"Fn::GetAtt": [name, "Arn"]} for name in rules), key=str)
    for name, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            assert refers_to(target["DeadLetterConfig"]["Arn"], queue), name
        # A name built from the stack name could exceed EventBridge's 64 characters: generated.
        assert "Name" not in rule["Properties"], name


@pytest.mark.parametrize(
    ("key", "service", "source_arn"),
    [
        (
            "LogKey",
            "events.amazonaws.com",
            "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*",
        ),
        (
            "AlarmKey",
            "cloudwatch.amazonaws.com",
            "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*",
        ),
    ],
)
def test_given_a_service_on_a_key_then_only_this_account_and_region_can_make_it_act(
    key: str, service: str, source_arn: str
) -> None:
    # The rules and alarms cannot be named by GetAtt (the queue and the topic are encrypted with the
    # key and the rules and alarms point at them: a cycle), so the key admits the account's own
    # rules or alarms of this Region; the queue and topic policies name this stack's exactly.
    (statement,) = [
        s
        for logical_id, _, s in policy_statements(TRANSLATED)
        if logical_id == key and s.get("Principal", {}).get("Service") == service
    ]

    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": {"Fn::Sub": source_arn}},
    }


def test_given_the_alarm_topic_then_only_this_stacks_alarms_may_publish() -> None:
    statements = {s["Sid"]: s for s in props("AlarmTopicPolicy")["PolicyDocument"]["Statement"]}
    condition = statements["AlarmsPublish"]["Condition"]
    alarms = sorted(name for name, r in RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm")

    assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # A conditional alarm is listed where it exists: !If [its condition, its ARN, AWS::NoValue].
    listed = [a["Fn::If"][1] if "Fn::If" in a else a for a in condition["ArnEquals"]["aws:SourceArn"]]
    assert sorted(a["Fn::GetAtt"][0] for a in listed) == alarms
    for entry in condition["ArnEquals"]["aws:SourceArn"]:
        if "Fn::If" in entry:
            name = entry["Fn::If"][1]["Fn::GetAtt"][0]
            assert entry["Fn::If"] == [
                RESOURCES[name]["Condition"],
                entry["Fn::If"][1],
                {"Ref": "AWS::NoValue"},
            ]
    for name in alarms:
        assert props(name)["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
