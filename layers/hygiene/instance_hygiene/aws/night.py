"""Which night a command belongs to: its maintenance-window execution, that window's name and time
zone, and the account's alias. The adapter that reads them; each is optional context, so nothing
here raises: what cannot be read is left out (with a note when the reader should know).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from botocore.exceptions import BotoCoreError, ClientError

from instance_hygiene.errors import error_code
from instance_hygiene.secrets.redact import clean_field

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import MaintenanceWindowIdentityTypeDef

LOGGER = logging.getLogger(__name__)

NOT_A_WINDOW = frozenset({"DoesNotExistException", "ValidationException"})
"""GetMaintenanceWindowExecution's answer to an id no window execution has (a snapshot id a person
gave AWS-RunPatchBaseline by hand): the command was not sent by a window, which is no problem."""

MATCH_SLACK = timedelta(minutes=1)
"""How far around an execution's start its window's executions are listed to find it."""

WINDOW_NAME = re.compile(r"[A-Za-z0-9_.-]{3,128}")
"""A maintenance window's name (the SSM API's pattern for Name)."""

TASK_COMMENTS = frozenset({"patch", "healthcheck"})
"""The last word of the comment template.yaml's tasks give their commands: "<WindowName> patch"."""


@dataclass(frozen=True)
class Night:
    window_id: str | None = None
    window_execution_id: str | None = None
    window_name: str | None = None
    local_date: str | None = None
    """YYYY-MM-DD of the night in the window's schedule time zone (UTC when it has none)."""
    time_zone: str = "UTC"
    notes: tuple[str, ...] = ()


def local_date(moment: datetime | None, time_zone: str | None) -> tuple[str | None, str]:
    """The calendar date of `moment` in `time_zone` (an IANA name, as a window's ScheduleTimezone),
    and the zone used: UTC when the zone is empty or unknown, or when `moment` is naive (boto3
    returns aware datetimes). None when there is no moment."""
    zone_name = time_zone or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone, zone_name = ZoneInfo("UTC"), "UTC"
    if moment is None:
        return None, zone_name
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date().isoformat(), zone_name


def executed_by(ssm: SSMClient, window_id: str, window_execution_id: str, started: datetime) -> bool:
    """Whether `window_id` ran the execution: GetMaintenanceWindowExecution does not say which window
    an execution belongs to, so the window's executions that started around it are listed."""
    around = [
        {"Key": key, "Values": [moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]}
        for key, moment in (
            ("ExecutedAfter", started - MATCH_SLACK),
            ("ExecutedBefore", started + MATCH_SLACK),
        )
    ]
    pages = ssm.get_paginator("describe_maintenance_window_executions").paginate(
        WindowId=window_id,
        Filters=around,  # type: ignore[arg-type]  # the stubs type Filters as a TypedDict list
    )
    return any(
        execution.get("WindowExecutionId") == window_execution_id
        for page in pages
        for execution in page.get("WindowExecutions", [])
    )


def commented_window(comment: str) -> str | None:
    """The window name in a command's comment as this product's tasks write it ("<WindowName>
    patch", "<WindowName> healthcheck"), or None for any other comment. Only a hint: the window it
    names is trusted once it is shown to have run the command's execution (executed_by)."""
    name, _, task = comment.strip().rpartition(" ")
    return name if task in TASK_COMMENTS and WINDOW_NAME.fullmatch(name) else None


def read_night(
    ssm: SSMClient,
    *,
    window_execution_id: str | None,
    requested_at: datetime | None,
    window_id: str | None,
    window_named: str | None = None,
) -> Night:
    """The night of a command its parameters tie to window execution `window_execution_id`: when
    the stack's window `window_id` ran that execution, the window's name and the date in its time
    zone; else the execution's (or the request's) UTC date. A command sent by hand has no window.

    Without `window_id` (a member account's command, read from the central stack, which knows none
    of the member's windows), the windows named `window_named` (commented_window) are the
    candidates, and the one that ran the execution gives its name and time zone."""
    fallback_date, _ = local_date(requested_at, None)
    if not window_execution_id:
        return Night(local_date=fallback_date)
    try:
        execution = ssm.get_maintenance_window_execution(WindowExecutionId=window_execution_id)
    except ClientError as error:
        if error_code(error) in NOT_A_WINDOW:
            return Night(local_date=fallback_date)
        LOGGER.warning("window execution unavailable: %s", error)
        return Night(
            window_execution_id=window_execution_id,
            local_date=fallback_date,
            notes=(
                f"The maintenance-window execution {window_execution_id} could not be read "
                f"({error_code(error)}): the window's name is left out and the date is UTC.",
            ),
        )
    except BotoCoreError as error:
        LOGGER.warning("window execution unavailable: %s", error)
        return Night(window_execution_id=window_execution_id, local_date=fallback_date)
    started = execution.get("StartTime")
    moment = started if isinstance(started, datetime) else requested_at
    utc_date, _ = local_date(moment, None)
    night = Night(window_execution_id=window_execution_id, local_date=utc_date)
    if not isinstance(started, datetime) or not (window_id or window_named):
        return night
    return _window_night(ssm, night, started, window_id=window_id, named=window_named)


def _window_night(
    ssm: SSMClient, night: Night, started: datetime, *, window_id: str | None, named: str | None
) -> Night:
    """`night` named and dated after the window that ran it: `window_id` when it did, else the one
    of the windows called `named` that did (window_that_ran); as it is when none did."""
    execution_id = night.window_execution_id or ""
    try:
        if window_id:
            ran = executed_by(ssm, window_id, execution_id, started)
            window: Mapping[str, Any] | None = ssm.get_maintenance_window(WindowId=window_id) if ran else None
        else:
            window = window_that_ran(ssm, execution_id, started, named=named)
    except (ClientError, BotoCoreError) as error:
        LOGGER.warning("window unavailable: %s", error)
        what, whose = (
            (f"maintenance window {window_id}", "its")
            if window_id
            else (f"account's maintenance windows named {named}", "the window's")
        )
        note = (
            f"The {what} could not be read ({error_code(error)}): {whose} name is left out and the "
            "date is UTC."
        )
        return replace(night, notes=(note,))
    if window is None:
        # Another window's execution (WatchAllCommands), or the named window renamed or deleted
        # since (or a comment written by hand): no name to give.
        return night
    zone = window.get("ScheduleTimezone")
    date, used = local_date(started, zone if isinstance(zone, str) else None)
    return replace(
        night,
        window_id=window_id or str(window.get("WindowId", "")),
        window_name=clean_field(window.get("Name"), 128) or None,
        local_date=date,
        time_zone=used,
    )


def window_that_ran(
    ssm: SSMClient, window_execution_id: str, started: datetime, *, named: str | None = None
) -> MaintenanceWindowIdentityTypeDef | None:
    """The account's window that ran the execution which started at `started`, as
    DescribeMaintenanceWindows lists it (id, name, schedule time zone), among the windows called
    `named` (names need not be unique), or all of them; None when none did. Raises what the calls
    raise (ClientError, BotoCoreError)."""
    by_name: dict[str, Any] = {"Filters": [{"Key": "Name", "Values": [named]}]} if named else {}
    pages = ssm.get_paginator("describe_maintenance_windows").paginate(**by_name)
    for page in pages:
        for window in page.get("WindowIdentities", []):
            found = window.get("WindowId")
            if found and executed_by(ssm, found, window_execution_id, started):
                return window
    return None


def read_account_alias(iam: IAMClient | None) -> str | None:
    """The account's alias (an account has at most one), or None when it has none or it cannot be
    read: the message names the account by id either way."""
    if iam is None:
        return None
    try:
        aliases = iam.list_account_aliases().get("AccountAliases", [])
    except (ClientError, BotoCoreError) as error:
        LOGGER.info("account alias unavailable: %s", error)
        return None
    return clean_field(aliases[0], 63) or None if aliases else None
