"""Bad input: a malformed event ends in a documented `InvalidEvent`, a hostile log in a correct digest.

Events: every file in tests/fixtures/bad_events/ (see its README) plus the cases that cannot be
files (1 MB and 10 MB strings, NaN, bytes, objects that are not JSON), through the parsers the
handlers call. Logs: `HOSTILE_LOGS` (also played through the real handler on moto by
tests/integration/test_hostile_logs.py) read as bytes the way S3 serves them
(`logs.read_bounded`), then summarised and rendered.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from instance_hygiene.digest import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from instance_hygiene.events import InvalidEvent, parse_command_event, parse_window_event
from instance_hygiene.logs import HEAD_BYTES, TAIL_BYTES, StreamRead, read_bounded
from instance_hygiene.render import fit, message_bytes, render
from instance_hygiene.summarise import (
    EXCERPT_LINE_MAX_CHARS,
    REASON_MAX_CHARS,
    FailureSummary,
    summarise_failure,
)

ROOT = Path(__file__).resolve().parents[2]
BAD_EVENTS = ROOT / "tests" / "fixtures" / "bad_events"
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
COMMAND_EVENT = json.loads((ROOT / "events" / "command-failed.json").read_text())
WINDOW_EVENT = json.loads((ROOT / "events" / "window-failed.json").read_text())
MB = 1024 * 1024
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


# --------------------------------------------------------------------------- events: files


def _bad_event_files() -> list[Any]:
    cases = []
    for path in sorted(BAD_EVENTS.glob("*.json")):
        case = json.loads(path.read_text())
        cases.append(pytest.param(case, id=path.stem))
    return cases


def test_the_bad_event_corpus_has_at_least_forty_cases() -> None:
    assert len(_bad_event_files()) >= 40


@pytest.mark.parametrize("case", _bad_event_files())
def test_given_a_bad_event_file_when_parsed_then_it_parses_or_names_the_field(case: dict[str, Any]) -> None:
    parse = PARSERS[case["parser"]]

    if case["expect"] == "parses":
        parsed = parse(case["event"])
        assert parsed.source == "aws.ssm"
        return
    with pytest.raises(InvalidEvent) as raised:
        parse(case["event"])
    assert_documented_error(raised.value, case["expect"])


def test_given_an_upper_case_command_id_when_parsed_then_it_is_read_in_lower_case() -> None:
    event = json.loads((BAD_EVENTS / "command-id-upper-case.json").read_text())["event"]

    parsed = parse_command_event(event)

    assert parsed.detail.command_id == COMMAND_EVENT["detail"]["command-id"]


def test_given_null_parameters_when_parsed_then_there_are_none() -> None:
    event = json.loads((BAD_EVENTS / "parameters-null.json").read_text())["event"]

    assert parse_command_event(event).detail.parameters == {}


# --------------------------------------------------------------------------- events: built here


def _command(**changes: Any) -> dict[str, Any]:
    event = json.loads(json.dumps(COMMAND_EVENT))
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


# --------------------------------------------------------------------------- hostile logs


@dataclass(frozen=True)
class HostileLog:
    """A log as the agent could upload it (raw bytes), and what its digest must say."""

    name: str
    build: Callable[[], bytes]
    reason: str
    """A part of the expected reason."""
    excerpt: str | None = None
    """A part of some excerpt line, when one is expected."""
    stream: str = "stdout"


def _ten_mb_single_line_error_last() -> bytes:
    return b"x" * (10 * MB) + b" ERROR: no space left on device\n"


def _ten_mb_single_line_error_first() -> bytes:
    return b"ERROR: repository metadata: Could not resolve host: repo.example " + b"y" * (10 * MB)


def _ten_mb_of_lines() -> bytes:
    line = b"06/11/2024 02:00:00 root [INFO]: still downloading\r\n"
    return line * (10 * MB // len(line)) + b"06/11/2024 03:00:00 root [ERROR]: Read-only file system\r\n"


def _split_character_at_head_end() -> bytes:
    # A four-byte character across byte HEAD_BYTES, then enough to need a tail read.
    return (
        b"a" * (HEAD_BYTES - 2)
        + "\U0001f680 rocket\n".encode()
        + b"filler line\n" * 8_000
        + (b"ERROR: disk quota exceeded\n")
    )


HOSTILE_LOGS = [
    HostileLog(
        "invalid-utf8",
        lambda: (
            b"Reading package lists...\n\xff\xfe\xc3(bad \x80\x81 bytes\n"
            b"E: Sub-process /usr/bin/dpkg returned an error code (1)\n"
        ),
        reason="/usr/bin/dpkg returned error code 1",
        excerpt="\ufffd",
    ),
    HostileLog(
        "nul-bytes",
        lambda: b"\x00\x00E: dpkg was interrupted\x00, you must manually run 'dpkg --configure -a'\n",
        reason="dpkg was interrupted",
        excerpt="E: dpkg was interrupted, you must manually run",
        stream="stderr",
    ),
    HostileLog(
        "ansi-escapes",
        lambda: (
            b"\x1b[1;31mERROR:\x1b[0m write /var/cache/yum: \x1b[33mno space left on device\x1b[0m\n"
            b"\x1b]0;root@web-01\x07\x1b[2K\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\n"
        ),
        reason="no space left on device",
        excerpt="ERROR: write /var/cache/yum: no space left on device",
    ),
    HostileLog(
        "crlf",
        lambda: (
            b"Loaded plugins: priorities\r\nSetting up Install Process\r\n"
            b"Error: Cannot find a valid baseurl for repo: amzn2-core/2/x86_64\r\n"
        ),
        reason="no valid baseurl for repository amzn2-core/2/x86_64",
        excerpt="Error: Cannot find a valid baseurl for repo: amzn2-core/2/x86_64",
    ),
    HostileLog(
        "carriage-return-progress",
        lambda: (
            b"Downloading 10%\rDownloading 55%\rDownloading 100%\n"
            b"fatal: unable to access 'https://git.example/': Could not resolve host: git.example\n"
        ),
        reason="DNS resolution failed",
        excerpt="Downloading 100%",
        stream="stderr",
    ),
    HostileLog(
        "utf16le-whole-log",
        lambda: "\ufeffERROR: Windows Update: Access is denied.\r\n".encode("utf-16-le"),
        reason="access denied",
        excerpt="ERROR: Windows Update: Access is denied.",
    ),
    HostileLog(
        "utf16-chunk-in-utf8",
        lambda: (
            b"Starting patch run\n"
            + "Installer-Fehler: 0x80240437\r\n".encode("utf-16-le")
            + b"\nERROR: Windows Update search failed with HRESULT 0x80240437\n"
        ),
        reason="0x80240437",
        excerpt="Installer-Fehler: 0x80240437",
    ),
    HostileLog(
        "latin1",
        lambda: "Fehler beim Öffnen der Datei /opt/café/paket.rpm\nERROR: rpmdb open failed\n".encode(
            "latin-1"
        ),
        reason="the rpm database is damaged",
        excerpt="Fehler beim \ufffdffnen",
    ),
    HostileLog(
        "10MB-single-line-error-at-the-end",
        _ten_mb_single_line_error_last,
        reason="no space left on device",
        excerpt="ERROR: no space left on device",
    ),
    HostileLog(
        "10MB-single-line-error-at-the-start",
        _ten_mb_single_line_error_first,
        reason="DNS resolution failed",
        excerpt="ERROR: repository metadata: Could not resolve host: repo.example",
        stream="stderr",
    ),
    HostileLog(
        "10MB-of-crlf-lines-error-at-the-end",
        _ten_mb_of_lines,
        reason="read-only file system",
        excerpt="Read-only file system",
    ),
    HostileLog(
        "character-split-at-the-head-end",
        _split_character_at_head_end,
        reason="ERROR: disk quota exceeded",
        excerpt="ERROR: disk quota exceeded",
    ),
    HostileLog(
        "bidi-override-and-zero-width",
        "ERROR: permission denied on /etc/\u202egnp.exe\u202c and zero\u200bwidth\n".encode,
        reason="ERROR: permission denied on /etc/gnp.exe and zerowidth",
    ),
    HostileLog(
        "binary-garbage",
        lambda: bytes(range(256)) * 400,
        reason="",
    ),
    HostileLog(
        "only-escape-sequences",
        lambda: b"\x1b[2J\x1b[H\x1b[?25l\x1b[0m\r\n\x07\x07",
        reason="failed with exit code 1, no output available",
    ),
    HostileLog(
        # The agent's marker is never the reason; the word it cut ("words") is dropped.
        "truncation-marker-as-last-line",
        lambda: b"line one\nfinal words\n---Output truncated---",
        reason="final",
        excerpt="final",
    ),
]


def summarise_bytes(data: bytes, *, stream: str = "stdout") -> tuple[StreamRead, FailureSummary]:
    """What the handler does with one stored stream: a bounded ranged read, then the summary."""
    read = read_bounded(lambda first, last: data[first : last + 1], len(data))
    summary = summarise_failure(
        document_name="AWS-RunShellScript",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        response_code=1,
        stdout=read.text if stream == "stdout" else None,
        stderr=read.text if stream == "stderr" else None,
    )
    return read, summary


def assert_printable_line(text: str) -> None:
    assert not {"\n", "\r", "\u202e", "\u200b"} & set(text), repr(text)
    assert not [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c != "\t"], repr(text)
    text.encode("utf-8")


def test_the_hostile_logs_are_at_least_fifteen() -> None:
    assert len(HOSTILE_LOGS) >= 15


@pytest.mark.parametrize("log", HOSTILE_LOGS, ids=[log.name for log in HOSTILE_LOGS])
def test_given_a_hostile_log_when_read_and_summarised_then_the_summary_is_correct_and_clean(
    log: HostileLog,
) -> None:
    data = log.build()

    read, summary = summarise_bytes(data, stream=log.stream)

    assert read.bytes_total == len(data)
    assert read.bytes_read <= HEAD_BYTES + TAIL_BYTES
    assert log.reason.lower() in summary.reason.lower()
    assert 0 < len(summary.reason) <= REASON_MAX_CHARS
    assert_printable_line(summary.reason)
    for line in summary.excerpt:
        assert_printable_line(line)
        assert len(line) <= EXCERPT_LINE_MAX_CHARS
    if log.excerpt is not None:
        assert any(log.excerpt in line for line in summary.excerpt), summary.excerpt


@pytest.mark.parametrize("log", HOSTILE_LOGS, ids=[log.name for log in HOSTILE_LOGS])
def test_given_a_hostile_log_when_rendered_then_every_rendering_is_valid_and_keeps_the_counts(
    log: HostileLog,
) -> None:
    _, summary = summarise_bytes(log.build(), stream=log.stream)
    failure = Failure(
        instance_id="i-0123456789abcdef0",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        exit_code=summary.exit_code,
        reason=summary.reason,
        excerpt=summary.excerpt,
        log=LogInfo(source="s3", bytes_total=1, bytes_read=1, complete=False),
    )
    digest = CommandDigest(
        command_id=COMMAND_EVENT["detail"]["command-id"],
        document_name="AWS-RunShellScript",
        status="Failed",
        counts=count_statuses(["Failed", "Success"]),
        groups=group_failures([failure]),
        region="eu-west-2",
    )

    _, rendered = fit(digest)

    jsonschema.validate(json.loads(rendered.machine), SCHEMA)
    assert json.loads(rendered.chat)["source"] == "custom"
    assert "failed 1, timed out 0, cancelled 0, other 0, succeeded 1" in rendered.text
    assert message_bytes(rendered) < 262_144


# --------------------------------------------------------------------------- odd digests


def test_given_lone_surrogates_in_any_field_when_rendered_then_every_body_encodes_to_utf8() -> None:
    # botocore parses JSON, so a `\udXXX` escape in an API string (a 2,500-character Output cut
    # inside a surrogate pair by a UTF-16 service) arrives as a lone surrogate.
    failure = Failure(
        instance_id="i-0\udc80",
        status="Failed",
        status_details="Failed\ud83d",
        step="Patch\udfff",
        reason="cut \ud83d",
        excerpt=("line \udc80",),
        log=LogInfo(source="api", links=("s3://b/\udc80",)),
    )
    digest = CommandDigest(
        command_id=COMMAND_EVENT["detail"]["command-id"],
        document_name="Doc\udc80",
        status="Failed",
        counts=count_statuses(["Failed"]),
        groups=group_failures([failure]),
        comment="comment \ud800",
        notes=("note \udbff",),
    )

    rendered = render(digest)

    for body in (rendered.subject, rendered.text, rendered.chat, rendered.machine, rendered.sns_message()):
        body.encode("utf-8")
    jsonschema.validate(json.loads(rendered.machine), SCHEMA)


def test_given_no_failures_when_rendered_then_the_message_still_has_counts() -> None:
    digest = CommandDigest(
        command_id=COMMAND_EVENT["detail"]["command-id"],
        document_name="AWS-RunPatchBaseline",
        status="Cancelled",
        counts=count_statuses([]),
        groups=(),
    )

    _, rendered = fit(digest)

    assert "0 of 0 instances did not succeed" in rendered.text
    assert json.loads(rendered.machine)["counts"]["targets"] == 0
