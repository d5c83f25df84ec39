"""EventBridge: a Run Command ended -> one digest on SNS unless it succeeded everywhere."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.aws import clients
from instance_hygiene.aws.accounts import RoleNotAssumed, event_access
from instance_hygiene.aws.idempotency import once
from instance_hygiene.events import parse_command_event
from instance_hygiene.notify.command import (
    decide_command,
    notify_command,
    notify_unread_command,
    remember_success,
)
from instance_hygiene.notify.handling import sent, tell_not_read
from instance_hygiene.secrets.log_redaction import redact_log_records
from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
    from instance_hygiene.explain.extra_rules import ExtraRules, RuleSource

logger = Logger()
# Log lines quote commands, keys and reasons: redacted like the message itself.
redact_log_records(logger)
metrics = Metrics()


@cache
def _rule_source(parameter: str) -> RuleSource:
    """The operator's extra rules, re-read at most every few minutes per container (imported
    here: a stack without extra rules never loads the catalogue's parser at cold start)."""
    from instance_hygiene.explain.extra_rules import RuleSource  # noqa: PLC0415

    return RuleSource(parameter)


def _extra_rules(settings: NotifierSettings) -> ExtraRules | None:
    """Read in this function's own region (where the stack put the parameter)."""
    if settings.extra_rules_parameter is None:
        return None
    return _rule_source(settings.extra_rules_parameter).load(clients.ssm())


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = NotifierSettings.from_env()
    parsed = parse_command_event(event)
    # The function's own clients for its own account; in central role, a member role's for another
    # account of the organization; any other account's event is raised (AccountRejected). One
    # message per (command, status), and account and region for another account's: a redelivered
    # event returns the first outcome.
    read = event_access(
        settings,
        context.invoked_function_arn,
        account=parsed.account,
        region=parsed.region,
        about=f"command {parsed.detail.command_id}",
        key={"command_id": parsed.detail.command_id, "status": parsed.detail.status},
    )
    key, access = read.key, read.clients
    if isinstance(access, RoleNotAssumed):
        # One message per account, Region and night; every event still reaches the ledger.
        return tell_not_read(
            access,
            event=parsed,
            notify=notify_unread_command,
            settings=settings,
            context=context,
            metrics=metrics,
            logger=logger,
        )
    # Failed, TimedOut and Cancelled are told; a Success or a status not known is checked first.
    decision = decide_command(parsed, ssm=access.ssm)
    if not decision.verdict.notify:
        if parsed.detail.status == "Success":
            remember_success(parsed, clients=access, settings=settings)
        # Counted, so that "checked and nothing to tell" is visible next to Notifications.
        metrics.add_metric(name="Acknowledged", unit=MetricUnit.Count, value=1)
        logger.info("not notified", extra={"status": parsed.detail.status, "why": decision.verdict.why})
        return {"notified": False, "status": parsed.detail.status, "why": decision.verdict.why}

    @once(settings, context, dynamodb=clients.dynamodb())
    def notify_once(key: dict[str, str]) -> dict[str, Any]:
        outcome = notify_command(
            parsed,
            decision=decision,
            clients=access,
            settings=settings,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
            rules=_extra_rules(settings),
        )
        metrics.add_metric(name="FailedInstances", unit=MetricUnit.Count, value=outcome.failed_instances)
        metrics.add_metric(name="LogFetchFailures", unit=MetricUnit.Count, value=outcome.log_fetch_failures)
        metrics.add_metric(name="LogBytesRead", unit=MetricUnit.Bytes, value=outcome.bytes_read)
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=1)
        return outcome.as_dict()

    return sent(notify_once(key=key), metrics=metrics, logger=logger)
