"""Issue 10: one failed instance floods its command's log folder; the listing before and now.

Before (commit 8dcefc0, `S3Logs.index`): one paginated listing of the whole command folder into a
list, then `build_index`. Now (`S3Logs.find`): only the failed steps' streams are kept, at most
`MAX_KEYS_PER_INSTANCE` keys are looked at per failed instance, and every page starts at the next
failed instance's folder (StartAfter). Both run on the same botocore S3 client, whose
ListObjectsV2 is answered in the same process by a stand-in serving S3's own XML from a sorted key
space (the flood is computed, never stored), so the SDK parses real responses and the stand-in
costs one page per call (moto sorts the whole bucket on every page: a million keys would take
hours). Each run is a fresh child process (`python -m bench.flood JOB`): RSS growth is measured
as in measure.py (VmHWM reset just before the listing), the tracemalloc peak in a second run.

Shapes: a flood of 10k / 100k / 1M objects (one flooding failed instance among 50 normal failed
and 50 succeeded ones, its own stdout after the flood: the worst case for the cap), and the normal
case (every instance writes three keys, no flood) to check that the bounded listing costs no more.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from bench.aws_model import CPU_FACTOR, LATENCY_SECONDS, PRICES
from bench.measure import peak_rss_bytes, reset_peak_rss, rss_bytes
from bench.stack import FUNCTION_MEMORY_MB, FUNCTION_TIMEOUT_SECONDS, ROOT
from instance_hygiene.aws.s3_logs import S3Logs
from instance_hygiene.digest.logs import (
    MAX_KEYS_PER_INSTANCE,
    build_index,
    command_root,
    find_streams,
)

BUCKET = "instance-hygiene-logbucket-flood"
PREFIX = "ssm_output/"
COMMAND_ID = "5f0c2a9e-1b3d-4e6f-8a7b-9c0d1e2f3a4b"
STEP = "PatchLinux"
VARIANTS = ("before", "now")
NORMAL_FAILED, NORMAL_SUCCEEDED = 50, 50
MEMORY_TARGET_BYTES = 256 * 1024 * 1024
BIG = 1_000_000
"""From here one round (the old listing takes minutes) and no tracemalloc run of the old listing."""
CHILD_ENV = {"PYTHONPATH": f"{ROOT / 'layers' / 'hygiene'}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Shape:
    """`flood` objects under one failed instance, or (flood 0) `instances` x `fraction` failed."""

    objects: int
    flood: int = 0
    instances: int = 0
    fraction: float = 0.0

    @property
    def label(self) -> str:
        if self.flood:
            return f"flood {self.objects:,}"
        return f"normal {self.instances:,} x {self.fraction:.0%}"


# --- the key space -------------------------------------------------------------------------------


def _id(n: int) -> str:
    return f"i-{n:017x}"


def _stdout(instance: str, step: str = STEP) -> str:
    return f"{command_root(PREFIX, COMMAND_ID)}{instance}/awsrunShellScript/{step}/stdout"


class Flood(Sequence[str]):
    """`count` keys in one instance's step folder, computed from their index, in S3's order."""

    def __init__(self, instance: str, count: int) -> None:
        self._base = f"{command_root(PREFIX, COMMAND_ID)}{instance}/awsrunShellScript/{STEP}/dump/"
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if not 0 <= index < self._count:
            raise IndexError(index)
        return f"{self._base}{index:09d}"


@dataclass
class KeySpace:
    """The command folder's keys (stored ones plus an optional flood) and the failed steps."""

    stored: list[str]
    flood: Flood | None
    wanted: dict[str, str]
    flooder: str | None = None

    @property
    def objects(self) -> int:
        return len(self.stored) + (len(self.flood) if self.flood else 0)

    def after(self, start: str) -> Iterator[str]:
        """Every key above `start`, in order."""
        sources: list[Sequence[str]] = [self.stored, *([self.flood] if self.flood else [])]
        return heapq.merge(*(_after(source, start) for source in sources))


def _after(keys: Sequence[str], start: str) -> Iterator[str]:
    return (keys[i] for i in range(bisect.bisect_right(keys, start), len(keys)))


def key_space(shape: Shape) -> KeySpace:
    if shape.flood:
        flooder = _id(NORMAL_FAILED + NORMAL_SUCCEEDED + 1)
        normal = [_id(n) for n in range(1, NORMAL_FAILED + NORMAL_SUCCEEDED + 1)]
        failed = normal[:: (NORMAL_FAILED + NORMAL_SUCCEEDED) // NORMAL_FAILED]
        stored = sorted([*(_stdout(i) for i in normal), _stdout(flooder)])
        flood = Flood(flooder, shape.objects - len(stored))
        return KeySpace(stored, flood, dict.fromkeys([*failed, flooder], STEP), flooder)
    ids = [_id(n) for n in range(1, shape.instances + 1)]
    stride = max(1, round(1 / shape.fraction))
    failed = ids[::stride]
    stored = sorted(
        key
        for instance in ids
        for key in (
            _stdout(instance),
            _stdout(instance).replace("/stdout", "/stderr"),
            _stdout(instance, "Other"),
        )
    )
    return KeySpace(stored, None, dict.fromkeys(failed, STEP))


# --- ListObjectsV2 as S3 answers it ----------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class StandIn:
    """Answers the client's ListObjectsV2 from `keys` (StartAfter, ContinuationToken, MaxKeys)."""

    keys: KeySpace
    requests: int = 0
    seconds: float = 0.0

    def install(self, client: Any) -> None:
        client.meta.events.register("before-send.s3.ListObjectsV2", self._answer)

    def _answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        started = time.perf_counter()
        self.requests += 1
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query, keep_blank_values=True).items()}
        prefix, limit = query.get("prefix", ""), int(query.get("max-keys", "1000"))
        start = query.get("continuation-token") or query.get("start-after", "")
        page = list(itertools.islice((k for k in self.keys.after(start) if k.startswith(prefix)), limit + 1))
        more = len(page) > limit
        body = "".join(
            [
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<Name>{BUCKET}</Name><Prefix>{escape(prefix)}</Prefix>"
                f"<KeyCount>{min(len(page), limit)}</KeyCount><MaxKeys>{limit}</MaxKeys>"
                f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>",
                f"<NextContinuationToken>{escape(page[limit - 1])}</NextContinuationToken>" if more else "",
                *(
                    f"<Contents><Key>{escape(k)}</Key><LastModified>2026-11-26T02:15:11.000Z</LastModified>"
                    "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>2287</Size>"
                    "<StorageClass>STANDARD</StorageClass></Contents>"
                    for k in page[:limit]
                ),
                "</ListBucketResult>",
            ]
        ).encode()
        self.seconds += time.perf_counter() - started
        return AWSResponse(request.url, 200, {"Content-Type": "application/xml"}, _Raw(body))  # type: ignore[arg-type]


# --- the two listings ------------------------------------------------------------------------------


def listing_before(s3: Any, keys: KeySpace) -> int:
    """S3Logs.index as of commit 8dcefc0, then find_streams per failed step: streams found."""
    root = command_root(PREFIX, COMMAND_ID)
    entries = [
        (obj["Key"], obj["Size"])
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=root)
        for obj in page.get("Contents", [])
    ]
    index = build_index(entries, root)
    return sum(1 for instance, step in keys.wanted.items() if find_streams(index, instance, step))


def listing_now(s3: Any, keys: KeySpace) -> int:
    listing = S3Logs(s3, bucket=BUCKET, prefix=PREFIX).find(COMMAND_ID, keys.wanted)
    return sum(1 for instance, step in keys.wanted.items() if find_streams(listing.index, instance, step))


LISTINGS: dict[str, Callable[[Any, KeySpace], int]] = {"before": listing_before, "now": listing_now}


def child(job: dict[str, Any]) -> dict[str, Any]:
    """One listing in this (fresh) process: time, requests, RSS growth; then traced, if asked."""
    keys = key_space(Shape(**job["shape"]))
    s3 = boto3.client(
        "s3",
        region_name="eu-west-2",
        endpoint_url="http://flood.standin.invalid",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - never sent anywhere: the stand-in answers
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    stand_in = StandIn(keys)
    stand_in.install(s3)
    s3.list_objects_v2(Bucket=BUCKET, Prefix="warm-up/")  # endpoint rules, signer, parser
    stand_in.requests, stand_in.seconds = 0, 0.0
    run = LISTINGS[job["variant"]]
    gc.collect()
    reset_peak_rss()
    rss_before = rss_bytes()
    started = time.perf_counter()
    found = run(s3, keys)
    wall = time.perf_counter() - started
    result = {
        "wall": wall,
        "served": stand_in.seconds,
        "requests": stand_in.requests,
        "rss_growth": max(0, peak_rss_bytes() - rss_before),
        "found": found,
        "wanted": len(keys.wanted),
        "objects": keys.objects,
        "tracemalloc_peak": None,
    }
    if job.get("trace"):
        gc.collect()
        tracemalloc.start()
        run(s3, keys)
        result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


# --- the experiment --------------------------------------------------------------------------------


@dataclass
class FloodSample:
    walls: list[float] = field(default_factory=list)
    own: list[float] = field(default_factory=list)
    """Wall minus the stand-in's serving time: the SDK's and the function's part."""
    rss_growth: list[int] = field(default_factory=list)
    requests: int = 0
    found: int = 0
    tracemalloc_peak: int | None = None
    error: str | None = None

    def add(self, run: dict[str, Any]) -> None:
        self.walls.append(run["wall"])
        self.own.append(run["wall"] - run["served"])
        self.rss_growth.append(run["rss_growth"])
        self.requests, self.found = run["requests"], run["found"]
        if run.get("tracemalloc_peak") is not None:
            self.tracemalloc_peak = run["tracemalloc_peak"]

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def modelled(self) -> float:
        """On AWS: one assumed ListObjectsV2 latency per request, plus own time at 512 MB's CPU."""
        own = statistics.median(self.own) if self.own else float("nan")
        return self.requests * LATENCY_SECONDS["s3:ListObjectsV2"] + own * CPU_FACTOR


@dataclass
class FloodPoint:
    shape: Shape
    objects: int = 0
    wanted: int = 0
    before: FloodSample = field(default_factory=FloodSample)
    now: FloodSample = field(default_factory=FloodSample)

    def ratio(self) -> float:
        pairs = list(zip(self.before.walls, self.now.walls, strict=False))
        return statistics.median(b / n for b, n in pairs) if pairs else float("nan")


def shapes(quick: bool) -> list[Shape]:
    floods = [10_000] if quick else [10_000, 100_000, 1_000_000]
    normal = [(1000, 0.1)] if quick else [(1000, 0.1), (5000, 0.1), (5000, 1.0)]
    return [
        *(Shape(objects=n, flood=n) for n in floods),
        *(Shape(objects=3 * i, instances=i, fraction=f) for i, f in normal),
    ]


def _spawn(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.flood", json.dumps(job)],
        cwd=ROOT,
        env={**os.environ, **CHILD_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = " / ".join(done.stderr.strip().splitlines()[-3:])
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(quick: bool, say: Callable[[str], None]) -> list[FloodPoint]:
    """Every shape, both listings, interleaved rounds (which goes first alternates); the first
    round also measures the tracemalloc peak (a second, traced run in the same process), except
    for the old listing at a million objects (minutes under tracemalloc; its RSS growth is shown)."""
    points = []
    for shape in shapes(quick):
        point = FloodPoint(shape)
        rounds = 1 if quick or shape.objects >= BIG else 3
        for round_ in range(rounds):
            order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                trace = round_ == 0 and not (variant == "before" and shape.objects >= BIG)
                run = _spawn({"shape": shape.__dict__, "variant": variant, "trace": trace})
                sample = getattr(point, variant)
                if "error" in run:
                    sample.error = run["error"]
                    continue
                sample.add(run)
                point.objects, point.wanted = run["objects"], run["wanted"]
                say(f"    {shape.label}: {variant} {run['wall']:.2f}s, {run['requests']} pages")
        points.append(point)
    return points


# --- the report ------------------------------------------------------------------------------------


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 1024**2:,.1f} MiB"


def _s(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def verdict(points: Sequence[FloodPoint]) -> str:
    """The issue's targets, from the largest flood and the normal shapes."""
    floods = [p for p in points if p.shape.flood]
    normal = [p for p in points if not p.shape.flood]
    if not floods:
        return ""
    top = max(floods, key=lambda p: p.objects)
    growth = max(top.now.rss_growth, default=0)
    before = max(top.before.rss_growth, default=0)
    costlier = [p.shape.label for p in normal if p.now.requests > p.before.requests]
    slower = [p.shape.label for p in normal if p.ratio() < 1 / 1.2]
    return (
        f"At {top.objects:,} objects the bounded listing grew the process by {_mib(growth)} (target: under "
        f"{_mib(MEMORY_TARGET_BYTES)}: **{'met' if growth < MEMORY_TARGET_BYTES else 'not met'}**) in "
        f"{top.now.requests} pages and {_s(top.now.wall)} ({_s(top.now.modelled)} modelled on AWS); the old "
        f"listing grew it by {_mib(before)} in {top.before.requests:,} pages and {_s(top.before.wall)} "
        f"({_s(top.before.modelled)} modelled on AWS, for a function of {FUNCTION_MEMORY_MB} MB and "
        f"{FUNCTION_TIMEOUT_SECONDS:.0f} s). In the normal case the bounded listing took "
        + ("no more pages than the old one" if not costlier else f"more pages at {', '.join(costlier)}")
        + " and was "
        + ("nowhere more than 1.2x slower" if not slower else f"more than 1.2x slower at {', '.join(slower)}")
        + ". The flooding instance's own stdout, after the flood, is found only by the old listing; the "
        "new digest says that its folder was cut and shows its API output."
    )


HEADERS = (
    "Shape",
    "Objects",
    "Failed steps",
    "Pages",
    "Pages per failed",
    "Time here",
    "x faster",
    "Modelled on AWS",
    "RSS growth",
    "tracemalloc peak",
    "Streams found",
)


def _row(p: FloodPoint) -> list[str]:
    def per_failed(sample: FloodSample) -> str:
        return f"{sample.requests / p.wanted:.3f}" if p.wanted else "n/a"

    def growth(sample: FloodSample) -> str:
        return sample.error or _mib(max(sample.rss_growth, default=0))

    return [
        p.shape.label,
        f"{p.objects:,}",
        f"{p.wanted:,}",
        f"{p.before.requests:,} / {p.now.requests:,}",
        f"{per_failed(p.before)} / {per_failed(p.now)}",
        f"{_s(p.before.wall)} / {_s(p.now.wall)}",
        f"{p.ratio():,.1f}x",
        f"{_s(p.before.modelled)} / {_s(p.now.modelled)}",
        f"{growth(p.before)} / {growth(p.now)}",
        f"{_mib(p.before.tracemalloc_peak)} / {_mib(p.now.tracemalloc_peak)}",
        f"{p.before.found:,} / {p.now.found:,}",
    ]


def section(points: Sequence[FloodPoint]) -> str:
    if not points:
        return ""
    lines = [HEADERS, ["---"] * len(HEADERS), *(_row(p) for p in points)]
    table = "\n".join("| " + " | ".join(line) + " |" for line in lines)
    list_price = PRICES["s3_put_list"]
    others = NORMAL_FAILED + NORMAL_SUCCEEDED + 1
    return f"""## 7. Log listing under a flood (issue 10)

One failed instance's folder holds all but {others} of the objects under the command's prefix (its
own stdout after them, the worst case for the cap); {NORMAL_FAILED} normal failed and
{NORMAL_SUCCEEDED} succeeded instances write one stdout each. "Normal" is the fleet of section 2
without a flood (three keys per instance).
Before: the whole command folder listed into memory (commit 8dcefc0). Now: `S3Logs.find`, at most
{MAX_KEYS_PER_INSTANCE:,} keys looked at per failed instance, pages starting at the next failed
instance's folder. Each run is a fresh process; ListObjectsV2 is answered by an in-process stand-in
with S3's XML (`bench/flood.py`), whose serving time is left out of "modelled on AWS"
(pages x {LATENCY_SECONDS["s3:ListObjectsV2"] * 1000:.0f} ms + own time x {CPU_FACTOR:.2f}).
Cells are before / now; "x faster" is the median of per-round ratios. A LIST request costs
${list_price:.6f} (section 6).

{table}

{verdict(points)}
"""


if __name__ == "__main__":
    print(json.dumps(child(json.loads(sys.argv[1]))))
