"""digest.history: new, recurring or fixed across runs of a scope; replays change nothing. Pure.

Failure reasons are AWS-RunPatchBaseline failure texts from the Patch Manager troubleshooting pages
of the AWS Systems Manager user guide (summarised in /work/shared/reference/aws-ssm-facts.md §4);
here they only serve as cause keys. Instance ids follow EC2's `i-` + 17 hex digits form.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from instance_hygiene.digest.history import (
    RECENT_RUNS,
    Comparison,
    FailedInstance,
    Fixed,
    History,
    HistoryUpdate,
    HistoryView,
    Run,
    RunOutcome,
    apply,
    compare,
    digest_lines,
    group_line,
    ordinal,
    outcome_of,
    scope_of,
    to_dict,
    view_of,
)
from instance_hygiene.digest.model import Failure, LogInfo, trim_groups
from instance_hygiene.explain.signature import signature
from tests.support.digests import digest_with

YUM_LOCK = "another process has acquired yum lock"
NO_MIRRORS = "[Errno 256] No more mirrors to try."
APT_PYTHON = "Apt requires Python3 to be installed"
NIGHT_ONE = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
SCOPE = scope_of("AWS-RunPatchBaseline", "mw-0c50858d01EXAMPLE")


def instance(n: int) -> str:
    return f"i-{n:017x}"


def run(n: int) -> Run:
    """The scope's `n`th run, one night after the previous one; its id is a command-id-shaped uuid."""
    return Run(f"00000000-0000-4000-8000-{n:012d}", NIGHT_ONE + timedelta(days=n))


def failing(*pairs: tuple[int, str], succeeded: tuple[int, ...] = ()) -> RunOutcome:
    return RunOutcome(
        failed={
            instance(n): FailedInstance(instance(n), signature(reason), f"web-{n:02d}") for n, reason in pairs
        },
        succeeded=frozenset(instance(n) for n in succeeded),
    )


def nights(*outcomes: RunOutcome, past: History | None = None) -> tuple[History, Comparison]:
    """Each outcome as the next run, written after it; the history after them and the last comparison."""
    history = past or History()
    comparison = None
    for n, outcome in enumerate(outcomes):
        comparison = compare(history, run(n), outcome)
        history = apply(history, comparison.update)
    assert comparison is not None
    return history, comparison


def failure(n: int, reason: str) -> Failure:
    return Failure(
        instance_id=instance(n),
        instance_name=f"web-{n:02d}",
        status="Failed",
        status_details="Failed",
        reason=reason,
        log=LogInfo(source="s3"),
    )


# ------------------------------------------------------------------ scope and outcome


def test_the_scope_is_the_windows_document_or_else_the_document() -> None:
    assert scope_of("AWS-RunPatchBaseline", "mw-0c50858d01EXAMPLE") == (
        "window/mw-0c50858d01EXAMPLE/AWS-RunPatchBaseline"
    )
    assert scope_of("AWS-RunPatchBaseline", None) == "document/AWS-RunPatchBaseline"
    assert scope_of("AWS-RunPatchBaseline", "mw-1") != scope_of("AWS-RunShellScript", "mw-1")


def test_given_a_digest_then_the_outcome_has_each_failure_by_its_reasons_signature() -> None:
    digest = digest_with([failure(1, YUM_LOCK), failure(2, NO_MIRRORS)])

    outcome = outcome_of(digest, succeeded=[instance(2), instance(3)])

    assert outcome.failed[instance(1)] == FailedInstance(instance(1), signature(YUM_LOCK), "web-01")
    assert outcome.succeeded == {instance(3)}, "an instance that also failed counts as failed"


# ------------------------------------------------------------------ new, recurring, fixed


def test_given_no_history_then_every_failure_is_new_and_the_view_says_it_is_the_first_run() -> None:
    comparison = compare(History(), run(0), failing((1, YUM_LOCK)))

    assert comparison.streaks == {instance(1): 1}
    assert comparison.first_run
    assert comparison.update.scope is not None
    assert comparison.update.scope.recent_runs == (run(0).command_id,)
    digest = digest_with([failure(1, YUM_LOCK)])
    view = view_of(SCOPE, digest, comparison)
    assert group_line(view, digest.groups[0]) is None, "no earlier run: neither new nor recurring"
    assert digest_lines(view) == ("history: the first run recorded; nothing to compare with yet",)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=40))
def test_given_a_streak_of_n_failing_runs_then_it_reads_n(n: int) -> None:
    outcomes = [failing((1, YUM_LOCK), (2, NO_MIRRORS)) for _ in range(n)]

    _, comparison = nights(failing((1, NO_MIRRORS), (2, NO_MIRRORS)), *outcomes)

    assert comparison.streaks == {instance(1): n, instance(2): n + 1}, "a cause change starts a new streak"


def test_given_failures_of_one_cause_that_recur_unevenly_then_the_group_line_says_so() -> None:
    # web-01 fails three nights, web-02 two, web-03 for the first time tonight.
    history, _ = nights(failing((1, YUM_LOCK)), failing((1, YUM_LOCK), (2, YUM_LOCK)))
    tonight = [failure(1, YUM_LOCK), failure(2, YUM_LOCK), failure(3, YUM_LOCK)]
    digest = digest_with(tonight)

    view = view_of(
        SCOPE, digest, compare(history, run(2), failing((1, YUM_LOCK), (2, YUM_LOCK), (3, YUM_LOCK)))
    )

    assert group_line(view, digest.groups[0]) == "new on 1, recurring on 2 (up to 3rd night)"
    only_recurring = digest_with(tonight[:2])
    view = view_of(SCOPE, only_recurring, compare(history, run(2), failing((1, YUM_LOCK), (2, YUM_LOCK))))
    assert group_line(view, only_recurring.groups[0]) == "recurring: 2nd to 3rd night in a row"


def test_given_a_trimmed_copy_of_the_digest_then_its_groups_keep_the_untrimmed_counts() -> None:
    history, _ = nights(failing((1, YUM_LOCK), (2, YUM_LOCK)))
    digest = digest_with([failure(1, YUM_LOCK), failure(2, YUM_LOCK), failure(3, APT_PYTHON)])
    view = view_of(
        SCOPE, digest, compare(history, run(1), failing((1, YUM_LOCK), (2, YUM_LOCK), (3, APT_PYTHON)))
    )

    trimmed = trim_groups(digest.groups, keep_per_group=1)

    assert [group_line(view, g) for g in trimmed] == ["2nd night in a row", "new tonight"]


def test_given_instances_failing_then_succeeding_then_they_are_fixed_once() -> None:
    history, _ = nights(*[failing(*((n, YUM_LOCK) for n in range(1, 8))) for _ in range(3)])

    comparison = compare(history, run(3), failing((7, YUM_LOCK), succeeded=(1, 2, 3, 4, 5, 6, 9)))

    assert comparison.fixed == tuple(Fixed(instance(n), f"web-{n:02d}", 3) for n in range(1, 7))
    assert comparison.streaks == {instance(7): 4}
    view = view_of(SCOPE, digest_with([failure(7, YUM_LOCK)]), comparison)
    assert digest_lines(view) == (
        "fixed since the last run: 6 instances (web-01, web-02, web-03, web-04, web-05, and 1 more)",
    )
    after = apply(history, comparison.update)
    again = compare(after, run(4), failing(succeeded=(1, 2, 3, 4, 5, 6)))
    assert again.fixed == ()
    assert again.update.instances == (), "succeeding again after a fix: nothing to write"


def test_given_an_instance_left_out_of_a_run_then_its_streak_neither_breaks_nor_grows() -> None:
    _, comparison = nights(failing((1, YUM_LOCK)), failing((2, NO_MIRRORS)), failing((1, YUM_LOCK)))

    assert comparison.streaks == {instance(1): 2}


def test_given_a_late_event_of_an_older_run_then_newer_records_stand() -> None:
    history, _ = nights(failing((1, YUM_LOCK)), failing((1, YUM_LOCK)), failing((1, YUM_LOCK)))
    late = Run("11111111-0000-4000-8000-000000000000", NIGHT_ONE + timedelta(days=1, hours=1))

    comparison = compare(history, late, failing((1, YUM_LOCK), (2, APT_PYTHON), succeeded=(3,)))

    assert comparison.streaks == {instance(2): 1}, "instance 1's record is newer than this run"
    assert [r.instance_id for r in comparison.update.instances] == [instance(2)]


# ------------------------------------------------------------------ replays


def test_given_the_same_run_twice_then_the_second_writes_nothing_and_reads_the_same() -> None:
    history, _ = nights(failing((1, YUM_LOCK), (2, YUM_LOCK)))
    first = compare(history, run(1), failing((1, YUM_LOCK), succeeded=(2,)))

    second = compare(apply(history, first.update), run(1), failing((1, YUM_LOCK), succeeded=(2,)))

    assert second.update == HistoryUpdate()
    assert (second.streaks, second.fixed, second.first_run) == (first.streaks, first.fixed, first.first_run)


def test_given_a_write_cut_short_then_the_retry_writes_the_rest_and_reads_as_the_first_would() -> None:
    history, _ = nights(failing((1, YUM_LOCK), (2, YUM_LOCK), (3, YUM_LOCK)))
    outcome = failing((1, YUM_LOCK), (2, YUM_LOCK), succeeded=(3,))
    first = compare(history, run(1), outcome)
    cut = HistoryUpdate(instances=first.update.instances[:1])  # one batch written, run item not

    retry = compare(apply(history, cut), run(1), outcome)

    assert (retry.streaks, retry.fixed) == (first.streaks, first.fixed)
    assert retry.update == replace(first.update, instances=first.update.instances[1:])


def test_given_more_runs_than_the_scope_keeps_then_it_keeps_the_newest() -> None:
    history, _ = nights(*[failing((1, YUM_LOCK)) for _ in range(RECENT_RUNS + 3)])

    assert history.scope is not None
    assert history.scope.recent_runs == tuple(run(n).command_id for n in range(3, RECENT_RUNS + 3))
    assert history.scope.runs == RECENT_RUNS + 3


OUTCOMES = st.sampled_from(["absent", "succeeded", YUM_LOCK, NO_MIRRORS])
NIGHTS = st.lists(st.lists(OUTCOMES, min_size=4, max_size=4), min_size=1, max_size=12)


def outcome_from(states: list[str]) -> RunOutcome:
    return failing(
        *((n, s) for n, s in enumerate(states) if s not in ("absent", "succeeded")),
        succeeded=tuple(n for n, s in enumerate(states) if s == "succeeded"),
    )


@settings(max_examples=150, deadline=None)
@given(NIGHTS, st.data())
def test_any_sequence_of_runs_with_replays_reads_as_the_runs_without_replays(
    nightly: list[list[str]], data: st.DataObject
) -> None:
    """Against a plain model: an instance's streak is its trailing failures of one cause over the
    runs it took part in; it is fixed when it succeeds right after a failure. Every run is replayed
    at once or later (after newer runs): replays write no instance record and read the same."""
    history = History()
    seen: dict[int, list[str]] = {n: [] for n in range(4)}
    for k, states in enumerate(nightly):
        comparison = compare(history, run(k), outcome_from(states))
        history = apply(history, comparison.update)
        for n, state in enumerate(states):
            if state != "absent":
                seen[n].append(state)
        expected_streaks = {}
        expected_fixed = []
        for n, state in enumerate(states):
            past = seen[n]
            if state in (YUM_LOCK, NO_MIRRORS):
                expected_streaks[instance(n)] = len(past) - next(
                    (i + 1 for i in range(len(past) - 1, -1, -1) if past[i] != state), 0
                )
            elif state == "succeeded" and len(past) > 1 and past[-2] != "succeeded":
                expected_fixed.append(instance(n))
        assert comparison.streaks == expected_streaks
        assert [f.instance_id for f in comparison.fixed] == expected_fixed
        replayed = data.draw(st.integers(min_value=0, max_value=k), label="replayed run")
        replay = compare(history, run(replayed), outcome_from(nightly[replayed]))
        assert replay.update == HistoryUpdate(), "a replay writes nothing"
        if replayed == k:
            assert (replay.streaks, replay.fixed, replay.first_run) == (
                comparison.streaks,
                comparison.fixed,
                comparison.first_run,
            )


# ------------------------------------------------------------------ lines and machine form


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th", "112th",
    ]  # fmt: skip


def test_given_history_unavailable_then_one_line_says_why_and_groups_say_nothing() -> None:
    digest = digest_with([failure(1, YUM_LOCK)])
    view = HistoryView(scope=SCOPE, unavailable="ResourceNotFoundException")

    assert digest_lines(view) == ("history unavailable (ResourceNotFoundException)",)
    assert group_line(view, digest.groups[0]) is None
    assert to_dict(view, digest)["available"] is False


def test_the_machine_form_holds_the_lines_and_the_counts_behind_them() -> None:
    history, _ = nights(failing((1, YUM_LOCK), (2, APT_PYTHON)), failing((1, YUM_LOCK), (2, APT_PYTHON)))
    digest = digest_with([failure(1, YUM_LOCK), failure(3, YUM_LOCK)])
    view = view_of(
        SCOPE, digest, compare(history, run(2), failing((1, YUM_LOCK), (3, YUM_LOCK), succeeded=(2,)))
    )

    machine = to_dict(view, digest)

    assert machine == {
        "scope": SCOPE,
        "available": True,
        "error": None,
        "first_run": False,
        "lines": ["fixed since the last run: 1 instance (web-02)"],
        "groups": [
            {
                "signature": digest.groups[0].signature,
                "line": "new on 1, recurring on 1 (up to 3rd night)",
                "new": 1,
                "recurring": 1,
                "longest_streak": 3,
            }
        ],
        "instances": [
            {"instance_id": instance(1), "streak": 3, "new": False},
            {"instance_id": instance(3), "streak": 1, "new": True},
        ],
        "fixed": [{"instance_id": instance(2), "name": "web-02", "after": 2}],
    }
