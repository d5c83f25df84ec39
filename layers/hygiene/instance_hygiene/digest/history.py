"""History across runs, per instance and cause: new, recurring, or fixed since the last run. Pure.

A scope is what repeats: a window's document (window id and document name), else a document sent
by hand. A run is one command of that scope, known by its command id; "in a row" counts runs, not
calendar days. Each instance's record says what the run that wrote it found *and* what was known
before that run (`prior_cause`, `prior_streak`), so a run applied twice (a redelivered event, a
retry after a partial write) computes the same notes and writes nothing new: replays are idempotent.

A run the instance was not part of neither breaks nor extends its streak (the instance was not
checked); a record written by a later run than this one (an old event arriving late) is left as it
is and that instance gets no note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from instance_hygiene.digest.model import CommandDigest, Group
from instance_hygiene.explain.signature import signature

RECENT_RUNS = 20
"""Run ids the scope record keeps, newest last: a redelivery of any of them writes nothing. Events
are retried for at most a day (the rule's MaximumEventAgeInSeconds), far fewer runs than this."""
FIXED_NAMES_SHOWN = 5
"""Instances named in the "fixed since the last run" line; the rest are counted."""


def scope_of(document_name: str, window_id: str | None, member: str | None = None) -> str:
    """The key of what repeats: `window/<id>/<document>` for a window's command, else `document/<name>`;
    a member account's (central role, `member` = `<account>/<region>`) under `account/<member>/`,
    so that the accounts and regions sharing one table never meet (the function's own account keeps
    the keys it always had)."""
    scope = f"window/{window_id}/{document_name}" if window_id else f"document/{document_name}"
    return f"account/{member}/{scope}" if member else scope


@dataclass(frozen=True)
class Run:
    command_id: str
    requested_at: datetime
    """When the command was requested (timezone-aware): orders runs that arrive out of order."""


@dataclass(frozen=True)
class FailedInstance:
    instance_id: str
    cause: str
    """The failure's cause key: `signature(reason)`."""
    name: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    """What one run found: the instances that failed (with their cause) and those that succeeded.
    Instances in neither were not part of the run, or not listed (their records stay as they are)."""

    failed: Mapping[str, FailedInstance]
    succeeded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class InstanceRecord:
    """One instance of a scope, as the run `run` left it."""

    instance_id: str
    run: str
    seen_at: datetime
    cause: str | None
    """The cause it failed with in `run`; None: it succeeded."""
    streak: int
    """Runs in a row it has failed with `cause`, `run` included (0 when it succeeded)."""
    prior_cause: str | None = None
    """What the record said before `run`: the cause of the previous failure (None: none known)."""
    prior_streak: int = 0
    name: str | None = None

    @property
    def fixed_after(self) -> int:
        """The failing streak that `run` ended (0: not a fix)."""
        return self.prior_streak if self.cause is None and self.prior_cause is not None else 0


@dataclass(frozen=True)
class ScopeRecord:
    """The scope's one run item: the runs recorded, newest last, and how many runs were seen."""

    recent_runs: tuple[str, ...]
    runs: int

    @property
    def last_run(self) -> str | None:
        return self.recent_runs[-1] if self.recent_runs else None


@dataclass(frozen=True)
class History:
    """A scope's records as read from the store (expired ones left out)."""

    scope: ScopeRecord | None = None
    instances: Mapping[str, InstanceRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryUpdate:
    """What to write after a run: changed instance records first, then the scope record (None:
    nothing to write for it, the run was recorded already)."""

    instances: tuple[InstanceRecord, ...] = ()
    scope: ScopeRecord | None = None

    @property
    def empty(self) -> bool:
        return not self.instances and self.scope is None


@dataclass(frozen=True)
class Fixed:
    instance_id: str
    name: str | None
    after: int
    """How many runs in a row it had failed before this run."""


@dataclass(frozen=True)
class Comparison:
    """A run against its scope's past: each failed instance's streak (1: new), the fixes, the writes."""

    streaks: Mapping[str, int]
    fixed: tuple[Fixed, ...]
    first_run: bool
    update: HistoryUpdate


def _advance(base: InstanceRecord | None, run: Run, failed: FailedInstance | None) -> InstanceRecord | None:
    """The record `run` leaves for one instance from what was known before it (`base`); None when
    nothing needs recording (it succeeded and had not been failing)."""
    prior_cause = base.cause if base else None
    prior_streak = base.streak if base else 0
    name = (failed.name if failed else None) or (base.name if base else None)
    if failed is not None:
        streak = prior_streak + 1 if prior_cause == failed.cause else 1
        return InstanceRecord(
            instance_id=failed.instance_id,
            run=run.command_id,
            seen_at=run.requested_at,
            cause=failed.cause,
            streak=streak,
            prior_cause=prior_cause,
            prior_streak=prior_streak,
            name=name,
        )
    if prior_cause is None or base is None:
        return None
    return InstanceRecord(
        instance_id=base.instance_id,
        run=run.command_id,
        seen_at=run.requested_at,
        cause=None,
        streak=0,
        prior_cause=prior_cause,
        prior_streak=prior_streak,
        name=name,
    )


def _before(record: InstanceRecord) -> InstanceRecord | None:
    """What was known of the instance before the run that wrote `record`."""
    if record.prior_cause is None:
        return None
    return replace(
        record, cause=record.prior_cause, streak=record.prior_streak, prior_cause=None, prior_streak=0
    )


def compare(past: History, run: Run, outcome: RunOutcome) -> Comparison:
    """Tonight's outcome against the scope's past: streaks, fixes and the update to write.

    Applying the update (`apply`) and comparing the same run again gives the same streaks and fixes
    and an empty update."""
    streaks: dict[str, int] = {}
    fixed: list[Fixed] = []
    writes: list[InstanceRecord] = []
    for instance_id in sorted(set(outcome.failed) | (outcome.succeeded - set(outcome.failed))):
        record = past.instances.get(instance_id)
        if record is not None and record.run != run.command_id and record.seen_at > run.requested_at:
            continue  # a later run already wrote it: this older run's outcome is stale for it
        base = _before(record) if record is not None and record.run == run.command_id else record
        failed = outcome.failed.get(instance_id)
        after = _advance(base, run, failed)
        if after is not None and failed is not None:
            streaks[instance_id] = after.streak
        elif after is not None and after.fixed_after:
            fixed.append(Fixed(instance_id, after.name, after.fixed_after))
        if after is not None and after != record:
            writes.append(after)
    known = past.scope.recent_runs if past.scope else ()
    scope = (
        None
        if run.command_id in known
        else ScopeRecord(
            recent_runs=(*known, run.command_id)[-RECENT_RUNS:],
            runs=(past.scope.runs if past.scope else 0) + 1,
        )
    )
    # Nothing recorded but by this run itself (a replay of the first run is a first run too).
    first_run = known in ((), (run.command_id,)) and all(
        r.run == run.command_id for r in past.instances.values()
    )
    return Comparison(streaks, tuple(fixed), first_run, HistoryUpdate(tuple(writes), scope))


def apply(past: History, update: HistoryUpdate) -> History:
    """The history after `update` was written (what the store holds then)."""
    return History(
        scope=update.scope or past.scope,
        instances={**past.instances, **{r.instance_id: r for r in update.instances}},
    )


def outcome_of(digest: CommandDigest, succeeded: Iterable[str]) -> RunOutcome:
    """The run's outcome from its digest (untrimmed: a failure left out of it is not recorded) and
    the ids of the instances that succeeded; an instance both failed and succeeded counts as failed."""
    failed = {
        f.instance_id: FailedInstance(f.instance_id, signature(f.reason), f.instance_name)
        for group in digest.groups
        for f in group.failures
    }
    return RunOutcome(failed=failed, succeeded=frozenset(succeeded) - set(failed))


# ------------------------------------------------------------------ what to show


@dataclass(frozen=True)
class GroupHistory:
    """A group's failures by novelty: how many are new tonight and the streaks of the others."""

    new: int
    streaks: tuple[int, ...]
    """Streaks (2 and up) of the recurring failures, longest first."""

    @property
    def recurring(self) -> int:
        return len(self.streaks)


@dataclass(frozen=True)
class HistoryView:
    """What history has to say about one digest (or that it could not be read or written)."""

    scope: str
    groups: Mapping[str, GroupHistory] = field(default_factory=dict)
    """By group signature (the same in a trimmed copy of the digest)."""
    streaks: Mapping[str, int] = field(default_factory=dict)
    fixed: tuple[Fixed, ...] = ()
    first_run: bool = False
    unavailable: str | None = None
    """The error code when history could not be read or written (then nothing else is known)."""


def view_of(scope: str, digest: CommandDigest, comparison: Comparison) -> HistoryView:
    """The view of an untrimmed digest: per group, from its instances' streaks."""
    groups: dict[str, GroupHistory] = {}
    for group in digest.groups:
        known = [
            comparison.streaks[f.instance_id] for f in group.failures if f.instance_id in comparison.streaks
        ]
        if known:
            groups[group.signature] = GroupHistory(
                new=sum(1 for s in known if s == 1),
                streaks=tuple(sorted((s for s in known if s > 1), reverse=True)),
            )
    return HistoryView(
        scope=scope,
        groups=groups,
        streaks=dict(comparison.streaks),
        fixed=comparison.fixed,
        first_run=comparison.first_run,
    )


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 102nd."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def group_line(view: HistoryView, group: Group) -> str | None:
    """The group's line: "new tonight", "3rd night in a row", "recurring: 2nd to 5th night in a
    row" or "new on 2, recurring on 3 (up to 5th night)"; None when history says nothing of the
    group (first run, unavailable, or none of its instances known)."""
    if view.first_run:
        return None
    history = view.groups.get(group.signature)
    if history is None:
        return None
    if not history.recurring:
        return "new tonight"
    longest, shortest = history.streaks[0], history.streaks[-1]
    if history.new:
        return f"new on {history.new}, recurring on {history.recurring} (up to {ordinal(longest)} night)"
    if longest == shortest:
        return f"{ordinal(longest)} night in a row"
    return f"recurring: {ordinal(shortest)} to {ordinal(longest)} night in a row"


def digest_lines(view: HistoryView) -> tuple[str, ...]:
    """The digest-level lines: history unavailable, first run, or the instances fixed since the last run."""
    if view.unavailable:
        return (f"history unavailable ({view.unavailable})",)
    if view.first_run:
        return ("history: the first run recorded; nothing to compare with yet",)
    if not view.fixed:
        return ()
    count = len(view.fixed)
    names = [f.name or f.instance_id for f in view.fixed[:FIXED_NAMES_SHOWN]]
    more = f", and {count - FIXED_NAMES_SHOWN} more" if count > FIXED_NAMES_SHOWN else ""
    noun = "instance" if count == 1 else "instances"
    return (f"fixed since the last run: {count} {noun} ({', '.join(names)}{more})",)


def to_dict(view: HistoryView, digest: CommandDigest) -> dict[str, Any]:
    """The machine form, for a digest's JSON: the lines as shown and the counts behind them."""
    return {
        "scope": view.scope,
        "available": view.unavailable is None,
        "error": view.unavailable,
        "first_run": view.first_run,
        "lines": list(digest_lines(view)),
        "groups": [
            {
                "signature": group.signature,
                "line": group_line(view, group),
                "new": history.new,
                "recurring": history.recurring,
                "longest_streak": max(history.streaks, default=1),
            }
            for group in digest.groups
            if (history := view.groups.get(group.signature)) is not None and not view.first_run
        ],
        "instances": [
            {"instance_id": i, "streak": s, "new": s == 1} for i, s in sorted(view.streaks.items())
        ],
        "fixed": [{"instance_id": f.instance_id, "name": f.name, "after": f.after} for f in view.fixed],
    }
