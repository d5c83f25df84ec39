"""What a bench run is asked to do (`Config`) and what it measured (`Results` and its parts): the
documents are written from these, and `results_io` saves and loads them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import (
    coldstart,
    delivery,
    flood,
    micro,
    org,
    scale,
    scan_speed,
    scenarios,
    secrets,
)
from bench.aws_model import Usage
from bench.measure import Replay, Run

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
    scan: scan_speed.ScanVsSummarise | None = None
    at_scale: scale.AtScale | None = None
    dedupe: scan_speed.Dedupe | None = None
    """Issue 11: summarising against a bare scan, 10,000 failed instances, identical logs."""
    secrets: secrets.Secrets | None = None
    """Our redaction against detect-secrets (`secrets.py`); `skipped` says why when not measured."""
    org: org.OrgBench | None = None
    """Issue 16: a member account read through its role by the central stack (`org.py`)."""
    code: str = ""
    """The product code measured: commit, and whether product files had uncommitted changes."""
    http_fleet_point: tuple[int, float] = (0, 0.0)
    profile_point: tuple[int, float] = (0, 0.0)
    profile_groups: dict[str, float] = field(default_factory=dict)
    profile_top: list[tuple[str, int, float, float]] = field(default_factory=list)
    profile_wall: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
