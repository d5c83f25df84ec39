"""digest.model: identical failures group together and statuses are counted."""

from __future__ import annotations

from instance_hygiene.digest.model import (
    SEVERITY_ORDER,
    Counts,
    Failure,
    LogInfo,
    count_statuses,
    group_failures,
    trim_groups,
)
from tests.support.digests import status_failure, yum_lock


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


def test_the_reason_shown_is_the_failure_that_stands_for_the_group() -> None:
    # The first failure listed gives the excerpt: its reason (and pid) is the group's, whatever
    # order the invocations were read in.
    failures = [yum_lock(3, pid=3053), yum_lock(1, pid=7021), yum_lock(2, pid=22813)]

    (group,) = group_failures(failures)

    assert group.failures[0].instance_name == "web-0001"
    assert group.reason == "yum lock held by another process (pid 7021)"
    assert group.reason == group.failures[0].reason


def test_counts_by_status() -> None:
    counts = count_statuses(["Success", "Failed", "Failed", "TimedOut", "Cancelled", "Undeliverable"])

    assert counts == Counts(targets=6, succeeded=1, failed=2, timed_out=1, cancelled=1, other=1)
    assert counts.not_succeeded == 5


CANCELLED = "cancelled (e.g. window cutoff reached or operator)"


def test_groups_are_worst_first_and_one_cause_is_one_group_across_steps() -> None:
    # The showcase healthcheck's shape: six instances cancelled in a step, two before one, two
    # disks full and one delivery timeout. Statuses are Run Command's documented ones.
    failures = [status_failure(n, "Cancelled", CANCELLED, "RunLinuxHealthcheck") for n in range(6)]
    failures += [status_failure(10 + n, "Cancelled", CANCELLED) for n in range(2)]
    failures += [
        status_failure(20 + n, "Failed", "healthcheck: 1 of 5 checks failed: disk:/", "RunLinuxHealthcheck")
        for n in range(2)
    ]
    failures.append(status_failure(30, "TimedOut", "timed out before delivery"))
    failures.append(status_failure(31, "Undeliverable", "undeliverable"))

    groups = group_failures(reversed(failures))

    assert [(g.reason, g.count) for g in groups] == [
        ("healthcheck: 1 of 5 checks failed: disk:/", 2),
        ("timed out before delivery", 1),
        (CANCELLED, 8),
        ("undeliverable", 1),
    ]
    assert [SEVERITY_ORDER[g.severity_rank] for g in groups] == [
        "failed",
        "timed out",
        "cancelled",
        "not run",
    ]
    assert groups[2].steps == ("RunLinuxHealthcheck",)


def test_the_same_reason_with_another_outcome_stays_apart() -> None:
    groups = group_failures([status_failure(1, "Failed", "exit 1"), status_failure(2, "TimedOut", "exit 1")])

    assert [g.severity_rank for g in groups] == [0, 1]
    assert groups[0].signature != groups[1].signature


def test_severity_keeps_through_trimming() -> None:
    (group,) = trim_groups(group_failures([status_failure(1, "TimedOut", "slow")]), 0)

    assert (group.failures, group.count, group.severity_rank) == ((), 1, 1)
