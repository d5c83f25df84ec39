"""Causes merged across reports: the window report's across its commands' groups, the morning
summary's across the accounts' nights. One merge and one ranking for both. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from instance_hygiene.digest.model import SEVERITY_ORDER
from instance_hygiene.explain.signature import signature


@dataclass(frozen=True)
class CauseCount:
    """A cause and how many instances it took: a group of a command's full report
    (instance-hygiene/digest@1 `groups[]`, digest/window's ReportGroup), or one of a night's causes
    as the ledger keeps it (digest/summary)."""

    reason: str
    outcome: str
    """One of SEVERITY_ORDER."""
    count: int
    next_step: str | None = None


@dataclass(frozen=True)
class MergedCause:
    reason: str
    """The first one seen of the reasons that share its signature."""
    outcome: str
    count: int
    next_step: str | None
    """The first next step any of them gives."""
    sources: tuple[str, ...]
    """Where it was seen (command ids, accounts), each once, in the order first seen."""


def outcome_rank(outcome: str) -> int:
    """The outcome's place in SEVERITY_ORDER (0 is the worst); an outcome it does not know last."""
    return SEVERITY_ORDER.index(outcome) if outcome in SEVERITY_ORDER else len(SEVERITY_ORDER)


def merge_causes(found: Iterable[tuple[str, CauseCount]], limit: int) -> tuple[tuple[MergedCause, ...], int]:
    """The (source, cause) pairs merged by outcome and reason signature (the product's one group per
    cause and outcome): worst outcome first, then the largest, then by reason; at most `limit`, and
    how many were left out."""
    merged: dict[tuple[str, str], list[tuple[str, CauseCount]]] = {}
    for source, cause in found:
        merged.setdefault((cause.outcome, signature(cause.reason)), []).append((source, cause))
    causes = [
        MergedCause(
            reason=members[0][1].reason,
            outcome=outcome,
            count=sum(c.count for _, c in members),
            next_step=next((c.next_step for _, c in members if c.next_step), None),
            sources=tuple(dict.fromkeys(source for source, _ in members)),
        )
        for (outcome, _), members in merged.items()
    ]
    causes.sort(key=lambda c: (outcome_rank(c.outcome), -c.count, c.reason))
    return tuple(causes[:limit]), max(0, len(causes) - limit)
