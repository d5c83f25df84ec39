"""The morning summary as subscribers read it: subject, e-mail text, chat JSON, digest JSON. Pure.

The e-mail answers, in this order: did every account report, which need attention and why, what
the night's top causes were across the Organization, and who reported nothing at all.
"""

from __future__ import annotations

import json

from instance_hygiene.digest.summary import AccountNight, NightSummary, Silent, to_dict
from instance_hygiene.render.command import Rendered, defang, inert, safe_subject

ACCOUNTS_SHOWN = 100
"""Accounts needing attention the e-mail lists one by one (the rest are counted; all are in the JSON)."""
QUIET_NAMED = 30
"""Accounts that went well, named on one line (the rest are counted)."""


def _n(value: int) -> str:
    return f"{value:,}"


def account_label(account: str, alias: str | None) -> str:
    return f"{defang(alias)} ({account})" if alias else account


def subject(summary: NightSummary) -> str:
    """`NIGHT <date>: <n> of <m> accounts need attention, <failed> of <instances> instances did not
    succeed, <k> silent`, or `NIGHT <date>: all <m> accounts patched and healthy`; cut to fit."""
    head = f"NIGHT {summary.night}"
    silent = len(summary.silent) + len(summary.never_reported)
    tail = f", {silent} silent" if silent else ""
    if not summary.accounts:
        return safe_subject(f"NOTHING REPORTED {head}: no account reported{tail}")
    attention = summary.attention
    if not attention:
        return safe_subject(f"{head}: all {len(summary.accounts)} accounts patched and healthy{tail}")
    return safe_subject(
        f"{head}: {len(attention)} of {len(summary.accounts)} accounts need attention, "
        f"{_n(summary.failed)} of {_n(summary.instances)} instances did not succeed{tail}"
    )


def account_line(a: AccountNight) -> str:
    """One account: where, how many instances, what went wrong."""
    where = f"{account_label(a.account, a.alias)} in {', '.join(a.regions)}"
    parts: list[str] = []
    if a.unread_regions:
        parts.append(f"NOT READ in {', '.join(a.unread_regions)} (the member role could not be assumed)")
    if a.instances:
        parts.append(
            f"{_n(a.failed)} of {_n(a.instances)} instances did not succeed"
            if a.failed
            else f"{_n(a.instances)} instances"
        )
    elif a.failed:
        parts.append(f"{_n(a.failed)} instances did not succeed")
    parts.extend(f"window {inert(w)}" for w in a.windows_in_trouble)
    if a.told:
        parts.append(f"{a.told} notification{'s' if a.told != 1 else ''} sent")
    return f"{where}: {'; '.join(parts) or 'reported'}"


def _silent_line(s: Silent) -> str:
    where = account_label(s.account, s.alias) + (f" in {s.region}" if s.region else "")
    if s.last_seen is None:
        return where
    every = (
        f"it reports every {s.cadence.total_seconds() / 3600:.0f} h"
        if s.cadence
        else "seen on one night only, so expected nightly"
    )
    return f"{where}: last reported {s.last_seen:%Y-%m-%d %H:%M} UTC ({every})"


def text(summary: NightSummary) -> str:
    window = (
        f"{summary.start:%Y-%m-%d %H:%M} to {summary.end:%Y-%m-%d %H:%M} UTC"
        f" (the night of {summary.night}, {summary.time_zone})"
    )
    scope = f" across the Organization {summary.organization_id}" if summary.organization_id else ""
    lines = [
        subject(summary),
        "",
        f"Events from {window}{scope}.",
        f"{len(summary.accounts)} accounts reported, {_n(summary.instances)} instances, "
        f"{_n(summary.failed)} did not succeed; {len(summary.silent)} stopped reporting"
        + (f", {len(summary.never_reported)} never reported." if summary.never_reported else "."),
    ]
    attention = summary.attention
    if attention:
        lines += ["", "NEEDS ATTENTION"]
        lines += [f"  - {account_line(a)}" for a in attention[:ACCOUNTS_SHOWN]]
        if len(attention) > ACCOUNTS_SHOWN:
            lines.append(f"  ... {len(attention) - ACCOUNTS_SHOWN} more accounts in the digest JSON")
    if summary.causes:
        lines += ["", "TOP CAUSES"]
        for index, cause in enumerate(summary.causes, 1):
            accounts = f"{len(cause.accounts)} account{'s' if len(cause.accounts) != 1 else ''}"
            lines.append(f"  {index}. {_n(cause.count)} {cause.outcome}, {accounts}: {inert(cause.reason)}")
            if cause.next_step:
                lines.append(f"     Next step: {inert(cause.next_step)}")
        if summary.causes_omitted:
            lines.append(f"  ... {summary.causes_omitted} more causes in the commands' notifications")
    if summary.silent:
        lines += ["", "REPORTED NOTHING TONIGHT (seen on an earlier night)"]
        lines += [f"  - {_silent_line(s)}" for s in summary.silent[:ACCOUNTS_SHOWN]]
        lines.append(
            "  Check that its window ran (the maintenance window's history in that account and Region)"
            " and that its member stack's forwarding rule reaches the central bus"
            " (the ForwardDeadLetterQueue there holds what did not)."
        )
    if summary.never_reported:
        lines += ["", "NEVER REPORTED (accounts of the Organization)"]
        named = [_silent_line(s) for s in summary.never_reported[:QUIET_NAMED]]
        rest = len(summary.never_reported) - len(named)
        lines.append("  " + ", ".join(named) + (f" and {rest} more" if rest > 0 else ""))
        lines.append("  An account without a member stack sends nothing; deploy one where instances run.")
    quiet = [a for a in summary.accounts if not a.needs_attention]
    if quiet:
        named = [account_label(a.account, a.alias) for a in quiet[:QUIET_NAMED]]
        rest = len(quiet) - len(named)
        lines += [
            "",
            f"PATCHED AND HEALTHY ({len(quiet)})",
            "  " + ", ".join(named) + (f" and {rest} more" if rest else ""),
        ]
    if summary.notes:
        lines += ["", "NOTES", *(f"  - {inert(note)}" for note in summary.notes)]
    return "\n".join(lines) + "\n"


def render(summary: NightSummary) -> Rendered:
    # Imported here: render.chat imports this module's account_line for its lines.
    from instance_hygiene.render.chat import summary_chat  # noqa: PLC0415

    return Rendered(
        subject=subject(summary),
        text=text(summary),
        chat=summary_chat(summary),
        machine=json.dumps(to_dict(summary), ensure_ascii=False),
        trimmed=False,
    )
