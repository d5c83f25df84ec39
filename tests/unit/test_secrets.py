"""Secrets never reach a rendering, and text from logs cannot add markup to the chat message. Pure.

The corpus is tests/fixtures/secrets/cases.json (see its README): each class of secret as a
script would print it. Each case goes through `redact.clean`, then through the summariser as
stdout and as stderr, then into every rendering (subject, e-mail text, chat JSON, digest JSON,
the SNS message). tests/integration/test_hostile_logs.py plays the same corpus through the real
handler on moto, the full report in S3 included.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from instance_hygiene import redact as redact_module
from instance_hygiene.detectors import DETECTORS, FAMILIES
from instance_hygiene.digest import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from instance_hygiene.logs import HEAD_BYTES, TAIL_BYTES, read_bounded
from instance_hygiene.redact import clean, sanitize
from instance_hygiene.render import escape_markdown, render
from instance_hygiene.summarise import StreamText, summarise_failure
from instance_hygiene.window import TaskRun, WindowReport
from instance_hygiene.window import render as render_window

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ROOT / "tests" / "fixtures" / "secrets"
CASES: list[dict[str, Any]] = json.loads((SECRETS / "cases.json").read_text())
COMMAND_ID = "7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70"


# Secrets that `sanitize` drops with the escape sequence carrying them (a terminal title): gone,
# and no marker is left to show where.
DROPPED_WITH_THEIR_ESCAPE = frozenset({"osc-title-wrapped-token"})


def case_params() -> list[Any]:
    return [pytest.param(case, id=case["class"]) for case in CASES]


def as_log(case: dict[str, Any]) -> str:
    """The case as a failing script's output: the secret on an error line or just before one."""
    text = case["text"]
    if "\n" in text:
        return f"starting\n{text}\nERROR: the step above failed\n"
    return f"starting\nERROR: {text}\nfailed to run commands: exit status 1\n"


def leaks(case: dict[str, Any], *bodies: str) -> list[str]:
    return [secret for secret in case["secrets"] for body in bodies if secret in body]


def digest_with(failures: list[Failure], *, notes: tuple[str, ...] = ()) -> CommandDigest:
    return CommandDigest(
        command_id=COMMAND_ID,
        document_name="AWS-RunShellScript",
        status="Failed",
        counts=count_statuses([f.status for f in failures]),
        groups=group_failures(failures),
        region="eu-west-2",
        notes=notes,
    )


def failure_from(stdout: StreamText | None, stderr: StreamText | None) -> Failure:
    summary = summarise_failure(
        document_name="AWS-RunShellScript",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        response_code=1,
        stdout=stdout,
        stderr=stderr,
    )
    return Failure(
        instance_id="i-0123456789abcdef0",
        status="Failed",
        status_details="Failed",
        step="aws:runShellScript",
        exit_code=summary.exit_code,
        reason=summary.reason,
        excerpt=summary.excerpt,
        log=LogInfo(source="s3", bytes_total=1, bytes_read=1, complete=True),
        patch=summary.patch,
    )


def every_body(digest: CommandDigest) -> list[str]:
    rendered = render(digest)
    return [rendered.subject, rendered.text, rendered.chat, rendered.machine, rendered.sns_message()]


# --------------------------------------------------------------------------- the corpus


def test_the_corpus_covers_every_class_the_issue_names() -> None:
    classes = {case["class"] for case in CASES}
    for needed in (
        "aws-access-key-id",
        "aws-temporary-access-key-id",
        "aws-secret-key-env",
        "aws-session-token-env",
        "password-key-value",
        "password-key-colon",
        "password-json",
        "password-yaml",
        "password-env-export",
        "bearer-header",
        "basic-header",
        "private-key-rsa",
        "private-key-ec",
        "private-key-openssh",
        "private-key-encrypted-pkcs8",
        "private-key-encrypted-legacy",
        "url-credentials-postgres",
        "jdbc-query",
        "ado-password",
        "github-token",
        "slack-bot-token",
    ):
        assert needed in classes
    assert all(case["secrets"] for case in CASES)


@pytest.mark.parametrize("case", case_params())
def test_given_a_secret_when_cleaned_then_it_is_gone_and_lines_are_kept(case: dict[str, Any]) -> None:
    cleaned = clean(case["text"])

    assert leaks(case, cleaned) == []
    # A CR (a progress bar's redraw) is a line break of its own once sanitized.
    assert cleaned.count("\n") == sanitize(case["text"]).count("\n")
    assert "[REDACTED" in cleaned or case["class"] in DROPPED_WITH_THEIR_ESCAPE


@pytest.mark.parametrize("case", case_params())
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_given_a_secret_in_a_log_when_summarised_and_rendered_then_no_rendering_shows_it(
    case: dict[str, Any], stream: str
) -> None:
    log = StreamText(head=as_log(case))
    failure = failure_from(log if stream == "stdout" else None, log if stream == "stderr" else None)

    bodies = every_body(digest_with([failure]))

    assert leaks(case, failure.reason, *failure.excerpt) == []
    assert leaks(case, *bodies) == []
    assert "[REDACTED" in " ".join((failure.reason, *failure.excerpt)) or (
        case["class"] in DROPPED_WITH_THEIR_ESCAPE
    ), "the redacted line is what is shown"


@pytest.mark.parametrize("case", case_params())
def test_given_a_secret_in_a_status_detail_or_instance_name_when_cleaned_like_report_does_then_it_is_gone(
    case: dict[str, Any],
) -> None:
    # report._failure cleans instance names and status details (tags and API text) the same way.
    failure = Failure(
        instance_id="i-0123456789abcdef0",
        instance_name=clean(case["text"])[:128],
        status="Failed",
        status_details=clean(case["text"])[:128],
        reason="failed",
        log=LogInfo(source="none"),
    )

    assert leaks(case, *every_body(digest_with([failure]))) == []


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("mkdir -p /var/lib/app", id="mkdir-p"),
        pytest.param("ssh -p 2222 admin@host", id="ssh-port"),
        pytest.param("mysql -P 3306 -h db -u app", id="mysql-port-upper-case"),
        pytest.param("docker run -u 1000:1000 image", id="docker-run-uid-gid"),
        pytest.param("sort -u names.txt", id="sort-unique"),
        pytest.param('FATAL: password authentication failed for user "app"', id="postgres-auth-error"),
        pytest.param("sqlplus / as sysdba", id="sqlplus-os-auth"),
        pytest.param("jdbc:oracle:thin:@//db:1521/service", id="jdbc-oracle-without-credentials"),
        pytest.param("AccountName=storage01;EndpointSuffix=core.windows.net", id="azure-account-name"),
        pytest.param("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 by AKIA-less bot", id="git-sha"),
        pytest.param("the machine rebooted; login prompt shown", id="machine-login-prose"),
        pytest.param("curl -sSf https://repo.example/x -o /tmp/x", id="curl-without-user"),
    ],
)
def test_given_ordinary_text_near_the_newer_rules_when_cleaned_then_it_is_unchanged(text: str) -> None:
    assert clean(text) == text


# --------------------------------------------------------------------------- cut by a bounded read

# Made-up values with no substring in common with anything else a rendering holds.
SECRET_KEY = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbQrSwXvYzKj"
GITHUB_TOKEN = "ghp_Kq7Wm2Rx9Tz4Lp6Vn8Bc3Hd5Jf1Gs0Ya8UeQ"


def _around(position: int, secret_line: bytes, total: int) -> bytes:
    """`total` bytes of ordinary log lines with `secret_line` starting at byte `position`."""
    line = b"06/11/2024 02:00:00 root [INFO]: working\n"
    before = (line * (position // len(line) + 1))[:position]
    after = (line * ((total - position) // len(line) + 1))[: total - position - len(secret_line)]
    return before + secret_line + after + b"ERROR: the run failed\n"


@pytest.mark.parametrize(
    ("name", "position", "single_line"),
    [
        ("in the head", 100, False),
        ("across the head's end", HEAD_BYTES - 30, False),
        ("in the tail", 200_000 - 500, False),
        ("across the tail's start", 200_000 - TAIL_BYTES - 25, False),
        ("across the head's end of one huge line", HEAD_BYTES - 30, True),
        ("across the tail's start of one huge line", 200_000 - TAIL_BYTES - 25, True),
    ],
)
@pytest.mark.parametrize(
    ("secret", "secret_line"),
    [
        (SECRET_KEY, f"AKIAIOSFODNN7EXAMPLE,{SECRET_KEY}".encode()),
        (GITHUB_TOKEN, f"using token {GITHUB_TOKEN} for git".encode()),
    ],
)
def test_given_a_secret_that_only_a_whole_match_recognises_when_a_bounded_read_cuts_it_then_no_part_shows(
    name: str, position: int, single_line: bool, secret: str, secret_line: bytes
) -> None:
    data = _around(position, b" " + secret_line + (b" " if single_line else b"\n"), 200_000)
    if single_line:
        data = data.replace(b"\n", b" ")
    read = read_bounded(lambda first, last: data[first : last + 1], len(data))
    assert not read.text.complete

    failure = failure_from(read.text, None)
    bodies = [failure.reason, *failure.excerpt, *every_body(digest_with([failure]))]

    fragments = {secret[start : start + 10] for start in range(len(secret) - 9)}
    assert [f for f in fragments for body in bodies if f in body] == [], name


def test_given_the_head_ends_inside_a_secret_when_read_then_the_head_text_still_holds_the_fragment() -> None:
    """Why the summariser drops the word a byte range cut: without it the fragment would show."""
    data = _around(HEAD_BYTES - 30, b" " + f"AKIAIOSFODNN7EXAMPLE,{SECRET_KEY}".encode() + b"\n", 200_000)

    read = read_bounded(lambda first, last: data[first : last + 1], len(data))

    assert SECRET_KEY[:8] in clean(read.text.head), "redaction alone cannot know a fragment"
    assert SECRET_KEY[:8] not in " ".join(failure_from(read.text, None).excerpt)


def test_given_a_secret_in_the_api_output_cut_by_the_agent_when_summarised_then_no_part_shows() -> None:
    # CommandPlugins[].Output: the agent cuts at 2,500 characters and appends its marker.
    output = "x\n" * 1_230 + f"ERROR: AKIAIOSFODNN7EXAMPLE,{SECRET_KEY[:25]}\n---Output truncated---"

    failure = failure_from(StreamText(head=output, tail="", complete=False), None)

    assert SECRET_KEY[:12] not in " ".join([failure.reason, *failure.excerpt])


def test_given_a_secret_as_the_patch_operation_when_summarised_then_it_is_redacted() -> None:
    log = (
        "06/11/2024 root [INFO]: Summary: {'OperationType': 'password=Op-Secret-1234', 'InstalledCount': 1}\n"
    )

    failure = failure_from(StreamText(head=log), None)

    assert failure.patch is not None
    assert "Op-Secret-1234" not in (failure.patch.operation or "")
    assert all("Op-Secret-1234" not in body for body in every_body(digest_with([failure])))


# --------------------------------------------------------------------------- chat markup

MARKUP = [
    pytest.param("<!channel> the build is broken", id="channel-mention"),
    pytest.param("<!here|here> and <!everyone>", id="here-everyone-mention"),
    pytest.param("@here @channel @everyone look", id="at-mentions"),
    pytest.param("<@U0123ABCD> please", id="user-mention"),
    pytest.param("<#C0123ABCD|ops>", id="channel-link"),
    pytest.param("<!subteam^S0123|@oncall>", id="group-mention"),
    pytest.param("<at>Alex</at> (Teams)", id="teams-mention"),
    pytest.param("[reset your password](https://evil.example/login)", id="markdown-link"),
    pytest.param("<https://evil.example|https://console.aws.amazon.com>", id="slack-link"),
    pytest.param("see https://evil.example/x for details", id="bare-url"),
    pytest.param("![pixel](https://evil.example/p.png)", id="image"),
    pytest.param("```\nrm -rf /\n```", id="code-fence"),
    pytest.param("# BIG HEADING", id="heading"),
    pytest.param("text\n===\n", id="setext-heading"),
    pytest.param("line\n> quoted\n- item\n1. item", id="blocks-after-a-line-break"),
    pytest.param("*bold* _italic_ ~strike~ `code`", id="emphasis"),
    pytest.param("a | table | row", id="table"),
    pytest.param("&lt;!channel&gt;", id="html-entities"),
    pytest.param("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", id="terminal-hyperlink"),
    pytest.param("right-to-left \u202eknil\u202c override", id="bidi-override"),
]


def assert_inert(text: str) -> None:
    """No mention, no link, no line break, no terminal or bidi control."""
    assert not {"<", ">", "\n", "\r", "\x1b", "\u202e"} & set(text), repr(text)
    assert [m for m in ("@here", "@channel", "@everyone", "://", "](") if m in text] == [], repr(text)


@pytest.mark.parametrize("payload", MARKUP)
def test_given_markup_when_escaped_then_it_is_one_inert_line(payload: str) -> None:
    assert_inert(escape_markdown(payload))


@pytest.mark.parametrize("payload", MARKUP)
def test_given_markup_in_every_text_field_when_rendered_for_chat_then_it_adds_no_markup(payload: str) -> None:
    failure = Failure(
        instance_id="i-0123456789abcdef0",
        instance_name=payload,
        status="Failed",
        status_details=payload,
        step=payload,
        exit_code=1,
        reason=payload,
        excerpt=(payload,),
        log=LogInfo(source="s3", links=(payload,)),
    )
    digest = CommandDigest(
        command_id=COMMAND_ID,
        document_name="AWS-RunShellScript",
        status="Failed",
        counts=count_statuses(["Failed"]),
        groups=group_failures([failure]),
        region="eu-west-2",
        comment=payload,
        notes=(payload, payload),
    )

    chat = json.loads(render(digest).chat)
    description = chat["content"]["description"]
    lines = description.split("\n")

    assert len(lines) == 1 + 1 + 2, "the counts line, one bullet, two notes: nothing added a line"
    assert lines[1].startswith("• *1×* ")
    assert lines[2].startswith("_")
    assert lines[2].endswith("_")
    for line in lines:
        assert_inert(line)
    assert_inert(chat["content"]["title"].removeprefix(":rotating_light: "))


@pytest.mark.parametrize("payload", MARKUP)
def test_given_markup_in_a_window_report_when_rendered_for_chat_then_it_adds_no_markup(payload: str) -> None:
    report = WindowReport(
        window_id="mw-0c1d2e3f4a5b6c7d8",
        window_name=payload,
        window_execution_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        status="FAILED",
        status_details=payload,
        tasks=(
            TaskRun(
                task_id="t",
                name=payload,
                task_arn="AWS-RunPatchBaseline",
                priority=10,
                status="FAILED",
                status_details=payload,
            ),
        ),
        region="eu-west-2",
    )

    chat = json.loads(render_window(report).chat)

    (line,) = chat["content"]["description"].split("\n")
    assert_inert(line.replace(" — ", " "))
    assert_inert(chat["content"]["title"])


def test_given_an_escaped_text_when_read_then_it_still_says_what_the_log_said() -> None:
    escaped = escape_markdown("E: Could not get lock /var/lib/dpkg/lock_frontend (held by pid 42) [x]")

    assert escaped == "E: Could not get lock /var/lib/dpkg/lock\\_frontend \\(held by pid 42\\) \\[x\\]"


def test_given_a_region_that_is_not_a_region_when_linked_then_the_console_host_cannot_change() -> None:
    digest = digest_with([], notes=())
    hostile = CommandDigest(**{**digest.__dict__, "region": "evil.example/#"})

    rendered = render(hostile)

    assert "evil.example" not in rendered.text
    assert "evil.example" not in rendered.chat
    assert "https://us-east-1.console.aws.amazon.com/" in rendered.text


# --------------------------------------------------------------------------- detectors and the benign corpus

BENIGN: list[dict[str, Any]] = json.loads((SECRETS / "benign.json").read_text())


def test_there_are_at_least_sixty_kinds_of_detector_in_the_families_the_issue_names() -> None:
    kinds = {detector.kind for detector in DETECTORS} | {
        "private-key",
        "aws-secret-key",
        "base64",
        "high-entropy",
    }

    assert len(kinds) >= 60
    assert {detector.family for detector in DETECTORS} == set(FAMILIES) - {"private-key"}


@pytest.mark.parametrize("kind", sorted({d.kind for d in DETECTORS}))
def test_every_kind_of_detector_hides_a_secret_of_the_corpus_on_its_own(kind: str) -> None:
    """A detector no public example exercises is untested: each kind, applied alone to the case's
    sanitized text, hides at least one secret of at least one case."""
    alone = [d for d in DETECTORS if d.kind == kind]

    def hidden_by_it(case: dict[str, Any]) -> bool:
        text = unicodedata.normalize("NFKC", sanitize(case["text"]))
        after = text
        for detector in alone:
            after = redact_module.apply_detector(detector, after)
        return any(secret in text and secret not in after for secret in case["secrets"])

    assert [case["class"] for case in CASES if hidden_by_it(case)]


def test_given_the_benign_corpus_when_cleaned_then_no_line_is_changed_but_by_sanitize() -> None:
    """The false-positive rate on 895 public lines (package names, versions, checksums, ids,
    S3 keys, words such as token and password in prose): 0."""
    changed = [line["text"] for line in BENIGN if clean(line["text"]) != sanitize(line["text"])]

    assert len(BENIGN) >= 800
    assert changed == []
