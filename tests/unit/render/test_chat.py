"""render.chat: custom notifications for Slack and Teams (Amazon Q Developer in chat applications).

The model first: the documented schema and limits reject what the service would drop (sources in
the docstring of render/chat.py). Then untrusted text (`chat_text`): plain words stay plain,
anything a client could format or link goes in a code span, nothing is backslash-escaped, no
mention survives, no invisible character is added. Then whole payloads: every payload from any
digest, hostile or huge, validates and fits; our own links are real links; one thread a night.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from instance_hygiene.digest.model import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from instance_hygiene.digest.window import TaskRun, WindowDigest
from instance_hygiene.render import command as command_render
from instance_hygiene.render import window as window_render
from instance_hygiene.render.chat import (
    DESCRIPTION_MAX,
    KEYWORD_MAX,
    NEXT_STEP_MAX,
    TITLE_MAX,
    CustomNotification,
    chat_text,
    command_chat,
    next_step_text,
    window_chat,
)
from instance_hygiene.render.command import render
from instance_hygiene.render.window import render as render_window
from tests.support.chat import every_string
from tests.support.digests import COMMAND_ID, digest_with, yum_lock

WINDOW_EXECUTION_ID = "7e1d2c3b-4a59-4f68-8e7d-6c5b4a392817"
INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2028\u2029"
    "\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
MENTIONS = ("<!", "<@", "<#", "@here", "@channel", "@everyone", "<at>", "&lt;", "&#")
CODE_SPAN = re.compile(r"`[^`]*`")


def outside_code(text: str) -> str:
    """What a client formats: the text with every code span taken out."""
    return CODE_SPAN.sub(" ", text)


def assert_chat_safe(payload: str) -> None:
    """Valid, within the limits; no string in it can mention anyone or hide anything, and no
    markdown field holds a backslash escape or an unbalanced code span."""
    notification = CustomNotification.model_validate_json(payload)
    content = notification.content
    assert len(content.description) <= DESCRIPTION_MAX
    assert content.title is None or len(content.title) <= TITLE_MAX
    assert all(len(step) <= NEXT_STEP_MAX for step in content.nextSteps or [])
    assert all(len(keyword) <= KEYWORD_MAX for keyword in content.keywords or [])
    for text in every_string(payload):
        assert INVISIBLE.search(text.replace("\n", "")) is None, repr(text)
        assert [m for m in MENTIONS if m in text] == [], repr(text)
    summary = notification.metadata.summary if notification.metadata else None
    shown = [content.title or "", content.description, *(content.nextSteps or []), summary or ""]
    for text in [*shown, *(content.keywords or [])]:
        assert "\\" not in outside_code(text), f"no backslash escape: {text!r}"
        assert text.count("`") % 2 == 0, f"code spans balanced: {text!r}"


# --------------------------------------------------------------------------- the model


def stock() -> dict[str, Any]:
    """The smallest notification the page documents: version, source and a description."""
    return {"version": "1.0", "source": "custom", "content": {"description": "disk full"}}


def with_content(**fields: Any) -> dict[str, Any]:
    payload = stock()
    payload["content"] = {**payload["content"], **fields}
    return payload


def test_the_smallest_documented_notification_validates() -> None:
    notification = CustomNotification.model_validate(stock())

    assert json.loads(notification.dumps()) == {
        "version": "1.0",
        "source": "custom",
        "content": {"textType": "client-markdown", "description": "disk full"},
    }


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({**stock(), "version": "2.0"}, id="version-must-be-1.0"),
        pytest.param({**stock(), "version": 1.0}, id="version-is-a-string"),
        pytest.param({**stock(), "source": "aws.ssm"}, id="source-must-be-custom"),
        pytest.param({"version": "1.0", "source": "custom"}, id="content-required"),
        pytest.param({**stock(), "content": {"title": "t"}}, id="description-required"),
        pytest.param(with_content(description=""), id="description-not-empty"),
        pytest.param(with_content(description="d" * (DESCRIPTION_MAX + 1)), id="description-8000"),
        pytest.param(with_content(title="t" * (TITLE_MAX + 1)), id="title-250"),
        pytest.param(with_content(textType="markdown"), id="only-client-markdown"),
        pytest.param(with_content(nextSteps=["s" * (NEXT_STEP_MAX + 1)]), id="next-step-350"),
        pytest.param(with_content(keywords=["k" * (KEYWORD_MAX + 1)]), id="keyword-75"),
        pytest.param(with_content(keywords="Failed"), id="keywords-a-list"),
        pytest.param(with_content(colour="red"), id="no-unknown-content-field"),
        pytest.param({**stock(), "metadata": {"additionalContext": {"failed": 3}}}, id="context-strings"),
        pytest.param({**stock(), "metadata": {"threadId": ""}}, id="thread-id-not-empty"),
        pytest.param({**stock(), "metadata": {"relatedResources": "cmd"}}, id="resources-a-list"),
    ],
)
def test_given_a_payload_outside_the_documented_schema_when_validated_then_it_is_refused(
    payload: dict[str, Any],
) -> None:
    # The page: "version" Must be 1.0, "source" Must be custom, "textType" only client-markdown;
    # the limits are the ones render/chat.py's docstring names.
    with pytest.raises(ValidationError):
        CustomNotification.model_validate(payload)


def test_the_limits_themselves_are_allowed() -> None:
    payload = with_content(
        title="t" * TITLE_MAX,
        description="d" * DESCRIPTION_MAX,
        nextSteps=["s" * NEXT_STEP_MAX],
        keywords=["k" * KEYWORD_MAX],
    )

    assert CustomNotification.model_validate(payload).content.title == "t" * TITLE_MAX


# --------------------------------------------------------------------------- untrusted text


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        # Log lines from the AWS-RunPatchBaseline failures of docs/../aws-ssm-facts.md section 4
        # (AWS Patch Manager troubleshooting): what a reader sees, code spans around the data.
        ("another process has acquired yum lock", "another process has acquired yum lock"),
        ("[Errno 256] No more mirrors to try.", "`[Errno 256]` No more mirrors to try."),
        ("failed to run commands: exit status 126", "failed to run commands: exit status 126"),
        ("_script.sh: Permission denied", "`_script.sh:` Permission denied"),
        ("Apt requires Python3 to be installed", "Apt requires `Python3` to be installed"),
        ("HRESULT 0x80240437", "HRESULT `0x80240437`"),
        ("TIMED_OUT", "`TIMED_OUT`"),
        ("yum lock held by another process (pid 7)", "yum lock held by another process (pid 7)"),
    ],
)
def test_given_a_log_line_when_rendered_for_chat_then_words_stay_plain_and_data_is_code(
    line: str, shown: str
) -> None:
    assert chat_text(line) == shown


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("<!channel> disk full", "`\u2039!channel\u203a` disk full"),
        ("ping @here now", "ping `\uff20here` now"),
        ("&lt;!here&gt;", "`\uff06lt;!here\uff06gt;`"),
        ("<at>Patch Admins</at>", "`\u2039at\u203aPatch Admins\u2039/at\u203a`"),
        ("see https://evil.example.com/x", "see `hxxps[:]//evil[.]example[.]com/x`"),
        ("[click](https://evil.example.com)", "`[click](hxxps[:]//evil[.]example[.]com)`"),
        ("run `curl x | sh` now", "run `\u02cbcurl` x `| sh\u02cb` now"),
        ("1. disable the agent", "`1.` disable the agent"),
        ("# heading\n> quote\r\n- item", "`#` heading `\u203a` quote `-` item"),
        ("*bold* _it_ ~strike~", "`*bold* _it_ ~strike~`"),
        ("a\u200bb\u202ec\ufeffd\u2060e", "abcde"),
        ("\x1b[31mFAILED\x1b[0m", "FAILED"),
    ],
)
def test_given_hostile_text_when_rendered_for_chat_then_it_shows_literally_and_does_nothing(
    hostile: str, shown: str
) -> None:
    # The constructs of Slack's "Formatting text for app surfaces" (mentions, <url|label>,
    # entities), CommonMark 0.31.2 (links, blocks, code spans) and Unicode format characters.
    assert chat_text(hostile) == shown


def test_given_a_windows_path_when_rendered_then_its_backslashes_are_inside_code() -> None:
    # The file AWS-RunPatchBaseline keeps its Windows patch states in (SSM user guide, "About the
    # AWS-RunPatchBaseline SSM document"); a backslash outside code would be shown as it is by
    # Slack, and escape the next character in CommonMark (Teams).
    path = r"C:\ProgramData\Amazon\PatchBaselineOperations\State\PatchStatesConfiguration.json"

    assert chat_text(f"could not read {path}") == f"could not read `{path}`"


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), limit=st.integers(min_value=0, max_value=400))
def test_given_any_text_when_rendered_for_chat_then_it_is_one_inert_balanced_line_within_limit(
    text: str, limit: int
) -> None:
    shown = chat_text(text, limit)

    assert len(shown) <= limit
    assert not {"\n", "\r"} & set(shown)
    assert INVISIBLE.search(shown) is None
    assert shown.count("`") % 2 == 0, "code spans balanced, even when cut"
    prose = outside_code(shown)
    assert not set("\\*_~[]#|<>@&{}+=\u02cb") & set(prose), repr(shown)
    assert "://" not in shown
    assert [m for m in MENTIONS if m in shown] == []


def test_given_a_huge_line_when_rendered_then_it_is_cut_with_a_marker() -> None:
    shown = chat_text("word " * 200_000 + "/var/log/" * 1000, 300)

    assert len(shown) <= 300
    assert shown.endswith("\u2026") or shown.endswith("\u2026`")


# --------------------------------------------------------------------------- whole payloads


def test_a_command_notification_says_counts_groups_next_steps_and_links() -> None:
    failures = [yum_lock(n, 40 + n) for n in range(3)]
    failures = [replace(f, next_step="wait for the other yum process, then retry") for f in failures]
    digest = replace(
        digest_with(failures, notes=("logs of 1 instance could not be read",)),
        report_uri=f"s3://hygiene-logs-123/reports/{COMMAND_ID}/Failed.json",
    )

    chat = json.loads(command_chat(digest))

    assert (chat["version"], chat["source"], chat["content"]["textType"]) == (
        "1.0",
        "custom",
        "client-markdown",
    )
    assert chat["content"]["description"].split("\n") == [
        "`eu-west-2`: 3 of 3 instances did not succeed (failed 3, timed out 0, cancelled 0).",
        "• *3×* yum lock held by another process (pid 40) (step PatchLinux, exit 1)",
        "    next step: wait for the other yum process, then retry",
        "_logs of 1 instance could not be read_",
    ]
    assert chat["content"]["nextSteps"] == [
        "wait for the other yum process, then retry",
        f"Open the command: {command_render.console_link(digest)}",
        "Full report: https://s3.console.aws.amazon.com/s3/object/hygiene-logs-123?region=eu-west-2"
        f"&prefix=reports/{COMMAND_ID}/Failed.json",
    ]
    assert chat["metadata"]["eventType"] == "CommandFailed"
    assert chat["metadata"]["additionalContext"] == {
        "failed": "3",
        "timed_out": "0",
        "cancelled": "0",
        "targets": "3",
    }
    assert "[:]" not in command_chat(digest), "our own links are never defanged"
    assert_chat_safe(command_chat(digest))


def test_given_a_report_uri_that_is_not_an_s3_uri_then_it_is_shown_as_data_not_linked() -> None:
    digest = replace(digest_with([yum_lock(1, 7)]), report_uri="https://evil.example.com/<!here>")

    (report,) = [s for s in json.loads(command_chat(digest))["content"]["nextSteps"] if "report" in s]

    assert report == "Full report: `hxxps[:]//evil[.]example[.]com/\u2039!here\u203a`"


def test_commands_of_one_window_execution_share_its_thread_and_a_command_by_hand_has_its_own() -> None:
    night = replace(digest_with([yum_lock(1, 7)]), window_execution_id=WINDOW_EXECUTION_ID)
    other_command = replace(night, command_id=str(uuid.UUID(int=5)))
    by_hand = digest_with([yum_lock(1, 7)])
    window = WindowDigest(
        window_id="mw-0123456789abcdef0",
        window_name="PatchWithHealthcheck",
        window_execution_id=WINDOW_EXECUTION_ID,
        status="FAILED",
        status_details="",
        tasks=(),
    )

    threads = [
        json.loads(body)["metadata"]["threadId"]
        for body in (
            command_chat(night),
            command_chat(other_command),
            window_chat(window),
            command_chat(by_hand),
        )
    ]

    assert threads == [WINDOW_EXECUTION_ID, WINDOW_EXECUTION_ID, WINDOW_EXECUTION_ID, COMMAND_ID]


def test_render_uses_the_chat_rendering_for_commands_and_windows() -> None:
    digest = digest_with([yum_lock(1, 7)])
    report = WindowDigest(
        window_id="mw-0123456789abcdef0",
        window_name="w",
        window_execution_id=WINDOW_EXECUTION_ID,
        status="SUCCESS",
        status_details="",
        tasks=(
            TaskRun(task_id="t", name="Patch", task_arn="AWS-RunPatchBaseline", priority=1, status="SUCCESS"),
        ),
        region="eu-west-2",
    )

    assert render(digest).chat == command_chat(digest)
    assert render_window(report).chat == window_chat(report)
    assert json.loads(window_chat(report))["content"]["nextSteps"] == [
        f"Open the window execution: {window_render.console_link(report)}"
    ]
    assert window_render.console_link(report).startswith("https://eu-west-2.console.aws.amazon.com/")


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
    """Outside code spans nothing formats; anywhere, nothing mentions, links or breaks a line."""
    assert not {"<", ">", "\n", "\r", "\x1b", "\u202e"} & set(text), repr(text)
    assert [m for m in ("@here", "@channel", "@everyone", "://") if m in text] == [], repr(text)
    # A bracket in a code span opens no link: code spans bind more tightly than link brackets
    # (CommonMark 0.31.2, 6.3 "Links"); Slack has no [label](url) links at all.
    assert not set("*_~[]#|\\") & set(outside_code(text)), repr(text)


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
        next_step=payload,
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

    body = command_chat(digest)
    chat = json.loads(body)
    lines = chat["content"]["description"].split("\n")

    assert len(lines) == 1 + 2 + 2, "the counts line, one bullet and its next step, two notes"
    assert lines[1].startswith("• *1×* ")
    assert lines[2].startswith("    next step: ")
    assert all(line.startswith("_") and line.endswith("_") for line in lines[3:])
    for line in lines[1:]:
        assert_inert(line.removeprefix("• *1×* ").removeprefix("    next step: ").strip("_"))
    assert_inert(chat["content"]["title"].removeprefix(":rotating_light: "))
    for step in chat["content"]["nextSteps"][:-1]:
        assert_inert(step)
    assert_chat_safe(body)


@pytest.mark.parametrize("payload", MARKUP)
def test_given_markup_in_a_window_report_when_rendered_for_chat_then_it_adds_no_markup(payload: str) -> None:
    report = WindowDigest(
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

    body = window_chat(report)
    chat = json.loads(body)

    where, line = chat["content"]["description"].split("\n")
    # The first line says where and when: the window's name in it is as inert as anywhere
    assert where.startswith("`eu-west-2`, window ")
    assert where.endswith(": execution FAILED")
    assert_inert(where.removeprefix("`eu-west-2`, window ").removesuffix(": execution FAILED"))
    name, details = line.removeprefix("• P10 *").split("*: FAILED — ")
    assert_inert(name)
    assert_inert(details)
    assert_inert(chat["content"]["title"])
    assert_chat_safe(body)


def test_given_hostile_line_breaks_when_rendered_then_the_description_has_only_its_own_lines() -> None:
    hostile = "disk ok\n<!channel> FAKE: all instances compliant\r\n# heading\u2028> quote"
    digest = replace(digest_with([replace(yum_lock(1, 7), reason=hostile)]), notes=(hostile,))

    lines = json.loads(command_chat(digest))["content"]["description"].split("\n")

    assert len(lines) == 3  # counts, the group's bullet, the note
    assert not [line for line in lines if line.lstrip().startswith(("#", ">", "FAKE", "<"))]


def test_given_huge_input_in_every_field_when_rendered_then_the_payload_is_cut_to_fit_and_valid() -> None:
    # 100 kinds of failure with 90 kB reasons, 50 long notes, a 10 kB comment and document name,
    # and a report in S3 whose console link is longer than a next step may be.
    huge = "ERROR: [Errno 256] No more mirrors to try. " * 2_000
    failures = [
        replace(
            yum_lock(n, n),
            reason=f"{huge} kind {chr(97 + n % 26)}{chr(97 + n // 26)}",
            next_step=huge,
            step=huge,
        )
        for n in range(100)
    ]
    digest = replace(
        digest_with(failures, notes=tuple(huge for _ in range(50))),
        document_name="D" * 10_000,
        comment="c " * 5_000,
        report_uri="s3://hygiene-logs/" + "k" * 1_000,
    )

    body = command_chat(digest)

    assert_chat_safe(body)
    chat = json.loads(body)
    description = chat["content"]["description"]
    assert description.endswith("… more in the full report (cut to fit the chat message)")
    assert description.startswith("`eu-west-2`: 100 of 100 instances did not succeed")
    assert chat["content"]["nextSteps"][-1].startswith("Open the command: https://"), (
        "a link too long to fit is left out, never cut"
    )


def test_given_many_tasks_in_a_window_when_rendered_then_it_is_cut_to_fit_and_valid() -> None:
    tasks = tuple(
        TaskRun(
            task_id=f"t{n}",
            name="x" * 300,
            task_arn="a",
            priority=n,
            status="FAILED",
            status_details="d" * 900,
        )
        for n in range(200)
    )
    report = WindowDigest(
        window_id="mw-0123456789abcdef0",
        window_name="w" * 5_000,
        window_execution_id=WINDOW_EXECUTION_ID,
        status="FAILED",
        status_details="",
        tasks=tasks,
    )

    body = window_chat(report)

    assert_chat_safe(body)
    assert json.loads(body)["content"]["description"].endswith("… more tasks in the window history")


# --------------------------------------------------------------------------- any digest

hostile_text = st.lists(
    st.one_of(
        st.sampled_from([tuple_item.values[0] for tuple_item in MARKUP]),
        st.text(max_size=20),
        st.just("x" * 3_000),
    ),
    max_size=5,
).map("".join)
failures = st.builds(
    Failure,
    instance_id=st.from_regex(r"i-[0-9a-f]{17}", fullmatch=True),
    status=st.sampled_from(["Failed", "TimedOut", "Cancelled", "Undeliverable"]),
    status_details=hostile_text,
    reason=hostile_text,
    log=st.just(LogInfo(source="s3")),
    instance_name=st.one_of(st.none(), hostile_text),
    step=st.one_of(st.none(), hostile_text),
    exit_code=st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**32)),
    next_step=st.one_of(st.none(), hostile_text),
)


@st.composite
def digests(draw: st.DrawFn) -> CommandDigest:
    """Any digest: up to 30 kinds of failure of hostile text, hostile metadata, maybe a window."""
    chosen = draw(st.lists(failures, max_size=30))
    return CommandDigest(
        command_id=str(uuid.UUID(int=draw(st.integers(min_value=0, max_value=2**128 - 1)))),
        document_name=draw(hostile_text),
        status=draw(st.one_of(st.sampled_from(["Failed", "TimedOut", "Cancelled"]), hostile_text)),
        counts=count_statuses([f.status for f in chosen]),
        groups=group_failures(chosen),
        region=draw(st.one_of(st.just("eu-west-2"), hostile_text)),
        comment=draw(hostile_text),
        window_execution_id=draw(st.one_of(st.none(), st.just(WINDOW_EXECUTION_ID))),
        notes=tuple(draw(st.lists(hostile_text, max_size=5))),
        report_uri=draw(
            st.one_of(st.none(), hostile_text, st.just(f"s3://b/reports/{COMMAND_ID}/Failed.json"))
        ),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digest=digests())
def test_given_any_digest_when_rendered_for_chat_then_the_payload_validates_fits_and_is_inert(
    digest: CommandDigest,
) -> None:
    body = command_chat(digest)

    assert_chat_safe(body)
    chat = json.loads(body)
    assert chat["metadata"]["threadId"] == (digest.window_execution_id or digest.command_id)
    description = chat["content"]["description"]
    own_lines = 1 + 2 * min(10, len(digest.groups)) + (len(digest.groups) > 10) + min(3, len(digest.notes))
    assert len(description.split("\n")) <= own_lines + 1, "no text from a log adds a line"
    for line in description.split("\n"):
        assert not line.lstrip().startswith(("#", ">", "-", "=", "<", "|")), repr(line)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        # The catalogue's next steps (explain/catalogue), their commands kept as one code span each
        (
            "run `sudo dpkg --configure -a` on the instance, then patch again",
            "run `sudo dpkg --configure -a` on the instance, then patch again",
        ),
        (
            "then `dnf clean metadata` (or `yum clean metadata`) and patch again",
            "then `dnf clean metadata` (or `yum clean metadata`) and patch again",
        ),
        ("free space (`df -h`; package caches)", "free space (`df -h`; package caches)"),
        # Unpaired backticks: the whole step is untrusted text
        ("x `<!channel>` y @here `a", "x `ˋ‹!channel›ˋ` y `＠here ˋa`"),
    ],
)
def test_a_next_step_keeps_its_own_code_spans(step: str, expected: str) -> None:
    assert next_step_text(step, 350) == expected


def test_a_mention_inside_a_next_steps_code_span_is_still_a_look_alike() -> None:
    rendered = next_step_text("run `<!channel> @here &lt;` now", 350)

    assert rendered == "run `‹!channel› ＠here ＆lt;` now"


def test_a_window_report_names_its_account_alias_region_and_night_first() -> None:
    report = WindowDigest(
        window_id="mw-0c1d2e3f4a5b6c7d8",
        window_name="PatchWithHealthcheck",
        window_execution_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        status="FAILED",
        status_details="One or more tasks in the orchestration failed.",
        tasks=(),
        region="eu-west-2",
        account="123456789012",
        account_alias="example-fleet-prod",
        local_date="2026-12-03",
    )

    first_chat_line = json.loads(window_chat(report))["content"]["description"].split("\n")[0]
    first_email_line = render_window(report).text.splitlines()[0]

    assert first_chat_line == (
        "account `123456789012` (`example-fleet-prod`), `eu-west-2`, window PatchWithHealthcheck, "
        "`2026-12-03`: execution FAILED"
    )
    assert first_email_line.startswith(
        "account 123456789012 (example-fleet-prod), eu-west-2: Maintenance window"
    )
