"""Issue 11's part of docs/benchmarks.md: its targets table and its section."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from bench import coldstart, scale, scan_speed
from bench.aws_model import CPU_FACTOR
from bench.results import Results
from bench.stack import FUNCTION_MEMORY_MB
from bench.targets import (
    BUDGET,
    DEDUPE_RATIO_TARGET,
    IMPORT_RATIO_TARGET,
    SCALE_SECONDS_TARGET,
    SCAN_RATIO_TARGET,
    judge_issue11,
)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    if seconds < 0.01:
        return f"{seconds * 1000:.3f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def summary(results: Results) -> str:
    rows = [(v.target, v.measured, f"**{v.met}**") for v in judge_issue11(results)]
    if not rows:
        return ""
    return f"""## Targets (issue 11: explanations that hold on real logs, at the speed of a scan)

A bare scan is {scan_speed.BARE_SCAN_DEFINITION}. Ratios are medians of per-round ratios measured in
this run (section 8), never absolute times.

{_table(("Target", "Measured in this run", "Verdict"), rows)}
"""


def _scan_part(scan: scan_speed.ScanVsSummarise | None) -> str:
    if scan is None or not scan.kinds:
        return ""
    rows = [
        (
            k.name,
            f"{k.log_bytes:,}",
            f"{k.bytes_read:,}",
            k.lines_kept,
            _ms(statistics.median(k.summarise)),
            _ms(statistics.median(k.scan)),
            f"{k.ratio:.1f}x",
            k.reason,
        )
        for k in scan.kinds
    ]
    table = _table(
        (
            "Failure kind",
            "Log bytes",
            "Bytes read",
            "Lines the bare scan keeps",
            "summarise_failure",
            "Bare scan",
            "Ratio (per round)",
            "Reason the summary gives",
        ),
        rows,
    )
    return f"""### Summarising against a bare scan

One failed instance's streams, each failing stdout {scan_speed.SCAN_LOG_BYTES:,} B (the kind's real log
at the end, progress lines before it), cut into a {BUDGET // 4 // 1024} KiB head and a
{BUDGET * 3 // 4 // 1024} KiB tail as the function reads them (`plan_ranges`, `decode`); the
Windows Update kind adds its short stderr. Timed from the bytes read: `decode` plus
`summarise_failure` with micro.py's arguments, against the bare scan of the same chunks (the mean
of {scan_speed.SCAN_REPEATS} calls per round). {scan.rounds} interleaved rounds (the order alternates),
each on a copy of the log never summarised before (its own instance line and tokens), so a cache of
summaries cannot make a round cheaper. Target: at most {SCAN_RATIO_TARGET:.0f}x, on the worst kind.

{table}
"""


def _scale_part(at: scale.AtScale | None) -> str:
    if at is None or not at.points:
        return ""
    rows = [
        (
            f"{p.failed:,}",
            f"{p.distinct_logs:,}",
            f"{p.seed_seconds:.1f} s",
            _ms(p.wall),
            _ms(p.compute),
            _ms(p.in_calls),
            f"{p.operations.get('s3:GetObject', 0):,}",
            f"{p.get_bytes:,}",
            f"{p.modelled:,.0f} s",
            "yes" if p.partial else "no",
            f"{p.not_from_s3:,}",
            f"{p.status_only:,}",
            f"{p.without_excerpt:,}",
            p.groups,
            p.error or "",
        )
        for p in sorted(at.points, key=lambda p: p.failed)
    ]
    table = _table(
        (
            "Failed instances",
            "Distinct logs",
            "Seeded in",
            "Handler here",
            "Compute",
            "In calls",
            "GETs",
            "Bytes read",
            "Modelled on AWS",
            "Partial",
            "Not from their S3 log",
            "Reason from status only",
            "No excerpt",
            "Groups",
            "Error",
        ),
        rows,
    )
    largest = max(at.points, key=lambda p: p.failed)
    per_failure = largest.compute / largest.failed
    by_call = at.calls_at_target()
    calls = sum(by_call.values())
    allowed = (SCALE_SECONDS_TARGET - calls) / CPU_FACTOR / at.target
    biggest = ", ".join(
        f"{op.split(':')[1]} {seconds:.1f} s"
        for op, seconds in sorted(by_call.items(), key=lambda i: -i[1])[:4]
    )
    scaled = f"At {at.target:,} " if largest.failed == at.target else f"Scaled linearly to {at.target:,}, "
    mode = ""
    if at.quick:
        mode = (
            f" **Quick run: {largest.failed:,} failed instances, not {at.target:,}**; the estimate "
            f"scales them proportionally (fixed calls included, so it overstates)."
        )
    elif at.extrapolated:
        mode = (
            f" **Extrapolated, not measured**: at the pace of the {at.points[0].failed:,} run, {at.target:,} "
            f"would have taken about {at.projected_seconds or 0:,.0f} s here (over "
            f"{scale.TOO_LONG_SECONDS:.0f} s), so the line through the two runs gives the estimate."
        )
    return f"""### {at.target:,} failed instances, every log a full budget

One AWS-RunPatchBaseline command, every instance failed; every failed stdout exactly {BUDGET:,} B (one
GET, the whole budget), in the four kinds above in turn, each instance's copy with its own instance
line and random tokens (no two alike: "distinct logs"). The real handler, as in section 2, with a
context deadline of {at.deadline:,.0f} s so that the emulator's time here cannot cut the digest (on
AWS the modelled duration is what meets the {FUNCTION_MEMORY_MB} MB function's timeout). "From its
log" is read from the digest's machine form (the full report in S3, the message is trimmed): the
failure's log source is "s3" with bytes read, and its reason is not the one `summarise_failure`
gives from status and exit code alone.{mode}

{table}

Modelled on AWS at {at.target:,}: **{at.modelled_at_target():,.0f} s** ({at.how}; target
{SCALE_SECONDS_TARGET:.0f} s). Here the function computed {per_failure * 1000:.1f} ms per failure at
{largest.failed:,}. {scaled}the model's calls alone take about {calls:.0f} s
({biggest}; the GETs at the {largest.get_concurrency} in flight measured, the other calls one after
another), which leaves {max(0.0, allowed) * 1000:.2f} ms of computing per failure here (x
{CPU_FACTOR:.2f} on a {FUNCTION_MEMORY_MB} MB function) for {SCALE_SECONDS_TARGET:.0f} s.
"""


def _dedupe_part(d: scan_speed.Dedupe | None) -> str:
    if d is None or not d.identical:
        return ""
    rows = [
        (
            label,
            f"{d.instances:,}",
            f"{1 if label == 'identical' else d.distinct_different:,}",
            f"{statistics.median(times):.2f} s",
            _ms(statistics.median(times) / d.instances),
            d.groups.get(label, 0),
        )
        for label, times in (("identical", d.identical), ("different", d.different))
    ]
    quick = f" Quick run: {d.instances:,} instances, not 1,000." if d.instances < 1000 else ""
    return f"""### Identical failures

`report.build_digest` (listing, reads, summarising, grouping) over {d.instances:,} failed instances of
one command, through the real `S3Logs` on an in-memory S3 client (no emulator): every failed stdout
the same {d.log_bytes:,} B package-conflict log, byte for byte, against each instance's own copy. Each
round uses texts the process has not seen, so only a cache within one command can help;
{d.rounds} round(s), the order alternating. Ratio (median of per-round ratios): **{d.ratio:.3f}x**
(target: at most {DEDUPE_RATIO_TARGET}x).{quick}

{_table(("Logs", "Failed instances", "Distinct logs", "build_digest", "Per failure", "Groups"), rows)}
"""


def _import_part(results: Results) -> str:
    cold = results.cold
    worst = cold.worst_handler() if cold else None
    if cold is None or worst is None:
        return ""
    rows = [
        (h, f"{cold.median(h) * 1000:.0f} ms", f"{cold.ratio(h):.2f}x")
        for h in (*coldstart.HANDLERS, coldstart.XRAY)
        if h in cold.seconds
    ]
    boto3_ms = cold.median(coldstart.BOTO3) * 1000
    return f"""### Handler imports

Measured as in section 4 (fresh interpreters, {cold.rounds} interleaved rounds, Lambda's environment
with tracing on); target at most {IMPORT_RATIO_TARGET}x `import boto3` ({boto3_ms:.0f} ms here) for
the worst handler, {worst}. `aws_xray_sdk.core` is what Powertools' `Tracer()` imports.

{_table(("Import", "Median", "vs import boto3"), rows)}
"""


def section(results: Results) -> str:
    parts = [
        _scan_part(results.scan),
        _scale_part(results.at_scale),
        _dedupe_part(results.dedupe),
        _import_part(results),
    ]
    body = "\n".join(part for part in parts if part)
    return f"## 8. Explanations at the speed of a scan (issue 11)\n\n{body}" if body else ""
