"""What `sam deploy` creates that the functions use at run time, created in the stand-in.

One place for the demo, the bench, the integration tests and the container tests, whether boto3
talks to moto in this process (mock_aws) or to a stand-in server: the log bucket, the idempotency
table (key `id`, as Powertools expects), the notification topic and, optionally, an SQS queue
subscribed to it (envelope, not raw, so Subject and Message both arrive). `provision` adds what
the demo's night needs: CloudFormation-style names, the healthcheck scripts the HealthcheckScripts
custom resource publishes, and the healthcheck document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import boto3

from local.lambda_env import function_environment
from local.template import ACCOUNT, ROOT, STACK_NAME, Deployment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

DEMO_ACCOUNT_ALIAS = "example-fleet-prod"
SERVICES = ("ssm", "s3", "ec2", "sns", "sqs", "dynamodb", "iam")


@dataclass(frozen=True)
class Clients:
    """One boto3 client per service the stack and the night use."""

    ssm: SSMClient
    s3: S3Client
    ec2: EC2Client
    sns: SNSClient
    sqs: SQSClient
    dynamodb: DynamoDBClient
    iam: IAMClient

    @classmethod
    def create(cls, region: str, *, session: boto3.session.Session | None = None, **options: Any) -> Clients:
        """Clients from the environment (AWS_ENDPOINT_URL, credentials), or from `options`. One
        `session` for several accounts' clients parses each service's model once."""
        session = session or boto3.session.Session(region_name=region)
        return cls(
            **{service: session.client(service, region_name=region, **options) for service in SERVICES}  # type: ignore[call-overload]
        )

    def __call__(self, service: str) -> Any:
        return getattr(self, service)


@dataclass(frozen=True)
class Stack:
    """The stack's runtime resources by name, and the deploy they make of template.yaml."""

    region: str
    bucket: str
    table: str
    topic_arn: str
    queue_url: str | None = None
    """A queue subscribed to the topic (the subscriber these runs read), when one was made."""
    healthcheck_document: str | None = None
    history_table: str | None = None
    script_sha256: Mapping[str, str] = field(default_factory=dict)
    """The publisher's effective hashes (LinuxSha256, WindowsSha256): the task's hash parameters."""
    account: str = ACCOUNT
    """The account the stack is deployed in (moto's default unless another is given)."""
    stack_name: str = STACK_NAME
    log_key_arn: str | None = None
    """The bucket's default encryption key (None: no KMS here)."""

    def deployment(self, *, window_id: str | None = None, **parameters: str) -> Deployment:
        """template.yaml deployed with these resources (and the window, when it exists)."""
        refs: dict[str, str | None] = {
            "LogBucket": self.bucket,
            "IdempotencyTable": self.table,
            "NotificationTopic": self.topic_arn,
        }
        if self.healthcheck_document is not None:
            refs["HealthcheckDocument"] = self.healthcheck_document
        # No history table: history is off (HISTORY_TABLE "").
        refs["HistoryTable"] = self.history_table
        # No window yet (a test that sends commands by hand): its id resolves to nothing, as an
        # environment variable "" (WINDOW_ID: the command function then names no window).
        refs["MaintenanceWindow"] = window_id
        return Deployment(
            refs=refs,
            parameters=parameters,
            region=self.region,
            account=self.account,
            stack_name=self.stack_name,
        )

    def function_environment(self, logical_id: str, **options: Any) -> dict[str, str]:
        """The environment template.yaml gives the function in this stack (lambda_env)."""
        return function_environment(logical_id, self.deployment(), **options)


def create_stack(
    clients: Callable[..., Any],
    *,
    region: str,
    bucket: str,
    table: str,
    topic: str,
    queue: str | None = "subscriber",
    history_table: str | None = None,
) -> Stack:
    """Create the resources; `clients(service)` returns a boto3 client for the stand-in. Without
    `history_table` the functions run with history off (HISTORY_TABLE "")."""
    clients("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    clients("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if history_table is not None:
        # template.yaml's HistoryTable (its KMS encryption aside: the stand-in's tables are plain).
        clients("dynamodb").create_table(
            TableName=history_table,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    sns = clients("sns")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = None
    if queue is not None:
        sqs = clients("sqs")
        queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=attributes["QueueArn"])
    return Stack(
        region=region,
        bucket=bucket,
        table=table,
        topic_arn=topic_arn,
        queue_url=queue_url,
        history_table=history_table,
    )


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every notification on the subscribed queue (SNS envelopes with Subject and Message),
    removed from the queue."""
    return [json.loads(message["Body"]) for message in drain(sqs, queue_url)]


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every SQS message on the queue, in the order received, deleted as read."""
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def physical_id(seed: int, logical: str, length: int = 13) -> str:
    """A CloudFormation-style random suffix, the same for the same seed."""
    from local import agent_logs  # noqa: PLC0415 - the demo's; a bench handler process loads no moto

    rng = agent_logs.seeded(seed, "stack", logical)
    return "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=length))


def provision(clients: Clients, *, region: str, seed: int) -> Stack:
    """The stack's runtime resources, named as CloudFormation names them: log bucket (no KMS
    here) with the healthcheck scripts, topic with an SQS subscriber (not raw), idempotency table,
    healthcheck document."""
    stack = _notifier_resources(clients, region=region, seed=seed, stack_name=STACK_NAME)
    return _window_resources(clients, stack, alias=DEMO_ACCOUNT_ALIAS)


def provision_central(clients: Clients, *, region: str, seed: int, stack_name: str, alias: str) -> Stack:
    """A central stack's (DeploymentRole central) runtime resources, named as CloudFormation names
    them: the log bucket (no KMS here) for the full reports, topic with an SQS subscriber (not raw),
    idempotency and history tables; no window, no document, no scripts."""
    stack = _notifier_resources(clients, region=region, seed=seed, stack_name=stack_name)
    _name_account(clients, alias)
    return stack


def provision_member(clients: Clients, kms: Any, deployment: Deployment, *, seed: int, alias: str) -> Stack:
    """A member stack's (DeploymentRole member) runtime resources in `deployment`'s account and
    region, which `clients` and the KMS client `kms` act in: the log key and the bucket it encrypts
    by default (the template's LogKey and LogBucket BucketEncryption, resolved), the healthcheck
    scripts and document. A member stack runs no notifier: no table, no topic (both empty here)."""
    region = deployment.region
    template = deployment.source()["Resources"]
    key = kms.create_key(Description=deployment.resolve(template["LogKey"]["Properties"]["Description"]))
    key_arn = key["KeyMetadata"]["Arn"]
    kms.create_alias(
        AliasName=deployment.resolve(template["LogKeyAlias"]["Properties"]["AliasName"]),
        TargetKeyId=key["KeyMetadata"]["KeyId"],
    )
    bucket = f"{deployment.stack_name}-logbucket-{physical_id(seed, 'LogBucket', 12).lower()}"
    # us-east-1 takes no LocationConstraint (S3 API reference, CreateBucket).
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    clients.s3.create_bucket(Bucket=bucket, **where)  # type: ignore[arg-type]
    with_key = Deployment(
        refs=deployment.refs,
        attributes={**deployment.attributes, "LogKey.Arn": key_arn},
        parameters=deployment.parameters,
        region=region,
        account=deployment.account,
        stack_name=deployment.stack_name,
        template=deployment.template,
    )
    encryption = with_key.resolve(template["LogBucket"]["Properties"]["BucketEncryption"])
    # CloudFormation's rule (ServerSideEncryptionByDefault) as the S3 API names it.
    rules: list[Any] = [
        {
            "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
            "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
        }
        for rule in encryption["ServerSideEncryptionConfiguration"]
    ]
    clients.s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    stack = Stack(
        region=region,
        bucket=bucket,
        table="",
        topic_arn="",
        account=deployment.account,
        stack_name=deployment.stack_name,
        log_key_arn=key_arn,
    )
    return _window_resources(clients, stack, alias=alias)


def _notifier_resources(clients: Clients, *, region: str, seed: int, stack_name: str) -> Stack:
    stack = create_stack(
        clients,
        region=region,
        bucket=f"{stack_name}-logbucket-{physical_id(seed, 'LogBucket', 12).lower()}",
        table=f"{stack_name}-IdempotencyTable-{physical_id(seed, 'IdempotencyTable')}",
        topic=f"{stack_name}-NotificationTopic-{physical_id(seed, 'NotificationTopic')}",
        queue="digest-subscriber",
        history_table=f"{stack_name}-HistoryTable-{physical_id(seed, 'HistoryTable')}",
    )
    return replace(stack, stack_name=stack_name)


def _name_account(clients: Clients, alias: str) -> None:
    """The account's alias (account-wide, not the stack's): the messages name the account by it."""
    if not clients.iam.list_account_aliases()["AccountAliases"]:
        clients.iam.create_account_alias(AccountAlias=alias)


def _window_resources(clients: Clients, stack: Stack, *, alias: str) -> Stack:
    """What a stack that runs the window adds: the healthcheck scripts (what the HealthcheckScripts
    custom resource does on deploy; its hashes go to the task), the account's alias, the document."""
    from instance_hygiene.deploy.scripts_publisher import effective_hashes, publish_scripts  # noqa: PLC0415

    published = publish_scripts(
        clients.s3,
        bucket=stack.bucket,
        prefix=Deployment(region=stack.region).parameter("ScriptsPrefix"),
        folder=ROOT / "documents" / "scripts",
    )
    _name_account(clients, alias)
    document = f"{stack.stack_name}-Healthcheck"  # the template names it ${AWS::StackName}-Healthcheck
    clients.ssm.create_document(
        Name=document,
        Content=(ROOT / "documents" / "healthcheck.yaml").read_text(),
        DocumentType="Command",
        DocumentFormat="YAML",
    )
    return replace(stack, healthcheck_document=document, script_sha256=effective_hashes(published))
