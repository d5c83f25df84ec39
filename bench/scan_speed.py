"""Issue 11 ("explanations that hold on real logs, at the speed of a scan"): two micro-benchmarks,
no emulator.

`scan_vs_summarise`: per failure kind, `summarise_failure` on one failed stream at the full read
budget (a 256 KiB log cut into a 16 KiB head and a 48 KiB tail exactly as micro.py's `_as_read`
does, with `plan_ranges` and `decode`) against a bare scan of the same bytes (`bare_scan`), in
interleaved rounds; the ratio is the median of per-round ratios. Every round summarises a copy of
the log never seen before (a new instance line and tokens), so a summary cache cannot make a
round cheaper than the first.

`identical_vs_different`: `build_digest` (the product's listing, reads, summarising and grouping,
through the real `S3Logs` on an in-memory S3 client) over N failed instances whose logs are all
byte-identical, against N whose logs all differ; the ratio of the two runs' times, per round. Each
run's texts are new to the process, so only a cache within one command can help.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.scenarios import DOCUMENT, PREFIX, FailureKind, budget_kinds
from instance_hygiene.aws.s3_logs import S3Logs
from instance_hygiene.digest.collect import build_digest
from instance_hygiene.digest.invocations import Command, Invocation, Plugin
from instance_hygiene.digest.logs import HEAD_BYTES, TAIL_BYTES, decode, key_name, plan_ranges
from instance_hygiene.explain.summarise import summarise_failure

BUDGET = HEAD_BYTES + TAIL_BYTES
SCAN_LOG_BYTES = 4 * BUDGET
"""Target 1's logs: long enough to be read as a head and a tail, as a long patch run is."""
ERROR_WORDS = ("error", "fail", "denied", "fatal")
BARE_SCAN_DEFINITION = (
    '`[line for line in data.decode("utf-8", "replace").lower().split("\\n") '
    "if any(word in line for word in ERROR_WORDS)]` with ERROR_WORDS = "
    + ", ".join(f'"{w}"' for w in ERROR_WORDS)
    + ", applied to each chunk read (head, tail, stderr)"
)
SCAN_REPEATS = 10
"""The bare scan is timed over this many calls per round (it takes a fraction of a millisecond)."""
IDENTICAL_KIND = "package conflict"


def bare_scan(data: bytes) -> list[str]:
    """What a reviewer would write to find the error lines: decode, lower-case, split, filter."""
    return [
        line
        for line in data.decode("utf-8", "replace").lower().split("\n")
        if any(w in line for w in ERROR_WORDS)
    ]


def _chunks(body: bytes) -> list[bytes]:
    """The bytes the function reads of a stream: whole up to the budget, else head and tail."""
    return [body[first : last + 1] for first, last in plan_ranges(len(body))]


def _text(chunks: list[bytes]) -> Any:
    if not chunks:
        return None
    return decode(chunks[0], chunks[1] if len(chunks) > 1 else None)


def _summarise(kind: FailureKind, stdout: list[bytes], stderr: list[bytes]) -> Any:
    """As micro.py calls it, from the bytes read (decoding included)."""
    return summarise_failure(
        document_name=DOCUMENT,
        status="Failed",
        status_details="Failed",
        step=kind.step,
        response_code=kind.exit_code,
        stdout=_text(stdout),
        stderr=_text(stderr),
    )


# --- target 1: summarising against a bare scan -----------------------------------------------------


@dataclass
class ScanKind:
    name: str
    bytes_read: int
    log_bytes: int
    summarise: list[float] = field(default_factory=list)
    scan: list[float] = field(default_factory=list)
    """Seconds per call, one entry per round (the scan: the mean of SCAN_REPEATS calls)."""
    lines_kept: int = 0
    reason: str = ""

    @property
    def ratio(self) -> float:
        return statistics.median(s / b for s, b in zip(self.summarise, self.scan, strict=True))


@dataclass
class ScanVsSummarise:
    rounds: int
    kinds: list[ScanKind] = field(default_factory=list)

    def worst(self) -> ScanKind | None:
        return max(self.kinds, key=lambda k: k.ratio, default=None)


def scan_vs_summarise(rounds: int) -> ScanVsSummarise:
    logs = budget_kinds(SCAN_LOG_BYTES)
    rng = random.Random(11)  # noqa: S311 - test data, not secrets
    result = ScanVsSummarise(rounds=rounds)
    entries = {log.name: ScanKind(log.name, 0, len(log.kind.stdout) + len(log.kind.stderr)) for log in logs}
    for log in logs:  # warm: patterns compiled, catalogue loaded (a warm container's state)
        _summarise(log.kind, _chunks(log.kind.stdout), _chunks(log.kind.stderr))
    for round_ in range(rounds):
        for log in logs:
            kind = log.copy(rng, f"i-{rng.getrandbits(68):017x}", f"web-{round_:05d}.prod.internal")
            stdout, stderr = _chunks(kind.stdout), _chunks(kind.stderr)
            data = [*stdout, *stderr]
            entry = entries[log.name]
            entry.bytes_read = sum(len(c) for c in data)

            def summarise(
                kind: FailureKind = kind, out: list[bytes] = stdout, err: list[bytes] = stderr
            ) -> Any:
                return _summarise(kind, out, err)

            def scan(data: list[bytes] = data) -> int:
                return sum(len(bare_scan(chunk)) for chunk in data)

            order = (True, False) if round_ % 2 == 0 else (False, True)
            for summarising in order:
                if summarising:
                    start = time.perf_counter()
                    summary = summarise()
                    entry.summarise.append(time.perf_counter() - start)
                    entry.reason = summary.reason
                else:
                    start = time.perf_counter()
                    for _ in range(SCAN_REPEATS):
                        entry.lines_kept = scan()
                    entry.scan.append((time.perf_counter() - start) / SCAN_REPEATS)
    result.kinds = list(entries.values())
    return result


# --- target 4: identical failures summarised once --------------------------------------------------


class MemoryS3:
    """The two S3 calls `S3Logs` makes, answered from a dict (sorted keys, ranged GETs)."""

    def __init__(self, objects: Mapping[str, bytes]) -> None:
        self._objects = dict(objects)
        self._keys = sorted(self._objects)

    def list_objects_v2(
        self, *, Bucket: str, Prefix: str, StartAfter: str = "", MaxKeys: int = 1000, **_: Any
    ) -> dict[str, Any]:
        start = bisect.bisect_right(self._keys, StartAfter)
        keys = [k for k in self._keys[start : start + MaxKeys + 1] if k.startswith(Prefix)]
        page = keys[:MaxKeys]
        return {
            "Contents": [{"Key": k, "Size": len(self._objects[k])} for k in page],
            "IsTruncated": len(keys) > MaxKeys,
        }

    def get_object(self, *, Bucket: str, Key: str, Range: str | None = None, **_: Any) -> dict[str, Any]:
        body = self._objects[Key]
        if Range:
            first, last = (int(n) for n in Range.removeprefix("bytes=").split("-"))
            body = body[first : last + 1]
        return {"Body": io.BytesIO(body)}


@dataclass
class Dedupe:
    instances: int
    rounds: int
    log_bytes: int
    identical: list[float] = field(default_factory=list)
    different: list[float] = field(default_factory=list)
    """build_digest seconds per round."""
    distinct_different: int = 0
    """Distinct logs among the "different" run's (should be `instances`)."""
    groups: dict[str, int] = field(default_factory=dict)
    """Failure groups in each run's digest."""

    @property
    def ratio(self) -> float:
        return statistics.median(i / d for i, d in zip(self.identical, self.different, strict=True))


_STEPS = (
    ("PatchLinux", "aws:runShellScript", "Failed", 1),
    ("PatchWindows", "aws:runPowerShellScript", "Success", 0),
    ("PatchMacOS", "aws:runShellScript", "Success", 0),
)


@dataclass
class _Played:
    command: Command
    invocations: list[Invocation]
    objects: dict[str, bytes]


def _command(command_id: str, count: int, body: Callable[[str, str], bytes]) -> _Played:
    """One failed command over `count` instances, each failed stdout `body(instance_id, name)`."""
    invocations = []
    objects: dict[str, bytes] = {}
    for n in range(count):
        instance_id, name = f"i-{n:017x}", f"web-{n + 1:05d}.prod.internal"
        plugins = tuple(Plugin(step, status, status, code) for step, _, status, code in _STEPS)
        invocations.append(Invocation(instance_id, "Failed", "Failed", name, DOCUMENT, plugins))
        step, action, _, _ = _STEPS[0]
        key = f"{PREFIX}{command_id}/{instance_id}/{key_name(action)}/{step}/stdout"
        objects[key] = body(instance_id, name)
    command = Command(command_id, DOCUMENT, "Failed", output_bucket="bench", output_prefix=PREFIX)
    return _Played(command, invocations, objects)


def identical_vs_different(instances: int, rounds: int) -> Dedupe:
    (log,) = (v for v in budget_kinds(BUDGET) if v.name == IDENTICAL_KIND)
    rng = random.Random(4)  # noqa: S311 - test data, not secrets
    result = Dedupe(instances=instances, rounds=rounds, log_bytes=len(log.kind.stdout))
    for round_ in range(rounds):
        # New texts every round: a cache kept across invocations (a warm container) cannot help.
        one = log.copy(rng, "i-0000000000000000a", "web-00000.prod.internal").stdout

        def same(instance_id: str, name: str, one: bytes = one) -> bytes:
            return one

        runs = {
            "identical": _command(f"identical-{round_}", instances, same),
            "different": _command(
                f"different-{round_}", instances, lambda iid, name: log.copy(rng, iid, name).stdout
            ),
        }
        result.distinct_different = len(
            {hashlib.blake2b(b).digest() for b in runs["different"].objects.values()}
        )
        order = ("identical", "different") if round_ % 2 == 0 else ("different", "identical")
        for label in order:
            played = runs[label]
            logs = S3Logs(MemoryS3(played.objects), bucket="bench", prefix=PREFIX)  # type: ignore[arg-type]
            start = time.perf_counter()
            digest = build_digest(played.command, played.invocations, logs=logs)
            (result.identical if label == "identical" else result.different).append(
                time.perf_counter() - start
            )
            result.groups[label] = len(digest.groups)
    return result
