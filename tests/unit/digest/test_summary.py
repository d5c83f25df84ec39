"""The morning summary's arithmetic (digest/summary.py): instances counted once per Region, failed
instances once by id, the last status of an event kept, silence judged by each account's own
cadence, and the Organization's accounts that never reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from instance_hygiene.digest.causes import CauseCount
from instance_hygiene.digest.summary import (
    SUMMARY_SCHEMA,
    Expected,
    NightEntry,
    Seen,
    summarise,
    to_dict,
)

END = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
START = END - timedelta(hours=24)
TONIGHT = datetime(2026, 12, 3, 2, 40, tzinfo=UTC)
RETAIL, LEDGER, ANALYTICS = "111111111111", "222222222222", "333333333333"
# AWS-RunPatchBaseline's failure text as the facts file quotes it (Windows Update search failure).
WINDOWS_UPDATE = "Invoke-PatchBaselineOperation : An error occurred when attempting to search Windows Update."


def entry(account: str = RETAIL, region: str = "eu-west-2", **fields: object) -> NightEntry:
    values: dict[str, object] = {
        "at": TONIGHT,
        "kind": "command",
        "ident": "cmd-1",
        "status": "Failed",
        "name": "AWS-RunPatchBaseline",
        "instances": 500,
    }
    values.update(fields)
    return NightEntry(account=account, region=region, **values)  # type: ignore[arg-type]


def night(*entries: NightEntry, expected: Expected | None = None):  # type: ignore[no-untyped-def]
    return summarise(
        entries, expected or Expected(), start=START, end=END, night="2026-12-02", time_zone="UTC"
    )


def test_an_instance_patched_and_checked_counts_once_and_a_failure_once_by_id() -> None:
    summary = night(
        entry(ident="cmd-patch", failed=2, failed_ids=("i-1", "i-2")),
        entry(ident="cmd-check", name="Healthcheck", failed=2, failed_ids=("i-2", "i-3")),
        entry(region="us-east-1", ident="cmd-east", instances=200, failed=0),
    )
    (retail,) = summary.accounts
    assert retail.instances == 700  # 500 in eu-west-2 (two documents), 200 in us-east-1
    assert retail.failed == 3  # i-2 failed both documents
    assert retail.regions == ("eu-west-2", "us-east-1")


def test_failures_beyond_the_ids_kept_are_still_counted() -> None:
    summary = night(entry(failed=5000, failed_ids=("i-1",)))
    assert summary.failed == 5000


def test_the_last_status_of_a_command_is_the_one_counted() -> None:
    summary = night(
        entry(status="Failed", failed=1, failed_ids=("i-1",), told=True),
        entry(status="Success", at=TONIGHT + timedelta(minutes=5)),
    )
    (retail,) = summary.accounts
    assert (retail.failed, retail.told) == (0, 0)


def test_an_entry_outside_the_night_is_left_out() -> None:
    summary = night(entry(at=START - timedelta(seconds=1)), entry(at=END))
    assert summary.accounts == ()


def test_causes_merge_across_accounts_worst_outcome_first() -> None:
    patch_failed = CauseCount(WINDOWS_UPDATE, "failed", 3, "Check the instance can reach Windows Update.")
    timed_out = CauseCount("The command timed out", "timed out", 40)
    summary = night(
        entry(causes=(patch_failed, timed_out)),
        entry(account=LEDGER, causes=(CauseCount(WINDOWS_UPDATE, "failed", 2),)),
    )
    first, second = summary.causes
    assert (first.reason, first.count, first.accounts) == (WINDOWS_UPDATE, 5, (RETAIL, LEDGER))
    assert first.next_step == "Check the instance can reach Windows Update."
    assert second.outcome == "timed out"


def test_a_nightly_account_that_missed_tonight_is_silent_a_weekly_one_is_not() -> None:
    last_night = TONIGHT - timedelta(days=1)
    expected = Expected(
        seen={
            (LEDGER, "eu-west-2"): Seen(last_night, timedelta(days=1)),
            (ANALYTICS, "eu-west-2"): Seen(TONIGHT - timedelta(days=3), timedelta(days=7)),
        },
        aliases={LEDGER: "ledger"},
    )
    summary = night(entry(), expected=expected)
    (silent,) = summary.silent
    assert (silent.account, silent.region, silent.alias, silent.last_seen) == (
        LEDGER,
        "eu-west-2",
        "ledger",
        last_night,
    )


def test_an_account_seen_once_is_expected_nightly() -> None:
    expected = Expected(seen={(LEDGER, "eu-west-2"): Seen(TONIGHT - timedelta(days=1))})
    assert [s.account for s in night(expected=expected).silent] == [LEDGER]
    # Within its cadence and grace (the summary runs before the window could have ended): not yet.
    early = Expected(seen={(LEDGER, "eu-west-2"): Seen(END - timedelta(hours=25))})
    assert night(expected=early).silent == ()


def test_organization_accounts_never_seen_are_named_apart() -> None:
    expected = Expected(organization={RETAIL: "retail", ANALYTICS: "analytics"})
    summary = night(entry(), expected=expected)
    assert [(s.account, s.alias) for s in summary.never_reported] == [(ANALYTICS, "analytics")]
    assert summary.silent == ()


def test_accounts_needing_attention_come_first_and_unread_before_all() -> None:
    summary = night(
        entry(account=LEDGER, failed=0),
        entry(failed=3, failed_ids=("i-1", "i-2", "i-3")),
        entry(account=ANALYTICS, kind="unread", instances=None, ident="cmd-9"),
    )
    assert [a.account for a in summary.accounts] == [ANALYTICS, RETAIL, LEDGER]
    assert [a.account for a in summary.attention] == [ANALYTICS, RETAIL]
    assert summary.accounts[0].unread_regions == ("eu-west-2",)


def test_a_window_that_failed_is_named() -> None:
    summary = night(entry(kind="window", ident="exec-1", status="TIMED_OUT", name="nightly", instances=None))
    assert summary.accounts[0].windows_in_trouble == ("nightly TIMED_OUT (eu-west-2)",)
    assert summary.accounts[0].needs_attention


def test_the_machine_form() -> None:
    expected = Expected(seen={(LEDGER, "eu-west-2"): Seen(TONIGHT - timedelta(days=1), timedelta(days=1))})
    machine = to_dict(night(entry(failed=1, failed_ids=("i-1",)), expected=expected))
    assert machine["schema"] == SUMMARY_SCHEMA
    assert machine["totals"] == {
        "accounts": 1,
        "accounts_needing_attention": 1,
        "instances": 500,
        "failed": 1,
        "silent": 1,
        "never_reported": 0,
    }
    assert machine["silent"][0]["cadence_hours"] == 24.0
