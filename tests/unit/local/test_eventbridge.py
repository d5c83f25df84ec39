"""local.eventbridge for each deployment role: the rules a deploy creates, on which bus, and the
member's forward rule to the central bus ("$or" included)."""

from __future__ import annotations

from typing import Any

import pytest

from local.eventbridge import (
    DEFAULT_BUS,
    PatternError,
    bus_forwards,
    check_pattern,
    event_bus_arn,
    forwarded,
    matches,
    route,
    template_rules,
)
from local.lambda_env import COMMAND_FUNCTION, WINDOW_FUNCTION
from local.template import Deployment
from tests.cfn import DEPLOYMENT_ROLES

WINDOW = "mw-0123456789abcdef0"
DOCUMENT = "instance-hygiene-Healthcheck"
CENTRAL_BUS = "instance-hygiene"  # CentralEventBusName's default
MEMBER_REFS = {"HealthcheckDocument": DOCUMENT, "MaintenanceWindow": WINDOW}


def deployment(role: str, **refs: str) -> Deployment:
    return Deployment(
        refs=refs, parameters=DEPLOYMENT_ROLES[role], account="444455556666", region="us-east-1"
    )


def command_event(status: str, document: str = "AWS-RunPatchBaseline") -> dict[str, Any]:
    return {
        "source": "aws.ssm",
        "detail-type": "EC2 Command Status-change Notification",
        "detail": {"command-id": "c-1", "document-name": document, "status": status},
    }


def window_event(status: str, window: str = WINDOW) -> dict[str, Any]:
    return {
        "source": "aws.ssm",
        "detail-type": "Maintenance Window Execution State-change Notification",
        "detail": {"window-id": window, "window-execution-id": "e-1", "status": status},
    }


INVOCATION = {
    "source": "aws.ssm",
    "detail-type": "EC2 Command Invocation Status-change Notification",
    "detail": {"command-id": "c-1", "document-name": "AWS-RunPatchBaseline", "status": "Failed"},
}


def test_a_single_stacks_functions_listen_on_the_default_bus_and_nothing_is_forwarded() -> None:
    single = deployment("single", **MEMBER_REFS)

    rules = template_rules(single)

    assert [(r.function, r.bus) for r in rules] == [
        (COMMAND_FUNCTION, DEFAULT_BUS),
        (WINDOW_FUNCTION, DEFAULT_BUS),
    ]
    assert route(rules, command_event("Failed")) == COMMAND_FUNCTION
    assert bus_forwards(single) == ()


def test_a_member_stack_runs_no_function_and_forwards_what_a_single_stack_would_notify() -> None:
    member = deployment("member", **MEMBER_REFS)
    central = DEPLOYMENT_ROLES["member"]

    (forward,) = bus_forwards(member)

    assert template_rules(member) == (), "the functions' Condition (RunsNotifier) does not hold"
    assert forward.name == "ForwardToCentralRule"
    assert forward.bus == DEFAULT_BUS, "aws.ssm events arrive on the member's default bus"
    assert forward.target == event_bus_arn(
        CENTRAL_BUS, region=central["CentralRegion"], account=central["CentralAccountId"]
    )
    for event in (command_event("Failed"), command_event("Success", DOCUMENT), window_event("TIMED_OUT")):
        assert forwarded([forward], event) == [forward.target], event
    for event in (
        command_event("InProgress"),
        command_event("Failed", "AWS-RunShellScript"),
        window_event("IN_PROGRESS"),
        window_event("FAILED", "mw-00000000000000000"),
        INVOCATION,
    ):
        assert forwarded([forward], event) == [], event
    assert forwarded([forward], command_event("Failed"), bus=CENTRAL_BUS) == [], "only on its own bus"


def test_a_central_stacks_functions_listen_on_the_central_bus_for_every_members_events() -> None:
    central = deployment("central", CentralEventBus=CENTRAL_BUS)

    rules = template_rules(central)

    assert [(r.function, r.bus) for r in rules] == [
        (COMMAND_FUNCTION, CENTRAL_BUS),
        (WINDOW_FUNCTION, CENTRAL_BUS),
    ]
    assert bus_forwards(central) == ()
    # Every document's commands and every member's windows: the members chose what to forward.
    assert route(rules, command_event("Failed", "AWS-RunShellScript"), bus=CENTRAL_BUS) == COMMAND_FUNCTION
    assert route(rules, window_event("FAILED", "mw-00000000000000000"), bus=CENTRAL_BUS) == WINDOW_FUNCTION
    assert route(rules, command_event("Failed")) is None, "nothing listens on the default bus"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"a": "x", "b": "1"}, True),
        ({"a": "x", "c": "2"}, True),
        ({"a": "x", "b": "2"}, False),
        ({"a": "y", "b": "1"}, False),
        ({"a": "x"}, False),
    ],
)
def test_or_matches_when_one_of_its_patterns_does_and_the_rest_of_the_pattern_too(
    event: dict[str, Any], expected: bool
) -> None:
    pattern = {"a": ["x"], "$or": [{"b": ["1"]}, {"c": [{"exists": True}]}]}

    check_pattern(pattern)

    assert matches(pattern, event) is expected


@pytest.mark.parametrize(
    "alternatives",
    [[{"b": ["1"]}], {"b": ["1"]}, [{"b": ["1"]}, "c"], [{"b": ["1"]}, {"c": [{"cidr": "10.0.0.0/8"}]}]],
    ids=["one-pattern", "not-a-list", "not-a-pattern", "operator-not-modelled"],
)
def test_an_or_that_eventbridge_would_refuse_or_we_do_not_model_fails_loudly(alternatives: Any) -> None:
    with pytest.raises(PatternError, match=r"\$or"):
        check_pattern({"$or": alternatives})
