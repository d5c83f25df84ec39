"""What `sam deploy` creates that the functions use at run time, created in the stand-in.

One place for the demo, the tests and the container tests: the log bucket, the idempotency
table (key `id`, as Powertools expects), the notification topic and, optionally, an SQS queue
subscribed to it (envelope, not raw, so Subject and Message both arrive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Runtime:
    bucket: str
    table: str
    topic_arn: str
    queue_url: str | None


def create_runtime(
    clients: Any,
    *,
    region: str,
    bucket: str,
    table: str,
    topic: str,
    queue: str | None = "subscriber",
) -> Runtime:
    """Create the resources; `clients(service)` returns a boto3 client for the stand-in."""
    clients("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    clients("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
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
    return Runtime(bucket=bucket, table=table, topic_arn=topic_arn, queue_url=queue_url)
