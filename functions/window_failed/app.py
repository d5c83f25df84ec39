"""EventBridge: this stack's maintenance window execution ended -> one window report on SNS when it
did not succeed, or succeeded without running on every target (or NOTIFY_ON_SUCCESS is set)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.aws import clients
from instance_hygiene.aws.accounts import RoleNotAssumed, event_access
from instance_hygiene.aws.idempotency import once
from instance_hygiene.events import parse_window_event
from instance_hygiene.notify.handling import sent, tell_not_read
from instance_hygiene.notify.window import (
    decide_window,
    notify_unread_window,
    notify_window,
    remember_window,
)
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
    # The function's own clients for its own account; in central role, a member role's for another
    # account of the organization; any other account's event is raised (AccountRejected).
    read = event_access(
        settings,
        context.invoked_function_arn,
        account=parsed.account,
        region=parsed.region,
        about=f"window execution {parsed.detail.window_execution_id}",
        key={"window_execution_id": parsed.detail.window_execution_id, "status": parsed.detail.status},
    )
    key, access = read.key, read.clients
    if isinstance(access, RoleNotAssumed):
        # One message per account, Region and night; every event still reaches the ledger.
        return tell_not_read(
            access,
            event=parsed,
            notify=notify_unread_window,
            settings=settings,
            context=context,
            metrics=metrics,
            logger=logger,
        )
    # FAILED, TIMED_OUT, CANCELLED, SKIPPED_OVERLAPPING are told; a SUCCESS is checked for tasks
    # that never ran or ran on no instance; a status not known is decided on the API's.
    decision = decide_window(parsed, ssm=access.ssm, settings=settings)
    if not decision.verdict.notify:
        remember_window(parsed, decision=decision, settings=settings, dynamodb=clients.dynamodb())
        # Counted, so that "checked and nothing to tell" is visible next to Notifications.
        metrics.add_metric(name="Acknowledged", unit=MetricUnit.Count, value=1)
        logger.info("not notified", extra={"status": parsed.detail.status, "why": decision.verdict.why})
        return {"notified": False, "status": parsed.detail.status, "why": decision.verdict.why}

    @once(settings, context, dynamodb=clients.dynamodb())
    def notify_once(key: dict[str, str]) -> dict[str, Any]:
        # The execution is read in its account (ssm, iam); the commands' full reports are in this
        # function's own bucket (s3), where the command function wrote them.
        outcome = notify_window(
            parsed,
            decision=decision,
            ssm=access.ssm,
            sns=access.sns,
            s3=access.s3,
            iam=access.iam,
            settings=settings,
            dynamodb=clients.dynamodb(),
        )
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        return outcome.as_dict()

    return sent(notify_once(key=key), metrics=metrics, logger=logger)
