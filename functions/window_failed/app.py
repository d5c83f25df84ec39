"""EventBridge: this stack's maintenance window execution ended badly -> one window report on SNS."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from instance_hygiene.events import parse_window_event
from instance_hygiene.idempotency import NOT_RECORDED, once
from instance_hygiene.notify import notify_window
from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# The end states the EventBridge rule sends (SUCCESS too when NOTIFY_ON_SUCCESS=true).
ENDED_BADLY = frozenset({"FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED_OVERLAPPING"})
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=20)


@cache
def _clients() -> tuple[SSMClient, SNSClient]:
    return boto3.client("ssm", config=RETRIES), boto3.client("sns", config=RETRIES)


@cache
def _dynamodb() -> DynamoDBClient:
    """The idempotency store's client: built once per container, with the same retries."""
    return boto3.client("dynamodb", config=RETRIES)


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = NotifierSettings.from_env()
    parsed = parse_window_event(event)
    if parsed.detail.status == "SUCCESS" and not settings.notify_on_success:
        logger.info("success not notified (NOTIFY_ON_SUCCESS=false)")
        return {"notified": False}
    if parsed.detail.status not in ENDED_BADLY | {"SUCCESS"}:
        # Not an end state (PENDING, IN_PROGRESS, CANCELLING): the rule does not send these,
        # and one arriving late or by hand must not produce a message of its own.
        logger.info("not an end state: not notified", extra={"status": parsed.detail.status})
        return {"notified": False, "status": parsed.detail.status}

    @once(settings, context, dynamodb=_dynamodb())
    def notify_once(key: dict[str, str]) -> dict[str, Any]:
        ssm, sns = _clients()
        outcome = notify_window(parsed, ssm=ssm, sns=sns, settings=settings)
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        return outcome

    result = notify_once(
        key={"window_execution_id": parsed.detail.window_execution_id, "status": parsed.detail.status}
    )
    if result.get(NOT_RECORDED) is False:
        metrics.add_metric(name="IdempotencyRecordsNotSaved", unit=MetricUnit.Count, value=1)
    logger.info("notified", extra=result)
    return result
