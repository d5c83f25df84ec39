"""Properties (hypothesis) of the event parsers, the bounded log read and the renderers.

- Parsers: any JSON, and any mutation of a valid event, either parses or raises `InvalidEvent`
  with one printable line that names a field. Nothing else escapes.
- Log reads: any bytes, cut into a head and a tail at any size, summarise without raising and
  quote only printable text; a planted secret never survives, even cut at the head's end.
- Renderers: for any digest (arbitrary unicode, huge excerpts, 0 to 2,000 failures) `render.fit`
  gives valid JSON bodies (machine, chat, the SNS message), the machine JSON follows
  docs/digest-schema.json, the whole message with its attributes fits SNS's 262,144 bytes, the
  subject is printable ASCII under 100 characters, every failure is listed or counted as
  omitted, and the chat text has no markup it did not put there itself.

(The summariser's own property over arbitrary text is in test_summarise.py.)
"""

from __future__ import annotations

import copy
import json
import string
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from instance_hygiene.digest import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from instance_hygiene.events import InvalidEvent, parse_command_event, parse_window_event
from instance_hygiene.logs import HEAD_BYTES, TAIL_BYTES, read_bounded
from instance_hygiene.publish import message_attributes
from instance_hygiene.redact import clean, redact, sanitize
from instance_hygiene.render import SNS_LIMIT_BYTES, fit
from instance_hygiene.summarise import PatchCounts, summarise_failure

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
COMMAND_EVENT = json.loads((ROOT / "events" / "command-failed.json").read_text())
WINDOW_EVENT = json.loads((ROOT / "events" / "window-failed.json").read_text())
PREFIXES = ("not an SSM command status-change event: ", "not a maintenance-window execution event: ")

# --------------------------------------------------------------------------- parsers

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


@settings(max_examples=300, deadline=None)
@given(event=json_values)
def test_given_any_json_when_parsed_then_it_parses_or_raises_a_documented_invalid_event(event: Any) -> None:
    assert_parses_or_invalid(parse_command_event, event)
    assert_parses_or_invalid(parse_window_event, event)


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


def _mutated(base: dict[str, Any], path: tuple[Any, ...], value: Any, delete: bool) -> dict[str, Any]:
    event = copy.deepcopy(base)
    node: Any = event
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return event


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

    event = _mutated(base, path, value, delete)

    assert_parses_or_invalid(parse_command_event if which == "command" else parse_window_event, event)


# --------------------------------------------------------------------------- bounded log reads

SECRET = "Zq8vKp2Lm4Nx6Rt0Wy3Bc5Df7Gh9Jk1Ls3Pu5Qv7"  # 40 characters, random-looking


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunk=st.binary(min_size=1, max_size=300),
    repeat=st.integers(min_value=1, max_value=600),
    where=st.sampled_from(["anywhere", "across the head's end", "across the tail's start"]),
    offset=st.integers(min_value=0, max_value=80_000),
    jitter=st.integers(min_value=-70, max_value=10),
)
def test_given_any_bytes_when_read_bounded_and_summarised_then_text_is_clean_and_a_cut_secret_never_shows(
    chunk: bytes, repeat: int, where: str, offset: int, jitter: int
) -> None:
    # A secret that only a whole match recognises (40 characters on a line with an access key
    # id), planted anywhere, or so that the head's end or the tail's start cuts through it.
    planted = b"\nAKIAIOSFODNN7EXAMPLE," + SECRET.encode() + b"\n"  # a line of a credentials CSV
    if where == "anywhere":
        filler = (chunk * repeat)[:80_000]
    else:
        filler = (chunk * (70_000 // len(chunk) + 1))[:70_000]
        size = len(filler) + len(planted)
        offset = HEAD_BYTES + jitter if where == "across the head's end" else size - TAIL_BYTES + jitter
    data = filler[:offset] + planted + filler[offset:]

    read = read_bounded(lambda first, last: data[first : last + 1], len(data))
    summary = summarise_failure(
        document_name="AWS-RunShellScript",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        response_code=1,
        stdout=read.text,
        stderr=read.text,
    )

    shown = [summary.reason, *summary.excerpt]
    for text in shown:
        text.encode("utf-8")
        assert "\n" not in text
        assert not any(ord(c) < 0x20 and c != "\t" for c in text)
    for size in range(12, len(SECRET) + 1):
        # any 12 or more consecutive characters of the secret
        assert not any(
            SECRET[start : start + size] in text
            for start in range(0, len(SECRET) - size + 1)
            for text in shown
        )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                *"aZ09=:;@/\"' \t\n\r-_.",
                "\u2028",
                "\x1b[1m",
                "mysql",
                "sshpass",
                "docker login",
                " -p",
                "curl",
                " -u ",
                "--user=",
                "machine h login u password",
                "jdbc:oracle:thin:",
                "sqlplus ",
                "ghp_",
                "github_pat_",
                "xoxb-",
                "hooks.slack.com/services/",
                "eyJhbGciOiJIUzI1NiJ9.",
                "AccountKey=",
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "0123456789abcdefghij0123456789ABCDEFGHIJ",
            ]
        ),
        max_size=30,
    ).map("".join)
)
def test_given_text_built_from_the_newer_redaction_rules_when_cleaned_then_lines_kept_and_idempotent(
    text: str,
) -> None:
    once = redact(text)
    cleaned = clean(text)

    assert once.count("\n") == text.count("\n")
    assert once.count("\r") == text.count("\r")
    assert redact(once) == once
    assert cleaned.count("\n") == sanitize(text).count("\n")
    assert clean(cleaned) == cleaned


# --------------------------------------------------------------------------- renderers

any_text = st.text(max_size=40)
long_text = st.text(max_size=2_000)
counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9))
patches = st.one_of(
    st.none(),
    st.builds(
        PatchCounts,
        operation=st.one_of(st.none(), st.sampled_from(["Scan", "Install"])),
        installed=counts,
        installed_other=counts,
        installed_pending_reboot=counts,
        installed_rejected=counts,
        missing=counts,
        failed=counts,
        not_applicable=counts,
    ),
)
logs = st.builds(
    LogInfo,
    source=st.sampled_from(["s3", "local", "api", "none"]),
    bytes_total=st.one_of(st.none(), st.integers(min_value=0, max_value=2**40)),
    bytes_read=st.integers(min_value=0, max_value=2**20),
    complete=st.booleans(),
    links=st.lists(st.text(max_size=300), max_size=2).map(tuple),
)
failures = st.builds(
    Failure,
    instance_id=st.one_of(st.from_regex(r"m?i-[0-9a-f]{17}", fullmatch=True), any_text),
    status=st.one_of(st.sampled_from(["Failed", "TimedOut", "Cancelled", "Undeliverable"]), any_text),
    status_details=st.text(max_size=128),
    reason=st.one_of(st.text(max_size=200), long_text),
    log=logs,
    instance_name=st.one_of(st.none(), st.text(max_size=128)),
    platform=st.one_of(st.none(), st.sampled_from(["Linux", "Windows", "MacOS"])),
    step=st.one_of(st.none(), st.sampled_from(["PatchLinux", "PatchWindows"]), st.text(max_size=64)),
    exit_code=st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**32)),
    exit_meaning=st.one_of(st.none(), st.text(max_size=100)),
    excerpt=st.lists(st.one_of(st.text(max_size=300), long_text), max_size=12).map(tuple),
    patch=patches,
)
markup = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "@here",
        "@channel",
        "<@U0123>",
        "[click](https://evil.example)",
        "<https://evil.example|innocent>",
        "```",
        "# heading",
        "\n===",
        "\n- item",
        "*bold*",
        "_it_",
        "\u202e",
        "\x1b[31m",
        "\r\n",
        "https://evil.example",
        "&lt;!channel&gt;",
        "\ud83d\ude80",
    ]
)
hostile_text = st.lists(st.one_of(markup, st.text(max_size=10)), max_size=8).map("".join)


@st.composite
def digests(draw: st.DrawFn) -> CommandDigest:
    """Any digest: a few failure templates (any unicode, huge excerpts) repeated 0-2,000 times."""
    templates = draw(st.lists(failures, min_size=1, max_size=4))
    hostile = draw(hostile_text)
    templates[0] = replace(templates[0], reason=hostile + templates[0].reason[:100])
    total = draw(st.one_of(st.integers(min_value=0, max_value=12), st.integers(min_value=0, max_value=2_000)))
    if total > 40:  # many failures: keep each one realistic in size so the test stays fast
        templates = [replace(t, excerpt=tuple(line[:300] for line in t.excerpt[:8])) for t in templates]
    distinct = draw(st.booleans())
    chosen = [
        replace(
            templates[n % len(templates)],
            instance_id=f"i-{n:017x}",
            reason=f"{templates[n % len(templates)].reason[:150]} #{n}"
            if distinct
            else templates[n % len(templates)].reason,
        )
        for n in range(total)
    ]
    statuses = [f.status for f in chosen] + ["Success"] * draw(st.integers(min_value=0, max_value=50))
    return CommandDigest(
        command_id=str(uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1)))),
        document_name=draw(
            st.one_of(
                st.sampled_from(["AWS-RunPatchBaseline", "instance-hygiene-HealthcheckDocument-AbC12"]),
                st.text(alphabet=string.ascii_letters + string.digits + "_-.:/", min_size=3, max_size=128),
            )
        ),
        status=draw(st.one_of(st.sampled_from(["Failed", "TimedOut", "Cancelled"]), any_text)),
        counts=count_statuses(statuses),
        groups=group_failures(chosen),
        region=draw(st.one_of(st.sampled_from(["eu-west-2", "us-gov-west-1", ""]), any_text)),
        account=draw(st.one_of(st.just("123456789012"), any_text)),
        comment=draw(st.one_of(st.text(max_size=100), hostile_text)),
        window_id=draw(st.one_of(st.none(), st.from_regex(r"mw-[0-9a-f]{17}", fullmatch=True))),
        output_bucket=draw(st.one_of(st.none(), st.text(min_size=3, max_size=63))),
        output_prefix=draw(st.one_of(st.none(), st.text(max_size=100))),
        notes=tuple(draw(st.lists(st.one_of(st.text(max_size=500), hostile_text), max_size=6))),
        report_uri=draw(st.one_of(st.none(), st.text(max_size=200))),
        partial=draw(st.booleans()),
    )


def attribute_bytes(digest: CommandDigest) -> int:
    """Message attributes as notify.notify_command sets them, counted as SNS counts them."""
    attributes = message_attributes(
        {
            "kind": "command",
            "document": digest.document_name,
            "status": digest.status,
            "window_id": digest.window_id,
        }
    )
    return sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(digest=digests())
def test_given_any_digest_when_fitted_then_every_body_is_valid_within_sns_limits_and_nothing_is_lost(
    digest: CommandDigest,
) -> None:
    fitted, rendered = fit(digest)
    event(f"trimmed: {rendered.trimmed}")
    event(f"failures: {'over 100' if digest.failure_count > 100 else 'up to 100'}")
    event(f"groups left out: {fitted.dropped_failures > 0}")

    message = rendered.sns_message()
    assert len(message.encode("utf-8")) + attribute_bytes(digest) <= SNS_LIMIT_BYTES
    bodies = json.loads(message)
    assert set(bodies) >= {"default"}
    assert all(isinstance(body, str) for body in bodies.values())
    machine = json.loads(bodies["default"])
    jsonschema.validate(machine, SCHEMA)
    assert machine["counts"]["targets"] == digest.counts.targets
    listed = sum(len(group["failures"]) for group in machine["groups"])
    assert listed + machine["omitted"] == digest.failure_count, (
        "every failure is listed or counted as omitted"
    )

    subject = rendered.subject
    assert 0 < len(subject) < 100
    assert all(0x20 <= ord(c) <= 0x7E for c in subject)
    assert bodies["sms"] == subject

    chat = json.loads(bodies["https"])
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    description = chat["content"]["description"]
    own_lines = 1 + min(10, len(fitted.groups)) + (len(fitted.groups) > 10) + min(3, len(fitted.notes))
    assert len(description.split("\n")) <= own_lines, "no text from a log or the API adds a line"
    for text in (description, chat["content"]["title"]):
        assert not {"<", ">"} & set(text), "no <!channel>, <@U...>, <url|text>"
        assert not [m for m in ("@here", "@channel", "://", "\x1b", "\u202e") if m in text], (
            "nor mentions, links"
        )
    assert bodies["email"].endswith("\n")
