"""The morning summary: what every account and Region reported over one night, from the night's
ledger (aws/ledger.py), and who reported nothing. Pure: entries in, one NightSummary out.

The ledger holds one entry per event the functions handled (a command's end, a window
execution's end, an event that could not be read), told or not; the summary adds them up per
account, merges the causes of the commands told, and sets the accounts expected (seen on an
earlier night, or listed by the Organization) against those that reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from instance_hygiene.digest.causes import CauseCount, merge_causes

SUMMARY_SCHEMA = "instance-hygiene/summary@1"
TOP_CAUSES = 5
EntryKind = Literal["command", "window", "unread"]
WINDOW_TROUBLE = frozenset({"FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED_OVERLAPPING"})
"""Window execution statuses that mean the night did not run as planned (notify/statuses.py tells
the same ones)."""
FAILED_IDS_KEPT = 2_000
"""Failed instance ids an entry keeps (~20 bytes each): beyond them, the count alone is added."""
ASSUMED_CADENCE = timedelta(hours=24)
"""How often an account seen on one night only is assumed to report (nightly windows)."""
GRACE = timedelta(hours=2)
"""How late after its cadence an account may report before it counts as silent: a window's
duration and a daylight-saving shift (a nightly window runs 23 or 25 hours apart then)."""
CAUSES_PER_ENTRY = 10
"""Causes a command's entry keeps (the worst first): an entry's size must not grow with the fleet."""


@dataclass(frozen=True)
class NightEntry:
    """One event a function handled, as the ledger keeps it."""

    at: datetime
    """The event's time (aware)."""
    account: str
    region: str
    kind: EntryKind
    ident: str
    """The command id, or the window execution id."""
    status: str
    name: str = ""
    """The document's name, or the window's name (its id when the name is not known)."""
    told: bool = False
    """Whether a notification was sent about it."""
    instances: int | None = None
    """Instances the command targeted; None for a window or when it is not known."""
    failed: int = 0
    """Instances it did not succeed on."""
    failed_ids: tuple[str, ...] = ()
    """Their ids, at most FAILED_IDS_KEPT (so that an instance failed by two commands counts once)."""
    causes: tuple[CauseCount, ...] = ()
    alias: str | None = None


@dataclass(frozen=True)
class AccountNight:
    account: str
    alias: str | None
    regions: tuple[str, ...]
    commands: int
    instances: int
    """Instances targeted: in each Region, the largest command's targets (the patch and the
    healthcheck of one window run on the same instances)."""
    failed: int
    """Instances some command did not succeed on, each once (by id, up to FAILED_IDS_KEPT)."""
    told: int
    windows_in_trouble: tuple[str, ...]
    """`<window> <STATUS>` for each execution that did not run as planned."""
    unread_regions: tuple[str, ...]

    @property
    def needs_attention(self) -> bool:
        return bool(self.failed or self.told or self.windows_in_trouble or self.unread_regions)


@dataclass(frozen=True)
class Silent:
    """An account (and Region, when known) expected to report that reported nothing."""

    account: str
    region: str | None
    alias: str | None = None
    last_seen: datetime | None = None
    """The last night it reported; None: never (listed by the Organization only)."""
    cadence: timedelta | None = None
    """How far apart its last two nights were; None: seen on one night only."""


@dataclass(frozen=True)
class Seen:
    """When an account and Region last reported, and how far apart its last two nights were."""

    last: datetime
    cadence: timedelta | None = None

    def overdue(self, at: datetime) -> bool:
        """Whether it should have reported again by `at`: its cadence (ASSUMED_CADENCE when not
        known) and GRACE after the last time it did."""
        return self.last + (self.cadence or ASSUMED_CADENCE) + GRACE < at


@dataclass(frozen=True)
class Expected:
    """Who should report: (account, Region) pairs seen on earlier nights, and the Organization's
    active accounts when the Organization could be listed."""

    seen: Mapping[tuple[str, str], Seen] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    organization: Mapping[str, str] | None = None
    """Account id -> account name; None when it could not be listed (single role, or no right)."""


@dataclass(frozen=True)
class Cause:
    reason: str
    outcome: str
    count: int
    next_step: str | None
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class NightSummary:
    start: datetime
    end: datetime
    night: str
    """YYYY-MM-DD of the night (its start's date in the summary's time zone)."""
    time_zone: str
    accounts: tuple[AccountNight, ...]
    causes: tuple[Cause, ...]
    causes_omitted: int
    silent: tuple[Silent, ...]
    never_reported: tuple[Silent, ...]
    organization_id: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def instances(self) -> int:
        return sum(a.instances for a in self.accounts)

    @property
    def failed(self) -> int:
        return sum(a.failed for a in self.accounts)

    @property
    def attention(self) -> tuple[AccountNight, ...]:
        return tuple(a for a in self.accounts if a.needs_attention)


def _instances(entries: Sequence[NightEntry]) -> int:
    """Per Region, the largest command's targets, summed: the patch and the healthcheck of a window
    (or a command and its retry) target the same instances, which must not count twice."""
    largest: dict[str, int] = {}
    for entry in entries:
        if entry.kind == "command" and entry.instances is not None:
            largest[entry.region] = max(largest.get(entry.region, 0), entry.instances)
    return sum(largest.values())


def _failed(entries: Sequence[NightEntry]) -> int:
    """Each failed instance once, by id; an entry that kept fewer ids than it failed adds the rest."""
    ids = {i for e in entries for i in e.failed_ids}
    return len(ids) + sum(max(0, e.failed - len(e.failed_ids)) for e in entries)


def _account(account: str, entries: Sequence[NightEntry], alias: str | None) -> AccountNight:
    commands = [e for e in entries if e.kind == "command"]
    return AccountNight(
        account=account,
        alias=next((e.alias for e in entries if e.alias), None) or alias,
        regions=tuple(sorted({e.region for e in entries})),
        commands=len({e.ident for e in commands}),
        instances=_instances(entries),
        failed=_failed(commands),
        told=sum(1 for e in entries if e.told),
        windows_in_trouble=tuple(
            f"{e.name or e.ident} {e.status} ({e.region})"
            for e in entries
            if e.kind == "window" and e.status in WINDOW_TROUBLE
        ),
        unread_regions=tuple(sorted({e.region for e in entries if e.kind == "unread"})),
    )


def _latest(entries: Iterable[NightEntry]) -> list[NightEntry]:
    """Each (account, Region, kind, id) once, its last status: a command told Failed and then read
    back as Success is not counted twice."""
    latest: dict[tuple[str, str, str, str], NightEntry] = {}
    for entry in sorted(entries, key=lambda e: e.at):
        latest[(entry.account, entry.region, entry.kind, entry.ident)] = entry
    return list(latest.values())


def night_causes(entries: Iterable[NightEntry], limit: int = TOP_CAUSES) -> tuple[tuple[Cause, ...], int]:
    """The night's causes across every account (digest/causes.merge_causes, as the window report
    merges its commands'): at most `limit`, and how many were left out."""
    causes, omitted = merge_causes(
        ((entry.account, cause) for entry in entries for cause in entry.causes), limit
    )
    return tuple(
        Cause(c.reason, c.outcome, c.count, c.next_step, accounts=c.sources) for c in causes
    ), omitted


def summarise(
    entries: Iterable[NightEntry],
    expected: Expected,
    *,
    start: datetime,
    end: datetime,
    night: str,
    time_zone: str,
    organization_id: str | None = None,
    notes: Sequence[str] = (),
) -> NightSummary:
    """The summary of the entries in [start, end), the accounts expected that reported nothing."""
    kept = _latest(e for e in entries if start <= e.at < end)
    by_account: dict[str, list[NightEntry]] = {}
    for entry in kept:
        by_account.setdefault(entry.account, []).append(entry)
    accounts = [
        _account(account, group, expected.aliases.get(account)) for account, group in by_account.items()
    ]
    # Worst first: not read, then the most instances failed, then by account id.
    accounts.sort(key=lambda a: (not a.unread_regions, not a.needs_attention, -a.failed, a.account))
    reported = {(e.account, e.region) for e in kept}
    # Silent: overdue by its own cadence (a weekly window is not missed on the other six nights).
    silent = tuple(
        Silent(account, region, expected.aliases.get(account), seen.last, seen.cadence)
        for (account, region), seen in sorted(expected.seen.items())
        if (account, region) not in reported and seen.overdue(end)
    )
    seen_accounts = {account for account, _ in expected.seen} | set(by_account)
    never = tuple(
        Silent(account, None, name or None)
        for account, name in sorted((expected.organization or {}).items())
        if account not in seen_accounts
    )
    causes, omitted = night_causes(kept)
    return NightSummary(
        start=start,
        end=end,
        night=night,
        time_zone=time_zone,
        accounts=tuple(accounts),
        causes=causes,
        causes_omitted=omitted,
        silent=silent,
        never_reported=never,
        organization_id=organization_id,
        notes=tuple(notes),
    )


ACCOUNTS_LISTED = 500
"""Accounts the machine form lists one by one (all are counted): the message keeps its size bound."""


def _stamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def to_dict(summary: NightSummary) -> dict[str, Any]:
    """The machine form (schema SUMMARY_SCHEMA)."""
    return {
        "schema": SUMMARY_SCHEMA,
        "kind": "summary",
        "night": summary.night,
        "time_zone": summary.time_zone,
        "start": _stamp(summary.start),
        "end": _stamp(summary.end),
        "organization_id": summary.organization_id,
        "totals": {
            "accounts": len(summary.accounts),
            "accounts_needing_attention": len(summary.attention),
            "instances": summary.instances,
            "failed": summary.failed,
            "silent": len(summary.silent),
            "never_reported": len(summary.never_reported),
        },
        "accounts": [
            {
                "account": a.account,
                "account_alias": a.alias,
                "regions": list(a.regions),
                "commands": a.commands,
                "instances": a.instances,
                "failed": a.failed,
                "notifications": a.told,
                "windows_in_trouble": list(a.windows_in_trouble),
                "not_read_in": list(a.unread_regions),
            }
            for a in summary.accounts[:ACCOUNTS_LISTED]
        ],
        "causes": [
            {
                "reason": c.reason,
                "outcome": c.outcome,
                "count": c.count,
                "next_step": c.next_step,
                "accounts": list(c.accounts),
            }
            for c in summary.causes
        ],
        "causes_omitted": summary.causes_omitted,
        "silent": [
            {
                "account": s.account,
                "region": s.region,
                "account_alias": s.alias,
                "last_seen": _stamp(s.last_seen),
                "cadence_hours": round(s.cadence.total_seconds() / 3600, 1) if s.cadence else None,
            }
            for s in summary.silent[:ACCOUNTS_LISTED]
        ],
        "never_reported": [
            {"account": s.account, "name": s.alias} for s in summary.never_reported[:ACCOUNTS_LISTED]
        ],
        "notes": list(summary.notes),
    }
