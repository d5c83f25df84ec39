"""The "Findings" section: where the product's cost is, what to change, and which targets to restate,
each with this run's numbers."""

from __future__ import annotations

import re
import statistics

from bench import coldstart
from bench.aws_model import CPU_FACTOR, LATENCY_SECONDS
from bench.results import FleetPoint, Results
from bench.scan_speed import Dedupe
from bench.stack import FUNCTION_TIMEOUT_SECONDS
from bench.targets import (
    BUDGET,
    DEDUPE_RATIO_TARGET,
    SCALE_SECONDS_TARGET,
    SCAN_RATIO_TARGET,
    cost_rows,
    first_at_budget,
    modelled,
    round_ratio,
)

GET_LATENCY = LATENCY_SECONDS["s3:GetObject"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _largest_all_failed(results: Results) -> FleetPoint | None:
    points = [p for p in results.fleet if p.fraction == 1.0]
    return max(points, key=lambda p: p.instances, default=None)


def _summarising(results: Results) -> str:
    micro = results.micro
    point = _largest_all_failed(results)
    if micro is None or point is None:
        return ""
    big = micro.summarise.get("package conflict")
    small = micro.summarise.get("yum lock")
    if big is None or small is None:
        return ""
    per_kib = big.seconds / (BUDGET / 1024)
    per_failure_aws = big.seconds * CPU_FACTOR + 2 * GET_LATENCY / 16
    fit = FUNCTION_TIMEOUT_SECONDS / per_failure_aws
    share = point.product.compute / point.product.wall
    profile = ""
    summarise_cum = next(
        (cum for name, _, _, cum in results.profile_top if "summarise_failure" in name), None
    )
    if summarise_cum and results.profile_wall:
        profile = (
            f" Under cProfile at {results.profile_point[0]:,} x {results.profile_point[1]:.0%}, "
            f"`summarise.summarise_failure` is {summarise_cum / results.profile_wall:.0%} of the run, "
            "most of it in `_lines`/`_line`, which test every line of the head and tail against every "
            "pattern (known failures, error words, healthcheck lines)."
        )
    worst = ""
    guard = ""
    if results.worst is not None:
        w = results.worst
        late = w.deadline_wall > w.deadline
        worst = (
            f" Measured: {w.instances:,} failures with 256 KiB logs took {_ms(w.sample.wall)} here "
            f"({_ms(w.sample.compute)} computing), modelled {modelled(w.sample):,.0f} s on AWS. Given a "
            f"deadline that left room for every read plus the read reserve ({w.deadline:.1f} s), the "
            f"handler {'ran past' if late else 'stayed within'} it ({_ms(w.deadline_wall)}) and its digest "
            f"was {'marked partial' if w.deadline_partial else 'not marked partial'}."
        )
        if late and not w.deadline_partial:
            guard = """ The deadline does not cover the summarising after the reads, so
Lambda stops the function at the timeout, the two async retries end the same way, and the event
lands in the dead-letter queue: no notification is published, only the queue's alarm fires."""
        elif w.deadline_partial and not late:
            guard = """ The deadline guard covers the summarising: when time runs short the
remaining failures are reported from status and exit code and the digest says it is partial, so
the notification still goes out; what a long window loses is detail, not the message."""
    speed = _speed_text(results)
    window = (
        "; a 5,000-instance window where every patch log is long would not summarise every failure"
        if fit < 5000
        else ""
    )
    scan = results.scan.worst() if results.scan else None
    if scan is not None and scan.ratio <= SCAN_RATIO_TARGET:
        cheaper = (
            f"Summarising is already within {SCAN_RATIO_TARGET:.0f}x a bare scan (the issue 11 finding); "
            "what remains:"
        )
    else:
        cheaper = """To make it cheaper (in `summarise`): (a) make a
line cheap to reject. A union of the known-failure patterns alone did not help (tried: 34 ms ->
37 ms per 64 KiB log): the cost is spread over about ten patterns per line (`_EXCEPTION_LINE`,
`_WEAK_ERROR`, `_ZERO_COUNT`, `_STRONG_ERROR`, the known failures), so the next step is literal
keyword pre-checks on the lower-cased line (`in`, in C) before any pattern runs."""
    return f"""### 1. Summarising is the function's cost and grows with the bytes read

Per failure, `summarise_failure` costs {small.seconds * 1000:.1f} ms for a 2 KiB log and
{big.seconds * 1000:.1f} ms for a log filling the {BUDGET // 1024} KiB budget: about
{per_kib * 1000:.2f} ms per KiB read, on one core here. At {point.instances:,} x 100% the handler
spent {share:.0%} of its {_ms(point.product.wall)} computing (no call in flight), and the model puts
it at {modelled(point.product):,.0f} s on a {512} MB Lambda (CPU x {CPU_FACTOR:.2f}).{profile} With
every failure at the full budget, one failure costs about {per_failure_aws * 1000:.0f} ms on AWS, so
about **{fit:,.0f} failed instances fill the {FUNCTION_TIMEOUT_SECONDS:.0f} s timeout**{window}.{worst}{guard}
{speed}

`report.build_digest` keeps a 4 s reserve for summarising (the worst-case run above checks it),
so a long window loses detail, not the message. {cheaper} (b) Summarise
each distinct log once (key: a hash of the head and tail read; identical failures across a fleet
are common); (c) if that is not enough, 1,769 MB gives a whole vCPU: {CPU_FACTOR:.2f}x the CPU at
{CPU_FACTOR:.2f}x the price per ms, the same cost for CPU-bound work.
"""


def _speed_text(results: Results) -> str:
    """At 1,000 failed: how much of the modelled time is computing, and what halving it would do."""
    point = next((p for p in results.fleet if p.instances == 1000 and p.fraction == 1.0), None)
    if point is None or not point.naive.walls:
        return ""
    product = modelled(point.product)
    naive = modelled(point.naive, emails=point.failed)
    compute = point.product.compute * CPU_FACTOR
    halved = naive / (product - compute / 2)
    return (
        f"\nAt 1,000 failed instances the modelled {product:.0f} s are {compute:.0f} s of computing and "
        f"{product - compute:.0f} s of calls; the naive Lambda's {naive:.0f} s are nearly all calls "
        f"({naive / product:.1f}x). Halving the function's computing would make that {halved:.1f}x.\n"
    )


def _issue11(results: Results) -> str:
    """Issue 11: how far the summariser is from a scan's speed, and what 10,000 failures leave."""
    scan, at, dedupe = results.scan, results.at_scale, results.dedupe
    worst = scan.worst() if scan else None
    sentences = []
    if worst is not None:
        scan_s = statistics.median(worst.scan)
        sentences.append(
            f"Summarising a full budget costs {worst.ratio:.0f}x a bare scan of the same bytes at worst "
            f"({worst.name}: {statistics.median(worst.summarise) * 1000:.1f} ms against "
            f"{scan_s * 1000:.2f} ms); "
            f"the target's {SCAN_RATIO_TARGET:.0f}x is {scan_s * SCAN_RATIO_TARGET * 1000:.1f} ms per "
            "stream here."
        )
    if at is not None and at.points:
        largest = max(at.points, key=lambda p: p.failed)
        per_failure = largest.compute / largest.failed
        by_call = at.calls_at_target()
        calls = sum(by_call.values())
        allowed = (SCALE_SECONDS_TARGET - calls) / CPU_FACTOR / at.target
        need = f"{per_failure / allowed:.0f}x less" if allowed > 0 else "nothing: the calls alone exceed it"
        pages = by_call.get("ssm:ListCommandInvocations", 0.0)
        reads = by_call.get("s3:GetObject", 0.0)
        sentences.append(
            f"At {largest.failed:,} failures with full-budget logs the function computed "
            f"{per_failure * 1000:.1f} ms per failure here; {at.target:,} of them within "
            f"{SCALE_SECONDS_TARGET:.0f} s on AWS leave about {max(0.0, allowed) * 1000:.2f} ms ({need}), "
            f"because the modelled calls alone take about {calls:.0f} s at {at.target:,}: "
            f"{pages:.0f} s of ListCommandInvocations pages one after another (50 invocations a page) and "
            f"{reads:.0f} s of GETs {largest.get_concurrency} at a time."
        )
        if calls > SCALE_SECONDS_TARGET / 2:
            sentences.append(
                "Summarising at the speed of a scan is necessary for this target but, on this model, not "
                "sufficient: the invocation pages and the reads would also have to overlap, or more reads "
                "be in flight."
            )
    if dedupe is not None and dedupe.identical:
        sentences.append(_dedupe_text(dedupe))
    if not sentences:
        return ""
    return "### 2. Issue 11: summarising against a scan\n\n" + " ".join(sentences) + "\n"


def _dedupe_text(dedupe: Dedupe) -> str:
    ratio = f"Byte-identical logs cost {dedupe.ratio:.3f}x of different ones"
    if dedupe.ratio <= DEDUPE_RATIO_TARGET:
        return f"{ratio}: each distinct text is summarised once."
    if dedupe.ratio > 0.5:
        return (
            f"{ratio}: every copy is summarised again. A summary cached on a hash of the text read (head "
            f"and tail of each stream) would make {dedupe.instances:,} identical failures cost the reads "
            "and one summary."
        )
    per_failure = statistics.median(dedupe.identical) / dedupe.instances
    return (
        f"{ratio}: summaries are reused, and what is left ({per_failure * 1000:.2f} ms per identical "
        "failure here) is the rest of the digest: listing, reading and decoding each log, finding its "
        "summary, grouping."
    )


def _clients(results: Results) -> str:
    """Clients the function builds during a warm invocation (it should build none)."""
    if not results.logs:
        return ""
    sample = results.logs[0].faithful
    warm = list(zip(sample.clients_created, sample.client_seconds, sample.walls, strict=False))
    if not warm:
        return ""
    created = statistics.median(c for c, _, _ in warm)
    if created == 0:
        return """### 2. Clients: built once per container

A warm invocation builds no boto3 client (checked on every run with one failed instance, through
the client-creation hook): the idempotency store uses the handler's cached DynamoDB client. A
per-invocation client would cost tens of milliseconds and about 10 MiB of allocations each time
(an earlier run of this bench measured 57-62 ms and 9.4 MiB, half of such an invocation).
"""
    seconds = statistics.median(s for _, s, _ in warm)
    share = statistics.median(s / w for _, s, w in warm)
    return f"""### 2. Clients built on every invocation

A warm invocation with one failed instance builds {created:.0f} boto3 client(s), taking {_ms(seconds)}
({share:.0%} of the invocation). Build them once per container (a cached factory), and hand the
idempotency store the handler's DynamoDB client (`DynamoDBPersistenceLayer(boto3_client=...)`).
"""


def _imports(results: Results) -> str:
    cold = results.cold
    if cold is None:
        return ""
    handler = cold.median(coldstart.COMMAND_HANDLER)
    boto3 = cold.median(coldstart.BOTO3)
    xray = cold.seconds.get(coldstart.XRAY)
    xray_text = ""
    if xray:
        xray_s = statistics.median(xray)
        xray_text = (
            f" `import aws_xray_sdk.core` alone takes {_ms(xray_s)} "
            f"({cold.ratio(coldstart.XRAY):.2f}x boto3; part of it is botocore, shared), "
            "and Powertools' `Tracer()` imports it even with "
            f"`POWERTOOLS_TRACE_DISABLED=true` (handler with tracing disabled: "
            f"{cold.ratio(coldstart.NO_TRACING):.2f}x)."
        )
    packages = ", ".join(f"{name} {_ms(s)}" for name, s in list(cold.by_package.items())[:5])
    return f"""### 3. Import time

The command handler imports in {_ms(handler)}, {cold.ratio(coldstart.COMMAND_HANDLER):.2f}x `import boto3`
({_ms(boto3)}).{xray_text} Self time by package: {packages}. Fix, if the cold start matters: create the
Tracer only when tracing is on, or drop Powertools Tracer (Lambda's active tracing still records the
invocation; only the per-call subsegments go), and compile the summariser's patterns lazily.
"""


def _emulator(results: Results) -> str:
    big = results.logs[-1] if results.logs else None
    if big is None or big.stock.replay_seconds is None or big.faithful.replay_seconds is None:
        return ""
    return f"""### 4. The stand-in (not the product): ranged GETs served as S3 serves them

Stock moto answers `Range: bytes=a-b` by reading the whole object and slicing it, and its process
holds the object in memory for each GET: the same calls take {_ms(big.stock.replay_seconds)} at
{big.size:,} B on stock moto against {_ms(big.faithful.replay_seconds)} with the stand-in's ranges,
read from the object's buffer alone. The stand-in serves ranges that way itself
(`local/standin/s3.py`, put in by `local.standin.install()`), so tests, the demo and the bench on
`local/standin` measure the function, not moto's whole-object read; the bench puts stock moto's
way back (`bench/emulator.py`, `faithful_ranges(False)`) only to measure it.
"""


def _cost(results: Results) -> str:
    rows = {(r.shape, r.scheme): r for r in cost_rows(results)}
    shapes = list(dict.fromkeys(shape for shape, _ in rows))
    sentences = []
    extras: list[float] = []
    for shape in shapes:
        product = rows.get((shape, "this product"))
        native = rows.get((shape, "SSM native, per invocation"))
        naive = rows.get((shape, "naive Lambda"))
        if product is None or product.total is None or native is None or native.total is None:
            continue
        naive_text = f", the naive Lambda ${naive.total:.4f}" if naive and naive.total is not None else ""
        if product.total > native.total:
            extras.append(product.total - native.total)
        sentences.append(
            f"{shape}: this product ${product.total:.4f} per 1,000 failed, SSM native ${native.total:.4f}"
            f"{naive_text} ({product.total / native.total:.2f}x native)"
        )
    if not sentences:
        return ""
    listed = "; ".join(sentences)
    listed = listed[:1].upper() + listed[1:]
    extra = f": ${max(extras):.4f} more per 1,000 failed" if extras else ""
    return f"""### 5. Cost: cents either way, e-mail decides

{listed}. One message per command instead of one per instance is what makes this product the
cheapest when a command fails on many instances (e-mail deliveries are most of every bill here);
when every command fails on a single instance it costs more than SSM's own notifications: its
Lambda time, the S3 listing and GETs (section 6 itemises them){extra}. KMS is counted as an upper
bound (one Decrypt per GET); the log bucket's bucket key makes it far smaller.
"""


def _targets(results: Results) -> str:
    lines = []
    if results.logs:
        small = results.logs[0]
        budget = first_at_budget(results)
        big = results.logs[-1]
        if budget is not None and budget is not small:
            to_budget = round_ratio(budget.faithful, small.faithful)
            flat = round_ratio(big.faithful, budget.faithful)
            lines.append(
                f'- **"1 GB within 1.3x of 10 KB"** compares a log read whole ({small.size:,} B, one GET) '
                f"with logs read to the full budget ({BUDGET:,} B, two GETs): {to_budget:.2f}x already at "
                f"{budget.size:,} B because summarising is linear in the bytes read, then {flat:.2f}x from "
                f"{budget.size:,} B to {big.size:,} B. Better: time flat (within 1.3x) from the read budget "
                "up to 1 GiB, and at most linear in the bytes read below it."
            )
    if results.fleet:
        lines.append(
            '- **"At most 1.5 calls per failed instance"** depends on the fleet\'s log sizes, not on the '
            f"design: a stream over {BUDGET // 1024} KiB needs a head and a tail, and S3 has no multi-range "
            "GET (a multi-range request returns the whole object), so a failure with long stdout and stderr "
            "needs 4. Better: at most 2 GETs per failed stream (1 up to the budget, none for a stream never "
            "written), with the fixed part one call per page."
        )
        lines.append(
            '- **"5x faster than naive at 1,000 failed"** cannot be measured on an emulator, where a call '
            "costs microseconds of CPU and no latency, and the naive Lambda is latency-bound by design. "
            "What matters more at scale is finishing at all: the naive Lambda's sequential calls outgrow "
            "the timeout (section 2). Better: judge speed on the modelled (or a real-AWS) run, and bound "
            "what the emulator measures honestly: compute per failed instance (e.g. at most 5 ms at "
            "512 MB, which 5,000 failures need to stay within half the timeout)."
        )
    if results.cold is not None:
        lines.append(
            '- **"Import at most 1.5x boto3"**: boto3 itself is the floor (1.0x) and X-Ray tracing, which '
            "the template turns on, brings its SDK. Better: at most 1.5x `import boto3` with the tracer's "
            "SDK reported separately, or an absolute budget (e.g. +300 ms over boto3)."
        )
    if not lines:
        return ""
    return "### 6. Targets to restate\n\n" + "\n".join(lines) + "\n"


def section(results: Results) -> str:
    parts = [
        _summarising(results),
        _issue11(results),
        _clients(results),
        _imports(results),
        _emulator(results),
        _cost(results),
        _targets(results),
    ]
    present = [part for part in parts if part]
    numbered = [re.sub(r"^### \d+\. ", f"### {n}. ", part) for n, part in enumerate(present, start=1)]
    body = "\n".join(numbered)
    return f"## Findings and proposals\n\n{body}" if body else ""
