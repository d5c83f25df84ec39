"""Issue 11, at scale: one command with 10,000 failed instances, every failed stdout a full read
budget (65,536 B, one GET) and no two logs alike, through the real handler as `run.worst_case`
does. Judged on the AWS model (`aws_model.modelled_seconds`) and on the digest: not partial, and
every failure explained from its own S3 log.

What "from its log" means is read from the digest's machine form (the full report the handler
writes to S3 when the message is trimmed, else the message itself): a failure's `log.source` is
"s3" with bytes read, and its reason is not the one its status and exit code alone give
(`summarise_failure` without streams).

Quick runs measure 500 failures. A full run measures 2,000 first; when 10,000 would take more
than `TOO_LONG_SECONDS` here at that pace, it measures 5,000 instead and extrapolates linearly
from 2,000 and 5,000 to 10,000 (the report says so).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import delivery, emulator, scenarios
from bench.aws_model import (
    DEFAULT_LATENCY_SECONDS,
    LATENCY_SECONDS,
    S3_BYTES_PER_SECOND,
    Usage,
    modelled_seconds,
)
from bench.measure import invoke, product
from bench.stack import BUCKET, FUNCTION_TIMEOUT_SECONDS, Stack
from instance_hygiene.digest.logs import HEAD_BYTES, TAIL_BYTES
from instance_hygiene.explain.summarise import summarise_failure
from local.lambda_env import load_handler_module

BUDGET = HEAD_BYTES + TAIL_BYTES
TARGET = 10_000
QUICK = 500
PROBE, MIDDLE = 2_000, 5_000
TOO_LONG_SECONDS = 360.0
"""Seeding plus the handler, projected at 10,000 from the 2,000 run: above this, extrapolate."""
DEADLINE_SECONDS = 10 * FUNCTION_TIMEOUT_SECONDS
"""The context's deadline here: long enough that the emulator's time does not cut the digest;
against the real 300 s timeout the modelled duration is what counts."""


@dataclass
class ScalePoint:
    failed: int
    seed_seconds: float
    wall: float
    compute: float
    in_calls: float
    operations: dict[str, int]
    get_bytes: int
    get_concurrency: int
    publish_bytes: list[int]
    distinct_logs: int
    """Distinct failed stdouts written (every failure's should differ)."""
    partial: bool = False
    listed: int = 0
    """Failures in the digest read back."""
    not_from_s3: int = 0
    """Failures whose log source is not "s3", or with no byte read."""
    status_only: int = 0
    """Failures whose reason is what their status and exit code alone give."""
    without_excerpt: int = 0
    groups: int = 0
    error: str | None = None

    @property
    def modelled(self) -> float:
        return modelled_seconds(
            Usage(
                operations=self.operations,
                get_bytes=self.get_bytes,
                publish_bytes=tuple(self.publish_bytes),
                emails=1,
                compute_seconds=self.compute,
                read_concurrency=max(1, self.get_concurrency),
            )
        )

    def call_seconds(self) -> dict[str, float]:
        """The model's time in calls, by operation (GETs divided by the reads in flight)."""
        seconds = {}
        for operation, count in self.operations.items():
            latency = LATENCY_SECONDS.get(operation, DEFAULT_LATENCY_SECONDS) * count
            if operation == "s3:GetObject":
                latency = (latency + self.get_bytes / S3_BYTES_PER_SECOND) / max(1, self.get_concurrency)
            seconds[operation] = latency
        return seconds

    @property
    def from_logs(self) -> bool:
        return (
            self.error is None
            and not self.partial
            and self.listed == self.failed
            and self.not_from_s3 == 0
            and self.status_only == 0
        )


@dataclass
class AtScale:
    target: int
    quick: bool
    points: list[ScalePoint] = field(default_factory=list)
    extrapolated: bool = False
    projected_seconds: float | None = None
    """Seeding plus handler at `target`, projected here from the first run (full runs)."""
    deadline: float = DEADLINE_SECONDS

    @property
    def measured_at_target(self) -> ScalePoint | None:
        return next((p for p in self.points if p.failed == self.target), None)

    def modelled_at_target(self) -> float:
        """Modelled seconds at `target`: measured, or linear through the two largest points (one
        point: proportional, which also scales the fixed part and so overstates)."""
        point = self.measured_at_target
        if point is not None:
            return point.modelled
        points = sorted(self.points, key=lambda p: p.failed)[-2:]
        if len(points) == 1:
            return points[0].modelled * self.target / points[0].failed
        low, high = points
        slope = (high.modelled - low.modelled) / (high.failed - low.failed)
        return high.modelled + slope * (self.target - high.failed)

    def calls_at_target(self) -> dict[str, float]:
        """The model's call time by operation at `target`, scaled linearly from the largest run."""
        largest = max(self.points, key=lambda p: p.failed)
        scale = self.target / largest.failed
        return {op: seconds * scale for op, seconds in largest.call_seconds().items()}

    @property
    def how(self) -> str:
        if self.measured_at_target is not None:
            return f"measured at {self.target:,}"
        if self.quick:
            return f"quick run: {self.points[0].failed:,} measured, scaled to {self.target:,}"
        sizes = " and ".join(f"{p.failed:,}" for p in sorted(self.points, key=lambda p: p.failed))
        return f"extrapolated linearly from {sizes}: 10,000 would take too long here"


def _copier(
    logs: dict[str, scenarios.VariedLog], names: dict[str, str], seed: int, hashes: set[bytes]
) -> Callable[..., Any]:
    """What the n-th failed instance writes: its own copy of its kind's log (hashes recorded)."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets

    def vary(n: int, instance_id: str, kind: scenarios.FailureKind) -> scenarios.FailureKind:
        own = logs[kind.name].copy(rng, instance_id, names.get(instance_id, f"web-{n + 1:05d}"))
        hashes.add(hashlib.blake2b(own.stdout).digest())
        return own

    return vary


def _digest(stack: Stack, result: Any, published: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The full digest: the report written to S3 when the message was trimmed, else the message."""
    uri = result.get("report_uri") if isinstance(result, dict) else None
    if uri:
        key = uri.removeprefix(f"s3://{BUCKET}/")
        digest: dict[str, Any] = json.loads(stack.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        return digest
    if published:
        message: dict[str, Any] = json.loads(json.loads(published[0]["Message"])["default"])
        return message
    return None


def _status_only_reason(failure: dict[str, Any], cache: dict[tuple[Any, ...], str]) -> str:
    key = (failure["status"], failure["status_details"], failure["step"], failure["exit_code"])
    if key not in cache:
        cache[key] = summarise_failure(
            document_name=scenarios.DOCUMENT,
            status=key[0],
            status_details=key[1],
            step=key[2],
            response_code=key[3],
            stdout=None,
            stderr=None,
        ).reason
    return cache[key]


def _judge(point: ScalePoint, digest: dict[str, Any] | None) -> None:
    if digest is None:
        point.error = point.error or "no digest published"
        return
    point.partial = bool(digest.get("partial"))
    point.groups = len(digest.get("groups", []))
    cache: dict[tuple[Any, ...], str] = {}
    for group in digest.get("groups", []):
        for failure in group.get("failures", []):
            point.listed += 1
            log = failure.get("log", {})
            if log.get("source") != "s3" or not log.get("bytes_read"):
                point.not_from_s3 += 1
            if failure.get("reason") == _status_only_reason(failure, cache):
                point.status_only += 1
            if not failure.get("excerpt"):
                point.without_excerpt += 1


def _measure_point(
    stack: Stack, app: Any, fleet: scenarios.Fleet, failed: int, say: Callable[..., None]
) -> ScalePoint:
    logs = {log.name: log for log in scenarios.budget_kinds(BUDGET)}
    hashes: set[bytes] = set()
    started = time.perf_counter()
    seed = scenarios.seed_fleet(
        stack,
        fleet,
        failed,
        1.0,
        tuple(log.kind for log in logs.values()),
        vary=_copier(logs, fleet.names, failed, hashes),
    )
    seeded = time.perf_counter() - started
    say(f"    {failed:,} failed, every log {BUDGET:,} B: seeded in {seeded:.1f}s")
    run = invoke(product(app, seed.event, timeout_seconds=DEADLINE_SECONDS), stack)
    point = ScalePoint(
        failed=failed,
        seed_seconds=seeded,
        wall=run.wall,
        compute=run.outside,
        in_calls=run.inside,
        operations=dict(run.by_operation),
        get_bytes=run.get_bytes,
        get_concurrency=run.get_concurrency,
        publish_bytes=[delivery.sns_bytes(p) for p in run.published],
        distinct_logs=len(hashes),
        error=run.error,
    )
    _judge(point, _digest(stack, run.result, run.published))
    say(
        f"    {failed:,} failed: handler {run.wall:.1f}s ({run.outside:.1f}s computing), modelled "
        f"{point.modelled:.0f}s on AWS; partial {point.partial}, {point.not_from_s3} not from S3, "
        f"{point.status_only} from status only"
    )
    return point


def measure(quick: bool, say: Callable[..., None]) -> AtScale:
    result = AtScale(target=TARGET, quick=quick)
    with emulator.in_process() as stack:
        app = load_handler_module("command_failed")
        fleet = scenarios.Fleet(stack)
        invoke(product(app, scenarios.seed_fleet(stack, fleet, 2, 1.0).event), stack)  # warm
        if quick:
            result.points.append(_measure_point(stack, app, fleet, QUICK, say))
            return result
        probe = _measure_point(stack, app, fleet, PROBE, say)
        result.points.append(probe)
        result.projected_seconds = (probe.seed_seconds + probe.wall) * TARGET / PROBE
        result.extrapolated = result.projected_seconds > TOO_LONG_SECONDS
        if result.extrapolated:
            say(f"    10,000 would take about {result.projected_seconds:.0f}s here: {MIDDLE:,} instead")
        result.points.append(
            _measure_point(stack, app, fleet, MIDDLE if result.extrapolated else TARGET, say)
        )
    return result
