"""Issue 5's and issue 11's targets, judged from one run's numbers: each verdict with the ratio it
rests on (issue 11's: `judge_issue11`)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass

from bench import coldstart
from bench.aws_model import Usage, cost_lines, modelled_seconds
from bench.results import FleetPoint, LogPoint, Results, Sample
from bench.stack import FUNCTION_TIMEOUT_SECONDS
from instance_hygiene.aws.idempotency import RENEW_EVERY_SECONDS
from instance_hygiene.digest.collect import LOG_READ_WORKERS
from instance_hygiene.digest.logs import HEAD_BYTES, TAIL_BYTES

BUDGET = HEAD_BYTES + TAIL_BYTES
SNS_LIMIT = 262_144
MEMORY_LIMIT_BYTES = 30 * 1024 * 1024
SCAN_RATIO_TARGET = 10.0
"""Issue 11: summarising a full budget costs at most this many bare scans of the same bytes."""
SCALE_SECONDS_TARGET = 60.0
"""Issue 11: 10,000 failed instances, modelled on AWS."""
IMPORT_RATIO_TARGET = 1.3
"""Issue 11: every handler's import against `import boto3`."""
DEDUPE_RATIO_TARGET = 0.1
"""Issue 11: N identical failures against N different ones."""


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: str
    """"met", "not met", or a qualified verdict (e.g. met on the AWS model only)."""


def round_ratio(numerator: Sample, denominator: Sample) -> float:
    """Median of per-round ratios (same round, same machine state)."""
    pairs = list(zip(numerator.walls, denominator.walls, strict=False))
    return statistics.median(a / b for a, b in pairs) if pairs else math.nan


def modelled(sample: Sample, emails: int = 1) -> float:
    return modelled_seconds(sample.usage(emails))


def fleet_point(results: Results, instances: int, fraction: float) -> FleetPoint | None:
    return next((p for p in results.fleet if p.instances == instances and p.fraction == fraction), None)


HISTORY_RECORDS_PER_PAGE = 2_000
"""A Query page is at most 1 MB; a history record is a few hundred bytes (aws/history.py)."""


def expected_fixed_calls(point: FleetPoint) -> dict[str, int]:
    """What "grows only by pages" allows: one call per page, plus the constant calls."""
    failed_ec2 = point.failed
    return {
        "ssm:ListCommands": 1,
        "ssm:ListCommandInvocations": math.ceil(point.instances / 50),
        "s3:ListObjectsV2": max(1, math.ceil(point.objects / 1000)),
        "ec2:DescribeInstances": math.ceil(failed_ec2 / 200),
        # each failed instance's patch state, 50 ids a call
        "ssm:DescribeInstancePatchStates": math.ceil(point.failed / 50),
        # the night: the window execution, the window's executions around it, the window
        "ssm:GetMaintenanceWindowExecution": 1,
        "ssm:DescribeMaintenanceWindowExecutions": 1,
        "ssm:GetMaintenanceWindow": 1,
        "iam:ListAccountAliases": 1,
        "sns:Publish": 1,
        # the full report, JSON and text, always
        "s3:PutObject": 2,
        # history: the scope's records by pages, the changed ones 25 a batch, the scope record
        "dynamodb:Query": max(1, math.ceil(point.instances / HISTORY_RECORDS_PER_PAGE)),
        "dynamodb:BatchWriteItem": math.ceil(point.instances / 25),
        # the idempotency record and the history's scope record
        "dynamodb:PutItem": 2,
        # the success update, plus the idempotency lease's renewals while the first run worked
        "dynamodb:UpdateItem": 1
        + int(point.product.walls[0] // RENEW_EVERY_SECONDS if point.product.walls else 0),
    }


def _log_ends(results: Results) -> tuple[LogPoint, LogPoint] | None:
    if len(results.logs) < 2:
        return None
    return results.logs[0], results.logs[-1]


def yes(value: bool) -> str:
    return "met" if value else "not met"


def first_at_budget(results: Results) -> LogPoint | None:
    """The smallest log that fills the read budget (read as head and tail)."""
    return next((p for p in results.logs if p.size > BUDGET), None)


def judge(results: Results) -> list[Verdict]:
    return [*_log_verdicts(results), *_fleet_verdicts(results), *_cold_verdicts(results)]


def _log_verdicts(results: Results) -> list[Verdict]:
    verdicts: list[Verdict] = []
    ends = _log_ends(results)
    if ends:
        small, big = ends
        reads = [p.faithful.get_bytes for p in results.logs]
        verdicts.append(
            Verdict(
                f"Bytes read per failed stream bounded by a constant ({BUDGET:,} B head+tail budget), "
                f"{small.size:,} B to {big.size:,} B",
                f"{min(reads):,} to {max(reads):,} B read; "
                f"{big.size / max(1, big.faithful.get_bytes):,.0f}x less than the log at {big.size:,} B "
                f"(naive Lambda: up to {_naive_bytes(results):,} B)",
                yes(max(reads) <= BUDGET),
            )
        )
        faithful = round_ratio(big.faithful, small.faithful)
        stock = round_ratio(big.stock, small.stock)
        aws = modelled(big.faithful) / modelled(small.faithful)
        http = _http_ratio(small, big)
        budget = first_at_budget(results)
        from_budget = ""
        verdict = yes(faithful <= 1.3 and aws <= 1.3)
        if budget is not None and budget is not big:
            flat = round_ratio(big.faithful, budget.faithful)
            flat_aws = modelled(big.faithful) / modelled(budget.faithful)
            from_budget = (
                f"; from {budget.size:,} B (a full budget) to {big.size:,} B: "
                f"{flat:.2f}x, {flat_aws:.2f}x on AWS"
            )
            if verdict == "not met" and flat <= 1.3 and flat_aws <= 1.3:
                verdict = "not met as written; met from the read budget up (see Findings)"
        verdicts.append(
            Verdict(
                f"Handler time at {big.size:,} B within 1.3x of {small.size:,} B",
                f"{faithful:.2f}x with S3-faithful ranged reads (in-process), {http} over HTTP, "
                f"{aws:.2f}x modelled on AWS; {stock:.1f}x on stock moto, "
                f"whose ranged GET reads the whole object{from_budget}",
                verdict,
            )
        )
        measured = [p for p in results.logs if p.http.get("product", {}).get("tracemalloc_peak") is not None]
        peaks = [(p.size, p.http["product"]["tracemalloc_peak"]) for p in measured]
        growths = [(p.size, p.http["product"].get("first_rss_growth")) for p in measured]
        if peaks:
            base = peaks[0][1] or 0
            worst_peak = max(v or 0 for _, v in peaks)
            worst_growth = max(v or 0 for _, v in growths)
            verdicts.append(
                Verdict(
                    "Peak memory growth under 30 MB at any log size",
                    f"tracemalloc peak during a warm invocation {_mb(min(v or 0 for _, v in peaks))} to "
                    f"{_mb(worst_peak)} (+{_mb(worst_peak - base)} from {small.size:,} B to the largest); "
                    f"max-RSS growth of the first invocation at most {_mb(worst_growth)}",
                    yes(worst_peak < MEMORY_LIMIT_BYTES and worst_growth < MEMORY_LIMIT_BYTES),
                )
            )
    return verdicts


def _fleet_verdicts(results: Results) -> list[Verdict]:
    verdicts: list[Verdict] = []
    if results.fleet:
        per_failed = [p.product.gets / p.failed for p in results.fleet if p.failed]
        pages_ok = all(_fixed_matches(p) for p in results.fleet)
        verdicts.append(
            Verdict(
                "AWS calls per failed instance at most 1.5 (stream reads), "
                "plus a fixed cost growing only by pages",
                f"{min(per_failed):.2f} to {max(per_failed):.2f} GETs per failed instance in the mix "
                f"(1 per stream up to {BUDGET // 1024} KiB, 2 above; worst case 2 per stream); fixed calls "
                + (
                    "equal one per page everywhere"
                    if pages_ok
                    else "exceed one per page somewhere (see table)"
                ),
                yes(max(per_failed) <= 1.5 and pages_ok),
            )
        )
        publishes = [p.product.operations.get("sns:Publish", 0) for p in results.fleet]
        biggest = max(max(p.product.publish_bytes, default=0) for p in results.fleet)
        native = max(p.failed for p in results.fleet)
        verdicts.append(
            Verdict(
                "1 notification per failed command at any fleet size (SSM native: N); always under 256 KiB",
                f"{'exactly 1' if set(publishes) == {1} else f'{min(publishes)} to {max(publishes)}'} "
                f"publish per command; largest {biggest:,} B "
                f"({biggest / SNS_LIMIT:.0%} of the limit); "
                f"SSM native per invocation: up to {native:,} messages",
                yes(set(publishes) == {1} and biggest < SNS_LIMIT),
            )
        )
        thousand = fleet_point(results, 1000, 1.0)
        if thousand is not None:
            aws_product = modelled(thousand.product)
            if thousand.naive.walls:
                measured = statistics.median(
                    n / p for n, p in zip(thousand.naive.walls, thousand.product.walls, strict=False)
                )
                aws_naive = modelled(thousand.naive, emails=thousand.failed)
                aws_ratio = aws_naive / aws_product
                if measured >= 5:
                    verdict = "met"
                elif aws_ratio >= 5:
                    verdict = "met on the AWS model only"
                else:
                    verdict = "not met"
                verdicts.append(
                    Verdict(
                        "At 1,000 failed instances: at least 5x faster than the naive Lambda",
                        f"{measured:.2f}x here (the emulator charges CPU per call, no latency); "
                        f"{aws_ratio:.1f}x modelled on AWS ({aws_naive:.0f}s vs {aws_product:.0f}s)"
                        + _naive_timeout_text(results),
                        verdict,
                    )
                )
            else:
                verdicts.append(
                    Verdict(
                        "At 1,000 failed instances: at least 5x faster than the naive Lambda",
                        "the quick run skips the naive Lambda at 1,000 failed",
                        "n/a",
                    )
                )
            largest = max(results.fleet, key=lambda p: (p.failed, p.instances))
            aws_largest = modelled(largest.product)
            verdicts.append(
                Verdict(
                    f"Within the function timeout ({FUNCTION_TIMEOUT_SECONDS:.0f}s) with headroom, "
                    f"S3 reads with bounded concurrency",
                    f"modelled {aws_product:.0f}s at 1,000 failed "
                    f"({aws_product / FUNCTION_TIMEOUT_SECONDS:.0%} of the timeout), "
                    + (
                        f"{aws_largest:.0f}s at {largest.failed:,} failed "
                        f"({aws_largest / FUNCTION_TIMEOUT_SECONDS:.0%}); "
                        if largest is not thousand
                        else ""
                    )
                    + "at most "
                    f"{max(p.product.get_concurrency for p in results.fleet)} GETs in flight "
                    f"(pool of {LOG_READ_WORKERS})" + _worst_text(results),
                    # As written, the target is at 1,000 failed (the worst case scaled to 1,000 too).
                    yes(
                        aws_product <= 0.5 * FUNCTION_TIMEOUT_SECONDS
                        and max(p.product.get_concurrency for p in results.fleet) <= LOG_READ_WORKERS
                        and _worst_ok(results)
                    ),
                )
            )
    return verdicts


def _cold_verdicts(results: Results) -> list[Verdict]:
    verdicts: list[Verdict] = []
    if results.cold is not None:
        ratio = results.cold.ratio(coldstart.COMMAND_HANDLER)
        verdicts.append(
            Verdict(
                "Handler import time at most 1.5x `import boto3`",
                f"{ratio:.2f}x (median of per-round ratios; "
                f"{results.cold.median(coldstart.COMMAND_HANDLER) * 1000:.0f} ms vs "
                f"{results.cold.median(coldstart.BOTO3) * 1000:.0f} ms); without X-Ray tracing "
                f"{results.cold.ratio(coldstart.NO_TRACING):.2f}x",
                yes(ratio <= 1.5),
            )
        )
    return verdicts


# --- issue 11 -------------------------------------------------------------------------------------


def judge_issue11(results: Results) -> list[Verdict]:
    verdicts = (
        _scan_verdict(results),
        _scale_verdict(results),
        _import_verdict(results),
        _dedupe_verdict(results),
    )
    return [v for v in verdicts if v is not None]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.2f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def _scan_verdict(results: Results) -> Verdict | None:
    scan = results.scan
    worst = scan.worst() if scan else None
    if scan is None or worst is None:
        return None
    others = ", ".join(f"{k.name} {k.ratio:.1f}x" for k in scan.kinds if k is not worst)
    return Verdict(
        f"Summarising one failed stream at the full read budget ({BUDGET:,} B, head and tail) at most "
        f"{SCAN_RATIO_TARGET:.0f}x a bare scan of the same bytes (worst failure kind)",
        f"worst: {worst.name} {worst.ratio:.1f}x ({_ms(statistics.median(worst.summarise))} vs "
        f"{_ms(statistics.median(worst.scan))}; median of per-round ratios, {scan.rounds} rounds); {others}",
        yes(worst.ratio <= SCAN_RATIO_TARGET),
    )


def _scale_verdict(results: Results) -> Verdict | None:
    at = results.at_scale
    if at is None or not at.points:
        return None
    seconds = at.modelled_at_target()
    from_logs = all(p.from_logs for p in at.points)
    explained = "; ".join(
        f"at {p.failed:,}: modelled {p.modelled:.0f}s, digest {'partial' if p.partial else 'not partial'}, "
        f"{p.not_from_s3:,} of {p.listed:,} failures not from their S3 log, {p.status_only:,} explained "
        f"from status only, {p.distinct_logs:,} distinct logs" + (f", error: {p.error}" if p.error else "")
        for p in sorted(at.points, key=lambda p: p.failed)
    )
    verdict = yes(seconds <= SCALE_SECONDS_TARGET and from_logs)
    if at.measured_at_target is None:
        sizes = " and ".join(f"{p.failed:,}" for p in sorted(at.points, key=lambda p: p.failed))
        verdict += f" (extrapolated from {sizes}{', quick run' if at.quick else ''})"
    return Verdict(
        f"{at.target:,} failed instances, every log {BUDGET:,} B and no two alike: modelled on AWS within "
        f"{SCALE_SECONDS_TARGET:.0f}s, every failure summarised from its log",
        f"{seconds:,.0f}s modelled on AWS at {at.target:,} ({at.how}); {explained}",
        verdict,
    )


def _import_verdict(results: Results) -> Verdict | None:
    cold = results.cold
    worst = cold.worst_handler() if cold else None
    if cold is None or worst is None:
        return None
    others = [f"{h} {cold.ratio(h):.2f}x" for h in coldstart.HANDLERS if h in cold.seconds and h != worst]
    xray = (
        f"; `import aws_xray_sdk.core` alone {cold.ratio(coldstart.XRAY):.2f}x boto3 "
        f"({cold.median(coldstart.XRAY) * 1000:.0f} ms)"
        if coldstart.XRAY in cold.seconds
        else ""
    )
    return Verdict(
        f"Every handler's import at most {IMPORT_RATIO_TARGET}x `import boto3` (worst handler)",
        f"worst: {worst} {cold.ratio(worst):.2f}x ({cold.median(worst) * 1000:.0f} ms vs "
        f"{cold.median(coldstart.BOTO3) * 1000:.0f} ms; median of per-round ratios, {cold.rounds} rounds)"
        + (f"; {', '.join(others)}" if others else "")
        + xray,
        yes(cold.ratio(worst) <= IMPORT_RATIO_TARGET),
    )


def _dedupe_verdict(results: Results) -> Verdict | None:
    d = results.dedupe
    if d is None or not d.identical:
        return None
    quick = " (quick run: fewer instances than the target's 1,000)" if d.instances < 1000 else ""
    return Verdict(
        f"Identical failures summarised once: {d.instances:,} failed instances with byte-identical logs "
        f"cost at most {DEDUPE_RATIO_TARGET}x of {d.instances:,} with different logs",
        f"{d.ratio:.3f}x (digest built in {_ms(statistics.median(d.identical))} vs "
        f"{_ms(statistics.median(d.different))}; median of per-round ratios, {d.rounds} round(s); "
        f"{d.distinct_different:,} distinct logs in the different run){quick}",
        yes(d.ratio <= DEDUPE_RATIO_TARGET),
    )


def _naive_bytes(results: Results) -> int:
    in_process = [p.naive.get_bytes for p in results.logs]
    over_http = [int(p.http.get("naive", {}).get("get_bytes", 0)) for p in results.logs]
    return max([*in_process, *over_http], default=0)


def _worst_text(results: Results) -> str:
    worst = results.worst
    if worst is None:
        return ""
    aws = modelled(worst.sample)
    at_1000 = aws / worst.instances * 1000
    return (
        f"; worst case (every log 256 KiB): modelled {aws:.0f}s for {worst.instances:,} failures, "
        f"about {at_1000:.0f}s for 1,000, so {FUNCTION_TIMEOUT_SECONDS * worst.instances / aws:,.0f} "
        "such failures fit in the timeout"
    )


def _naive_timeout_text(results: Results) -> str:
    over = [
        (p, modelled(p.naive, emails=p.failed))
        for p in results.fleet
        if p.naive.walls and modelled(p.naive, emails=p.failed) > FUNCTION_TIMEOUT_SECONDS
    ]
    if not over:
        return ""
    point, seconds = min(over, key=lambda item: item[0].failed)
    return (
        f"; from {point.failed:,} failed the naive Lambda would not finish "
        f"(modelled {seconds:.0f}s > {FUNCTION_TIMEOUT_SECONDS:.0f}s), this product "
        f"{modelled(point.product):.0f}s"
    )


def _worst_ok(results: Results) -> bool:
    """The all-long-logs case, scaled to 1,000 failures, still fits the timeout."""
    worst = results.worst
    return worst is None or modelled(worst.sample) / worst.instances * 1000 <= FUNCTION_TIMEOUT_SECONDS


def _fixed_matches(point: FleetPoint) -> bool:
    fixed = Counter(point.product.operations)
    fixed.pop("s3:GetObject", None)
    return all(fixed.get(op, 0) <= count for op, count in expected_fixed_calls(point).items()) and set(
        fixed
    ) <= set(expected_fixed_calls(point))


def _http_ratio(small: LogPoint, big: LogPoint) -> str:
    a, b = small.http.get("product", {}).get("wall"), big.http.get("product", {}).get("wall")
    return f"{b / a:.2f}x" if a and b else "n/a"


def _mb(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MiB"


NATIVE_MESSAGE_BYTES = 270
"""About the size of one SSM per-invocation notification (section 3 measures the modelled ones)."""


@dataclass(frozen=True)
class CostRow:
    shape: str
    scheme: str
    total: float | None
    """Dollars per 1,000 failed invocations; None when the scheme was not run."""
    lines: dict[str, float]
    seconds: float | None
    """Modelled Lambda time of one run; None: no Lambda."""


def _cost(shape: str, scheme: str, usage: Usage, with_lambda: bool, runs: int) -> CostRow:
    if math.isnan(usage.compute_seconds):
        return CostRow(shape, scheme, None, {}, None)
    seconds = modelled_seconds(usage) if with_lambda else None
    lines = {name: value * runs for name, value in cost_lines(usage, seconds).items()}
    return CostRow(shape, scheme, sum(lines.values()), lines, seconds)


def cost_rows(results: Results) -> list[CostRow]:
    """Per 1,000 failed invocations, in two shapes: one big command, or 1,000 small ones."""
    shapes: list[tuple[str, Sample, Sample, int, int]] = []
    thousand = fleet_point(results, 1000, 1.0)
    if thousand is not None:
        shapes.append(
            ("one command, 1,000 failed instances", thousand.product, thousand.naive, thousand.failed, 1)
        )
    if results.logs:
        small = results.logs[0]
        label = f"1,000 commands, one failed instance each ({small.size // 1024} KiB log)"
        shapes.append((label, small.faithful, small.naive, 1, 1000))
    rows = []
    for shape, product, naive, failed, runs in shapes:
        rows.append(_cost(shape, "this product", product.usage(1), True, runs))
        rows.append(_cost(shape, "naive Lambda", naive.usage(failed), True, runs))
        native = Usage(
            operations={},
            get_bytes=0,
            publish_bytes=(NATIVE_MESSAGE_BYTES,) * failed,
            emails=failed,
            compute_seconds=0.0,
            read_concurrency=1,
        )
        rows.append(_cost(shape, "SSM native, per invocation", native, False, runs))
    return rows
