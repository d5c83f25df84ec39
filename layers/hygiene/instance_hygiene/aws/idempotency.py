"""One notification per (command or window execution, status), whatever EventBridge redelivers.

The IN_PROGRESS record that Powertools writes before the work is a lease: it expires LEASE_SECONDS
after its last renewal, and a heartbeat renews it every RENEW_EVERY_SECONDS while the work runs.
A concurrent duplicate still finds it held and is retried by Lambda; a record left by an
invocation that died (out of memory, runtime exit) lapses well before Lambda's first retry of it
(about a minute later), instead of blocking both retries until the dead invocation's deadline.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.errors import error_code
from instance_hygiene.settings import NotifierSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LOGGER = logging.getLogger(__name__)

Notify = Callable[..., dict[str, Any]]

NOT_RECORDED = "idempotency_record_saved"
"""Key set to False in an outcome that was sent but whose record could not be completed."""

LEASE_SECONDS = 30
"""An IN_PROGRESS record's life after its last renewal. Below Lambda's ~60 s wait before the first
retry of a failed asynchronous invocation, so a crashed attempt's lock is gone when the retry runs."""
RENEW_EVERY_SECONDS = 10
"""Renewals per lease: three, so two failed renewals in a row still keep a live attempt's lock."""


def _now_ms() -> int:
    """Epoch milliseconds, read as Powertools reads them (its in-progress checks use the same)."""
    return int(dt.datetime.now().timestamp() * 1000)


class LeasedStore(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB store whose IN_PROGRESS lock is a renewable lease.

    Powertools sets the lock's expiry to now + the invocation's remaining time; here it is capped at
    LEASE_SECONDS, and `renew()` moves it forward while the record is still the one this store
    wrote (IN_PROGRESS with the expiry last written), never over a record completed, deleted or
    taken over by a later attempt after the lease lapsed.
    """

    def __init__(
        self, *, table_name: str, boto3_client: DynamoDBClient | None, lease_seconds: int = LEASE_SECONDS
    ) -> None:
        super().__init__(table_name=table_name, boto3_client=boto3_client)
        self.lease_ms = lease_seconds * 1000
        self._held: tuple[str, int] | None = None
        self._lock = threading.Lock()

    def save_inprogress(self, data: dict[str, Any], remaining_time_in_millis: int | None = None) -> None:
        lease = (
            self.lease_ms
            if remaining_time_in_millis is None
            else min(remaining_time_in_millis, self.lease_ms)
        )
        super().save_inprogress(data, lease)

    def _put_record(self, data_record: DataRecord) -> None:
        super()._put_record(data_record)  # raises when the key is held or done: then nothing is ours
        if data_record.status == STATUS_CONSTANTS["INPROGRESS"] and data_record.in_progress_expiry_timestamp:
            with self._lock:
                self._held = (data_record.idempotency_key, data_record.in_progress_expiry_timestamp)

    def renew(self) -> bool:
        """Extend the held lock to now + the lease. False once it is no longer ours (stop renewing);
        True after a store error too (the next renewal may get through before the lease lapses)."""
        with self._lock:
            held = self._held
        if held is None:
            return False
        key, expiry = held
        lease_until = _now_ms() + self.lease_ms
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._get_key(key),
                UpdateExpression="SET #in_progress_expiry = :lease_until",
                ConditionExpression="#status = :in_progress AND #in_progress_expiry = :held_until",
                ExpressionAttributeNames={
                    "#status": self.status_attr,
                    "#in_progress_expiry": self.in_progress_expiry_attr,
                },
                ExpressionAttributeValues={
                    ":in_progress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
                    ":held_until": {"N": str(expiry)},
                    ":lease_until": {"N": str(lease_until)},
                },
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                LOGGER.info("idempotency lease no longer held (completed, removed or taken over)")
                with self._lock:
                    self._held = None
                return False
            LOGGER.warning("renewing the idempotency lease failed: %s", error)
            return True
        except BotoCoreError as error:
            LOGGER.warning("renewing the idempotency lease failed: %s", error)
            return True
        with self._lock:
            if self._held == held:
                self._held = (key, lease_until)
        return True


class Heartbeat:
    """Calls `renew()` every `every` seconds on a thread of its own until stopped or `renew()`
    returns False. `wait(seconds)` is the stop event's wait (True once stopped), replaceable in tests."""

    def __init__(
        self,
        renew: Callable[[], bool],
        every: float = RENEW_EVERY_SECONDS,
        *,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._renew = renew
        self._every = every
        self._stopped = threading.Event()
        self._wait = wait or self._stopped.wait
        self._thread = threading.Thread(target=self.run, name="idempotency-lease", daemon=True)

    def run(self) -> None:
        while not self._wait(self._every) and not self._stopped.is_set():
            if not self._renew():
                return

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stopped.set()
        # A renewal in flight cannot harm: it is conditional on the record still being IN_PROGRESS.
        self._thread.join(timeout=1.0)


def once(
    settings: NotifierSettings,
    context: LambdaContext,
    *,
    dynamodb: DynamoDBClient | None = None,
    key_prefix: str | None = None,
    expires_after_seconds: int | None = None,
) -> Callable[[Notify], Notify]:
    """Decorate a `notify(key=...)` so that a key already handled returns its first outcome.

    Built per invocation (the table name is a setting; nothing is created at import time), on
    the handler's DynamoDB client when given (its retry settings, its connections). A concurrent
    duplicate raises IdempotencyAlreadyInProgressError, so Lambda retries it later; a failed
    call deletes its record so the retry can send; a call that dies without a word leaves a lock
    that lapses LEASE_SECONDS after its last renewal.

    The store failing *after* the message was sent (the success update) is not raised: a retry
    would find the record still IN_PROGRESS until its lease lapses and then send a second
    message. The outcome is returned with `idempotency_record_saved: False` and logged as an
    error instead. The store failing before anything was sent is raised (nothing sent, the event
    is retried).

    A key handled more than `expires_after_seconds` ago (default: the IdempotencyTtlSeconds
    setting) is new again.
    """
    config = IdempotencyConfig(
        expires_after_seconds=expires_after_seconds or settings.idempotency_ttl_seconds,
        lambda_context=context,
    )
    store = LeasedStore(table_name=settings.idempotency_table, boto3_client=dynamodb)
    # Keys are the function's own unless `key_prefix` names a set of keys several functions share.
    guard = idempotent_function(
        data_keyword_argument="key", config=config, persistence_store=store, key_prefix=key_prefix
    )

    def decorate(notify: Notify) -> Notify:
        sent: list[dict[str, Any]] = []

        def notify_and_remember(key: dict[str, str]) -> dict[str, Any]:
            with Heartbeat(store.renew):
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
                    "redelivery after the in-progress lease lapses may send it again",
                    error,
                    error.__cause__,
                )
                return {**sent[-1], NOT_RECORDED: False}

        return run

    return decorate
