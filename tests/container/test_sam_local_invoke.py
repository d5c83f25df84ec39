"""Every sample event through `sam local invoke`: the built functions and layer, in a Lambda container,
against the offline stand-in. What a subscriber receives is read back from a queue on the topic.

Given the state each sample event refers to (its command, window and execution ids) in the stand-in,
when its function is invoked with it in a container, then the invocation succeeds and the topic
carries exactly the notification expected (none for the success events: every instance succeeded and
NOTIFY_ON_SUCCESS=false).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.event_state import HEALTHCHECK, seed
from local.sam_local import EVENTS, SamLocal, StandinStack
from local.template import raw_template

pytestmark = pytest.mark.container

FUNCTIONS = {
    "command-": "CommandFailedFunction",
    "night-summary": "NightSummaryFunction",
    "window-": "WindowFailedFunction",
}

# What the topic carries for each sample event: the subject's pattern, or None for no message. The
# commands are sent by hand here (no window execution in their parameters): the document and the
# UTC date of the request name them, and the worst cause ends the subject.
DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
WINDOW = rf"window PatchWithHealthcheck {DATE}"
EXPECTED: dict[str, str | None] = {
    "command-failed.json": rf"FAILED AWS-RunPatchBaseline {DATE}: 2/3 - .+",
    "command-timed-out.json": rf"TIMEDOUT AWS-RunPatchBaseline {DATE}: 1/3 - .+",
    "command-cancelled.json": rf"CANCELLED {HEALTHCHECK} {DATE}: 3/3 - .+",
    "command-healthcheck-failed.json": rf"FAILED {HEALTHCHECK} {DATE}: 1/3 - .+",
    "command-success.json": None,
    # Its ledger is empty: the command and window functions of a deploy without a SummarySchedule
    # write none (NIGHT_LEDGER ""), and it summarises the day before its scheduled time.
    "night-summary.json": "NOTHING REPORTED NIGHT 2026-12-02: no account reported",
    # The failed execution's patch command is listed: its instances are counted.
    "window-failed.json": (rf"FAILED {WINDOW}: 2 of 2 tasks, [0-9]+ of [0-9]+ instances did not succeed"),
    "window-timed-out.json": f"TIMED_OUT {WINDOW}: 2 of 2 tasks did not succeed",
    "window-cancelled.json": f"CANCELLED {WINDOW}: 2 of 2 tasks did not succeed",
    "window-skipped-overlapping.json": (f"SKIPPED_OVERLAPPING {WINDOW}: 2 of 2 tasks did not succeed"),
    "window-success.json": None,
}


def sample_events() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def function_for(event: Path) -> str:
    for prefix, function in FUNCTIONS.items():
        if event.name.startswith(prefix):
            return function
    raise AssertionError(f"events/{event.name}: no function takes it (prefixes: {', '.join(FUNCTIONS)})")


@pytest.fixture(scope="module")
def seeded(stack: StandinStack) -> StandinStack:
    """The commands, the window and its executions that the sample events name, as AWS would have
    them (local.event_state): a failed window's patch task ran command-failed.json's command."""
    events = [load(path) for path in sample_events()]
    assert len({e["detail"]["window-id"] for e in events if "window-id" in e.get("detail", {})}) == 1, (
        "the sample window events are executions of one window"
    )
    seed(stack, events)
    stack.received()  # nothing published yet; start from an empty queue
    return stack


def test_every_sample_event_has_an_expectation() -> None:
    assert sorted(p.name for p in sample_events()) == sorted(EXPECTED)


def test_every_function_that_events_invoke_has_sample_events() -> None:
    resources = raw_template()["Resources"]
    triggered = {
        name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function" and resource["Properties"].get("Events")
    }

    assert triggered == set(FUNCTIONS.values())
    assert {function_for(event) for event in sample_events()} == triggered


@pytest.mark.parametrize("event_file", sample_events(), ids=lambda path: path.name)
def test_sample_event_in_a_lambda_container(
    sam_local: SamLocal, seeded: StandinStack, event_file: Path
) -> None:
    event = load(event_file)
    expected_subject = EXPECTED[event_file.name]

    invocation = sam_local.invoke(function_for(event_file), event_file)

    output = f"stdout:\n{invocation.stdout}\nstderr:\n{invocation.stderr}"
    assert invocation.returncode == 0, output
    assert "errorType" not in invocation.stdout, f"the handler raised (sam exits 0 all the same)\n{output}"
    result = invocation.result
    received = seeded.received()
    if expected_subject is None:
        assert received == [], "a success is not notified (NOTIFY_ON_SUCCESS=false)"
        assert result["notified"] is False
        return
    assert len(received) == 1, output
    assert re.fullmatch(expected_subject, received[0]["Subject"]), f"{received[0]['Subject']}\n{output}"
    message = json.loads(received[0]["Message"])
    if "detail" not in event:  # the morning summary: the day before its schedule's time
        assert message["kind"] == "summary"
        assert message["end"].startswith(event["scheduled_time"].removesuffix("Z"))
        assert message["totals"]["accounts"] == 0
        return
    detail = event["detail"]
    assert message["status"] == detail["status"]
    if "command-id" in detail:
        assert message["command_id"] == detail["command-id"]
    else:
        assert message["window_execution_id"] == detail["window-execution-id"]
    if event_file.name == "window-failed.json":
        patch, healthcheck = message["tasks"]
        assert patch["command_ids"] == [load(EVENTS / "command-failed.json")["detail"]["command-id"]]
        assert healthcheck["status"] == "NOT_RUN"
