"""Text from logs, tags and the API cannot ping, link or format in chat, nor add a line or a
control character to the e-mail. Pure.

The corpus is tests/fixtures/hostile/chat.json (see its README): each construct with the
substrings (or `re:` patterns) that must not survive. Each is planted in every untrusted field of
a command digest (comment, document name, reason, excerpt, next step, instance name, step,
status details, notes, log keys) and of a window report (window, task, details, notes), and
every field of the chat notification (title, description, nextSteps, keywords, metadata.summary,
additionalContext, relatedResources, threadId) is searched. In the e-mail (plain text, where
markup means nothing) what must not survive is what a mail client acts on: links, host names,
addresses, control and invisible characters. Expected survivors: 0.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from instance_hygiene.digest import CommandDigest, Failure, LogInfo, count_statuses, group_failures
from instance_hygiene.render import defang, render
from instance_hygiene.window import TaskRun, WindowReport
from instance_hygiene.window import render as render_window

ROOT = Path(__file__).resolve().parents[2]
CORPUS: list[dict[str, Any]] = json.loads((ROOT / "tests" / "fixtures" / "hostile" / "chat.json").read_text())
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2069\ufeff]"
)


def command_digest(hostile: str) -> CommandDigest:
    failure = Failure(
        instance_id="i-0abc123def4567890",
        instance_name=hostile,
        status="Failed",
        status_details=hostile,
        step=hostile,
        reason=hostile,
        excerpt=(hostile, f"ERROR: {hostile}"),
        next_step=hostile,
        exit_code=1,
        exit_meaning=hostile,
        log=LogInfo(
            source="s3", bytes_total=10, bytes_read=10, complete=True, links=(f"s3://b/{hostile}/stdout",)
        ),
    )
    return CommandDigest(
        command_id="5d2c7b1e-0f3a-4b6c-9d8e-7f6a5b4c3d2e",
        document_name=hostile,
        status="Failed",
        counts=count_statuses(["Failed"]),
        groups=group_failures([failure]),
        region="eu-west-2",
        comment=hostile,
        output_bucket="b",
        output_prefix=hostile,
        notes=(hostile,),
        report_uri="s3://b/reports/5d2c7b1e-0f3a-4b6c-9d8e-7f6a5b4c3d2e/Failed.json",  # ours: no log text
    )


def window_report(hostile: str) -> WindowReport:
    task = TaskRun(
        task_id="t-1", name=hostile, task_arn=hostile, priority=10, status="FAILED", status_details=hostile
    )
    return WindowReport(
        window_id="mw-0123456789abcdef0",
        window_name=hostile,
        window_execution_id="7e1d2c3b-4a59-4f68-8e7d-6c5b4a392817",
        status="FAILED",
        status_details=hostile,
        tasks=(task,),
        notes=(hostile,),
    )


def chat_texts(chat: str) -> list[str]:
    """Every string a chat client shows or acts on, wherever it is in the payload."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(chat))
    return out


def survives(item: str, text: str) -> bool:
    if item.startswith("re:"):
        return re.search(item[3:], text) is not None
    return item in text


def acted_on_by_mail(item: str) -> bool:
    """A link, host, address or invisible character: what a mail client would follow or hide."""
    return not item.startswith("re:") and (defang(item) != item or _INVISIBLE.search(item) is not None)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["kind"]) for c in CORPUS])
def test_given_hostile_text_in_every_field_when_rendered_then_no_construct_survives(
    case: dict[str, Any],
) -> None:
    for rendered in (render(command_digest(case["text"])), render_window(window_report(case["text"]))):
        chat = chat_texts(rendered.chat)
        survivors = [
            (item, text) for item in case["must_not_survive"] for text in chat if survives(item, text)
        ]
        survivors += [
            (item, "e-mail")
            for item in case["must_not_survive"]
            if acted_on_by_mail(item) and survives(item, rendered.text)
        ]
        assert survivors == []
        assert _INVISIBLE.search(rendered.text.replace("\n", "")) is None, (
            "no control character in the e-mail"
        )
        assert all(0x20 <= ord(c) <= 0x7E for c in rendered.subject)


def test_given_hostile_text_when_rendered_then_the_chat_description_has_only_its_own_lines() -> None:
    hostile = "disk ok\n<!channel> FAKE: all instances compliant\r\n# heading\u2028> quote"

    chat = json.loads(render(command_digest(hostile)).chat)

    lines = chat["content"]["description"].split("\n")
    assert len(lines) == 4  # counts, the group's bullet, its next step, the note
    assert not [line for line in lines if line.lstrip().startswith(("#", ">", "FAKE"))]
