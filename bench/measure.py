"""Invoke a handler once and measure it: wall time, AWS calls, bytes, memory; replay its calls.

The bench's own console output goes to stderr; stdout is swapped for `LOG_SINK` before the
function is imported, so the Powertools logger and EMF metrics (CloudWatch Logs in Lambda) are
formatted as in production and counted, not printed.
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.exceptions import ClientError

from bench.calls import CALLS, Call, Recording, max_concurrency
from bench.stack import Stack, forget_idempotency, lambda_context


class CountingSink(io.TextIOBase):
    """A stdout that keeps nothing and counts the bytes the function logs."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)

    def writable(self) -> bool:
        return True


LOG_SINK = CountingSink()


def divert_stdout() -> None:
    """Send this process's stdout (the function's logs) to `LOG_SINK`; call before importing it."""
    sys.stdout = LOG_SINK


def say(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def rss_bytes() -> int:
    """The process's resident set now."""
    return _status_kib("VmRSS") * 1024


def peak_rss_bytes() -> int:
    """The process's peak resident set since it started or since `reset_peak_rss()`.

    Read from /proc (VmHWM), not getrusage: Linux carries a parent's ru_maxrss into a child
    across fork and exec, so a child of a big process would start with the parent's peak."""
    return _status_kib("VmHWM") * 1024


def reset_peak_rss() -> bool:
    """Set the peak back to the current RSS (Linux 4.0+); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


@dataclass
class Run:
    """One invocation."""

    wall: float
    started: float
    """perf_counter() when the call began (call records use the same clock)."""
    recording: Recording
    result: Any
    log_bytes: int
    error: str | None = None
    tracemalloc_peak: int | None = None
    maxrss_growth: int | None = None
    """Peak RSS during the call minus the RSS just before it (the peak is reset before the call)."""
    profile: pstats.Stats | None = None

    @property
    def calls(self) -> list[Call]:
        return self.recording.calls

    @property
    def inside(self) -> float:
        """Wall time with at least one AWS call in flight (emulator + SDK here)."""
        return self.recording.seconds_inside()

    @property
    def outside(self) -> float:
        """Wall time with no AWS call in flight: the function's own computing."""
        return max(0.0, self.wall - self.inside)

    @property
    def by_operation(self) -> Counter[str]:
        return self.recording.by_operation()

    @property
    def get_bytes(self) -> int:
        return self.recording.bytes_in("GetObject")

    @property
    def gets(self) -> int:
        return self.recording.count("GetObject")

    @property
    def get_concurrency(self) -> int:
        return max_concurrency(self.calls, "GetObject")

    @property
    def published(self) -> list[dict[str, Any]]:
        return self.recording.published()


@dataclass
class Options:
    trace_memory: bool = False
    profile: bool = False
    forget: bool = True
    collect: bool = False
    """gc.collect() first: cheap in a small process, seconds in one holding moto's state."""


def invoke(
    handler: Callable[[], Any],
    stack: Stack | None,
    options: Options | None = None,
) -> Run:
    """Call `handler()` once (after forgetting idempotency records) and measure it."""
    options = options or Options()
    if stack is not None and options.forget:
        forget_idempotency(stack)
    if options.collect:
        gc.collect()
    logged = LOG_SINK.bytes
    reset_peak_rss()
    rss_before = rss_bytes()
    profiler = cProfile.Profile() if options.profile else None
    if options.trace_memory:
        tracemalloc.start()
        tracemalloc.reset_peak()
    error = None
    result: Any = None
    with CALLS.recording() as recording:
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        try:
            result = handler()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            if profiler:
                profiler.disable()
        wall = time.perf_counter() - start
    peak = None
    if options.trace_memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Run(
        wall=wall,
        started=start,
        recording=recording,
        result=result,
        log_bytes=LOG_SINK.bytes - logged,
        error=error,
        tracemalloc_peak=peak,
        maxrss_growth=max(0, peak_rss_bytes() - rss_before),
        profile=pstats.Stats(profiler, stream=sys.stderr) if profiler else None,
    )


def product(app: Any, event: Mapping[str, Any], timeout_seconds: float | None = None) -> Callable[[], Any]:
    """The real handler with a fresh Lambda context (300 s, the template's timeout, unless given)."""
    if timeout_seconds is None:
        return lambda: app.handler(dict(event), lambda_context())
    return lambda: app.handler(dict(event), lambda_context(timeout_seconds))


# --- the same calls with no work -------------------------------------------------------------------


_REPLAY_CLIENTS: dict[tuple[str, str], Any] = {}


def _replay_client(service: str) -> Any:
    """One bare client per service and endpoint, kept: a client's first call is slower (endpoint
    rules, signer), so the first replay warms them and later ones measure the calls alone."""
    key = (service, os.environ.get("AWS_ENDPOINT_URL", ""))
    if key not in _REPLAY_CLIENTS:
        _REPLAY_CLIENTS[key] = boto3.client(service)  # type: ignore[call-overload]
    return _REPLAY_CLIENTS[key]


@dataclass
class Replay:
    """The emulator's (and SDK's) share: the recorded calls again, one after another, results unused."""

    seconds: float
    calls: int
    by_operation: dict[str, float] = field(default_factory=dict)


def replay(calls: list[Call], stack: Stack | None) -> Replay:
    """Make each recorded call again with fresh clients, in the order they started.

    Writes are replayed too (SNS publish, S3 put, DynamoDB); idempotency records are forgotten
    first so the conditional put behaves as it did.
    """
    if stack is not None:
        forget_idempotency(stack)
    clients = {service: _replay_client(service) for service in {c.service for c in calls}}
    by_operation: defaultdict[str, float] = defaultdict(float)
    started = time.perf_counter()
    for call in sorted(calls, key=lambda c: c.start):
        method = getattr(clients[call.service], xform_name(call.operation))
        begin = time.perf_counter()
        try:
            response = method(**call.params)
            body = response.get("Body")
            if body is not None:
                body.read()
        except ClientError:
            pass
        by_operation[call.name] += time.perf_counter() - begin
    return Replay(seconds=time.perf_counter() - started, calls=len(calls), by_operation=dict(by_operation))
