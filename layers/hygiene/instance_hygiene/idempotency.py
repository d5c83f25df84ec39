"""One notification per (command or window execution, status), whatever EventBridge redelivers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOGGER = logging.getLogger(__name__)

Notify = Callable[..., dict[str, Any]]

NOT_RECORDED = "idempotency_record_saved"
"""Key set to False in an outcome that was sent but whose record could not be completed."""


def once(
    settings: NotifierSettings, context: LambdaContext, *, dynamodb: DynamoDBClient | None = None
) -> Callable[[Notify], Notify]:
    """Decorate a `notify(key=...)` so that a key already handled returns its first outcome.

    Built per invocation (the table name is a setting; nothing is created at import time), on
    the handler's DynamoDB client when given (its retry settings, its connections). A concurrent
    duplicate raises IdempotencyAlreadyInProgressError, so Lambda retries it later; a failed
    call deletes its record so the retry can send.

    The store failing *after* the message was sent (the success update) is not raised: a retry
    would find the record still IN_PROGRESS until the first attempt's deadline and then send a
    second message. The outcome is returned with `idempotency_record_saved: False` and logged
    as an error instead. The store failing before anything was sent is raised (nothing sent,
    the event is retried).
    """
    config = IdempotencyConfig(expires_after_seconds=settings.idempotency_ttl_seconds, lambda_context=context)
    store = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)
    guard = idempotent_function(data_keyword_argument="key", config=config, persistence_store=store)

    def decorate(notify: Notify) -> Notify:
        sent: list[dict[str, Any]] = []

        def notify_and_remember(key: dict[str, str]) -> dict[str, Any]:
            outcome = notify(key=key)
            sent.append(outcome)
            return outcome

        guarded = guard(notify_and_remember)

        @functools.wraps(notify)
        def run(*, key: dict[str, str]) -> dict[str, Any]:
            try:
                return guarded(key=key)  # type: ignore[no-any-return]
            except IdempotencyPersistenceLayerError as error:
                if not sent:
                    raise
                LOGGER.error(
                    "notification sent but its idempotency record was not completed (%s: %s); a "
                    "redelivery after the in-progress lock expires may send it again",
                    error,
                    error.__cause__,
                )
                return {**sent[-1], NOT_RECORDED: False}

        return run

    return decorate
