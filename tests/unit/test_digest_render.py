"""Grouping, counts, the three renderings and the SNS size budget (pure, no AWS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from instance_hygiene.digest import (
    CommandDigest,
    Counts,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
    to_dict,
)
from instance_hygiene.render import SNS_LIMIT_BYTES, fit, message_bytes, render, safe_subject
from instance_hygiene.summarise import PatchCounts

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "digest-schema.json").read_text())


def yum_lock(n: int, pid: int) -> Failure:
    return Failure(
        instance_id=f"i-0{n:016x}",
        instance_name=f"web-{n:04d}",
        status="Failed",
        status_details="Failed",
        step="PatchLinux",
        exit_code=1,
        exit_meaning="patching failed",
        reason=f"yum lock held by another process (pid {pid})",
        excerpt=(f"Another app is currently holding the yum lock; waiting for it to exit... pid {pid}",) * 3,
        log=LogInfo(source="s3", bytes_total=2048, bytes_read=2048, complete=True, links=(f"s3://b/k/{n}",)),
        patch=PatchCounts(operation="Install", installed=0, missing=4, failed=0),
    )


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


def test_identical_failures_with_different_pids_form_one_group() -> None:
    failures = [yum_lock(n, pid=1000 + n) for n in range(300)]
    failures.append(
        Failure(
            instance_id="i-0ffffffffffffffff",
            status="TimedOut",
            status_details="DeliveryTimedOut",
            reason="timed out before delivery",
            log=LogInfo(source="none"),
        )
    )

    groups = group_failures(failures)

    assert [g.count for g in groups] == [300, 1]
    assert groups[0].reason.startswith("yum lock held")


def test_counts_by_status() -> None:
    counts = count_statuses(["Success", "Failed", "Failed", "TimedOut", "Cancelled", "Undeliverable"])

    assert counts == Counts(targets=6, succeeded=1, failed=2, timed_out=1, cancelled=1, other=1)
    assert counts.not_succeeded == 5


def test_subject_names_status_document_counts_and_window() -> None:
    rendered = render(digest_of([yum_lock(1, 7), yum_lock(2, 8), yum_lock(3, 9)], targets=50))

    assert rendered.subject == "FAILED AWS-RunPatchBaseline: 3 of 50 instances (PatchWithHealthcheck patch)"


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

    assert text.splitlines()[0].startswith("AWS-RunPatchBaseline Failed: 3 of 50 instances did not succeed")
    assert "1. yum lock held by another process" in text
    assert "[3 instances]" in text
    assert "web-0000 (i-00000000000000000)" in text
    assert "step PatchLinux, exit code 1" in text
    assert "patches: installed 0, missing 4" in text
    assert "https://eu-west-2.console.aws.amazon.com/systems-manager/run-command/7c1e4b2a" in text
    assert "s3://logs/ssm_output/7c1e4b2a-93d5-4f60-8e1a-2b3c4d5e6f70/" in text


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


def test_chat_json_is_a_custom_notification_and_escapes_markup() -> None:
    failure = yum_lock(1, 7)
    hostile = Failure(**{**failure.__dict__, "reason": "<!channel> [click](http://evil) *bold* @here"})
    chat: dict[str, Any] = json.loads(render(digest_of([hostile])).chat)

    assert chat["version"] == "1.0"
    assert chat["source"] == "custom"
    assert chat["content"]["textType"] == "client-markdown"
    assert chat["content"]["title"]
    description = chat["content"]["description"]
    assert "[click](http://evil)" not in description
    assert "<!channel>" not in description
    assert "@here" not in description


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
