"""The sample events in events/ (the files `sam local invoke -e` takes), and bad events made from them.

`load_event(name)` reads one sample event, a fresh copy each time. A bad event is one row of
`BAD_EVENTS`: a sample event, the mutations that break it (`set_at`, `delete`, `transform`,
`replace_event`, applied in order to a copy), the parser it is sent to and what must happen:
`parses` (what the handler then does is in `why`) or the field path the `InvalidEvent` message
names first (`detail.command-id`, `region`, `event` for the event as a whole). Cases no JSON file
could hold (1 MB strings, NaN, bytes, objects that are not JSON) are built in
tests/unit/test_events.py itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

EVENTS = Path(__file__).resolve().parents[2] / "events"

Mutation = Callable[[Any], Any]
"""Takes an event (a copy, free to change) and returns the event to send."""

KeyPath = str | tuple[str | int, ...]
"""Dotted keys (`detail.command-id`), or the keys and list indices one by one."""


def load_event(name: str) -> dict[str, Any]:
    """The sample event events/<name> (e.g. `command-failed.json`), parsed afresh."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def _parent(event: Any, path: KeyPath) -> tuple[Any, str | int]:
    *parents, key = path.split(".") if isinstance(path, str) else path
    for part in parents:
        event = event[part]
    return event, key


def set_at(path: KeyPath, value: Any) -> Mutation:
    """Set the dotted key path (`detail.command-id`) to `value`, adding the key if it is missing."""

    def mutation(event: Any) -> Any:
        parent, key = _parent(event, path)
        parent[key] = copy.deepcopy(value)
        return event

    return mutation


def delete(path: KeyPath) -> Mutation:
    """Remove the key at the dotted path."""

    def mutation(event: Any) -> Any:
        parent, key = _parent(event, path)
        del parent[key]
        return event

    return mutation


def transform(path: KeyPath, change: Callable[[Any], Any]) -> Mutation:
    """Replace the value at the dotted path by `change(value)`; the path `""` is the whole event."""

    def mutation(event: Any) -> Any:
        if not path:
            return change(event)
        parent, key = _parent(event, path)
        parent[key] = change(parent[key])
        return event

    return mutation


def replace_event(value: Any) -> Mutation:
    """Send `value` instead of the event."""
    return transform("", lambda _: copy.deepcopy(value))


def mutate(event: Any, *mutations: Mutation) -> Any:
    """A copy of `event` with each mutation applied in order."""
    event = copy.deepcopy(event)
    for mutation in mutations:
        event = mutation(event)
    return event


@dataclass(frozen=True)
class BadEvent:
    """One sample event, broken one way, and what the parser must make of it."""

    name: str
    base: str
    """A file in events/."""
    mutations: tuple[Mutation, ...]
    expect: str
    """`parses`, or the field path the `InvalidEvent` message names first."""
    why: str
    to: Literal["command", "window", ""] = ""
    """The parser it is sent to; `""` is the one for the base event's kind."""

    @property
    def parser(self) -> Literal["command", "window"]:
        if self.to:
            return self.to
        return "window" if self.base.startswith("window-") else "command"

    def event(self) -> Any:
        """The bad event itself, built afresh."""
        return mutate(load_event(self.base), *self.mutations)


COMMAND = "command-failed.json"
WINDOW = "window-failed.json"
COMMAND_ID = "7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70"


def _command(name: str, expect: str, why: str, *mutations: Mutation) -> BadEvent:
    return BadEvent(name, COMMAND, mutations, expect, why)


def _window(name: str, expect: str, why: str, *mutations: Mutation) -> BadEvent:
    return BadEvent(name, WINDOW, mutations, expect, why)


BAD_EVENTS: tuple[BadEvent, ...] = (
    # ---------------------------------------------------------------- the event as a whole
    _command(
        "empty-object",
        "version",
        "{}: every envelope field missing, the first is named with a count of the rest",
        replace_event({}),
    ),
    _command(
        "event-is-array", "event", "the whole event is an array of events", transform("", lambda e: [e])
    ),
    _command("event-is-null", "event", "the event is JSON null", replace_event(None)),
    _command(
        "event-is-string",
        "event",
        "the event is a JSON string",
        replace_event("EC2 Command Status-change Notification"),
    ),
    _command(
        "extra-fields",
        "parses",
        "unknown envelope and detail fields (the UNVERIFIED output-s3* fields, a replay name) are ignored",
        set_at("detail.output-s3bucketname", "some-bucket"),
        set_at("detail.output-s3keyprefix", "ssm_output/"),
        set_at("detail.instance-id", "i-0123456789abcdef0"),
        set_at("unexpected", {"nested": [1, 2, {"deep": None}]}),
        set_at("replay-name", "replay-2026-03-30"),
    ),
    # ---------------------------------------------------------------- envelope
    _command("missing-account", "account", "envelope without account", delete("account")),
    _command(
        "account-number", "account", "account is a JSON number, not a string", set_at("account", 123456789012)
    ),
    _command(
        "account-not-twelve-digits", "account", "an account that is not 12 digits", set_at("account", "12345")
    ),
    _command(
        "account-other",
        "parses",
        "another account's event parses; outside the central role it is rejected (AccountRejected, "
        "retried, DLQ)",
        set_at("account", "210987654321"),
    ),
    _command("missing-detail-type", "detail-type", "envelope without detail-type", delete("detail-type")),
    _command(
        "detail-type-invocation",
        "detail-type",
        "the per-instance invocation event is not what the rule sends",
        set_at("detail-type", "EC2 Command Invocation Status-change Notification"),
    ),
    _command(
        "detail-type-unknown",
        "detail-type",
        "a detail-type nobody sends",
        set_at("detail-type", "Something Else Happened"),
    ),
    BadEvent(
        "detail-type-window-to-command-parser",
        WINDOW,
        (),
        "detail-type",
        "a window execution event sent to the command function",
        to="command",
    ),
    _command("missing-region", "region", "envelope without region", delete("region")),
    _command(
        "region-gov-cloud", "parses", "a GovCloud region name parses", set_at("region", "us-gov-west-1")
    ),
    _command(
        "region-other",
        "parses",
        "another region's event parses; the command is read in the event's region",
        set_at("region", "us-east-1"),
    ),
    _command("region-upper-case", "region", "a region in upper case", set_at("region", "EU-WEST-2")),
    _command(
        "region-url-injection",
        "region",
        "a region that would change the console link's host",
        set_at("region", "evil.example/#"),
    ),
    _command(
        "resources-not-array",
        "resources",
        "resources is a string",
        set_at("resources", "arn:aws:ec2:eu-west-2:123456789012:instance/i-0a1b2c3d4e5f60001"),
    ),
    _command("resources-null", "resources", "resources is null", set_at("resources", None)),
    _command("missing-source", "source", "envelope without source", delete("source")),
    _command("source-other-service", "source", "an EC2 event", set_at("source", "aws.ec2")),
    _command(
        "source-spoofed",
        "source",
        "a custom event imitating SSM (put-events cannot use aws.* sources)",
        set_at("source", "custom.ssm"),
    ),
    _command("missing-time", "time", "envelope without time", delete("time")),
    _command("time-garbage", "time", "time is not a timestamp", set_at("time", "yesterday at noon")),
    # ---------------------------------------------------------------- detail
    _command("missing-detail", "detail", "no detail at all", delete("detail")),
    _command("null-detail", "detail", "detail is null", set_at("detail", None)),
    _command(
        "detail-is-array", "detail", "detail is an array, not an object", transform("detail", lambda d: [d])
    ),
    _command(
        "detail-is-json-string",
        "detail",
        "detail is the JSON text of the object, not the object",
        transform("detail", json.dumps),
    ),
    _command(
        "missing-command-id", "detail.command-id", "detail without command-id", delete("detail.command-id")
    ),
    _command("command-id-empty", "detail.command-id", "an empty command id", set_at("detail.command-id", "")),
    _command(
        "command-id-number", "detail.command-id", "command-id is a number", set_at("detail.command-id", 7)
    ),
    _command(
        "command-id-fullwidth-digits",
        "detail.command-id",
        "a command id with full-width (non-ASCII) digits",
        set_at("detail.command-id", "\uff17" + COMMAND_ID[1:]),
    ),
    _command(
        "command-id-nul",
        "detail.command-id",
        "a command id with a NUL byte",
        set_at("detail.command-id", COMMAND_ID[:-1] + "\x00"),
    ),
    _command(
        "command-id-path-traversal",
        "detail.command-id",
        "a command id that would climb out of the S3 prefix",
        set_at("detail.command-id", "../../reports/" + COMMAND_ID[:23]),
    ),
    _command(
        "command-id-s3-wildcard",
        "detail.command-id",
        "a command id with a prefix wildcard",
        set_at("detail.command-id", "*"),
    ),
    _command(
        "command-id-trailing-newline",
        "detail.command-id",
        "a command id with a trailing line break",
        set_at("detail.command-id", COMMAND_ID + "\n"),
    ),
    _command(
        "command-id-upper-case",
        "parses",
        "an upper-case command id parses and is read in lower case (one key per command)",
        set_at("detail.command-id", COMMAND_ID.upper()),
    ),
    _command(
        "missing-document-name",
        "detail.document-name",
        "detail without document-name",
        delete("detail.document-name"),
    ),
    _command(
        "document-name-control-characters",
        "detail.document-name",
        "a document name with an escape sequence",
        set_at("detail.document-name", "AWS-RunPatchBaseline\x1b[2J"),
    ),
    _command(
        "document-name-markup",
        "detail.document-name",
        "a document name with chat markup and spaces",
        set_at("detail.document-name", "<!channel> *urgent* [x](http://evil.example)"),
    ),
    _command(
        "document-name-shared-arn",
        "parses",
        "a shared document named by its ARN parses",
        set_at("detail.document-name", "arn:aws:ssm:eu-west-2:210987654321:document/SharedPatch"),
    ),
    _command(
        "document-name-too-short",
        "detail.document-name",
        "a document name of two characters",
        set_at("detail.document-name", "ab"),
    ),
    _command(
        "parameters-null",
        "parses",
        "parameters: null (a command without parameters) is read as {}",
        set_at("detail.parameters", None),
    ),
    _command(
        "parameters-is-array",
        "detail.parameters",
        "parameters is an array",
        set_at("detail.parameters", [["Operation", "Install"]]),
    ),
    _command(
        "parameters-value-not-list",
        "detail.parameters.Operation",
        "a parameter's value is a string, not a list of strings",
        set_at("detail.parameters", {"Operation": "Install"}),
    ),
    _command(
        "parameters-value-object",
        "detail.parameters.Operation",
        "a parameter's value is an object",
        set_at("detail.parameters", {"Operation": {"value": "Install"}}),
    ),
    _command(
        "parameter-key-with-line-breaks",
        "detail.parameters.Op?eration?[31m",
        "a parameter name with line breaks and an escape sequence: the message stays one printable line",
        set_at("detail.parameters", {"Op\neration\x1b[31m": "x"}),
    ),
    _command(
        "requested-date-time-garbage",
        "detail.requested-date-time",
        "requested-date-time is not a timestamp",
        set_at("detail.requested-date-time", "soon"),
    ),
    _command("missing-status", "detail.status", "detail without status", delete("detail.status")),
    _command("status-boolean", "detail.status", "status is true", set_at("detail.status", True)),
    _command("status-number", "detail.status", "status is a number", set_at("detail.status", 1)),
    _command(
        "status-line-break",
        "detail.status",
        "a status is free text only in shape: one that could break a subject or a key (a line break) "
        "is refused",
        set_at("detail.status", "Failed\nSubject: injected"),
    ),
    _command(
        "status-in-progress",
        "parses",
        "a non-terminal status parses; the handler acknowledges it without a message",
        set_at("detail.status", "InProgress"),
    ),
    _command(
        "status-success",
        "parses",
        "a terminal non-failure status parses; the handler acknowledges it without a message",
        set_at("detail.status", "Success"),
    ),
    _command(
        "status-lower-case",
        "parses",
        "a status spelt in lower case is not one the product knows: it parses and is decided on the "
        "API's status",
        set_at("detail.status", "failed"),
    ),
    _command(
        "status-window-style",
        "parses",
        "a window-style status in a command event is not one the product knows: it parses and is "
        "decided on the API's status",
        set_at("detail.status", "FAILED"),
    ),
    _command(
        "status-unknown",
        "parses",
        "a status the product does not know parses; the handler reads the command back from the API "
        "and tells or acknowledges on what it says",
        set_at("detail.status", "Exploded"),
    ),
    # ---------------------------------------------------------------- window execution events
    _window("window-valid", "parses", "the sample window event parses"),
    BadEvent(
        "command-event-to-window-parser",
        COMMAND,
        (),
        "detail-type",
        "a command event sent to the window function",
        to="window",
    ),
    _window(
        "window-task-detail-type",
        "detail-type",
        "a window task execution event (not what the rule sends)",
        set_at("detail-type", "Maintenance Window Task Execution State-change Notification"),
    ),
    _window("window-null-detail", "detail", "window event with detail null", set_at("detail", None)),
    _window(
        "window-missing-window-id",
        "detail.window-id",
        "window event without window-id",
        delete("detail.window-id"),
    ),
    _window(
        "window-id-short",
        "detail.window-id",
        "a window id that is not mw- and 17 hex digits",
        set_at("detail.window-id", "mw-123"),
    ),
    _window(
        "window-execution-id-not-uuid",
        "detail.window-execution-id",
        "a window execution id that is not a UUID",
        set_at("detail.window-execution-id", "exec-1"),
    ),
    _window(
        "window-status-command-style",
        "parses",
        "a command-style status in a window event is not one the product knows: it parses and is "
        "decided on the API's status",
        set_at("detail.status", "Failed"),
    ),
    _window(
        "window-status-unknown",
        "parses",
        "a window status the product does not know parses; the handler reads the execution back from "
        "the API and tells or acknowledges on what it says",
        set_at("detail.status", "EXPLODED"),
    ),
)


def bad_event(name: str) -> BadEvent:
    """The row of `BAD_EVENTS` called `name`."""
    (case,) = [case for case in BAD_EVENTS if case.name == name]
    return case
