"""The experiments, in one process and one run, so that every ratio compares like with like.

Order: cold start (fresh interpreters), log-size scaling in-process (stock moto and S3-faithful
ranged reads, with the naive baseline), log-size scaling over HTTP in separate processes (memory),
fleet scaling in-process (with both baselines), one fleet point over HTTP. Within each, rounds
are interleaved (every variant once per round) and medians are reported.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import coldstart, delivery, emulator, flood, issue11, micro, scale, scenarios, secrets, server_mode
from bench.aws_model import Usage
from bench.calls import CALLS
from bench.measure import Options, Replay, Run, invoke, product, replay, say
from bench.naive import NaiveNotifier
from bench.stack import ROOT, load_function
from instance_hygiene import report as product_report

KIB, MIB, GIB = scenarios.KIB, scenarios.MIB, scenarios.GIB


@dataclass(frozen=True)
class Config:
    quick: bool
    with_1gb: bool
    out: Path
    only: tuple[str, ...] = ()
    """`--only`: the steps run (STEP_NAMES keys); empty: all."""

    @property
    def log_sizes(self) -> list[int]:
        sizes = [10 * KIB, MIB, 100 * MIB]
        return [*sizes, GIB] if self.with_1gb else sizes

    @property
    def fleet_sizes(self) -> list[int]:
        return [10, 100, 1000] if self.quick else [10, 100, 1000, 5000]

    @property
    def fractions(self) -> list[float]:
        return [0.1, 1.0] if self.quick else [0.01, 0.1, 1.0]

    @property
    def log_rounds(self) -> int:
        return 3 if self.quick else 4

    def fleet_rounds(self, instances: int) -> int:
        if instances <= 100:
            return 2 if self.quick else 3
        if instances <= 1000:
            return 1 if self.quick else 2
        return 1

    def run_naive(self, failed: int) -> bool:
        """The naive Lambda makes ~6 calls per failed instance: quick runs skip it at 1,000 failed."""
        return not self.quick or failed < 1000

    @property
    def http_log_sizes(self) -> list[int]:
        sizes = self.log_sizes
        return [sizes[0], sizes[-1]] if self.quick else sizes

    @property
    def coldstart_rounds(self) -> int:
        return 5 if self.quick else 7

    @property
    def profile_at(self) -> tuple[int, float]:
        return (100, 1.0) if self.quick else (1000, 1.0)

    @property
    def http_fleet_point(self) -> tuple[int, float] | None:
        return None if self.quick else (100, 1.0)

    @property
    def worst_case_instances(self) -> int | None:
        """All failures with 256 KiB logs (and the deadline check): full runs only."""
        return None if self.quick else 500

    @property
    def scan_rounds(self) -> int:
        """Issue 11, summarising against a bare scan: rounds per failure kind."""
        return 11 if self.quick else 31

    @property
    def dedupe(self) -> tuple[int, int]:
        """Issue 11, identical against different logs: (failed instances, rounds)."""
        return (200, 1) if self.quick else (1000, 2)

    def replay_fleet(self, instances: int) -> bool:
        """Replays double a run's time; above this the time inside calls stands in for them."""
        return instances <= (100 if self.quick else 1000)


# --- results ---------------------------------------------------------------------------------------


@dataclass
class Sample:
    """One variant of one scenario over the rounds: the runs' numbers, and the first run's calls."""

    walls: list[float] = field(default_factory=list)
    inside: list[float] = field(default_factory=list)
    outside: list[float] = field(default_factory=list)
    operations: dict[str, int] = field(default_factory=dict)
    get_bytes: int = 0
    gets: int = 0
    get_concurrency: int = 0
    publish_bytes: list[int] = field(default_factory=list)
    log_bytes: int = 0
    errors: list[str] = field(default_factory=list)
    result: Any = None
    replay_seconds: float | None = None
    replay_by_operation: dict[str, float] = field(default_factory=dict)
    clients_created: list[int] = field(default_factory=list)
    client_seconds: list[float] = field(default_factory=list)
    """Per run: clients the function created during the call, and the time that took."""

    def add(self, run: Run) -> None:
        if not self.walls:
            self.operations = dict(run.by_operation)
            self.get_bytes = run.get_bytes
            self.gets = run.gets
            self.get_concurrency = run.get_concurrency
            self.publish_bytes = [delivery.sns_bytes(p) for p in run.published]
            self.log_bytes = run.log_bytes
            self.result = run.result if isinstance(run.result, dict) else None
        self.walls.append(run.wall)
        self.clients_created.append(len(run.recording.clients_created))
        self.client_seconds.append(sum(seconds for _, seconds in run.recording.clients_created))
        self.inside.append(run.inside)
        self.outside.append(run.outside)
        if run.error:
            self.errors.append(run.error)

    def set_replay(self, measured: Replay) -> None:
        self.replay_seconds = measured.seconds
        self.replay_by_operation = measured.by_operation

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def compute(self) -> float:
        return statistics.median(self.outside) if self.outside else float("nan")

    @property
    def in_calls(self) -> float:
        return statistics.median(self.inside) if self.inside else float("nan")

    def usage(self, emails: int, compute: float | None = None) -> Usage:
        return Usage(
            operations=self.operations,
            get_bytes=self.get_bytes,
            publish_bytes=tuple(self.publish_bytes),
            emails=emails,
            compute_seconds=self.compute if compute is None else compute,
            read_concurrency=max(1, self.get_concurrency),
            log_bytes=self.log_bytes,
        )


@dataclass
class LogPoint:
    size: int
    stock: Sample = field(default_factory=Sample)
    faithful: Sample = field(default_factory=Sample)
    naive: Sample = field(default_factory=Sample)
    product_delivery: delivery.Delivery | None = None
    naive_delivery: delivery.Delivery | None = None
    http: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class FleetPoint:
    instances: int
    fraction: float
    failed: int
    objects: int
    log_bytes: int
    kinds: dict[str, int]
    product: Sample = field(default_factory=Sample)
    naive: Sample = field(default_factory=Sample)
    deliveries: list[delivery.Delivery] = field(default_factory=list)


@dataclass
class WorstCase:
    """Every failure with a 256 KiB log; then the same with a deadline the reads leave time for."""

    instances: int
    sample: Sample
    reads_end: float
    """Seconds from the start until the last log read ended (normal run)."""
    deadline: float
    deadline_wall: float
    deadline_partial: bool
    deadline_published: int


@dataclass
class Micro:
    summarise: dict[str, micro.Cost]


@dataclass
class Machine:
    cpu: str
    cores: int
    python: str
    versions: dict[str, str]
    date: str
    platform: str


@dataclass
class Results:
    config: Config
    machine: Machine
    cold: coldstart.ColdStart | None = None
    logs: list[LogPoint] = field(default_factory=list)
    fleet: list[FleetPoint] = field(default_factory=list)
    http_fleet: dict[str, dict[str, Any]] = field(default_factory=dict)
    worst: WorstCase | None = None
    micro: Micro | None = None
    flood: list[flood.FloodPoint] = field(default_factory=list)
    """Issue 10: the log listing before and now, under a flood and in the normal case."""
    scan: issue11.ScanVsSummarise | None = None
    at_scale: scale.AtScale | None = None
    dedupe: issue11.Dedupe | None = None
    """Issue 11: summarising against a bare scan, 10,000 failed instances, identical logs."""
    secrets: secrets.Secrets | None = None
    """Our redaction against detect-secrets (`secrets.py`); `skipped` says why when not measured."""
    code: str = ""
    """The product code measured: commit, and whether product files had uncommitted changes."""
    http_fleet_point: tuple[int, float] = (0, 0.0)
    profile_point: tuple[int, float] = (0, 0.0)
    profile_groups: dict[str, float] = field(default_factory=dict)
    profile_top: list[tuple[str, int, float, float]] = field(default_factory=list)
    profile_wall: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)


def available_memory() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def machine() -> Machine:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    packages = ["boto3", "botocore", "moto", "aws-lambda-powertools", "pydantic", "matplotlib"]
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["detect-secrets"] = secrets.installed_version() or "not installed"
    return Machine(
        cpu=cpu,
        cores=os.cpu_count() or 0,
        python=platform.python_version(),
        versions=versions,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        platform=platform.platform(),
    )


# --- experiments -----------------------------------------------------------------------------------


def log_scaling(config: Config, results: Results) -> None:
    """One failed instance whose failing stdout is 10 KiB ... 1 GiB; stock and faithful ranges."""
    with emulator.in_process() as stack:
        app = load_function("command_failed")
        fleet = scenarios.Fleet(stack)
        seeded = {size: scenarios.seed_big_log(stack, fleet, size) for size in config.log_sizes}
        points = {size: LogPoint(size) for size in config.log_sizes}
        naive = NaiveNotifier(stack.topic_arn)
        invoke(product(app, seeded[config.log_sizes[0]].event), stack)  # warm: clients, imports
        for round_ in range(config.log_rounds):
            say(f"  log sizes, round {round_ + 1}/{config.log_rounds}")
            # Alternate which variant goes first, so neither always follows the other's debris.
            variants = (False, True) if round_ % 2 == 0 else (True, False)
            for size in config.log_sizes:
                event = seeded[size].event
                for faithful in variants:
                    emulator.faithful_ranges(faithful)
                    run = invoke(product(app, event), stack)
                    (points[size].faithful if faithful else points[size].stock).add(run)
                    if faithful and points[size].product_delivery is None:
                        points[size].product_delivery = delivery.assess_product(run.published, seeded[size])
                emulator.faithful_ranges(False)
            for size in config.log_sizes:  # after the product runs: the naive one frees 100s of MB
                if size > 100 * MIB:  # 1 GiB would be held in memory twice here: see the HTTP run
                    continue
                event = seeded[size].event
                run = invoke(partial(naive.handler, event), None)
                points[size].naive.add(run)
                if points[size].naive_delivery is None:
                    points[size].naive_delivery = delivery.assess_naive(run.published, seeded[size])
            gc.collect()
        for size, point in points.items():
            for faithful, sample in ((False, point.stock), (True, point.faithful)):
                emulator.faithful_ranges(faithful)
                again = invoke(product(app, seeded[size].event), stack)
                replays = [replay(again.calls, stack) for _ in range(3)]
                sample.set_replay(sorted(replays, key=lambda r: r.seconds)[len(replays) // 2])
        emulator.faithful_ranges(False)
        results.logs = list(points.values())


def log_scaling_http(config: Config, results: Results) -> None:
    """The same scenarios with the function alone in its process (memory) and over HTTP."""
    for point in results.logs:
        if point.size not in config.http_log_sizes:
            continue
        say(f"  over HTTP: {point.size:,} B")
        variants = {"product": 3}
        if point.size <= 100 * MIB:
            variants["naive"] = 1
        elif available_memory() > 8 * GIB:
            variants["naive"] = 0  # a cold and a traced run only: at 1 GiB it holds ~3 GiB and takes long
        point.http = server_mode.measure(server_mode.Spec(log_size=point.size), variants)


def fleet_scaling(config: Config, results: Results) -> None:
    with emulator.in_process() as stack:
        app = load_function("command_failed")
        fleet = scenarios.Fleet(stack)
        naive = NaiveNotifier(stack.topic_arn)
        warm = scenarios.seed_fleet(stack, fleet, 2, 1.0)
        invoke(product(app, warm.event), stack)
        for instances in config.fleet_sizes:
            started = time.perf_counter()
            seeded = {f: scenarios.seed_fleet(stack, fleet, instances, f) for f in config.fractions}
            say(f"  fleet of {instances:,}: seeded in {time.perf_counter() - started:.1f}s")
            points = {
                f: FleetPoint(
                    instances=instances,
                    fraction=f,
                    failed=len(s.failed),
                    objects=s.objects,
                    log_bytes=s.log_bytes,
                    kinds=s.kinds(),
                )
                for f, s in seeded.items()
            }
            first_runs: dict[float, Run] = {}
            rounds = config.fleet_rounds(instances)
            for round_ in range(rounds):
                for fraction, seed in seeded.items():
                    run = invoke(product(app, seed.event), stack)
                    points[fraction].product.add(run)
                    first_runs.setdefault(fraction, run)
                    nrun = None
                    if config.run_naive(len(seed.failed)):
                        nrun = invoke(partial(naive.handler, seed.event), None)
                        points[fraction].naive.add(nrun)
                    if round_ == 0:
                        points[fraction].deliveries = [
                            delivery.assess_product(run.published, seed),
                            *([delivery.assess_naive(nrun.published, seed)] if nrun else []),
                            *delivery.assess_native(seed, fleet.ids[:instances]),
                        ]
                    naive_text = f"naive {nrun.wall:.2f}s" if nrun else "naive skipped (quick)"
                    say(
                        f"    {instances:,} x {fraction:.0%}: product {run.wall:.2f}s, {naive_text}"
                        f" (round {round_ + 1}/{rounds})"
                    )
            for fraction, run in first_runs.items():
                if config.replay_fleet(instances):
                    replays = [replay(run.calls, stack) for _ in range(3 if instances <= 100 else 1)]
                    points[fraction].product.set_replay(
                        sorted(replays, key=lambda r: r.seconds)[len(replays) // 2]
                    )
            if config.profile_at[0] == instances and config.profile_at[1] in seeded:
                profiled = invoke(
                    product(app, seeded[config.profile_at[1]].event), stack, Options(profile=True)
                )
                results.profile_point = config.profile_at
                results.profile_wall = profiled.wall
                if profiled.profile is not None:
                    results.profile_groups = time_by_group(profiled.profile)
                    results.profile_top = top_product_functions(profiled.profile)
            results.fleet.extend(points.values())


def worst_case(config: Config, results: Results) -> None:
    instances = config.worst_case_instances
    if instances is None:
        return
    with emulator.in_process() as stack:
        app = load_function("command_failed")
        fleet = scenarios.Fleet(stack)
        seed = scenarios.seed_fleet(stack, fleet, instances, 1.0, scenarios.worst_case_kinds())
        invoke(product(app, scenarios.seed_fleet(stack, fleet, 2, 1.0).event), stack)
        sample = Sample()
        run = invoke(product(app, seed.event), stack)
        sample.add(run)
        reads_end = max((c.end for c in run.calls if c.operation == "GetObject"), default=run.started)
        reads_end -= run.started
        # Room for every read and the read reserve, as a slow Lambda would have; not for summarising.
        deadline = reads_end + float(getattr(product_report, "TIME_RESERVE_SECONDS", 8.0)) + 1.0
        late = invoke(product(app, seed.event, timeout_seconds=deadline), stack)
        partial = any(json.loads(json.loads(p["Message"])["default"])["partial"] for p in late.published)
        say(f"    worst case {instances:,}: {run.wall:.1f}s; {deadline:.1f}s deadline: {late.wall:.1f}s")
        results.worst = WorstCase(
            instances=instances,
            sample=sample,
            reads_end=reads_end,
            deadline=deadline,
            deadline_wall=late.wall,
            deadline_partial=partial,
            deadline_published=len(late.published),
        )


def micro_costs(results: Results) -> None:
    with emulator.in_process():
        results.micro = Micro(summarise=micro.summarise_per_failure())


def fleet_http(config: Config, results: Results) -> None:
    if config.http_fleet_point is None:
        return
    instances, fraction = config.http_fleet_point
    say(f"  over HTTP: fleet of {instances:,} x {fraction:.0%}")
    results.http_fleet_point = (instances, fraction)
    results.http_fleet = server_mode.measure(
        server_mode.Spec(instances=instances, fraction=fraction), {"product": 3}
    )


# --- profile ---------------------------------------------------------------------------------------

GROUPS = (
    ("/instance_hygiene/", "product: instance_hygiene"),
    ("/functions/", "product: handler"),
    ("/aws_lambda_powertools/", "Powertools"),
    ("/pydantic", "pydantic"),
    ("/moto/", "emulator: moto"),
    ("/local/standin/", "emulator: our SSM stand-in"),
    ("/werkzeug/", "emulator: moto"),
    ("/xmltodict", "emulator: moto"),
    ("/responses/", "emulator: moto"),
    ("/jinja2/", "emulator: moto"),
    ("/botocore/", "SDK: botocore/boto3"),
    ("/boto3/", "SDK: botocore/boto3"),
    ("/urllib3/", "SDK: botocore/boto3"),
    ("/dateutil/", "SDK: botocore/boto3"),
    ("/bench/", "bench"),
)


def _group(filename: str) -> str:
    for fragment, name in GROUPS:
        if fragment in filename:
            return name
    if "threading.py" in filename or "concurrent/futures" in filename:
        return "waiting for the read threads"
    return "Python standard library"


def time_by_group(stats: Any) -> dict[str, float]:
    """Self time by package, in the profiled (main) thread; a builtin's time goes to its callers."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in stats.stats.items():
        if filename == "~":
            for (caller_file, _l, _n), edge in callers.items():
                totals[_group(caller_file) if caller_file != "~" else "Python builtins"] += edge[2]
        else:
            totals[_group(filename)] += tottime
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def top_product_functions(stats: Any, count: int = 12) -> list[tuple[str, int, float, float]]:
    """(function, calls, own seconds, cumulative seconds) of the package's costliest functions."""
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        if "/instance_hygiene/" in filename:
            module = filename.rsplit("/instance_hygiene/", 1)[1].removesuffix(".py")
            rows.append((f"{module}.{name} (line {line})", calls, tottime, cumtime))
    rows.sort(key=lambda row: -row[3])
    return rows[:count]


# --- all of it -------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit, and the product files changed since it (the bench measures the working tree)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "layers", "functions", "template.yaml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {commit}" + (
        f" with uncommitted changes in {len(changed)} product files" if changed else ""
    )


STEP_NAMES = {
    "cold": "cold start",
    "logs": "log sizes, in-process",
    "logs-http": "log sizes, over HTTP",
    "fleet": "fleet, in-process",
    "fleet-http": "fleet, over HTTP",
    "worst": "worst case and deadline",
    "micro": "product micro-costs",
    "flood": "log listing under a flood",
    "scan": "summariser vs bare scan",
    "scale": "10,000 failed instances",
    "dedupe": "identical vs different logs",
    "secrets": "redaction vs detect-secrets",
}
"""`--only` names: the step each runs (the report leaves out what was not measured)."""


def run_all(config: Config) -> Results:
    CALLS.install()
    results = Results(config=config, machine=machine(), code=code_version())
    steps: list[tuple[str, Callable[[], object]]] = [
        (
            "cold start",
            lambda: setattr(results, "cold", coldstart.measure(config.coldstart_rounds, config.quick)),
        ),
        ("log sizes, in-process", lambda: log_scaling(config, results)),
        ("log sizes, over HTTP", lambda: log_scaling_http(config, results)),
        ("fleet, in-process", lambda: fleet_scaling(config, results)),
        ("fleet, over HTTP", lambda: fleet_http(config, results)),
        ("worst case and deadline", lambda: worst_case(config, results)),
        ("product micro-costs", lambda: micro_costs(results)),
        ("log listing under a flood", lambda: setattr(results, "flood", flood.measure(config.quick, say))),
        (
            "summariser vs bare scan",
            lambda: setattr(results, "scan", issue11.scan_vs_summarise(config.scan_rounds)),
        ),
        ("10,000 failed instances", lambda: setattr(results, "at_scale", scale.measure(config.quick, say))),
        (
            "identical vs different logs",
            lambda: setattr(results, "dedupe", issue11.identical_vs_different(*config.dedupe)),
        ),
        (
            "redaction vs detect-secrets",
            lambda: setattr(results, "secrets", secrets.measure(config.quick, say)),
        ),
    ]
    wanted = {STEP_NAMES[name] for name in config.only}
    for name, step in steps:
        if wanted and name not in wanted:
            continue
        say(f"{name} ...")
        started = time.perf_counter()
        step()
        results.seconds[name] = time.perf_counter() - started
        say(f"{name}: {results.seconds[name]:.1f}s")
    return results


def operations_per_failed(point: FleetPoint) -> tuple[float, dict[str, int]]:
    """Stream reads per failed instance, and every other call (the fixed part)."""
    ops = Counter(point.product.operations)
    reads = ops.pop("s3:GetObject", 0)
    return reads / point.failed if point.failed else 0.0, dict(ops)
