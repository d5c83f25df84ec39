"""EventBridge: this stack's maintenance window execution ended -> one window report on SNS when it
did not succeed, or succeeded without running on every target (or NOTIFY_ON_SUCCESS is set)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.aws import clients
from instance_hygiene.aws.idempotency import NOT_RECORDED, once
from instance_hygiene.events import parse_window_event
from instance_hygiene.notify.window import decide_window, notify_window
from instance_hygiene.secrets.log_redaction import redact_log_records
from instance_hygiene.settings import NotifierSettings

logger = Logger()
# Log lines quote commands, keys and reasons: redacted like the message itself.
redact_log_records(logger)
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = NotifierSettings.from_env()
    parsed = parse_window_event(event)
    # FAILED, TIMED_OUT, CANCELLED, SKIPPED_OVERLAPPING are told; a SUCCESS is checked for tasks
    # that never ran or ran on no instance; a status not known is decided on the API's.
    decision = decide_window(parsed, ssm=clients.ssm(), settings=settings)
    if not decision.verdict.notify:
        # Counted, so that "checked and nothing to tell" is visible next to Notifications.
        metrics.add_metric(name="Acknowledged", unit=MetricUnit.Count, value=1)
        logger.info("not notified", extra={"status": parsed.detail.status, "why": decision.verdict.why})
        return {"notified": False, "status": parsed.detail.status, "why": decision.verdict.why}

    @once(settings, context, dynamodb=clients.dynamodb())
    def notify_once(key: dict[str, str]) -> dict[str, Any]:
        outcome = notify_window(
            parsed,
            decision=decision,
            ssm=clients.ssm(),
            sns=clients.sns(),
            s3=clients.s3(),
            iam=clients.iam(),
            settings=settings,
        )
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        return outcome.as_dict()

    result = notify_once(
        key={"window_execution_id": parsed.detail.window_execution_id, "status": parsed.detail.status}
    )
    if result.get(NOT_RECORDED) is False:
        metrics.add_metric(name="IdempotencyRecordsNotSaved", unit=MetricUnit.Count, value=1)
    logger.info("notified", extra=result)
    return result
