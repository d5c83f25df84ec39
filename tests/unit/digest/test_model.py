"""digest.model: identical failures group together and statuses are counted."""

from __future__ import annotations

from instance_hygiene.digest.model import Counts, Failure, LogInfo, count_statuses, group_failures
from tests.support.digests import yum_lock


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
