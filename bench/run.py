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
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from typing import Any

from bench import (
    coldstart,
    delivery,
    emulator,
    flood,
    micro,
    org,
    scale,
    scan_speed,
    scenarios,
    secrets,
    server_mode,
)
from bench.calls import CALLS
from bench.measure import Options, Run, invoke, product, replay, say
from bench.naive import NaiveNotifier
from bench.results import Config, FleetPoint, LogPoint, Machine, Micro, Results, Sample, WorstCase
from bench.stack import ROOT
from instance_hygiene.digest import collect as product_report
from local.lambda_env import load_handler_module

KIB, MIB, GIB = scenarios.KIB, scenarios.MIB, scenarios.GIB


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
        app = load_handler_module("command_failed")
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
                emulator.faithful_ranges(True)
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
        emulator.faithful_ranges(True)
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
        app = load_handler_module("command_failed")
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
        app = load_handler_module("command_failed")
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
    "org": "across an Organization",
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
            lambda: setattr(results, "scan", scan_speed.scan_vs_summarise(config.scan_rounds)),
        ),
        ("10,000 failed instances", lambda: setattr(results, "at_scale", scale.measure(config.quick, say))),
        (
            "identical vs different logs",
            lambda: setattr(results, "dedupe", scan_speed.identical_vs_different(*config.dedupe)),
        ),
        (
            "redaction vs detect-secrets",
            lambda: setattr(results, "secrets", secrets.measure(config.quick, say)),
        ),
        ("across an Organization", lambda: setattr(results, "org", org.measure(config.quick, say))),
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
