"""Section 10 of docs/benchmarks.md: across an AWS Organization (issue 16), from `org.py`'s
measurements, `org_model`'s Organization and `org_bucket`'s central bucket question. Every number
in the text is computed from the run."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from bench import org_bucket
from bench import org_text as text
from bench.aws_model import (
    CROSS_REGION_SECONDS,
    LATENCY_SECONDS,
    ORG_FREE,
    ORG_PRICE_NOTES,
    ORG_PRICES,
    QUOTAS,
    cpu_factor,
)
from bench.org import (
    COMMAND_COLD,
    COMMAND_SINGLE,
    COMMAND_WARM,
    VARIANTS,
    WINDOW_CENTRAL,
    WINDOW_SINGLE,
    OrgBench,
)
from bench.org_model import (
    ACCOUNTS,
    AT_ONCE_SECONDS,
    COMMANDS_PER_NIGHT,
    NIGHTS_PER_MONTH,
    SAME_MINUTE_SECONDS,
    SPREAD_SECONDS,
    WINDOW_EVENTS_PER_NIGHT,
    Message,
    NightTotals,
    central_night,
    concurrency,
    limits,
    messages,
    single_night,
    totals,
)
from instance_hygiene.digest.collect import LOG_READ_WORKERS
from local.lambda_env import COMMAND_FUNCTION, WINDOW_FUNCTION, function_spec

Table = Callable[[Sequence[str], Sequence[Sequence[object]]], str]
Row = tuple[object, ...]
BASELINE = {COMMAND_COLD: COMMAND_SINGLE, COMMAND_WARM: COMMAND_SINGLE, WINDOW_CENTRAL: WINDOW_SINGLE}
"""What each central-role variant is compared with."""
NEW_LATENCIES = ("sts:AssumeRole", "sts:GetCallerIdentity", "organizations:DescribeOrganization")
EXPLAINED = frozenset({*NEW_LATENCIES, "ssm:DescribeMaintenanceWindows", "ssm:GetMaintenanceWindow"})
"""The calls central role is expected to add (the role, the membership check) or to trade (a member's
window is found by its name, which gives its time zone too): any other difference is a finding, and
the text says NO."""
PER_MESSAGE = (
    "Message",
    "Function (MemorySize)",
    "Handler here",
    "Compute here",
    "vs single role here",
    "Calls",
    "In the event's account",
    "Clients created",
    "Modelled on AWS",
    "Added on AWS",
    "Message bytes",
)
CONCURRENCY = ("Windows end", "Function", "Messages", "Arrival rate", "Mean duration", "Concurrency")
LIMITS = ("Limit", "Quota", "Source", "Same minute", "Headroom", "All at once", "Headroom")
NIGHTS = (
    "1 region, role reused",
    "1 region, every role cold",
    "2 regions, every role cold",
    "Single-role stacks",
)


def _per_message(bench: OrgBench, kinds: dict[str, Message], table: Table) -> str:
    rows: list[Row] = []
    for name in VARIANTS:
        v, seconds, base = bench.variants[name], kinds[name].seconds, BASELINE.get(name)
        rows.append(
            (
                name,
                f"{v.function} ({v.memory_mb} MB)",
                text.ms(v.wall),
                text.ms(v.compute_median),
                f"{bench.ratio(name, base):.2f}x" if base else "",
                sum(v.operations.values()),
                v.reading_calls,
                max(v.clients_created, default=0),
                text.ms(seconds),
                text.ms(seconds - kinds[base].seconds) if base else "",
                f"{max(v.publish_bytes, default=0):,}",
            )
        )
    return table(PER_MESSAGE, rows)


def _yes(ok: bool, otherwise: str = "NO") -> str:
    return "yes" if ok else otherwise


def _calls_diff(bench: OrgBench, table: Table) -> str:
    variants = bench.variants
    ops = sorted({op for v in variants.values() for op in v.operations})
    differ = [op for op in ops if len({v.operations.get(op, 0) for v in variants.values()}) > 1]
    rows = [(op, *(variants[name].operations.get(op, 0) for name in VARIANTS)) for op in differ]
    single, cold, warm = (variants[n].operations for n in (COMMAND_SINGLE, COMMAND_COLD, COMMAND_WARM))
    added_cold = {op: n - single.get(op, 0) for op, n in cold.items() if n > single.get(op, 0)}
    added_warm = {op: n - single.get(op, 0) for op, n in warm.items() if n > single.get(op, 0)}
    removed = {op: n - cold.get(op, 0) for op, n in single.items() if n > cold.get(op, 0)}
    unexplained = sorted(
        {
            op
            for a, b in BASELINE.items()
            for op in ops
            if variants[a].operations.get(op, 0) != variants[b].operations.get(op, 0) and op not in EXPLAINED
        }
    )
    steady = sum(v.differing for v in variants.values())
    checks = (
        f"Every other call is the same in both roles: {_yes(not unexplained, 'NO: ' + str(unexplained))}; "
        f"every run of a variant made the same calls: {_yes(not steady, f'NO ({steady} runs differ)')}; "
        f"one message per run: {_yes(all(set(v.publishes) == {1} for v in variants.values()))}."
    )
    describe = (
        "on every message, the warm role's too (`accounts.event_clients` checks membership per event)"
        if warm.get("organizations:DescribeOrganization")
        else "once per role and container in an hour (`clients.member_organization_id` keeps the answer)"
    )
    fewer = (
        f" In central role the command function makes {text.calls(removed)} fewer: a member's window is "
        "not the stack's own, so it is found by the name in the command's comment "
        "(`aws.night.commented_window`), and DescribeMaintenanceWindows gives its time zone too."
        if removed
        else ""
    )
    trust = (
        f"STS decided {bench.assume_role_allowed + bench.assume_role_denied} AssumeRoles of the member role "
        f"against its trust policy: {bench.assume_role_allowed} allowed, {bench.assume_role_denied} denied "
        f"({', '.join(bench.trust_reasons) or 'none'})."
    )
    clients = max(variants[COMMAND_COLD].clients_created, default=0)
    return f"""{table(("Operation", *VARIANTS), rows)}

A cold role adds {text.calls(added_cold)}; a warm role adds {text.calls(added_warm)}.{fewer}
DescribeOrganization is called {describe}; AssumeRole, GetCallerIdentity and the member's
{clients} clients only when the role is new to the container. {checks} {trust}
"""


def _adds(seconds: float) -> str:
    """A difference in modelled time, said as what it is (the calls table says why)."""
    return f"adds {text.ms(seconds)}" if seconds >= 0 else f"saves {text.ms(-seconds)}"


def _night_rows(columns: Sequence[NightTotals]) -> list[Row]:
    def row(label: str, value: Callable[[NightTotals], object]) -> Row:
        return (label, *(value(t) for t in columns))

    def calls(operation: str) -> Callable[[NightTotals], object]:
        return lambda t: f"{t.count(operation):,}"

    return [
        row("Member stacks (account x region), one member role each", lambda t: f"{t.night.stacks:,}"),
        row(
            "Events forwarded to the central bus", lambda t: f"{t.night.total:,}" if t.night.cold else "none"
        ),
        row("Messages (Lambda invocations, SNS publishes)", calls("sns:Publish")),
        row("... of which assume their member role", lambda t: f"{t.night.cold:,}"),
        row("sts:AssumeRole (free)", calls("sts:AssumeRole")),
        row(
            "sts:GetCallerIdentity (free; once per container, counted per cold message)",
            calls("sts:GetCallerIdentity"),
        ),
        row("organizations:DescribeOrganization (free)", calls("organizations:DescribeOrganization")),
        row("Modelled Lambda time", lambda t: text.ms(t.lambda_seconds)),
        row("Lambda GB-seconds", lambda t: f"{t.gb_seconds:,.1f}"),
        row("S3 GETs", calls("s3:GetObject")),
        row("KMS decrypts (upper bound: one per GET; bucket keys cut this)", calls("s3:GetObject")),
        row("DynamoDB write units", lambda t: f"{t.dynamodb_write_units:,}"),
        row("Cost per night", lambda t: text.usd(t.dollars)),
        row(f"Cost per month ({NIGHTS_PER_MONTH} nights)", lambda t: text.usd(t.dollars * NIGHTS_PER_MONTH)),
    ]


def _cost_rows(columns: Sequence[NightTotals]) -> list[Row]:
    items = sorted({item for t in columns for item in t.cost}, key=lambda i: -columns[1].cost.get(i, 0.0))
    return [(item, *(text.usd(t.cost.get(item, 0.0)) for t in columns)) for item in items]


def _concurrency_rows(kinds: dict[str, Message]) -> list[Row]:
    cases = (
        ("same minute, 1 region", 1, SAME_MINUTE_SECONDS),
        ("spread over an hour, 1 region", 1, SPREAD_SECONDS),
        ("same minute, 2 regions", 2, SAME_MINUTE_SECONDS),
    )
    return [
        (label, c.function, f"{c.messages:,}", f"{c.rate:.3f}/s", text.ms(c.seconds), f"{c.in_flight:.2f}")
        for label, regions, spread in cases
        for c in concurrency(central_night(regions, reused=False), kinds, spread)
    ]


def _limits_rows(kinds: dict[str, Message]) -> list[Row]:
    night = central_night(1, reused=False)
    rows: list[Row] = []
    for limit in limits(night, kinds, totals(night, kinds)):
        quota = QUOTAS[limit.quota]
        rows.append(
            (
                quota.name + (f", {limit.where}" if limit.where else ""),
                f"{quota.value:,.0f} {quota.unit}",
                quota.note,
                text.peak(limit.minute_peak),
                text.times(limit.headroom_minute),
                text.peak(limit.at_once_peak),
                text.times(limit.headroom_at_once),
            )
        )
    return rows


def _assumption_rows(bench: OrgBench) -> list[Row]:
    memory = {f: function_spec(f).memory_mb for f in (COMMAND_FUNCTION, WINDOW_FUNCTION)}
    return [
        ("Accounts", f"{ACCOUNTS}", "issue 16"),
        (
            "Instances per account and region",
            f"{bench.instances:,}, {bench.failed} failing",
            "issue 16; measured",
        ),
        (
            "Messages per account and region a night",
            f"{COMMANDS_PER_NIGHT} commands + {WINDOW_EVENTS_PER_NIGHT} window execution, all failed",
            "the template's window: patch and healthcheck tasks; the healthcheck modelled as the patch",
        ),
        *(
            (f"Latency of {op}", text.ms(LATENCY_SECONDS[op]), "as we know it, not measured")
            for op in NEW_LATENCIES
        ),
        (
            "Latency added by a cross-region call",
            text.ms(CROSS_REGION_SECONDS),
            "as we know it (eu-west-2 to us-east-1)",
        ),
        *(
            (
                ORG_PRICE_NOTES[k],
                f"${v:.8f}".rstrip("0"),
                "assumption (as we know it), check the pricing page",
            )
            for k, v in ORG_PRICES.items()
        ),
        (
            "S3 reads in flight on AWS",
            f"{LOG_READ_WORKERS} (the function's read workers) for every variant",
            "`collect.LOG_READ_WORKERS`; in moto a run reaches 3-4, by chance of threads",
        ),
        (
            "CPU share",
            ", ".join(f"{f} x {cpu_factor(mb):.2f} ({mb} MB)" for f, mb in memory.items()),
            "compute measured here x 1,769 / MemorySize (template.yaml)",
        ),
    ]


def _intro(bench: OrgBench) -> str:
    memory = {f: function_spec(f).memory_mb for f in (COMMAND_FUNCTION, WINDOW_FUNCTION)}
    mix = ", ".join(f"{name} {count}" for name, count in bench.kinds.items())
    return f"""A member account and the central account in moto, in one process (`bench/org.py`,
`bench/org_member.py`): an Organization with one member created in it, its member stack's log key,
bucket, window and MemberReadRole as template.yaml defines them, and the same fleet in both accounts:
{bench.instances:,} instances, {bench.failed} failing in the bench's mix ({mix}); one AWS-RunPatchBaseline
writes {bench.objects:,} objects, {text.size(bench.log_bytes)} (the central account's:
{bench.central_objects:,}, {text.size(bench.central_log_bytes)}). The real handlers, {bench.rounds}
interleaved rounds after one unmeasured run of each (a warm container): the command function in single
role on the central account's own command, then in central role on a member command with no role in
the container ("cold role") and on the member's other command right after ("warm role"); the window
function on a FAILED window execution in each role (a window message is always cold: one per account
a night). The functions sign as a role session named as CloudFormation names SAM's role, with STS's
role trust enforced (`local.standin.sts`). Medians; "vs single role" is the median of per-round
ratios. "In the event's account": calls that read it (SSM, EC2, IAM, Organizations, S3 logs), with
the member role in central role. Modelled on AWS as in section 6, with each function's MemorySize
from template.yaml: {memory[COMMAND_FUNCTION]} MB for the command function (its own setting; Globals
says 256 MB), {memory[WINDOW_FUNCTION]} MB for the window function. Lambda's own cold start (init) is
not in these durations (section 4 measures the imports)."""


def section(bench: OrgBench | None) -> str:
    if bench is None or not bench.variants:
        return ""
    from bench.benchmarks_doc import table  # noqa: PLC0415 - benchmarks_doc imports this module

    kinds = messages(bench)
    columns = (
        totals(central_night(1, reused=True), kinds),
        totals(central_night(1, reused=False), kinds),
        totals(central_night(2, reused=False), kinds),
        totals(single_night(1), kinds),
    )
    cold, warm, base = (kinds[n].seconds for n in (COMMAND_COLD, COMMAND_WARM, COMMAND_SINGLE))
    used = concurrency(columns[1].night, kinds, SAME_MINUTE_SECONDS)
    command = next(c for c in used if c.function == COMMAND_FUNCTION)
    minute = sum(c.in_flight for c in used)
    quota = QUOTAS["lambda_concurrency"].value
    return f"""## 10. Across an AWS Organization (issue 16)

{_intro(bench)}

{_per_message(bench, kinds, table)}

A member's failed command takes {text.ms(cold)} modelled on AWS with a cold role and {text.ms(warm)}
with a warm one, against {text.ms(base)} in single role: the cross-account path
{_adds(cold - base)} the first time and {_adds(warm - base)} after. Calls that differ:

{_calls_diff(bench, table)}
### The Organization, modelled

{ACCOUNTS} accounts x {bench.instances:,} instances = {ACCOUNTS * bench.instances:,} instances,
{bench.failed / bench.instances:.0%} failing, one region each unless the column says two (a second
region doubles the member stacks, roles, events and messages, all in the central stack's region).
"Role reused": each account's second command finds the role its first assumed (same container);
"every role cold": none does. "Single-role stacks": the same fleet with a single-role stack in every
account, no Organization. {ORG_FREE}.

{table(("Per night", *NIGHTS), _night_rows(columns))}

Cost per night by item (one e-mail subscription, as in section 6):

{table(("Item", *NIGHTS), _cost_rows(columns))}

Concurrency used (Little's law: arrival rate x mean modelled duration, every role cold):

{table(CONCURRENCY, _concurrency_rows(kinds))}

### Where the limits sit

Peak per second when every window ends in the same minute (for Lambda: executions in flight) and,
as an upper bound, when every event of the night arrives in the same {AT_ONCE_SECONDS:.0f} s. STS counts
AssumeRole and GetCallerIdentity, all the central account's. KMS: one decrypt per GET at most (the
template turns bucket keys on, which cut them). Quotas are as we know them: none can be checked
offline.

{table(LIMITS, _limits_rows(kinds))}

The same-minute night uses {minute:.1f} concurrent executions of the {quota:,.0f} a region has by
default: {text.times(quota / minute)} headroom, and two regions halve it (the central stack is in one
region). A NotifierReservedConcurrency below {math.ceil(command.in_flight)} (the command function's share)
would make that night wait in Lambda's queue, not fail.

{org_bucket.subsection(bench, kinds, table)}
Assumptions of this section (the rest are section 6's):

{table(("Assumption", "Value", "Source"), _assumption_rows(bench))}
"""
