"""The IAM enforcement stand-in: the evaluator itself, then what S3, KMS and SNS add, through moto.

Each AWS behaviour is tied to the page it comes from. Pages of the IAM user guide: "Policy
evaluation logic" (reference_policies_evaluation-logic), "IAM JSON policy elements: Action /
NotAction / Resource / NotResource / Condition" and "Condition operators"
(reference_policies_elements_condition_operators).
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
import botocore
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import ActionAuthenticatorMixin

from local.standin.iam import UnmappedOperation, enforced
from local.standin.iam_policy import AuthzRequest, PolicyError, evaluate
from tests.cfn import RoleCredentials, deploy_role

REGION: Final = "eu-west-2"
ACCOUNT = "123456789012"
BUCKET = "hygiene-iam-standin"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
_names = itertools.count()


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(statements: list[dict[str, Any]], action: str, resource: str = "*", **context: str) -> bool:
    request = AuthzRequest(action, resource, {k.replace("__", ":"): v for k, v in context.items()})
    return evaluate([policy(*statements)], request).allowed


# ---------------------------------------------------------------- the evaluator


def test_nothing_is_allowed_unless_a_statement_allows_it() -> None:
    # Policy evaluation logic: requests are implicitly denied by default; an Allow overrides that.
    assert decide([], "s3:GetObject") is False
    assert decide([allow("s3:GetObject")], "s3:GetObject") is True
    assert decide([allow("s3:PutObject")], "s3:GetObject") is False


def test_an_explicit_deny_wins_over_any_allow_in_any_policy() -> None:
    # Policy evaluation logic: an explicit deny in any policy overrides any allow.
    request = AuthzRequest("sns:Publish", "arn:aws:sns:eu-west-2:123456789012:t")
    evaluation = evaluate(
        [policy(allow("sns:*")), policy({**deny("sns:Publish"), "Sid": "NoPublish"})], request
    )

    assert (evaluation.allowed, evaluation.explicit_deny, evaluation.statement) == (False, True, "NoPublish")


def test_not_action_and_not_resource_apply_to_everything_else() -> None:
    # NotAction / NotResource: the statement matches every action (resource) except those listed.
    everything_but_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    not_this_bucket = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": f"{BUCKET_ARN}/secret/*"}

    assert decide([everything_but_iam], "ssm:ListCommands") is True
    assert decide([everything_but_iam], "iam:CreateRole") is False
    assert decide([not_this_bucket], "s3:GetObject", f"{BUCKET_ARN}/logs/a") is True
    assert decide([not_this_bucket], "s3:GetObject", f"{BUCKET_ARN}/secret/a") is False


def test_action_wildcards_ignore_case_and_resource_wildcards_do_not() -> None:
    # Action: "The prefix and the action name are case insensitive"; * and ? are wildcards.
    # Resource: * and ? within ARN segments; names in ARNs are case sensitive.
    assert decide([allow("S3:get*")], "s3:GetObject") is True
    assert decide([allow("ssm:?istCommands")], "ssm:ListCommands") is True
    assert decide([allow("ssm:?istCommands")], "ssm:ListCommandInvocations") is False
    assert (
        decide([allow("s3:GetObject", f"{BUCKET_ARN}/logs/*")], "s3:GetObject", f"{BUCKET_ARN}/logs/i-1/x")
        is True
    )
    assert (
        decide([allow("s3:GetObject", f"{BUCKET_ARN}/Logs/*")], "s3:GetObject", f"{BUCKET_ARN}/logs/x")
        is False
    )
    window = "arn:aws:ssm:*:123456789012:maintenancewindow/*"
    assert (
        decide(
            [allow("ssm:GetMaintenanceWindow", window)], "ssm:GetMaintenanceWindow", window.replace("*", "w")
        )
        is True
    )
    other_account = "arn:aws:ssm:eu-west-2:210987654321:maintenancewindow/mw-1"
    assert (
        decide([allow("ssm:GetMaintenanceWindow", window)], "ssm:GetMaintenanceWindow", other_account)
        is False
    )


def test_an_action_without_resource_types_is_allowed_only_by_a_star_resource() -> None:
    # Resource: an action that supports no resource-level permissions is written with "*".
    assert (
        decide([allow("ssm:ListCommands", "arn:aws:ssm:eu-west-2:123456789012:*")], "ssm:ListCommands")
        is False
    )
    assert decide([allow("ssm:ListCommands")], "ssm:ListCommands") is True


def test_a_condition_applies_the_statement_only_when_its_key_matches() -> None:
    listing = allow("s3:ListBucket", BUCKET_ARN, Condition={"StringLike": {"s3:prefix": "ssm_output/*"}})

    assert decide([listing], "s3:ListBucket", BUCKET_ARN, s3__prefix="ssm_output/cmd-1/") is True
    assert decide([listing], "s3:ListBucket", BUCKET_ARN, s3__prefix="scripts/") is False
    # Condition operators: a key absent from the request context fails the condition; the
    # statement does not apply (no Allow from it, and no Deny from a Deny statement either).
    assert decide([listing], "s3:ListBucket", BUCKET_ARN) is False
    deny_without_prefix = deny("s3:ListBucket", Condition={"StringEquals": {"s3:prefix": "private/"}})
    assert decide([allow("s3:ListBucket"), deny_without_prefix], "s3:ListBucket", BUCKET_ARN) is True


def test_a_negated_operator_holds_when_its_key_is_absent() -> None:
    # Condition operators: "If the policy condition requires that the key is not matched, such as
    # StringNotLike or ArnNotLike, and the right key is not present, the condition is true."
    deny_other_services = deny(
        "kms:Decrypt", Condition={"StringNotEquals": {"kms:ViaService": "s3.eu-west-2.amazonaws.com"}}
    )
    statements = [allow("kms:Decrypt"), deny_other_services]

    assert decide(statements, "kms:Decrypt") is False, "called directly: no kms:ViaService, the Deny applies"
    assert decide(statements, "kms:Decrypt", kms__ViaService="s3.eu-west-2.amazonaws.com") is True
    assert decide(statements, "kms:Decrypt", kms__ViaService="sns.eu-west-2.amazonaws.com") is False


def test_if_exists_holds_when_the_key_is_absent_and_null_tests_presence() -> None:
    # Condition operators, "...IfExists" and "Condition operator to check existence of condition keys".
    if_exists = allow("s3:ListBucket", Condition={"StringLikeIfExists": {"s3:prefix": "logs/*"}})
    assert decide([if_exists], "s3:ListBucket") is True
    assert decide([if_exists], "s3:ListBucket", s3__prefix="logs/a") is True
    assert decide([if_exists], "s3:ListBucket", s3__prefix="other/") is False
    absent = allow("s3:ListBucket", Condition={"Null": {"s3:prefix": "true"}})
    present = allow("s3:ListBucket", Condition={"Null": {"s3:prefix": "false"}})
    assert (decide([absent], "s3:ListBucket"), decide([present], "s3:ListBucket")) == (True, False)
    assert (
        decide([absent], "s3:ListBucket", s3__prefix="x"),
        decide([present], "s3:ListBucket", s3__prefix="x"),
    ) == (
        False,
        True,
    )


def test_values_of_a_key_are_ored_keys_and_operators_are_anded() -> None:
    # IAM JSON policy elements: Condition, "Creating a condition with multiple keys or values".
    two_values = allow("s3:ListBucket", Condition={"StringEquals": {"s3:prefix": ["a/", "b/"]}})
    two_keys = allow(
        "s3:ListBucket",
        Condition={
            "StringEquals": {"s3:prefix": "a/", "aws:RequestedRegion": REGION},
            "Bool": {"aws:SecureTransport": True},
        },
    )

    assert decide([two_values], "s3:ListBucket", s3__prefix="b/") is True
    assert decide([two_values], "s3:ListBucket", s3__prefix="c/") is False
    full = {"s3__prefix": "a/", "aws__RequestedRegion": REGION, "aws__SecureTransport": "true"}
    assert decide([two_keys], "s3:ListBucket", **full) is True
    assert decide([two_keys], "s3:ListBucket", **{**full, "aws__SecureTransport": "false"}) is False
    assert decide([two_keys], "s3:ListBucket", s3__prefix="a/", aws__SecureTransport="true") is False


def test_arn_conditions_match_segment_by_segment_and_key_names_ignore_case() -> None:
    # Condition operators, ARN operators: each of the six colon-delimited components is checked
    # separately. Condition: context key names are not case sensitive.
    rule = "arn:aws:events:eu-west-2:123456789012:rule/*"
    statement = allow("sqs:SendMessage", Condition={"ArnLike": {"aws:SourceArn": rule}})

    assert (
        decide([statement], "sqs:SendMessage", AWS__SOURCEARN="arn:aws:events:eu-west-2:123456789012:rule/r1")
        is True
    )
    assert (
        decide([statement], "sqs:SendMessage", aws__SourceArn="arn:aws:events:eu-west-2:999999999999:rule/r1")
        is False
    )
    assert decide([statement], "sqs:SendMessage", aws__SourceArn="not-an-arn") is False


@pytest.mark.parametrize(
    "statement",
    [
        allow("s3:ListBucket", Condition={"ForAnyValue:StringLike": {"s3:prefix": "a*"}}),
        allow("s3:*", "arn:aws:s3:::b/${aws:username}/*"),
        allow("s3:ListBucket", Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}),
        {**allow("s3:GetObject"), "Principal": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject"},
    ],
)
def test_what_the_evaluator_does_not_model_fails_loudly(statement: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        decide([statement], "s3:ListBucket", "arn:aws:s3:::b/alice/x", s3__prefix="a")


# ---------------------------------------------------------------- through moto, under a role


@dataclass(frozen=True)
class Standin:
    key_arn: str
    topic_arn: str

    def role(self, *statements: dict[str, Any]) -> RoleCredentials:
        credentials, _ = deploy_role(
            boto3.client, name=f"standin-{next(_names)}", inline={"p": policy(*statements)}
        )
        return credentials

    @staticmethod
    def client(service: str, credentials: RoleCredentials) -> Any:
        """A client signing as the role (these tests never change the process's credentials)."""
        keys = credentials.environment()
        session = boto3.Session(
            aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=keys["AWS_SESSION_TOKEN"],
        )
        make: Any = session.client  # boto3-stubs types each service by its literal name
        return make(service)


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[Standin]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="logs/plain", Body=b"plain")
        s3.put_object(Bucket=BUCKET, Key="logs/sse-s3", Body=b"sse-s3", ServerSideEncryption="AES256")
        key_arn = boto3.client("kms").create_key(Description="k")["KeyMetadata"]["Arn"]
        s3.put_object(
            Bucket=BUCKET,
            Key="logs/sse-kms",
            Body=b"kms",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_arn,
        )
        topic_arn = boto3.client("sns").create_topic(Name="t", Attributes={"KmsMasterKeyId": key_arn})[
            "TopicArn"
        ]
        yield Standin(key_arn, topic_arn)


def code(error: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = error.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


READ_LOGS = allow("s3:GetObject", f"{BUCKET_ARN}/logs/*")


@pytest.mark.parametrize("operation", ["get_object", "head_object"])
def test_a_missing_object_is_403_to_a_caller_that_may_not_list_the_bucket(
    standin: Standin, operation: str
) -> None:
    # GetObject and HeadObject API reference, "Permissions": with s3:ListBucket on the bucket a
    # missing key is 404; without it, 403. A HEAD response has no body: botocore's code is "403".
    reader = Standin.client("s3", standin.role(READ_LOGS))
    lister = Standin.client("s3", standin.role(READ_LOGS, allow("s3:ListBucket", BUCKET_ARN)))

    with enforced(), pytest.raises(ClientError) as without_list:
        getattr(reader, operation)(Bucket=BUCKET, Key="logs/missing")
    with enforced(), pytest.raises(ClientError) as with_list:
        getattr(lister, operation)(Bucket=BUCKET, Key="logs/missing")

    assert code(without_list) == ("AccessDenied" if operation == "get_object" else "403", 403)
    assert code(with_list) == ("NoSuchKey" if operation == "get_object" else "404", 404)


def test_a_listing_allowed_only_under_a_prefix_does_not_turn_the_403_into_a_404(standin: Standin) -> None:
    # How S3 applies an s3:ListBucket statement's conditions to this check is not documented; the
    # stand-in takes the conservative reading (see local/standin/iam.py, _missing_object).
    prefixed = allow("s3:ListBucket", BUCKET_ARN, Condition={"StringLike": {"s3:prefix": "logs/*"}})
    s3 = Standin.client("s3", standin.role(READ_LOGS, prefixed))

    with enforced() as enforcement:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="logs/")
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket=BUCKET, Key="logs/missing")

    assert listed["KeyCount"] == 3
    assert code(missing) == ("AccessDenied", 403)
    assert [(d.action, d.via, d.allowed) for d in enforcement.decisions][-1] == (
        "s3:ListBucket",
        "missing-object",
        False,
    )


def test_an_object_under_a_customer_key_needs_kms_decrypt_through_s3(standin: Standin) -> None:
    # S3 user guide, "Using server-side encryption with AWS KMS keys": reading an SSE-KMS object
    # needs kms:Decrypt on its key; S3 calls KMS for the caller, so kms:ViaService is S3's.
    through_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    no_key = Standin.client("s3", standin.role(READ_LOGS))
    via_s3 = Standin.client(
        "s3", standin.role(READ_LOGS, allow("kms:Decrypt", standin.key_arn, Condition=through_s3))
    )
    via_sns = {"StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}}
    wrong_service = Standin.client(
        "s3", standin.role(READ_LOGS, allow("kms:Decrypt", standin.key_arn, Condition=via_sns))
    )

    with enforced():
        assert no_key.get_object(Bucket=BUCKET, Key="logs/sse-s3")["Body"].read() == b"sse-s3", (
            "SSE-S3: no KMS"
        )
        assert via_s3.get_object(Bucket=BUCKET, Key="logs/sse-kms")["Body"].read() == b"kms"
        with pytest.raises(ClientError) as denied:
            no_key.get_object(Bucket=BUCKET, Key="logs/sse-kms")
        with pytest.raises(ClientError) as not_through_sns:
            wrong_service.get_object(Bucket=BUCKET, Key="logs/sse-kms")

    assert code(denied) == code(not_through_sns) == ("AccessDenied", 403)
    assert f"kms:Decrypt on resource: {standin.key_arn}" in denied.value.response["Error"]["Message"]


def test_a_put_into_a_bucket_encrypted_by_default_with_a_customer_key_needs_generate_data_key(
    standin: Standin,
) -> None:
    # S3 user guide, "Using server-side encryption with AWS KMS keys": uploading under a KMS key
    # needs kms:GenerateDataKey; the bucket's default encryption names the key when the request does not.
    boto3.client("s3").put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": standin.key_arn,
                    }
                }
            ]
        },
    )
    write = allow("s3:PutObject", f"{BUCKET_ARN}/reports/*")
    without_key = Standin.client("s3", standin.role(write))
    with_key = Standin.client("s3", standin.role(write, allow("kms:GenerateDataKey", standin.key_arn)))

    with enforced():
        with pytest.raises(ClientError) as denied:
            without_key.put_object(Bucket=BUCKET, Key="reports/a.json", Body=b"{}")
        with_key.put_object(Bucket=BUCKET, Key="reports/a.json", Body=b"{}")
        without_key.put_object(Bucket=BUCKET, Key="reports/b.json", Body=b"{}", ServerSideEncryption="AES256")

    assert code(denied) == ("AccessDenied", 403)
    stored = boto3.client("s3").head_object(Bucket=BUCKET, Key="reports/a.json")
    assert stored["SSEKMSKeyId"] == standin.key_arn


def test_publishing_to_an_encrypted_topic_needs_both_kms_actions(standin: Standin) -> None:
    # SNS developer guide, "Key management" (publisher permissions for a topic with SSE):
    # kms:GenerateDataKey* and kms:Decrypt on the topic's key besides sns:Publish.
    publish = allow("sns:Publish", standin.topic_arn)
    only_publish = Standin.client("sns", standin.role(publish))
    one_of_two = Standin.client("sns", standin.role(publish, allow("kms:GenerateDataKey", standin.key_arn)))
    both = Standin.client(
        "sns", standin.role(publish, allow(["kms:GenerateDataKey", "kms:Decrypt"], standin.key_arn))
    )

    with enforced():
        for sns in (only_publish, one_of_two):
            with pytest.raises(ClientError) as denied:
                sns.publish(TopicArn=standin.topic_arn, Message="m")
            assert code(denied) == (model_error("sns", "KMSAccessDeniedException"), 400)
        assert both.publish(TopicArn=standin.topic_arn, Message="m")["MessageId"]


def model_error(service: str, shape: str) -> str:
    """The error code botocore's service model declares for a shape (its name when it declares none)."""
    folder = Path(botocore.__file__).parent / "data" / service
    (path,) = sorted(folder.glob("*/service-2.json.gz"))[-1:]
    declared = json.loads(gzip.decompress(path.read_bytes()))["shapes"][shape]
    return str(declared.get("error", {}).get("code", shape))


def test_denials_have_each_service_s_error_shape(standin: Standin) -> None:
    # Error codes as botocore's models declare them (SNS AuthorizationErrorException is
    # "AuthorizationError", 403; S3's AccessDenied, 403; SSM's AccessDeniedException); EC2 and
    # DynamoDB declare none: EC2's API reference lists UnauthorizedOperation, and DynamoDB's
    # "Error handling" page AccessDeniedException (400).
    nothing = standin.role(allow("sts:GetCallerIdentity"))
    calls: dict[str, Callable[[Any], object]] = {
        "s3": lambda c: c.list_objects_v2(Bucket=BUCKET),
        "sns": lambda c: c.publish(TopicArn=standin.topic_arn, Message="m"),
        "ssm": lambda c: c.list_commands(),
        "dynamodb": lambda c: c.get_item(TableName="t", Key={"id": {"S": "a"}}),
        "ec2": lambda c: c.describe_instances(),
    }
    expected = {
        "s3": ("AccessDenied", 403),
        "sns": (model_error("sns", "AuthorizationErrorException"), 403),
        "ssm": (model_error("ssm", "AccessDeniedException"), 400),
        "dynamodb": ("AccessDeniedException", 400),
        "ec2": ("UnauthorizedOperation", 403),
    }
    seen: dict[str, tuple[str, int]] = {}
    with enforced():
        for service, call in calls.items():
            with pytest.raises(ClientError) as denied:
                call(Standin.client(service, nothing))
            seen[service] = code(denied)
            assert "is not authorized to perform" in denied.value.response["Error"]["Message"]

    assert seen == expected
    assert (
        expected["s3"][1]
        == json.loads(  # S3's model declares AccessDenied's status
            gzip.decompress(
                next((Path(botocore.__file__).parent / "data/s3").glob("*/service-2.json.gz")).read_bytes()
            )
        )["shapes"]["AccessDenied"]["error"]["httpStatusCode"]
    )


def test_moto_s_signature_check_and_caller_lookup_are_kept(standin: Standin) -> None:
    credentials = standin.role(READ_LOGS)
    forged = RoleCredentials(
        credentials.role_arn, credentials.access_key_id, "wrong", credentials.session_token
    )
    stranger = boto3.client("s3", aws_access_key_id="AKIAEXAMPLEEXAMPLE12", aws_secret_access_key="x")
    nobody = Standin.client("sts", standin.role(allow("s3:GetObject", f"{BUCKET_ARN}/none")))

    with enforced():
        assert (
            Standin.client("s3", credentials).get_object(Bucket=BUCKET, Key="logs/plain")["Body"].read()
            == b"plain"
        )
        with pytest.raises(ClientError) as bad_signature:
            Standin.client("s3", forged).get_object(Bucket=BUCKET, Key="logs/plain")
        with pytest.raises(ClientError) as unknown_key:
            stranger.get_object(Bucket=BUCKET, Key="logs/plain")
        # STS API reference, GetCallerIdentity: no permissions are required to perform it.
        assert nobody.get_caller_identity()["Account"] == ACCOUNT

    assert code(bad_signature) == ("SignatureDoesNotMatch", 403)
    assert code(unknown_key) == ("InvalidAccessKeyId", 403)


def test_an_operation_without_a_mapping_fails_loudly_even_when_the_caller_swallows_it(
    standin: Standin,
) -> None:
    sqs = Standin.client("sqs", standin.role(allow("*")))

    def swallowing_caller() -> None:
        with enforced(), contextlib.suppress(Exception):  # as code under test might
            sqs.list_queues()

    with pytest.raises(UnmappedOperation, match="sqs:ListQueues"):
        swallowing_caller()


def test_enforcement_is_off_again_after_the_block_even_when_it_raised(standin: Standin) -> None:
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action
    reader = Standin.client("s3", standin.role(READ_LOGS))

    with pytest.raises(ClientError), enforced():
        reader.list_objects_v2(Bucket=BUCKET)
    with pytest.raises(RuntimeError, match="already on"), enforced(), enforced():
        pass

    assert ActionAuthenticatorMixin._authenticate_and_authorize_action is original
    assert reader.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 3, "moto's own permissive default is back"
    assert boto3.client("ssm").list_commands()["Commands"] == [], "any credentials work again"
