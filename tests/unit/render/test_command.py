"""render.command: a command digest as e-mail text, chat JSON, digest JSON and one SNS message.

The renderings of a digest, then hostile text (tests/fixtures/hostile/chat.json) in every field:
nothing pings, links or formats, and no line or control character is added. The hostile-text
cases render a window digest too, and one corpus checks both (the chat rendering itself:
test_chat.py). Odd digests (lone surrogates, no
failures) still render. Property (Hypothesis): for any digest (arbitrary unicode, huge excerpts,
0 to 2,000 failures) `fit` gives valid JSON bodies, the machine JSON follows
docs/digest-schema.json, the whole message with its attributes fits SNS's 262,144 bytes, the
subject is printable ASCII under 100 characters and every failure is listed or counted as
omitted.
"""

from __future__ import annotations

import json
import re
import string
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from instance_hygiene.aws.publish import message_attributes
from instance_hygiene.digest.compliance import InstanceCompliance, PatchState
from instance_hygiene.digest.model import (
    CommandDigest,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
    to_dict,
    with_patch_states,
)
from instance_hygiene.digest.window import TaskRun, WindowDigest
from instance_hygiene.explain.patchsummary import PatchCounts
from instance_hygiene.render.chat import CustomNotification
from instance_hygiene.render.command import (
    SNS_LIMIT_BYTES,
    defang,
    email_text,
    fit,
    message_bytes,
    render,
    safe_subject,
)
from instance_hygiene.render.window import render as render_window
from tests.support.chat import every_string
from tests.support.digests import digest_with, status_failure, yum_lock
from tests.support.events import load_event

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())
COMMAND_EVENT = load_event("command-failed.json")
COMMAND_ID = "7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70"


# --------------------------------------------------------------------------- the renderings


def digest_of(failures: list[Failure], targets: int | None = None) -> CommandDigest:
    statuses = [f.status for f in failures] + ["Success"] * ((targets or len(failures)) - len(failures))
    return CommandDigest(
        command_id="7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70",
        document_name="AWS-RunPatchBaseline",
        status="Failed",
        counts=count_statuses(statuses),
        groups=group_failures(failures),
        region="eu-west-2",
        comment="PatchWithHealthcheck patch",
        output_bucket="logs",
        output_prefix="ssm_output/",
    )


def test_subject_names_status_document_counts_and_window() -> None:
    rendered = render(digest_of([yum_lock(1, 7), yum_lock(2, 8), yum_lock(3, 9)], targets=50))

    # Sent by hand (no window): the document names it; the worst cause ends the subject.
    assert rendered.subject == "FAILED AWS-RunPatchBaseline: 3/50 - yum lock held by another process (pid 7)"


def test_subject_of_a_window_command_names_the_task_and_the_local_date() -> None:
    digest = replace(
        digest_of([yum_lock(1, 7)], targets=50),
        window_id="mw-0c50858d01EXAMPLE",
        window_name="PatchWithHealthcheck",
        local_date="2026-12-03",
    )

    assert render(digest).subject == (
        "FAILED PatchWithHealthcheck patch 2026-12-03: 1/50 - yum lock held by another process (pid 7)"
    )
    # A task whose comment is not ours: the window's name and the document.
    other = replace(digest, comment="nightly")
    assert render(other).subject.startswith(
        "FAILED PatchWithHealthcheck AWS-RunPatchBaseline 2026-12-03: 1/50"
    )


def test_a_cancelled_command_with_real_failures_is_headed_by_them() -> None:
    # A window cutoff cancels the command (Run Command's status: Cancelled) after two checks failed.
    cancelled = "cancelled (e.g. window cutoff reached or operator)"
    failures = [
        status_failure(1, "Cancelled", cancelled, "RunLinuxHealthcheck"),
        status_failure(2, "Cancelled", cancelled, None),
        status_failure(3, "Cancelled", cancelled, "RunWindowsHealthcheck"),
        status_failure(4, "Failed", "healthcheck: 1 of 5 checks failed: disk:/", "RunLinuxHealthcheck"),
    ]
    digest = replace(digest_of(failures, targets=10), status="Cancelled")

    rendered = render(digest)

    assert rendered.subject.startswith("FAILED AWS-RunPatchBaseline: 4/10 - healthcheck: 1 of 5 checks")
    text = rendered.text.splitlines()
    groups = [line for line in text if line[:3] in {"1. ", "2. "}]
    assert groups == [
        "1. healthcheck: 1 of 5 checks failed: disk:/ - 1 instance",
        f"2. {cancelled} - 3 instances",
    ]
    assert "steps RunLinuxHealthcheck, RunWindowsHealthcheck" in rendered.text
    assert text[0].startswith("eu-west-2: AWS-RunPatchBaseline Cancelled on 4 of 10"), (
        "the body says what it did"
    )


def test_the_subject_keeps_the_command_status_when_nothing_worse_happened() -> None:
    cancelled = "cancelled (e.g. window cutoff reached or operator)"
    digest = replace(digest_of([status_failure(1, "Cancelled", cancelled, None)]), status="Cancelled")

    assert render(digest).subject.startswith("CANCELLED ")


@pytest.mark.parametrize(
    "raw",
    ["plain", "line\nbreak", "tab\tand\x00nul", "ünïcödé ✓ 日本", "x" * 500, "", "\r\n\x1b[31mred\x1b[0m"],
)
def test_subjects_are_always_valid_for_sns(raw: str) -> None:
    subject = safe_subject(raw)

    assert 0 < len(subject) < 100
    assert all(0x20 <= ord(c) <= 0x7E for c in subject)


def test_email_text_reads_as_headline_groups_and_links() -> None:
    text = render(digest_of([yum_lock(n, 100 + n) for n in range(3)], targets=50)).text

    lines = text.splitlines()
    assert lines[0] == (
        "eu-west-2: AWS-RunPatchBaseline Failed on 3 of 50 instances (PatchWithHealthcheck patch)"
    )
    # One cause (the pids differ; the signature does not), its three instances on one line
    assert lines[3] == "1. yum lock held by another process (pid 100) - 3 instances"
    assert lines[4] == (
        "   PatchLinux, exit 1 (patching failed); patches installed 0, missing 4, failed 0: "
        "web-0000 (i-00000000000000000), web-0001 (i-00000000000000001), web-0002 (i-00000000000000002)"
    )
    assert "   log: https://s3.console.aws.amazon.com/s3/object/b?region=eu-west-2&prefix=k/0" in lines
    assert (
        "Run Command: https://eu-west-2.console.aws.amazon.com/systems-manager/run-command/7c1e4b2a" in text
    )


REQUESTED = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def patch_state(instance_id: str, *, ended: datetime, missing: int, critical: int = 0) -> PatchState:
    """A DescribeInstancePatchStates item of the shape the AWS CLI's example shows, parsed."""
    return PatchState(
        instance_id=instance_id,
        operation="Install",
        installed=120,
        missing=missing,
        failed=1,
        critical_non_compliant=critical,
        operation_end=ended,
    )


def with_states(digest: CommandDigest, *states: PatchState) -> CommandDigest:
    return replace(
        digest,
        groups=with_patch_states(digest.groups, {s.instance_id: s for s in states}, since=REQUESTED),
    )


def test_this_runs_patch_state_comes_before_the_counts_the_log_printed() -> None:
    failure = yum_lock(0, 100)
    digest = with_states(
        digest_of([failure], targets=5),
        patch_state(failure.instance_id, ended=REQUESTED + timedelta(minutes=9), missing=6, critical=2),
    )

    text = render(digest).text

    assert (
        "   PatchLinux, exit 1 (patching failed); patch state: installed 120, missing 6, failed 1, "
        "pending reboot 0, critical 2: web-0000 (i-00000000000000000)"
    ) in text.splitlines()


def test_an_earlier_runs_state_gives_way_to_the_log_and_is_said_as_such_without_one() -> None:
    counted, uncounted = yum_lock(0, 100), replace(yum_lock(1, 101), patch=None)
    yesterday = REQUESTED - timedelta(days=1)
    states = (
        patch_state(counted.instance_id, ended=yesterday, missing=6),
        patch_state(uncounted.instance_id, ended=yesterday, missing=3),
    )

    email = render(with_states(digest_of([counted], targets=5), *states)).text
    report = email_text(with_states(digest_of([counted, uncounted], targets=5), *states), line_budget=None)

    assert "; patches installed 0, missing 4, failed 0:" in email, "the log's counts, not yesterday's state"
    machine = render(with_states(digest_of([counted], targets=5), *states)).machine
    jsonschema.validate(json.loads(machine), SCHEMA)
    # The full report gives each instance its own counts.
    assert "   - web-0000 (i-00000000000000000): patches installed 0, missing 4, failed 0, " in report
    assert (
        "   - web-0001 (i-00000000000000001): last patch state (2026-12-02 09:00 UTC, not this run's): "
        "installed 120, missing 3, failed 1, pending reboot 0, "
    ) in report


def test_an_instance_whose_output_only_the_api_kept_links_its_run_command_invocation_page() -> None:
    # Given an instance whose role could not write to S3 (the API's truncated output was read)
    failure = replace(yum_lock(4, 100), log=LogInfo(source="api", bytes_total=None, bytes_read=900))

    # When the e-mail and the full report are rendered
    digest = digest_of([failure], targets=5)
    page = (
        "https://eu-west-2.console.aws.amazon.com/systems-manager/run-command/"
        f"{COMMAND_ID}/i-00000000000000004?region=eu-west-2"
    )

    # Then both link its invocation's page, where the console shows that output
    assert f"   output: {page}" in render(digest).text.splitlines()
    assert email_text(digest, line_budget=None).count(page) == 1


def test_the_worst_cause_keeps_the_last_lines_of_its_excerpt_when_the_whole_does_not_fit() -> None:
    # Given two causes whose excerpts (3 lines each, with their labels 4) cannot both fit
    lock = replace(
        yum_lock(1, 100),
        excerpt=("waiting for the lock", "another copy is running as pid 100", "unable to acquire yum lock"),
    )
    other = replace(status_failure(2, "TimedOut", "timed out", "PatchLinux"), excerpt=("a", "b", "c"))
    digest = digest_of([lock, other], targets=5)
    whole = email_text(digest, line_budget=None).splitlines()
    budget = len(email_text(digest, line_budget=1_000).splitlines()) - 4

    text = email_text(digest, line_budget=budget).splitlines()

    # Then the first cause shows its last lines (where the error is), the second none
    assert len(text) <= budget
    assert "   log (s3, complete; its last 2 of 3 lines):" in text
    assert "     | unable to acquire yum lock" in text
    assert "     | waiting for the lock" not in text
    assert "Log excerpts of cause 2 are in the full report." in text
    assert "     | waiting for the lock" in whole


def test_machine_json_follows_the_documented_schema() -> None:
    machine = json.loads(render(digest_of([yum_lock(1, 7)], targets=2)).machine)

    jsonschema.validate(machine, SCHEMA)
    assert machine["schema"] == "instance-hygiene/digest@1"
    assert machine["counts"] == {
        "targets": 2,
        "succeeded": 1,
        "failed": 1,
        "timed_out": 0,
        "cancelled": 0,
        "other": 0,
    }


def test_sns_message_has_a_body_per_protocol() -> None:
    rendered = render(digest_of([yum_lock(1, 7)]))
    message = json.loads(rendered.sns_message())

    assert set(message) == {"default", "email", "https", "sms"}, "SQS, Lambda and HTTP read default"
    assert all(isinstance(v, str) for v in message.values())
    assert message["email"] == rendered.text
    assert json.loads(message["https"])["source"] == "custom"


def test_ten_thousand_failures_fit_sns_with_counts_and_links_kept() -> None:
    failures = [yum_lock(n, pid=n) for n in range(9_000)]
    failures += [
        Failure(**{**yum_lock(n, 1).__dict__, "reason": f"distinct failure kind {n} " + "x" * 150})
        for n in range(9_000, 10_000)
    ]
    digest = digest_of(failures, targets=12_000)

    fitted, rendered = fit(digest)

    assert message_bytes(rendered) <= SNS_LIMIT_BYTES
    assert rendered.trimmed
    machine = json.loads(rendered.machine)
    jsonschema.validate(machine, SCHEMA)
    assert machine["counts"]["failed"] == 10_000
    assert sum(g["count"] for g in machine["groups"]) == 10_000 == fitted.failure_count
    assert machine["omitted"] > 0
    assert "console.aws.amazon.com" in rendered.text
    assert "9000 instances" in rendered.text


def test_small_digest_is_not_trimmed() -> None:
    digest = digest_of([yum_lock(1, 7)])

    fitted, rendered = fit(digest)

    assert not rendered.trimmed
    assert fitted.excerpt_lines is None
    assert to_dict(fitted)["groups"][0]["failures"][0]["excerpt"]


# --------------------------------------------------------------------------- hostile text


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


def window_report(hostile: str) -> WindowDigest:
    task = TaskRun(
        task_id="t-1", name=hostile, task_arn=hostile, priority=10, status="FAILED", status_details=hostile
    )
    return WindowDigest(
        window_id="mw-0123456789abcdef0",
        window_name=hostile,
        window_execution_id="7e1d2c3b-4a59-4f68-8e7d-6c5b4a392817",
        status="FAILED",
        status_details=hostile,
        tasks=(task,),
        notes=(hostile,),
    )


def survives(item: str, text: str) -> bool:
    if item.startswith("re:"):
        return re.search(item[3:], text) is not None
    return item in text


def acted_on_by_mail(item: str) -> bool:
    """A link, host, address or invisible character: what a mail client would follow or hide."""
    return not item.startswith("re:") and (defang(item) != item or _INVISIBLE.search(item) is not None)


def acted_on_in_code(item: str) -> bool:
    """What a chat client may act on even inside a code span (Slack parses `<...>` and `&`
    sequences before formatting; whether it links a host in code is undocumented), or hides."""
    return acted_on_by_mail(item) or any(c in item for c in "<>@&") or "://" in item


_CODE_SPAN = re.compile(r"`[^`]*`")


def chat_survivors(item: str, text: str) -> bool:
    """Outside code spans nothing may survive; inside them (shown literally by Slack and Teams)
    only what `acted_on_in_code` names may not."""
    if survives(item, _CODE_SPAN.sub(" ", text)):
        return True
    return acted_on_in_code(item) and survives(item, text)


@pytest.mark.parametrize("case", [pytest.param(c, id=c["kind"]) for c in CORPUS])
def test_given_hostile_text_in_every_field_when_rendered_then_no_construct_survives(
    case: dict[str, Any],
) -> None:
    for rendered in (render(command_digest(case["text"])), render_window(window_report(case["text"]))):
        chat = every_string(rendered.chat)
        survivors = [
            (item, text) for item in case["must_not_survive"] for text in chat if chat_survivors(item, text)
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


def test_given_a_region_that_is_not_a_region_when_linked_then_the_console_host_cannot_change() -> None:
    digest = digest_with([], notes=())
    hostile = CommandDigest(**{**digest.__dict__, "region": "evil.example/#"})

    rendered = render(hostile)

    assert "evil.example" not in rendered.text
    assert "evil.example" not in rendered.chat
    assert "https://us-east-1.console.aws.amazon.com/" in rendered.text


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

    assert "on 0 of 0 instances" in rendered.text
    assert json.loads(rendered.machine)["counts"]["targets"] == 0


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
state_counts = st.integers(min_value=0, max_value=10**6)
patch_states = st.one_of(
    st.none(),
    st.builds(
        InstanceCompliance,
        state=st.builds(
            PatchState,
            instance_id=st.from_regex(r"i-[0-9a-f]{17}", fullmatch=True),
            operation=st.sampled_from(["Scan", "Install"]),
            installed=state_counts,
            missing=state_counts,
            failed=state_counts,
            installed_pending_reboot=state_counts,
            critical_non_compliant=state_counts,
            security_non_compliant=state_counts,
            operation_end=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
        ),
        current=st.booleans(),
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
    compliance=patch_states,
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
    CustomNotification.model_validate(chat)  # the documented schema and limits (test_chat.py)
    description = chat["content"]["description"]
    own_lines = 1 + min(10, len(fitted.groups)) + (len(fitted.groups) > 10) + min(3, len(fitted.notes))
    assert len(description.split("\n")) <= own_lines, "no text from a log or the API adds a line"
    for text in (description, chat["content"]["title"]):
        assert not {"<", ">"} & set(text), "no <!channel>, <@U...>, <url|text>"
        assert not [m for m in ("@here", "@channel", "://", "\x1b", "\u202e") if m in text], (
            "nor mentions, links"
        )
    assert bodies["email"].endswith("\n")
