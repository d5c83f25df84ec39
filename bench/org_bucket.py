"""Issue 16's central log bucket question, chosen by measurement: (a) today, each member keeps its
own KMS-encrypted log bucket in its region and the central function reads it through the member
role; (b) one central bucket with a prefix per account.

The member role is needed either way (ListCommandInvocations, GetMaintenanceWindowExecution,
DescribeInstances... are the member account's), so (b) can move only the S3 reads of the command
output (and the KMS decrypts S3 makes for them). From `org.py`'s measured calls and bytes and the
scenario's objects, `org_model`'s night and `aws_model`'s stated assumptions: the calls needing the
member's credentials, the AssumeRoles, the bytes that cross regions when accounts run in two, what
that costs and adds in latency, and a verdict computed from those numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench import org_text as text
from bench.aws_model import CROSS_REGION_SECONDS, ORG_PRICES, PRICES
from bench.org import COMMAND_COLD, WINDOW_CENTRAL, OrgBench
from bench.org_model import ACCOUNTS, COMMANDS_PER_NIGHT, Message, central_night, read_workers, totals

Table = Callable[[Sequence[str], Sequence[Sequence[object]]], str]


@dataclass(frozen=True)
class BucketOption:
    """(a) each member's own log bucket, read through the member role, or (b) one central bucket."""

    name: str
    command_member_calls: int
    """Calls of one command message that need the member's credentials."""
    window_member_calls: int
    assume_roles: tuple[int, int]
    """AssumeRoles a night (role reused, every role cold), one region."""
    written_bytes: int
    """Log bytes the instances write a night (one region), into whichever bucket."""
    uploads_cost: float
    """The instances' S3 PUTs a night (one region), whichever bucket they go to."""
    cross_region_bytes: int
    """Bytes crossing regions a night with every account in two regions (the central in one)."""
    requests_cost: float
    """The functions' S3 LIST, GET, PUT and KMS requests a night, one region (the same either way)."""
    added_seconds: float
    """Modelled latency a command message of a member in another region adds (cross-region calls)."""

    @property
    def transfer_cost(self) -> float:
        return self.cross_region_bytes / 1e9 * ORG_PRICES["inter_region_gb"]


def bucket_options(bench: OrgBench, kinds: dict[str, Message]) -> tuple[BucketOption, BucketOption]:
    cold = bench.variants[COMMAND_COLD]
    window = bench.variants[WINDOW_CENTRAL]
    log_calls = sum(cold.log_calls.values())
    best = totals(central_night(1, reused=True), kinds)
    worst = central_night(1, reused=False)
    stacks = ACCOUNTS
    commands = COMMANDS_PER_NIGHT * stacks
    written = bench.log_bytes * commands
    uploads = bench.objects * commands * PRICES["s3_put_list"]
    requests = sum(best.cost.get(k, 0.0) for k in ("S3 GET", "S3 LIST/PUT", "KMS (upper bound)"))
    other_region = commands  # two regions: the stacks of the second are as many as of the first
    gets, lists = cold.log_calls.get("GetObject", 0), cold.log_calls.get("ListObjectsV2", 0)
    non_s3 = cold.reading_calls - log_calls
    s3_rounds = lists + math.ceil(gets / read_workers(cold))
    roles = (best.night.cold, worst.cold)
    return (
        BucketOption(
            "(a) member buckets, through the member role",
            cold.reading_calls,
            window.reading_calls,
            roles,
            written,
            uploads,
            cold.log_read_bytes * other_region,
            requests,
            (non_s3 + s3_rounds) * CROSS_REGION_SECONDS,
        ),
        BucketOption(
            "(b) one central bucket, a prefix per account",
            non_s3,
            window.reading_calls,
            roles,
            written,
            uploads,
            written,
            requests,
            non_s3 * CROSS_REGION_SECONDS,
        ),
    )


def _rows(a: BucketOption, b: BucketOption) -> list[tuple[object, ...]]:
    def roles(option: BucketOption) -> str:
        return f"{option.assume_roles[0]:,} to {option.assume_roles[1]:,}"

    def row(label: str, value: Callable[[BucketOption], object]) -> tuple[object, ...]:
        return (label, value(a), value(b))

    return [
        row("Calls of a command message needing the member's credentials", lambda o: o.command_member_calls),
        row("... of a window message", lambda o: o.window_member_calls),
        row("AssumeRoles per night (1 region)", roles),
        row("Log bytes the instances write per night (1 region)", lambda o: text.size(o.written_bytes)),
        row("Bytes crossing regions per night, 1 region", lambda o: "0"),
        row("... every account in 2 regions", lambda o: text.size(o.cross_region_bytes)),
        row("The instances' uploads (S3 PUT) per night, 1 region", lambda o: text.usd(o.uploads_cost)),
        row("The functions' S3 and KMS requests per night, 1 region", lambda o: text.usd(o.requests_cost)),
        row("Transfer per night, 2 regions", lambda o: text.usd(o.transfer_cost)),
        row("Latency a command message from another region adds", lambda o: text.ms(o.added_seconds)),
        (
            "Needs besides",
            "the member role (the member stack makes it)",
            "the same member role, plus: a bucket policy letting the Organization write "
            "(aws:PrincipalOrgID), each account only under its prefix; a KMS key policy open to the "
            "Organization (GenerateDataKey for every member's instances); every member's instance "
            "profile writing cross-account; the members' operators reading their logs in another account",
        ),
    ]


def verdict(bench: OrgBench, kinds: dict[str, Message], a: BucketOption, b: BucketOption) -> str:
    """The choice, and why, from the numbers."""
    cold = bench.variants[COMMAND_COLD]
    moved = a.command_member_calls - b.command_member_calls
    saved_roles = a.assume_roles[1] - b.assume_roles[1]
    saved = a.added_seconds - b.added_seconds
    cheaper = a.transfer_cost <= b.transfer_cost and a.requests_cost <= b.requests_cost
    choice = "(a), each member's own bucket" if saved_roles <= 0 and cheaper else "(b), the central bucket"
    ratio = b.cross_region_bytes / a.cross_region_bytes if a.cross_region_bytes else math.inf
    night = totals(central_night(1, reused=False), kinds)
    gets = night.count("s3:GetObject")
    uploads = (
        "more than the whole notification path's night"
        if a.uploads_cost > night.dollars
        else "less than the notification path's night"
    )
    return (
        f"**Verdict: {choice}.** (b) would move {moved} of the {a.command_member_calls} calls a command "
        f"message makes in the member account (its S3 listing and reads: {text.calls(cold.log_calls)}, "
        f"{moved / a.command_member_calls:.0%}) to the function's own credentials, and none of a window "
        f"message's; it would save {max(0, saved_roles)} of the {a.assume_roles[0]:,} to "
        f"{a.assume_roles[1]:,} AssumeRoles a night, because the SSM, EC2, IAM and Organizations reads "
        "stay in the member account. In one region both make the same requests: the instances' uploads "
        f"({text.usd(a.uploads_cost)} a night, {uploads}, {text.usd(night.dollars)}) and the functions' "
        f"reads ({text.usd(a.requests_cost)}). With every account in two regions, (b) carries every log "
        f"byte the other region's instances write across regions ({text.size(b.cross_region_bytes)}, "
        f"{text.usd(b.transfer_cost)} a night) where (a) carries only what the function reads "
        f"({text.size(a.cross_region_bytes)}, {text.usd(a.transfer_cost)}): {text.times(ratio)} the bytes. "
        f"(b) would save {text.ms(saved)} of modelled latency per command message from another region, "
        f"would put all {gets:,} decrypts of a night (at most: one per GET, without bucket keys) on one "
        f"key's account instead of {gets // ACCOUNTS:,} on each member's, and needs the policies in the "
        "last row; the member role it cannot remove already gives (a) everything it reads."
    )


def subsection(bench: OrgBench, kinds: dict[str, Message], table: Table) -> str:
    a, b = bucket_options(bench, kinds)
    return f"""### A central log bucket instead of the members' (choose by measurement)

Today (a) each member keeps its KMS-encrypted log bucket in its region and the central function reads
it through the member role; (b) would be one central bucket with a prefix per account. Only S3 (and the
KMS decrypts S3 makes for it) would move: the rest of what a message reads is in the member account.
The latency row counts one cross-region round trip ({text.ms(CROSS_REGION_SECONDS)}) per call a message
makes into another region (IAM and Organizations, whose endpoints are global, too) and the S3 reads in
rounds of the function's read workers.

{table(("", "(a) member buckets", "(b) central bucket"), _rows(a, b))}

{verdict(bench, kinds, a, b)}
"""
