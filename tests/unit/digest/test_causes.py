"""digest/causes.py: the one merge of causes the window report (across its commands) and the
morning summary (across accounts) both make."""

from __future__ import annotations

from instance_hygiene.digest.causes import CauseCount, merge_causes, outcome_rank
from instance_hygiene.digest.model import SEVERITY_ORDER
from instance_hygiene.digest.window import ReportGroup

LOCK = "yum lock held by another process (pid 10711)"
SAME_LOCK = "yum lock held by another process (pid 21774)"  # the same signature: the pid is a number
DISK = "healthcheck: 1 of 6 checks failed: disk"


def test_the_same_cause_from_several_sources_is_one_counted_once_per_source() -> None:
    causes, omitted = merge_causes(
        [
            ("111111111111", CauseCount(LOCK, "failed", 2)),
            ("222222222222", CauseCount(SAME_LOCK, "failed", 1, next_step="Wait for the other yum.")),
            ("111111111111", CauseCount(LOCK, "failed", 1)),
        ],
        limit=5,
    )

    (lock,) = causes
    assert (lock.reason, lock.outcome, lock.count) == (LOCK, "failed", 4), "the first reason seen names it"
    assert lock.next_step == "Wait for the other yum.", "the first next step any of them gives"
    assert lock.sources == ("111111111111", "222222222222")
    assert omitted == 0


def test_worst_outcome_first_then_the_largest_then_by_reason_and_the_rest_counted() -> None:
    causes, omitted = merge_causes(
        [
            ("c1", ReportGroup(DISK, "timed out", 9)),
            ("c1", ReportGroup(LOCK, "failed", 1)),
            ("c2", ReportGroup(DISK, "failed", 3)),
            ("c2", ReportGroup("never delivered", "not run", 20)),
        ],
        limit=3,
    )

    assert [(c.outcome, c.reason) for c in causes] == [
        ("failed", DISK),
        ("failed", LOCK),
        ("timed out", DISK),
    ], "the same reason with another outcome is another cause"
    assert omitted == 1


def test_an_outcome_the_product_does_not_know_ranks_after_every_known_one() -> None:
    assert [outcome_rank(o) for o in SEVERITY_ORDER] == list(range(len(SEVERITY_ORDER)))
    assert outcome_rank("exploded") == len(SEVERITY_ORDER)
