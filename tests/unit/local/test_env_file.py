"""The env-vars file of a deployed stack (local.env_file), read from moto's CloudFormation in process.

moto 5.2 cannot deploy template.yaml itself (no CloudFormation support for AWS::SSM::MaintenanceWindow
or AWS::S3::BucketPolicy, and it rejects the healthcheck document's content), so each test deploys
a stack whose resources match: the template's functions, and every resource their environments
name under the same logical id and type, except the maintenance window, for which an
AWS::SSM::Parameter named like a window id stands (the file takes a resource's Ref as its physical
id, whatever its type).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import env_file
from local.env_file import StackError, created_functions, samconfig_defaults, stack_deployment, write_env_file
from local.lambda_env import function_ids, function_spec
from local.template import TEMPLATE, Deployment, raw_template

REGION = "eu-west-2"
STACK = "instance-hygiene"
TABLE = {
    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}
# What moto's CloudFormation creates each type from (the template's own properties need KMS, etc.).
MOTO_RESOURCES: dict[str, dict[str, Any]] = {
    "AWS::SNS::Topic": {"Type": "AWS::SNS::Topic"},
    "AWS::S3::Bucket": {"Type": "AWS::S3::Bucket"},
    "AWS::DynamoDB::Table": {"Type": "AWS::DynamoDB::Table", "Properties": TABLE},
    "AWS::SQS::Queue": {"Type": "AWS::SQS::Queue"},
    "AWS::SSM::MaintenanceWindow": {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": "mw-0c1d2e3f4a5b6c7d8", "Type": "String", "Value": "window"},
    },
}
ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
}


def function(role: str = "FunctionRole") -> dict[str, Any]:
    """A function moto creates (inline code; nothing runs it)."""
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "app.handler",
            "Role": {"Fn::GetAtt": [role, "Arn"]},
            "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
        },
    }


QUEUE_STACK = {"Queue": MOTO_RESOURCES["AWS::SQS::Queue"], "Notifier": function(), "FunctionRole": ROLE}


def refs(node: Any) -> set[str]:
    """The names `node` Refs."""
    if isinstance(node, dict):
        if set(node) == {"Ref"}:
            return {node["Ref"]}
        return set().union(*map(refs, node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*map(refs, node)) if node else set()
    return set()


def matching_stack(template: Path = TEMPLATE) -> dict[str, Any]:
    """A CloudFormation template moto deploys: the functions of `template`, each resource their
    environments Ref (a type moto creates), and the parameters they Ref."""
    source = raw_template(template)
    named = set().union(*(refs(dict(function_spec(f, template).variables)) for f in function_ids(template)))
    resources: dict[str, Any] = {f: function() for f in function_ids(template)} | {"FunctionRole": ROLE}
    parameters = {}
    for name in sorted(named):
        if name in source.get("Parameters", {}):
            declared = source["Parameters"][name]
            parameters[name] = {"Type": "String", "Default": declared.get("Default", "")}
        elif name in source["Resources"]:
            resources[name] = MOTO_RESOURCES[source["Resources"][name]["Type"]]
    return {"Parameters": parameters, "Resources": resources}


@pytest.fixture
def cloudformation() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client(
            "cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )


def deploy(cloudformation: Any, body: dict[str, Any], name: str = STACK, **parameters: str) -> dict[str, str]:
    """Create the stack; its physical ids by logical id."""
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    summaries = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}


def test_every_function_gets_the_variables_the_template_declares_resolved_for_the_stack(
    cloudformation: Any, tmp_path: Path
) -> None:
    physical = deploy(
        cloudformation,
        matching_stack(),
        ReportsPrefix="digests/",
        NotifyOnSuccess="true",
        ExtraRulesParameter="/instance-hygiene/rules",
    )

    out = write_env_file(cloudformation, STACK, tmp_path / "env.json")

    written = json.loads(out.read_text())
    # Every function the template creates with these parameters (the summary needs a schedule).
    assert list(written) == [f for f in function_ids() if f != "NightSummaryFunction"]
    for name, variables in written.items():
        assert set(variables) == set(function_spec(name).variables) - {"AWS_ENDPOINT_URL"}
    assert written["CommandFailedFunction"] == {
        "POWERTOOLS_SERVICE_NAME": "instance-hygiene",
        "POWERTOOLS_METRICS_NAMESPACE": "InstanceHygiene",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "TOPIC_ARN": physical["NotificationTopic"],
        "IDEMPOTENCY_TABLE": physical["IdempotencyTable"],
        "REPORT_BUCKET": physical["LogBucket"],
        "REPORT_PREFIX": "digests/",
        "EXTRA_RULES_PARAMETER": "/instance-hygiene/rules",
        "WINDOW_ID": physical["MaintenanceWindow"],
        "HISTORY_TABLE": physical["HistoryTable"],
        "NIGHT_LEDGER": "",
        "DEPLOYMENT_ROLE": "single",
        "ORGANIZATION_ID": "",
        "MEMBER_ROLE_NAME": "",
        "MEMBER_EXTERNAL_ID": "",
    }
    assert physical["NotificationTopic"].startswith(f"arn:aws:sns:{REGION}:")
    assert written["WindowFailedFunction"]["NOTIFY_ON_SUCCESS"] == "true"
    assert written["PublishScriptsFunction"]["POWERTOOLS_SERVICE_NAME"] == "publish-scripts"


def test_getatt_comes_from_the_output_that_gives_it_and_sub_from_both(
    cloudformation: Any, tmp_path: Path
) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  Queue:\n    Type: AWS::SQS::Queue\n"
        "  Notifier:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: functions/notifier/\n      Handler: app.handler\n"
        "      Environment:\n        Variables:\n"
        "          QUEUE_ARN: !GetAtt Queue.Arn\n"
        '          LABEL: !Sub "${AWS::StackName}:${Queue.Arn}"\n'
        "Outputs:\n  QueueArn:\n    Value: !GetAtt Queue.Arn\n"
    )
    body = {
        "Resources": QUEUE_STACK,
        "Outputs": {"QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}}},
    }
    deploy(cloudformation, body, name="queues")
    arn = cloudformation.describe_stacks(StackName="queues")["Stacks"][0]["Outputs"][0]["OutputValue"]

    out = write_env_file(cloudformation, "queues", tmp_path / "env.json", template=template)
    written = json.loads(out.read_text())

    assert arn.startswith(f"arn:aws:sqs:{REGION}:")
    assert written == {"Notifier": {"QUEUE_ARN": arn, "LABEL": f"queues:{arn}"}}


def test_a_getatt_no_output_gives_is_refused(cloudformation: Any, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n"
        "  Queue:\n    Type: AWS::SQS::Queue\n"
        "  Notifier:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      CodeUri: functions/notifier/\n      Handler: app.handler\n"
        "      Environment:\n        Variables:\n          QUEUE_ARN: !GetAtt Queue.Arn\n"
    )
    body = {"Resources": QUEUE_STACK}
    deploy(cloudformation, body, name="queues")

    with pytest.raises(
        StackError, match=r"Notifier's environment names what the stack does not .*Queue\.Arn"
    ):
        write_env_file(cloudformation, "queues", tmp_path / "env.json", template=template)


def test_a_stack_that_does_not_exist_is_named(cloudformation: Any) -> None:
    with pytest.raises(StackError, match=f"^no stack nowhere in {REGION}$"):
        stack_deployment(cloudformation, "nowhere")


def test_a_stack_of_another_template_is_refused_with_the_functions_it_lacks(cloudformation: Any) -> None:
    deploy(cloudformation, {"Resources": {"Topic": MOTO_RESOURCES["AWS::SNS::Topic"]}}, name="other")

    with pytest.raises(StackError, match=r"not a deploy of template\.yaml: it has no function") as refused:
        stack_deployment(cloudformation, "other")

    assert all(name in str(refused.value) for name in function_ids() if name != "NightSummaryFunction")


def test_the_stack_name_and_region_default_to_samconfigs() -> None:
    assert samconfig_defaults() == {"stack_name": STACK, "region": REGION}


def test_main_writes_the_file_and_says_so(
    cloudformation: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    deploy(cloudformation, matching_stack())

    code = env_file.main(["--out", str(tmp_path / "env.json")])

    assert code == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'env.json'} for stack {STACK} in {REGION}:")
    assert list(json.loads((tmp_path / "env.json").read_text())) == [
        f for f in function_ids() if f != "NightSummaryFunction"
    ]


def test_main_fails_in_one_line_on_a_missing_stack(
    cloudformation: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")

    code = env_file.main(["--stack-name", "nowhere", "--out", str(tmp_path / "env.json")])

    assert code == 1
    assert capsys.readouterr().err == f"env-file: no stack nowhere in {REGION}\n"
    assert not (tmp_path / "env.json").exists()


@pytest.mark.parametrize(
    ("parameters", "functions"),
    [
        ({}, ["PublishScriptsFunction", "CommandFailedFunction", "WindowFailedFunction"]),
        ({"DeploymentRole": "member"}, ["PublishScriptsFunction"]),
        (
            {"DeploymentRole": "central", "SummarySchedule": "cron(0 7 * * ? *)"},
            ["CommandFailedFunction", "WindowFailedFunction", "NightSummaryFunction"],
        ),
    ],
    ids=["single", "member", "central-with-summary"],
)
def test_only_the_functions_a_deploy_creates_are_expected(
    parameters: dict[str, str], functions: list[str]
) -> None:
    # A member stack has no notifier and a central one no scripts publisher: their env files hold
    # what they run, and a missing notifier in a member stack is not a reason to refuse it.
    assert created_functions(Deployment(parameters=parameters)) == functions
