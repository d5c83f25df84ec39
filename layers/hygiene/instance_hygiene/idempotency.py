"""One notification per (command or window execution, status), whatever EventBridge redelivers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from instance_hygiene.settings import NotifierSettings

Notify = Callable[..., dict[str, Any]]


def once(settings: NotifierSettings, context: LambdaContext) -> Callable[[Notify], Notify]:
    """Decorate a `notify(key=...)` so that a key already handled returns its first outcome.

    Built per invocation (the table name is a setting; nothing is created at import time). A
    concurrent duplicate raises IdempotencyAlreadyInProgressError, so Lambda retries it later;
    a failed call deletes its record so the retry can send.
    """
    config = IdempotencyConfig(expires_after_seconds=settings.idempotency_ttl_seconds, lambda_context=context)
    store = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
    return idempotent_function(data_keyword_argument="key", config=config, persistence_store=store)  # type: ignore[no-any-return]
