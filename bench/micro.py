"""The product's summariser measured on its own, to say exactly where the time goes: no emulator.

`summarise_per_failure`: `summarise_failure` on each failure kind of the fleet mix, its streams cut
to the head/tail budget exactly as `logs.read_bounded` cuts them.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

from bench.scenarios import DOCUMENT, FailureKind, fleet_kinds
from instance_hygiene.digest.logs import read_bounded
from instance_hygiene.explain.summarise import StreamText, summarise_failure


@dataclass(frozen=True)
class Cost:
    seconds: float
    peak_bytes: int


def _measure(action: Callable[[], object], rounds: int) -> Cost:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    action()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Cost(seconds=statistics.median(times), peak_bytes=peak)


def _as_read(body: bytes) -> StreamText | None:
    if not body:
        return None
    return read_bounded(lambda first, last: body[first : last + 1], len(body)).text


def summarise_per_failure(rounds: int = 15) -> dict[str, Cost]:
    costs: dict[str, Cost] = {}
    for kind in dict.fromkeys(fleet_kinds()):
        costs[kind.name] = _summarise(kind, rounds)
    return costs


def _summarise(kind: FailureKind, rounds: int) -> Cost:
    stdout, stderr = _as_read(kind.stdout), _as_read(kind.stderr)
    return _measure(
        lambda: summarise_failure(
            document_name=DOCUMENT,
            status="Failed",
            status_details="Failed",
            step=kind.step,
            response_code=kind.exit_code,
            stdout=stdout,
            stderr=stderr,
        ),
        rounds,
    )
