"""instance_hygiene.events: a malformed event ends in a documented `InvalidEvent`, a good one parses.

Bad events are the rows of `tests.support.events.BAD_EVENTS` (a sample event of events/ with one
mutation each), plus the cases no JSON file could hold (1 MB and 10 MB strings, NaN, bytes,
objects that are not JSON), built here; then any JSON value, and any sample event with one field
changed (Hypothesis), through the parsers the handlers call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.events import InvalidEvent, parse_command_event, parse_window_event
from tests.support import events
from tests.support.events import BAD_EVENTS, BadEvent, bad_event, load_event, mutate

PARSERS: dict[str, Callable[[Any], Any]] = {"command": parse_command_event, "window": parse_window_event}
PREFIXES = ("not an SSM command status-change event: ", "not a maintenance-window execution event: ")


def assert_documented_error(error: InvalidEvent, field: str) -> None:
    """One printable ASCII line, short, that names the field first: `<prefix><field>: <why>`."""
    text = str(error)
    assert all(0x20 <= ord(c) <= 0x7E for c in text), repr(text)
    assert len(text) <= 400
    prefix = next((p for p in PREFIXES if text.startswith(p)), None)
    assert prefix is not None, text
    assert text[len(prefix) :].startswith(f"{field}: "), text


COMMAND_EVENT = load_event("command-failed.json")
WINDOW_EVENT = load_event("window-failed.json")
MB = 1024 * 1024


def _command(**changes: Any) -> dict[str, Any]:
    event = load_event("command-failed.json")
    for key, value in changes.items():
        if key.startswith("detail."):
            event["detail"][key.removeprefix("detail.")] = value
        else:
            event[key] = value
    return event


def _self_referencing() -> dict[str, Any]:
    event = _command()
    event["detail"] = event  # a cycle: pydantic must not loop
    return event


def _deeply_nested() -> dict[str, Any]:
    nested: Any = "leaf"
    for _ in range(5_000):
        nested = [nested]
    return _command(ignored=nested)


BUILT_EVENTS = [
    pytest.param(
        lambda: _command(**{"detail.document-name": "d" * MB}), "detail.document-name", id="document-name-1MB"
    ),
    pytest.param(
        lambda: _command(**{"detail.parameters": {"Commands": ["x" * (10 * MB)]}}),
        "parses",
        id="parameters-10MB",
    ),
    pytest.param(
        lambda: _command(**{"detail.parameters": {"k" * MB: "x"}}),
        "detail.parameters.",
        id="parameter-key-1MB",
    ),
    pytest.param(
        lambda: _command(**{"detail.command-id": "a" * MB}), "detail.command-id", id="command-id-1MB"
    ),
    pytest.param(lambda: _command(**{"detail.status": math.nan}), "detail.status", id="status-NaN"),
    pytest.param(lambda: _command(time=math.inf), "time", id="time-infinity"),
    pytest.param(lambda: _command(time=object()), "time", id="time-not-JSON-object"),
    pytest.param(lambda: _command(resources={1, 2}), "resources", id="resources-a-set"),
    pytest.param(lambda: _command(**{"detail.status": b"Failed"}), "detail.status", id="status-bytes"),
    pytest.param(
        lambda: _command(**{"detail.command-id": COMMAND_EVENT["detail"]["command-id"].encode()}),
        "parses",
        id="command-id-bytes-read-as-text",
    ),
    pytest.param(lambda: 42, "event", id="event-a-number"),
    pytest.param(lambda: {1: 2, (3,): 4}, "version", id="event-with-non-string-keys"),
    pytest.param(_self_referencing, "detail.command-id", id="event-referencing-itself"),
    pytest.param(_deeply_nested, "parses", id="extra-field-nested-5000-deep"),
    pytest.param(lambda: _command(resources=["arn"] * 100_000), "parses", id="100000-resources"),
]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def assert_parses_or_invalid(parse: Any, event: Any) -> None:
    try:
        parse(event)
    except InvalidEvent as error:
        text = str(error)
        assert all(0x20 <= ord(c) <= 0x7E for c in text), repr(text)
        assert len(text) <= 400
        prefix = next((p for p in PREFIXES if text.startswith(p)), None)
        assert prefix is not None
        field, _, why = text[len(prefix) :].partition(": ")
        assert field
        assert why


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


COMMAND_PATHS = _paths(COMMAND_EVENT)
WINDOW_PATHS = _paths(WINDOW_EVENT)


# --------------------------------------------------------------------------- events: the table


def test_the_bad_event_table_has_at_least_forty_cases() -> None:
    assert len(BAD_EVENTS) >= 40


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in BAD_EVENTS])
def test_given_a_bad_event_when_parsed_then_it_parses_or_names_the_field(case: BadEvent) -> None:
    parse = PARSERS[case.parser]

    if case.expect == "parses":
        parsed = parse(case.event())
        assert parsed.source == "aws.ssm", case.why
        return
    with pytest.raises(InvalidEvent) as raised:
        parse(case.event())
    assert_documented_error(raised.value, case.expect)


def test_given_an_upper_case_command_id_when_parsed_then_it_is_read_in_lower_case() -> None:
    event = bad_event("command-id-upper-case").event()

    parsed = parse_command_event(event)

    assert parsed.detail.command_id == COMMAND_EVENT["detail"]["command-id"]


def test_given_null_parameters_when_parsed_then_there_are_none() -> None:
    event = bad_event("parameters-null").event()

    assert parse_command_event(event).detail.parameters == {}


# --------------------------------------------------------------------------- events: built here


@pytest.mark.parametrize(("build", "expect"), BUILT_EVENTS)
def test_given_an_event_that_cannot_be_a_file_when_parsed_then_it_parses_or_names_the_field(
    build: Callable[[], Any], expect: str
) -> None:
    event = build()

    if expect == "parses":
        assert parse_command_event(event).detail.status == "Failed"
        return
    with pytest.raises(InvalidEvent) as raised:
        parse_command_event(event)
    text = str(raised.value)
    assert all(0x20 <= ord(c) <= 0x7E for c in text)
    assert len(text) <= 400, "a 1 MB field name or value is never echoed whole"
    assert text.split(": ", 1)[1].startswith(expect), text


# --------------------------------------------------------------------------- any JSON, any one change


@settings(max_examples=300, deadline=None)
@given(event=json_values)
def test_given_any_json_when_parsed_then_it_parses_or_raises_a_documented_invalid_event(event: Any) -> None:
    assert_parses_or_invalid(parse_command_event, event)
    assert_parses_or_invalid(parse_window_event, event)


@settings(max_examples=300, deadline=None)
@given(
    which=st.sampled_from(["command", "window"]),
    index=st.integers(min_value=0),
    value=json_values,
    delete=st.booleans(),
)
def test_given_a_valid_event_with_one_field_changed_when_parsed_then_it_parses_or_names_a_field(
    which: str, index: int, value: Any, delete: bool
) -> None:
    base, paths = (COMMAND_EVENT, COMMAND_PATHS) if which == "command" else (WINDOW_EVENT, WINDOW_PATHS)
    path = paths[index % len(paths)]

    event = mutate(base, events.delete(path) if delete else events.set_at(path, value))

    assert_parses_or_invalid(parse_command_event if which == "command" else parse_window_event, event)
