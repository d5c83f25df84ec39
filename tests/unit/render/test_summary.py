"""The morning summary as subscribers read it (render/summary.py, render/chat.py summary_payload):
the subject says whether the night needs anyone, every rendering keeps untrusted text inert, and
the message stays within SNS's limit for the largest Organization."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from instance_hygiene.digest.causes import CauseCount
from instance_hygiene.digest.summary import Expected, NightEntry, Seen, summarise
from instance_hygiene.render.command import message_bytes
from instance_hygiene.render.summary import render, subject, text

END = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
TONIGHT = datetime(2026, 12, 3, 2, 40, tzinfo=UTC)
SNS_LIMIT = 262_144


def command(
    account: str, *, failed: int = 0, reason: str = "exit status 1", region: str = "eu-west-2"
) -> NightEntry:
    return NightEntry(
        at=TONIGHT,
        account=account,
        region=region,
        kind="command",
        ident=f"cmd-{account}-{region}",
        status="Failed" if failed else "Success",
        name="AWS-RunPatchBaseline",
        told=bool(failed),
        instances=500,
        failed=failed,
        failed_ids=tuple(f"i-{account}{n:05d}" for n in range(failed)),
        causes=(CauseCount(reason, "failed", failed, "Read the step's output."),) if failed else (),
    )


def summary_of(*entries: NightEntry, expected: Expected | None = None):  # type: ignore[no-untyped-def]
    return summarise(
        entries,
        expected or Expected(),
        start=END - timedelta(hours=24),
        end=END,
        night="2026-12-02",
        time_zone="Europe/London",
        organization_id="o-a1b2c3d4e5",
    )


def test_a_clean_night_says_so_in_the_subject() -> None:
    assert subject(summary_of(command("111111111111"), command("222222222222"))) == (
        "NIGHT 2026-12-02: all 2 accounts patched and healthy"
    )


def test_a_night_with_failures_and_silence() -> None:
    expected = Expected(seen={("333333333333", "us-east-1"): Seen(TONIGHT - timedelta(days=1))})
    summary = summary_of(command("111111111111", failed=50), command("222222222222"), expected=expected)
    assert subject(summary) == (
        "NIGHT 2026-12-02: 1 of 2 accounts need attention, 50 of 1,000 instances did not succeed, 1 silent"
    )
    body = text(summary)
    for heading in ("NEEDS ATTENTION", "TOP CAUSES", "REPORTED NOTHING TONIGHT", "PATCHED AND HEALTHY (1)"):
        assert heading in body
    assert "333333333333 in us-east-1: last reported 2026-12-02 02:40 UTC" in body


def test_nothing_reported_at_all_is_not_a_clean_night() -> None:
    assert subject(summary_of()).startswith("NOTHING REPORTED NIGHT 2026-12-02")


def test_a_cause_counts_its_accounts_in_words_in_the_text_and_the_chat() -> None:
    summary = summary_of(
        command("111111111111", failed=2, reason="exit status 1"),
        command("222222222222", failed=1, reason="exit status 1"),
        command("333333333333", failed=1, reason="exit status 2"),
    )
    description = json.loads(render(summary).chat)["content"]["description"]

    assert "(failed, 2 accounts)" in description
    assert "(failed, 1 account)" in description
    assert "1 accounts" not in description
    assert "1 accounts" not in text(summary)


def test_untrusted_text_stays_inert_in_every_rendering() -> None:
    planted = "failed: see <!channel> @here http://evil.example/x"
    rendered = render(summary_of(command("111111111111", failed=1, reason=planted)))
    chat = json.loads(rendered.chat)
    description = chat["content"]["description"]
    assert "<!channel>" not in description
    assert "@here" not in description
    assert "http://evil.example" not in description
    assert "http://evil.example" not in rendered.text
    assert json.loads(rendered.machine)["causes"][0]["count"] == 1


def test_a_thousand_accounts_in_two_regions_fit_one_message() -> None:
    entries = [
        command(f"{n:012d}", failed=50 if n % 10 == 0 else 0, region=region, reason=f"cause {n % 7}")
        for n in range(1000)
        for region in ("eu-west-2", "us-east-1")
    ]
    rendered = render(summary_of(*entries))
    assert message_bytes(rendered) < SNS_LIMIT
    assert json.loads(rendered.machine)["totals"]["accounts"] == 1000
