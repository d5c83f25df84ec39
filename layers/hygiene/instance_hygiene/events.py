"""Typed models of the aws.ssm EventBridge events the functions react to.

A malformed event raises `InvalidEvent` with a one-line reason that names the field: Lambda then
retries and the failure destination keeps the event, so nothing is lost in silence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

COMMAND_DETAIL_TYPE = "EC2 Command Status-change Notification"
WINDOW_DETAIL_TYPE = "Maintenance Window Execution State-change Notification"

CommandStatus = Literal["Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut", "Cancelling"]
WindowStatus = Literal[
    "PENDING",
    "IN_PROGRESS",
    "SUCCESS",
    "FAILED",
    "TIMED_OUT",
    "SKIPPED_OVERLAPPING",
    "CANCELLING",
    "CANCELLED",
]

COMMAND_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
WINDOW_ID_PATTERN = r"^mw-[0-9a-f]{17}$"


class InvalidEvent(ValueError):
    """The event is not one this function handles; the message says which field and why."""


class CommandDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    command_id: str = Field(alias="command-id", pattern=COMMAND_ID_PATTERN)
    document_name: str = Field(alias="document-name", min_length=3, max_length=256)
    status: CommandStatus
    requested_date_time: datetime | None = Field(default=None, alias="requested-date-time")
    expire_after: datetime | None = Field(default=None, alias="expire-after")
    parameters: dict[str, list[str]] = Field(default_factory=dict)


class CommandStatusEvent(EventBridgeModel):
    detail_type: Literal["EC2 Command Status-change Notification"] = Field(alias="detail-type")
    source: Literal["aws.ssm"]
    detail: CommandDetail


class WindowExecutionDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    window_id: str = Field(alias="window-id", pattern=WINDOW_ID_PATTERN)
    window_execution_id: str = Field(alias="window-execution-id", pattern=COMMAND_ID_PATTERN)
    status: WindowStatus
    start_time: datetime | None = Field(default=None, alias="start-time")
    end_time: datetime | None = Field(default=None, alias="end-time")


class WindowExecutionEvent(EventBridgeModel):
    detail_type: Literal["Maintenance Window Execution State-change Notification"] = Field(
        alias="detail-type"
    )
    source: Literal["aws.ssm"]
    detail: WindowExecutionDetail


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    more = f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


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
