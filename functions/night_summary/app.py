"""EventBridge Scheduler: the morning summary is due -> one message about the night across every
account and Region that reported (and those that did not) on SNS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.aws import clients
from instance_hygiene.aws.idempotency import once
from instance_hygiene.notify.handling import sent
from instance_hygiene.notify.summary import notify_summary
from instance_hygiene.secrets.log_redaction import redact_log_records
from instance_hygiene.settings import NotifierSettings

logger = Logger()
redact_log_records(logger)
metrics = Metrics()


class BadScheduleEvent(ValueError):
    """The event names no time to summarise up to: raised, so the failure destination keeps it."""


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The schedule's `<aws.scheduler.scheduled-time>` (the template's Input puts it in
    `scheduled_time`), or an EventBridge event's `time` (a rule or a test event)."""
    raw = event.get("scheduled_time") or event.get("time")
    if not isinstance(raw, str):
        raise BadScheduleEvent("the event has no scheduled_time (or time): expected an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadScheduleEvent(f"scheduled_time {raw[:64]!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = NotifierSettings.from_env()
    scheduled = scheduled_time(event)
    # A central stack may list the Organization's accounts (management account or delegated
    # administrator only); called once a night, so the client is not kept.
    organizations = boto3.client("organizations") if settings.deployment_role == "central" else None

    # A retried schedule (Scheduler's RetryPolicy, Lambda's own retries) sends one summary.
    @once(settings, context, dynamodb=clients.dynamodb())
    def notify_once(key: dict[str, str]) -> dict[str, Any]:
        outcome = notify_summary(
            scheduled,
            dynamodb=clients.dynamodb(),
            sns=clients.sns(),
            settings=settings,
            organizations=organizations,
        )
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        return outcome.as_dict()

    return sent(notify_once(key={"summary": scheduled.isoformat()}), metrics=metrics, logger=logger)
