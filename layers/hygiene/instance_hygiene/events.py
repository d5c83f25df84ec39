"""Typed models of the aws.ssm EventBridge events the functions react to.

A malformed event raises `InvalidEvent` with a one-line reason that names the field: Lambda then
retries and the failure destination keeps the event, so nothing is lost in silence. The reason is
printable ASCII and short whatever the event holds (a 1 MB key, control characters), because it
ends up in logs and in the dead-letter queue's error attribute.

Only what the functions use or trust is checked strictly: the ids (they become S3 prefixes and
idempotency keys), the statuses, the document name (SSM's own character set), the account (12
digits) and the region (it becomes part of a console URL). Extra fields are ignored; unused
fields (`parameters`, `resources`) only need their documented types.

Events for another account or region: an event forwarded from elsewhere still parses (its account
and region are valid). It is read in its own region; another account's is read only in central
role, with that account's member role (aws/accounts.py), and is otherwise rejected
(`accounts.AccountRejected`), so the event is retried and kept in the dead-letter queue.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

COMMAND_DETAIL_TYPE = "EC2 Command Status-change Notification"
WINDOW_DETAIL_TYPE = "Maintenance Window Execution State-change Notification"

# Statuses are not a closed list: the user guide documents seven for command events and eight for
# window executions, but AWS's own multi-account patch-reporting sample also matches command
# events on Incomplete, DeliveryTimedOut, RateExceeded, AccessDenied and "No Instances In Tag".
# A status the product does not know is read back from the API (statuses.py), never refused here:
# refusing it would park a real outcome in the dead-letter queue. Only its shape is checked, since
# it becomes part of an idempotency key and of a subject.
STATUS_PATTERN = r"^[A-Za-z][A-Za-z0-9 _-]{0,63}$"

COMMAND_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
WINDOW_ID_PATTERN = r"^mw-[0-9a-f]{17}$"
# SSM's DocumentARN pattern (a name, or the ARN of a shared document), with our longer bound.
DOCUMENT_NAME_PATTERN = r"^[a-zA-Z0-9_\-.:/]{3,256}$"
ACCOUNT_PATTERN = r"^[0-9]{12}$"
# us-east-1, eu-west-2, us-gov-west-1, cn-northwest-1, us-isob-east-1, eusc-de-east-1, ...
REGION_PATTERN = r"^[a-z]{2,4}(?:-[a-z]{2,5})?-[a-z]{2,10}-[0-9]{1,2}$"

MESSAGE_FIELD_MAX = 80
MESSAGE_REASON_MAX = 160
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class InvalidEvent(ValueError):
    """The event is not one this function handles; the message says which field and why."""


class CommandDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    command_id: str = Field(alias="command-id", pattern=COMMAND_ID_PATTERN)
    document_name: str = Field(alias="document-name", pattern=DOCUMENT_NAME_PATTERN)
    status: str = Field(pattern=STATUS_PATTERN, strict=True)
    requested_date_time: datetime | None = Field(default=None, alias="requested-date-time")
    expire_after: datetime | None = Field(default=None, alias="expire-after")
    parameters: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("parameters", mode="before")
    @classmethod
    def _no_parameters(cls, value: Any) -> Any:
        """A command without parameters may carry `"parameters": null`: read as none."""
        return {} if value is None else value

    @field_validator("command_id")
    @classmethod
    def _lower_case_id(cls, value: str) -> str:
        """SSM's ids are lower case: one spelling per command for S3 prefixes and idempotency keys."""
        return value.lower()


class _EventBridgeEvent(BaseModel):
    """EventBridge's envelope (the fields of Powertools' EventBridgeModel, declared here so that
    a cold start does not import Powertools' parser and every model it ships)."""

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(None, alias="replay-name")


class _SsmEvent(_EventBridgeEvent):
    source: Literal["aws.ssm"]
    account: str = Field(pattern=ACCOUNT_PATTERN)
    region: str = Field(pattern=REGION_PATTERN)


class CommandStatusEvent(_SsmEvent):
    detail_type: Literal["EC2 Command Status-change Notification"] = Field(alias="detail-type")
    detail: CommandDetail


class WindowExecutionDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    window_id: str = Field(alias="window-id", pattern=WINDOW_ID_PATTERN)
    window_execution_id: str = Field(alias="window-execution-id", pattern=COMMAND_ID_PATTERN)
    status: str = Field(pattern=STATUS_PATTERN, strict=True)
    start_time: datetime | None = Field(default=None, alias="start-time")
    end_time: datetime | None = Field(default=None, alias="end-time")

    @field_validator("window_execution_id")
    @classmethod
    def _lower_case_id(cls, value: str) -> str:
        return value.lower()


class WindowExecutionEvent(_SsmEvent):
    detail_type: Literal["Maintenance Window Execution State-change Notification"] = Field(
        alias="detail-type"
    )
    detail: WindowExecutionDetail


def _printable(text: str, limit: int) -> str:
    """One line of printable ASCII of at most `limit` characters (`?` for anything else)."""
    flat = _UNPRINTABLE.sub("?", text)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _describe(error: ValidationError) -> str:
    """`<field path>: <what is wrong>`, e.g. `detail.command-id: String should match pattern ...`.

    The path is built from the event's own keys, which may be anything (a dict key of 1 MB, a
    line break): each part is made printable and cut, so the message stays one short line.
    """
    first = error.errors(include_url=False, include_context=False, include_input=False)[0]
    where = ".".join(_printable(str(part), MESSAGE_FIELD_MAX) for part in first["loc"]) or "event"
    more = f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {_printable(first['msg'], MESSAGE_REASON_MAX)}{more}"


def parse_command_event(event: Any) -> CommandStatusEvent:
    try:
        return CommandStatusEvent.model_validate(event)
    except ValidationError as error:
        raise InvalidEvent(f"not an SSM command status-change event: {_describe(error)}") from None


def parse_window_event(event: Any) -> WindowExecutionEvent:
    try:
        return WindowExecutionEvent.model_validate(event)
    except ValidationError as error:
        raise InvalidEvent(f"not a maintenance-window execution event: {_describe(error)}") from None
