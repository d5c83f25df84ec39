"""template.yaml as the AWS Serverless Application Repository (SAR) reads it: the application's
metadata, the resource types SAR accepts, the IAM grants it refuses to publish, and the
capabilities a SAR user must acknowledge (docs/deploy.md, "Publishing to the Serverless
Application Repository", cites each test here).
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from typing import Any

import botocore.session
import pytest

from local.template import raw_template
from tests.cfn import ROOT, as_list, policy_statements, translated_template

RAW = raw_template()
TRANSLATED = translated_template()
APP = RAW["Metadata"]["AWS::ServerlessRepo::Application"]
SAR_MODEL = botocore.session.get_session().get_service_model("serverlessrepo")
CFN_MODEL = botocore.session.get_session().get_service_model("cloudformation")

# ------------------------------------------------------------------ the application's metadata

# AWS SAM Developer Guide, "AWS SAM template Metadata section properties" (the
# AWS::ServerlessRepo::Application key): each property's length, pattern and whether it is required.
METADATA_PROPERTIES = {
    "Name",
    "Description",
    "Author",
    "SpdxLicenseId",
    "LicenseUrl",
    "ReadmeUrl",
    "Labels",
    "HomePageUrl",
    "SemanticVersion",
    "SourceCodeUrl",
}
# SAR makes an application public only with these (same page).
REQUIRED_TO_SHARE_PUBLICLY = ("LicenseUrl", "SemanticVersion")
NAME_PATTERN, NAME_LENGTH = r"[a-zA-Z0-9\-]+", (1, 140)
AUTHOR_PATTERN, AUTHOR_LENGTH = r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$", (1, 127)
DESCRIPTION_LENGTH = (1, 256)
LABEL_PATTERN, LABEL_LENGTH, MAX_LABELS = r"^[a-zA-Z0-9+\-_:\/@]+$", (1, 127), 10
MAX_LICENSE_OR_README_BYTES = 5 * 1024 * 1024
# semver.org, the specification the page points to for SemanticVersion.
SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-((0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(\+([0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*))?"
)


def within(value: str, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= len(value) <= bounds[1]


def test_the_metadata_has_what_sar_requires_to_create_and_to_share_the_application() -> None:
    request = SAR_MODEL.operation_model("CreateApplication").input_shape
    assert request is not None
    required = request.required_members

    assert sorted(required) == ["Author", "Description", "Name"], "botocore's model agrees with the page"
    assert set(APP) <= METADATA_PROPERTIES, "only properties `sam publish` knows"
    for name in (*required, *REQUIRED_TO_SHARE_PUBLICLY):
        assert APP.get(name), f"{name} is required"


def test_every_metadata_value_is_plain_text_because_sar_reads_no_intrinsic_functions() -> None:
    for name, value in APP.items():
        values = value if name == "Labels" else [value]
        assert all(isinstance(v, str) for v in values), f"{name}: {value!r}"


def test_name_author_and_description_fit_sars_lengths_and_patterns() -> None:
    assert re.fullmatch(NAME_PATTERN, APP["Name"]), APP["Name"]
    assert within(APP["Name"], NAME_LENGTH)
    assert re.fullmatch(AUTHOR_PATTERN, APP["Author"]), APP["Author"]
    assert within(APP["Author"], AUTHOR_LENGTH)
    assert within(APP["Description"], DESCRIPTION_LENGTH), len(APP["Description"])


@pytest.mark.parametrize(
    ("author", "accepted"),
    [("instance-hygiene-authors", True), ("Instance", False), ("a--b", False), ("-a", False), ("a", True)],
)
def test_the_author_pattern_is_the_documented_one(author: str, accepted: bool) -> None:
    assert bool(re.fullmatch(AUTHOR_PATTERN, author)) is accepted


def test_labels_match_sars_pattern_and_count() -> None:
    labels = APP["Labels"]

    assert 1 <= len(labels) <= MAX_LABELS
    assert len(set(labels)) == len(labels)
    for label in labels:
        assert re.fullmatch(LABEL_PATTERN, label), label
        assert within(label, LABEL_LENGTH), label


def test_semantic_version_is_pyprojects_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    assert APP["SemanticVersion"] == version
    assert re.fullmatch(SEMVER, version), f"{version} is not a semantic version"


@pytest.mark.parametrize("name", ["LicenseUrl", "ReadmeUrl"])
def test_the_licence_and_readme_are_local_files_sam_package_can_upload(name: str) -> None:
    # `sam package` uploads a local path and writes its S3 URL in; `sam publish` needs the S3 URL.
    path = ROOT / APP[name]

    assert path.is_file(), f"{name}: {APP[name]} does not exist"
    assert path.resolve().parent == ROOT, "relative to template.yaml"
    assert 0 < path.stat().st_size <= MAX_LICENSE_OR_README_BYTES


def test_the_licence_file_is_the_apache_license_the_spdx_id_names() -> None:
    text = (ROOT / APP["LicenseUrl"]).read_text()

    assert APP["SpdxLicenseId"] == "Apache-2.0"
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_a_home_page_or_source_code_url_is_only_a_real_https_url() -> None:
    # The project has no public URL yet, so neither is set; one added later must be a real address.
    for name in ("HomePageUrl", "SourceCodeUrl"):
        if name in APP:
            assert re.fullmatch(r"https://[^\s/]+\.[^\s/]+(/\S*)?", APP[name]), name
            assert "example" not in APP[name], f"{name}: a placeholder"


# ------------------------------------------------------------------ the resource types SAR accepts

# Source: AWS Serverless Application Repository Developer Guide, "List of Supported AWS Resources"
# (docs.aws.amazon.com/serverlessrepo/latest/devguide/list-supported-resources.html), as the guide's
# repository last published it (awsdocs/aws-serverlessrepo-developer-guide,
# doc_source/list-supported-resources.md, revision of 2021-02-08, archived 2023-06-15), in the page's
# order. The live page has grown since (it now opens with AWS::AmazonMQ::* and lists
# AWS::ApiGateway::Account): before treating a failure below as final, look the type up there, and
# add it here (with the date) only when the live page names it. The page lists
# AWS::CloudFormation::Interface, which is a Metadata key, not a resource type.
_SAR_LIST_PAGE = """
AWS::AccessAnalyzer::Analyzer
AWS::ApiGateway::ApiKey
AWS::ApiGateway::Authorizer
AWS::ApiGateway::BasePathMapping
AWS::ApiGateway::ClientCertificate
AWS::ApiGateway::Deployment
AWS::ApiGateway::DocumentationPart
AWS::ApiGateway::DocumentationVersion
AWS::ApiGateway::DomainName
AWS::ApiGateway::GatewayResponse
AWS::EC2::SecurityGroup
AWS::EC2::SecurityGroupEgress
AWS::EC2::SecurityGroupIngress
AWS::ApiGateway::Method
AWS::ApiGateway::Model
AWS::ApiGateway::RequestValidator
AWS::ApiGateway::Resource
AWS::ApiGateway::RestApi
AWS::ApiGateway::Stage
AWS::ApiGateway::UsagePlan
AWS::ApiGateway::UsagePlanKey
AWS::ApiGateway::VpcLink
AWS::ApiGatewayV2::Api
AWS::ApiGatewayV2::ApiMapping
AWS::ApiGatewayV2::Authorizer
AWS::ApiGatewayV2::DomainName
AWS::ApiGatewayV2::Deployment
AWS::ApiGatewayV2::Integration
AWS::ApiGatewayV2::IntegrationResponse
AWS::ApiGatewayV2::Model
AWS::ApiGatewayV2::Route
AWS::ApiGatewayV2::RouteResponse
AWS::ApiGatewayV2::Stage
AWS::AppSync::ApiKey
AWS::AppSync::DataSource
AWS::AppSync::GraphQLApi
AWS::AppSync::GraphQLSchema
AWS::AppSync::Resolver
AWS::ApplicationAutoScaling::ScalableTarget
AWS::ApplicationAutoScaling::ScalingPolicy
AWS::Athena::NamedQuery
AWS::CertificateManager::Certificate
AWS::CloudFormation::CustomResource
AWS::CloudFormation::Interface
AWS::CloudFormation::Macro
AWS::CloudFormation::WaitConditionHandle
AWS::CloudFront::CloudFrontOriginAccessIdentity
AWS::CloudFront::Distribution
AWS::CloudFront::StreamingDistribution
AWS::CloudTrail::Trail
AWS::CloudWatch::Alarm
AWS::CloudWatch::AnomalyDetector
AWS::CloudWatch::Dashboard
AWS::CloudWatch::InsightRule
AWS::CodeBuild::Project
AWS::CodeCommit::Repository
AWS::CodePipeline::CustomActionType
AWS::CodePipeline::Pipeline
AWS::CodePipeline::Webhook
AWS::Cognito::IdentityPool
AWS::Cognito::IdentityPoolRoleAttachment
AWS::Cognito::UserPool
AWS::Cognito::UserPoolClient
AWS::Cognito::UserPoolDomain
AWS::Cognito::UserPoolGroup
AWS::Cognito::UserPoolResourceServer
AWS::Cognito::UserPoolUser
AWS::Cognito::UserPoolUserToGroupAttachment
AWS::Config::AggregationAuthorization
AWS::Config::ConfigRule
AWS::Config::ConfigurationAggregator
AWS::Config::ConfigurationRecorder
AWS::Config::DeliveryChannel
AWS::Config::RemediationConfiguration
AWS::DataPipeline::Pipeline
AWS::DynamoDB::Table
AWS::ECR::Repository
AWS::Elasticsearch::Domain
AWS::Events::EventBusPolicy
AWS::Events::Rule
AWS::EventSchemas::Discoverer
AWS::EventSchemas::Registry
AWS::EventSchemas::Schema
AWS::Glue::Classifier
AWS::Glue::Connection
AWS::Glue::Crawler
AWS::Glue::Database
AWS::Glue::DevEndpoint
AWS::Glue::Job
AWS::Glue::Partition
AWS::Glue::Table
AWS::Glue::Trigger
AWS::IAM::Group
AWS::IAM::InstanceProfile
AWS::IAM::ManagedPolicy
AWS::IAM::Policy
AWS::IAM::Role
AWS::IoT::Certificate
AWS::IoT::Policy
AWS::IoT::PolicyPrincipalAttachment
AWS::IoT::Thing
AWS::IoT::ThingPrincipalAttachment
AWS::IoT::TopicRule
AWS::KMS::Alias
AWS::KMS::Key
AWS::Kinesis::Stream
AWS::Kinesis::StreamConsumer
AWS::Kinesis::Streams
AWS::KinesisAnalytics::Application
AWS::KinesisAnalytics::ApplicationOutput
AWS::KinesisFirehose::DeliveryStream
AWS::Lambda::Alias
AWS::Lambda::EventInvokeConfig
AWS::Lambda::EventSourceMapping
AWS::Lambda::Function
AWS::Lambda::LayerVersion
AWS::Lambda::LayerVersionPermission
AWS::Lambda::Permission
AWS::Lambda::Version
AWS::Logs::Destination
AWS::Logs::LogGroup
AWS::Logs::LogStream
AWS::Logs::MetricFilter
AWS::Logs::SubscriptionFilter
AWS::Route53::HealthCheck
AWS::Route53::HostedZone
AWS::Route53::RecordSet
AWS::Route53::RecordSetGroup
AWS::S3::Bucket
AWS::S3::BucketPolicy
AWS::SNS::Subscription
AWS::SNS::Topic
AWS::SNS::TopicPolicy
AWS::SQS::Queue
AWS::SQS::QueuePolicy
AWS::SSM::Association
AWS::SSM::Document
AWS::SSM::MaintenanceWindowTask
AWS::SSM::Parameter
AWS::SSM::PatchBaseline
AWS::SSM::ResourceDataSync
AWS::Serverless::Api
AWS::Serverless::Application
AWS::Serverless::Function
AWS::Serverless::HttpApi
AWS::Serverless::LayerVersion
AWS::Serverless::SimpleTable
AWS::Serverless::StateMachine
AWS::StepFunctions::Activity
AWS::StepFunctions::StateMachine
"""
SAR_SUPPORTED_RESOURCE_TYPES = frozenset(_SAR_LIST_PAGE.split())

# Types template.yaml uses (as written, or once SAM has expanded it) that the list above does not
# name. Each one makes `sam publish` fail ("The template contains unsupported resource types"), so
# today the application is NOT publishable to SAR: docs/deploy.md says what a user does instead.
SAR_UNSUPPORTED_TYPES_IN_USE = {
    "AWS::SSM::MaintenanceWindow": "the list names only AWS::SSM::MaintenanceWindowTask",
    "AWS::SSM::MaintenanceWindowTarget": "the list names only AWS::SSM::MaintenanceWindowTask",
    "Custom::HealthcheckScripts": (
        "the list names AWS::CloudFormation::CustomResource, not Custom::<name>; SAR refused a "
        "Custom::<name> type in aws/aws-sam-cli#955"
    ),
    "AWS::Events::EventBus": "the list names AWS::Events::EventBusPolicy and AWS::Events::Rule, not the bus",
    "AWS::Scheduler::Schedule": "the list (2021) predates EventBridge Scheduler (2022)",
}


def resource_types(template: dict[str, Any]) -> set[str]:
    return {resource["Type"] for resource in template["Resources"].values()}


def test_the_recorded_list_is_the_pages_150_entries() -> None:
    assert len(SAR_SUPPORTED_RESOURCE_TYPES) == 150
    assert all(re.fullmatch(r"AWS::\w+::\w+", t) for t in SAR_SUPPORTED_RESOURCE_TYPES)


def test_every_resource_type_is_on_sars_list_or_recorded_as_blocking_publication() -> None:
    # The packaged template as written (what `sam publish` uploads) and what the SAM transform makes
    # of it (AWS::Lambda::Permission, AWS::Events::Rule, AWS::Lambda::EventInvokeConfig, ...).
    used = resource_types(RAW) | resource_types(TRANSLATED)

    assert used - SAR_SUPPORTED_RESOURCE_TYPES == set(SAR_UNSUPPORTED_TYPES_IN_USE), (
        "a type SAR does not list: record it (and say so in docs/deploy.md), or drop it"
    )


def test_the_only_template_transform_is_the_one_sar_accepts() -> None:
    # SAR: "Provided Transform [...] is unsupported, use one of the following
    # ['AWS::Serverless-2016-10-31']" (aws/serverless-application-model#859).
    assert RAW["Transform"] == "AWS::Serverless-2016-10-31"


def inline_transforms(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["Fn::Transform"]["Name"]} if "Fn::Transform" in node else set()
        return found.union(*(inline_transforms(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(inline_transforms(v) for v in node))
    return set()


def test_the_only_inline_transform_is_the_documents_include() -> None:
    # HealthcheckDocument's Content is an AWS::Include of documents/healthcheck.yaml (uploaded by
    # `sam package`). SAR's guide says nothing of Fn::Transform inside a resource: UNVERIFIED that
    # SAR accepts it, and docs/deploy.md says so. Another macro here would need the same check.
    assert inline_transforms(RAW["Resources"]) == {"AWS::Include"}


# ------------------------------------------------------------------ IAM grants SAR refuses

# SAR Developer Guide, "Using AWS SAM with the AWS Serverless Application Repository": publication
# is blocked for inline policies that grant iam:AttachRolePolicy, iam:PutRolePolicy or iam:* on all
# resources ("*"), and for functions with the AWSLambda_FullAccess managed policy; iam:PassRole is
# to be scoped to specific role ARNs as well.
SAR_REFUSED_ON_EVERY_RESOURCE = ("iam:PassRole", "iam:AttachRolePolicy", "iam:PutRolePolicy")
SAR_REFUSED_MANAGED_POLICIES = ("AWSLambda_FullAccess",)


def refused_actions(actions: list[str]) -> list[str]:
    """The actions (IAM's wildcards included, case-insensitive) that grant what SAR refuses on *."""
    return [
        action
        for action in actions
        if action.lower() in ("*", "iam:*")
        or any(fnmatch.fnmatchcase(r.lower(), action.lower()) for r in SAR_REFUSED_ON_EVERY_RESOURCE)
    ]


@pytest.mark.parametrize(
    ("actions", "refused"),
    [
        (["iam:PassRole"], ["iam:PassRole"]),
        (["iam:passrole"], ["iam:passrole"]),
        (["iam:Put*"], ["iam:Put*"]),
        (["iam:*"], ["iam:*"]),
        (["*"], ["*"]),
        (["iam:ListAccountAliases", "ssm:SendCommand"], []),
    ],
)
def test_refused_actions_sees_through_wildcards(actions: list[str], refused: list[str]) -> None:
    assert refused_actions(actions) == refused


def test_no_statement_grants_pass_role_attach_or_put_role_policy_on_every_resource() -> None:
    problems = []
    for logical_id, where, statement in policy_statements(TRANSLATED):
        if statement["Effect"] != "Allow" or "*" not in as_list(statement.get("Resource", [])):
            continue
        if refused := refused_actions(as_list(statement.get("Action", []))):
            problems.append(f"{logical_id} {where} {statement.get('Sid', '')}: {refused} on '*'")

    assert problems == []


def test_no_role_has_a_managed_policy_sar_refuses() -> None:
    for logical_id, resource in TRANSLATED["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for arn in resource["Properties"].get("ManagedPolicyArns", []):
            text = str(arn.get("Fn::Sub", arn)) if isinstance(arn, dict) else arn
            assert not text.endswith(SAR_REFUSED_MANAGED_POLICIES), f"{logical_id}: {text}"


def test_the_window_role_needs_no_pass_role_because_no_task_passes_one_on() -> None:
    # A window's service role needs iam:PassRole only to hand Run Command a role of its own, for
    # SNS notifications (NotificationConfig with a ServiceRoleArn in the run-command parameters).
    # The tasks send none: the notifier reads EventBridge events instead. (Whoever deploys the stack
    # passes MaintenanceWindowRole to the tasks and the functions' roles to Lambda: that is the
    # deployer's iam:PassRole, not the template's.)
    for name in ("PatchTask", "HealthcheckTask"):
        task = RAW["Resources"][name]["Properties"]
        run_command = task["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]
        assert "NotificationConfig" not in run_command, name
        assert "ServiceRoleArn" not in run_command, name
        assert task["ServiceRoleArn"] == {"Fn::GetAtt": ["MaintenanceWindowRole", "Arn"]}, name
    actions = {
        action.lower()
        for _, _, statement in policy_statements(TRANSLATED)
        for action in as_list(statement.get("Action", []))
    }
    assert "iam:passrole" not in actions


# ------------------------------------------------------------------ what a SAR user acknowledges

# SAR Developer Guide, "Application Capabilities: IAM Roles, Resource Policies, and Nested
# Applications": the resources that make each capability required.
SAR_IAM_TYPES = {"AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy", "AWS::IAM::Role"}
SAR_RESOURCE_POLICY_TYPES = {
    "AWS::Lambda::LayerVersionPermission",
    "AWS::Lambda::Permission",
    "AWS::Events::EventBusPolicy",
    "AWS::IAM::Policy",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
}
SAR_NESTED_APPLICATION_TYPES = {"AWS::Serverless::Application"}
# The property that gives an IAM resource a custom name: with one, CAPABILITY_NAMED_IAM.
IAM_NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::User": "UserName",
}


def named_iam_resources(template: dict[str, Any]) -> list[str]:
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if IAM_NAME_PROPERTIES.get(resource["Type"]) in resource.get("Properties", {})
    ]


def sar_required_capabilities(template: dict[str, Any]) -> dict[str, set[str]]:
    """Each capability SAR asks the user to acknowledge, with the types in `template` that need it."""
    types = resource_types(template)
    needed = {
        "CAPABILITY_NAMED_IAM" if named_iam_resources(template) else "CAPABILITY_IAM": types & SAR_IAM_TYPES,
        "CAPABILITY_RESOURCE_POLICY": types & SAR_RESOURCE_POLICY_TYPES,
        "CAPABILITY_AUTO_EXPAND": types & SAR_NESTED_APPLICATION_TYPES,
    }
    return {capability: found for capability, found in needed.items() if found}


def test_a_sar_user_acknowledges_custom_iam_roles_and_resource_policies() -> None:
    # SAR reads the whole template, whatever DeploymentRole a user picks: the member role's name
    # makes it CAPABILITY_NAMED_IAM. The KMS keys' policies are properties of AWS::KMS::Key, which
    # SAR's list does not count.
    assert sar_required_capabilities(TRANSLATED) == {
        "CAPABILITY_NAMED_IAM": {"AWS::IAM::Role", "AWS::IAM::InstanceProfile"},
        "CAPABILITY_RESOURCE_POLICY": {
            # Lambda::Permission: SAM's, for the two EventBridge rules that invoke the notifiers.
            "AWS::Lambda::Permission",
            "AWS::S3::BucketPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::SNS::TopicPolicy",
            # The central stack's bus policy.
            "AWS::Events::EventBusPolicy",
        },
    }


def test_only_the_member_role_has_a_custom_name_so_named_iam_is_for_member_stacks() -> None:
    assert named_iam_resources(RAW) == ["MemberReadRole"]
    assert named_iam_resources(TRANSLATED) == ["MemberReadRole"]
    assert RAW["Resources"]["MemberReadRole"]["Condition"] == "IsMember"


def test_samconfig_passes_what_sam_deploy_needs_and_only_capabilities_cloudformation_knows() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    capabilities = set(config["default"]["deploy"]["parameters"]["capabilities"].split())
    cloudformation = set(CFN_MODEL.shape_for("Capability").metadata["enum"])

    # CAPABILITY_RESOURCE_POLICY is SAR's alone: CloudFormation would refuse it.
    assert capabilities <= cloudformation, capabilities - cloudformation
    assert "CAPABILITY_IAM" in capabilities, "the stack creates IAM roles, a managed policy, a profile"
    # CAPABILITY_AUTO_EXPAND has no effect on the change sets `sam deploy` creates (CloudFormation API
    # reference, CreateChangeSet "Capabilities"); it is needed to create the stack straight from the
    # template with its AWS::Serverless and AWS::Include transforms, and does no harm here.
    # CAPABILITY_NAMED_IAM: MemberReadRole has a fixed RoleName (member role only). Whether
    # CloudFormation asks for it when the role's condition is false is not documented, so the
    # default deploy passes it rather than risk an InsufficientCapabilities refusal.
    assert "CAPABILITY_NAMED_IAM" in capabilities
    assert capabilities <= {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"}


def test_the_deploy_doc_says_what_a_sar_user_acknowledges_and_what_blocks_publication() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text.split("## Publishing to the Serverless Application Repository", 1)[1].split("\n## ", 1)[0]

    for capability in sar_required_capabilities(TRANSLATED):
        assert capability in section, capability
    for resource_type in SAR_UNSUPPORTED_TYPES_IN_USE:
        assert resource_type in section, resource_type
    assert "Show apps that create custom IAM roles or resource policies" in section
    assert "serverlessrepo.amazonaws.com" in section
