"""The morning summary end to end, in moto: the command and window functions write the night's
ledger as they handle tonight's events, then the summary function (as its schedule invokes it)
publishes one message about the night, and only one however often the schedule retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from instance_hygiene.digest.summary import SUMMARY_SCHEMA
from local.fleet_sim import command_event, window_event
from local.lambda_env import load_function
from tests.integration.test_window_handler import played_patch_night
from tests.support.stack import REGION, Stack, lambda_context

SUMMARY_FUNCTION = "NightSummaryFunction"


@pytest.fixture
def summary(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The stack as a SummarySchedule deploys it: the ledger on, the summary's time zone."""
    monkeypatch.setenv("NIGHT_LEDGER", "true")
    monkeypatch.setenv("SUMMARY_TIME_ZONE", "Europe/London")
    return load_function(SUMMARY_FUNCTION)


def told_night(stack: Stack, command_function: ModuleType, window_function: ModuleType) -> datetime:
    window_id, execution, patch = played_patch_night(stack)
    now = datetime.now(UTC)
    command_function.handler(command_event(patch, region=REGION, time=now), lambda_context())
    window_function.handler(
        window_event(window_id=window_id, window_execution_id=execution, status="FAILED", region=REGION),
        lambda_context(),
    )
    return now


def summaries(stack: Stack) -> list[dict[str, Any]]:
    return [m for m in stack.received() if m["Subject"].startswith(("NIGHT", "NOTHING REPORTED"))]


def test_the_summary_tells_the_night_the_functions_recorded(
    stack: Stack, summary: ModuleType, command_function: ModuleType, window_function: ModuleType
) -> None:
    now = told_night(stack, command_function, window_function)
    due = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    outcome = summary.handler({"scheduled_time": due}, lambda_context())
    summary.handler({"scheduled_time": due}, lambda_context())  # the schedule retried

    (message,) = summaries(stack)
    digest = json.loads(message["Message"])
    assert outcome["entries"] == 2
    assert digest["schema"] == SUMMARY_SCHEMA
    assert digest["totals"]["accounts"] == 1
    assert digest["totals"]["instances"] == 3
    assert digest["totals"]["failed"] == 2
    (account,) = digest["accounts"]
    assert account["windows_in_trouble"] == ["PatchWithHealthcheck FAILED (eu-west-2)"]
    assert digest["causes"], "the patch command's causes"
    assert message["Subject"].endswith("1 of 1 accounts need attention, 2 of 3 instances did not succeed")


def test_a_night_with_nothing_recorded_says_nothing_reported(stack: Stack, summary: ModuleType) -> None:
    summary.handler({"scheduled_time": "2026-12-03T07:00:00Z"}, lambda_context())

    (message,) = summaries(stack)
    assert message["Subject"] == "NOTHING REPORTED NIGHT 2026-12-02: no account reported"


@pytest.mark.parametrize("event", [{}, {"scheduled_time": "tomorrow"}, {"scheduled_time": 7}])
def test_an_event_without_a_time_is_refused_and_nothing_is_sent(
    stack: Stack, summary: ModuleType, event: dict[str, Any]
) -> None:
    with pytest.raises(summary.BadScheduleEvent):
        summary.handler(event, lambda_context())
    assert summaries(stack) == []
