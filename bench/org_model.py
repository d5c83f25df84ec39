"""Issue 16's Organization, modelled from the one member account measured (`org.py`): 100 accounts x
500 instances, 10% failing, a night's messages, what they take and cost on AWS, where the limits
of Lambda, EventBridge, SNS, STS and KMS sit (`org_bucket` weighs a central log bucket).

Nothing here is measured: each figure is a measured per-message count or modelled duration
(`aws_model.modelled_seconds`, at the MemorySize template.yaml gives each function) times a
count of messages, or an assumption of `aws_model` (latencies, prices, quotas) or of this module
(the shape of the Organization's night). Concurrency is Little's law: arrival rate x duration.
S3 reads are divided by the function's read workers (`collect.LOG_READ_WORKERS`) for every
variant alike, not by the concurrency a run reached in moto (3 or 4 here, by chance of threads),
which would make variants differ by noise.

A night per account and region: two commands (AWS-RunPatchBaseline and the healthcheck document,
the second modelled as the first measured: same instances, same failing share and log mix) and
one window execution, all three failed, so three events forwarded to the central bus and three
messages. A member role is assumed once per container and role: at best each account's second
command finds it cached ("role reused"); at worst no message does ("every role cold"). A window
message is always cold: one per account per night, and containers do not live from one night to
the next.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from bench.aws_model import (
    ORG_PRICES,
    QUOTAS,
    Usage,
    cost_lines,
    modelled_seconds,
)
from bench.org import (
    COMMAND_COLD,
    COMMAND_SINGLE,
    COMMAND_WARM,
    WINDOW_CENTRAL,
    WINDOW_SINGLE,
    OrgBench,
    Variant,
)
from instance_hygiene.digest.collect import LOG_READ_WORKERS

ACCOUNTS = 100
COMMANDS_PER_NIGHT = 2
WINDOW_EVENTS_PER_NIGHT = 1
NIGHTS_PER_MONTH = 30
SAME_MINUTE_SECONDS = 60.0
SPREAD_SECONDS = 3600.0
AT_ONCE_SECONDS = 1.0
"""Every window of the Organization ends in the same minute, spread over an hour, or (the upper
bound of any peak) every event arrives in the same second."""
EVENTBRIDGE = "EventBridge cross-account events"


@dataclass(frozen=True)
class Message:
    """One kind of message (a measured variant) on AWS: its modelled duration and memory."""

    variant: str
    seconds: float
    memory_mb: int
    source: Variant

    @property
    def gb_seconds(self) -> float:
        return self.seconds * self.memory_mb / 1024

    def cost(self) -> dict[str, float]:
        return cost_lines(usage(self.source), self.seconds, memory_gb=self.memory_mb / 1024)


def read_workers(variant: Variant) -> int:
    """GETs in flight on AWS: the function's read workers, or fewer when it reads fewer."""
    return max(1, min(LOG_READ_WORKERS, variant.operations.get("s3:GetObject", 0)))


def usage(variant: Variant) -> Usage:
    return replace(variant.usage(), read_concurrency=read_workers(variant))


def messages(bench: OrgBench) -> dict[str, Message]:
    return {
        name: Message(name, modelled_seconds(usage(v), v.memory_mb), v.memory_mb, v)
        for name, v in bench.variants.items()
    }


@dataclass(frozen=True)
class Night:
    """One night of the Organization: how many messages of each kind, in `regions` regions."""

    regions: int
    counts: dict[str, int]
    label: str

    @property
    def stacks(self) -> int:
        """Member stacks (account x region): one member role each."""
        return ACCOUNTS * self.regions

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def cold(self) -> int:
        """Messages that assume their member role (AssumeRole, and GetCallerIdentity at most)."""
        return self.counts.get(COMMAND_COLD, 0) + self.counts.get(WINDOW_CENTRAL, 0)


def central_night(regions: int, *, reused: bool) -> Night:
    stacks = ACCOUNTS * regions
    commands = COMMANDS_PER_NIGHT * stacks
    warm = stacks * (COMMANDS_PER_NIGHT - 1) if reused else 0
    return Night(
        regions=regions,
        counts={
            COMMAND_COLD: commands - warm,
            COMMAND_WARM: warm,
            WINDOW_CENTRAL: WINDOW_EVENTS_PER_NIGHT * stacks,
        },
        label="role reused" if reused else "every role cold",
    )


def single_night(regions: int) -> Night:
    """The same fleet with a single-role stack in every account and region (no Organization)."""
    stacks = ACCOUNTS * regions
    return Night(
        regions=regions,
        counts={COMMAND_SINGLE: COMMANDS_PER_NIGHT * stacks, WINDOW_SINGLE: WINDOW_EVENTS_PER_NIGHT * stacks},
        label="single-role stacks",
    )


@dataclass(frozen=True)
class NightTotals:
    """What a night takes and costs, summed over its messages."""

    night: Night
    operations: dict[str, int]
    lambda_seconds: float
    gb_seconds: float
    cost: dict[str, float]
    largest_message: int

    @property
    def dollars(self) -> float:
        return sum(self.cost.values())

    def count(self, operation: str) -> int:
        return self.operations.get(operation, 0)

    @property
    def dynamodb_write_units(self) -> int:
        ops = self.operations
        single = ops.get("dynamodb:PutItem", 0) + ops.get("dynamodb:UpdateItem", 0)
        return single + ops.get("dynamodb:DeleteItem", 0) + 25 * ops.get("dynamodb:BatchWriteItem", 0)


def totals(night: Night, kinds: dict[str, Message]) -> NightTotals:
    operations: Counter[str] = Counter()
    cost: defaultdict[str, float] = defaultdict(float)
    seconds = gb_seconds = 0.0
    largest = 0
    for name, count in night.counts.items():
        message = kinds[name]
        operations.update({op: n * count for op, n in message.source.operations.items()})
        for item, value in message.cost().items():
            cost[item] += value * count
        seconds += message.seconds * count
        gb_seconds += message.gb_seconds * count
        largest = max(largest, *message.source.publish_bytes, 0)
    if any(name in (COMMAND_COLD, COMMAND_WARM, WINDOW_CENTRAL) for name in night.counts):
        cost[EVENTBRIDGE] = night.total * ORG_PRICES["eventbridge_cross_account_event"]
    return NightTotals(night, dict(operations), seconds, gb_seconds, dict(cost), largest)


@dataclass(frozen=True)
class Concurrency:
    """Little's law for one function: messages arriving over `spread` seconds, each `seconds` long."""

    function: str
    messages: int
    seconds: float
    """Mean modelled duration of its messages."""
    spread: float

    @property
    def rate(self) -> float:
        return self.messages / self.spread

    @property
    def in_flight(self) -> float:
        """Mean executions in flight (the concurrency used), capped by the messages there are."""
        return min(float(self.messages), self.rate * self.seconds)


def concurrency(night: Night, kinds: dict[str, Message], spread: float) -> list[Concurrency]:
    """Per function (the command and the window function scale apart)."""
    by_function: dict[str, list[tuple[int, float]]] = {}
    for name, count in night.counts.items():
        message = kinds[name]
        by_function.setdefault(message.source.function, []).append((count, message.seconds))
    result = []
    for function, parts in by_function.items():
        count = sum(n for n, _ in parts)
        mean = sum(n * s for n, s in parts) / count if count else 0.0
        result.append(Concurrency(function, count, mean, spread))
    return result


@dataclass(frozen=True)
class Limit:
    """A quota against the night's peak: at the same-minute rate, and if everything came at once."""

    quota: str
    minute_peak: float
    at_once_peak: float
    where: str = ""
    """Whose quota, when the quota's name does not say."""

    @property
    def headroom_minute(self) -> float:
        return QUOTAS[self.quota].value / self.minute_peak if self.minute_peak else math.inf

    @property
    def headroom_at_once(self) -> float:
        return QUOTAS[self.quota].value / self.at_once_peak if self.at_once_peak else math.inf


def limits(night: Night, kinds: dict[str, Message], night_totals: NightTotals) -> list[Limit]:
    functions = concurrency(night, kinds, SAME_MINUTE_SECONDS)
    minute = sum(c.in_flight for c in functions)
    gets = night_totals.count("s3:GetObject")
    return [
        Limit("lambda_concurrency", minute, float(night.total)),
        Limit(
            "lambda_scaling",
            max(c.in_flight for c in functions),
            float(max(c.messages for c in functions)),
            "the busier function",
        ),
        Limit("eventbridge_put_events_low", night.total / SAME_MINUTE_SECONDS, night.total / AT_ONCE_SECONDS),
        Limit(
            "eventbridge_invocations_low", night.total / SAME_MINUTE_SECONDS, night.total / AT_ONCE_SECONDS
        ),
        Limit(
            "sns_publish_low",
            night_totals.count("sns:Publish") / SAME_MINUTE_SECONDS,
            night_totals.count("sns:Publish") / AT_ONCE_SECONDS,
        ),
        Limit("sns_message_bytes", float(night_totals.largest_message), float(night_totals.largest_message)),
        Limit("sts_requests", night.cold * 2 / SAME_MINUTE_SECONDS, night.cold * 2 / AT_ONCE_SECONDS),
        Limit(
            "kms_crypto_low",
            gets / night.stacks / SAME_MINUTE_SECONDS,
            gets / night.stacks / AT_ONCE_SECONDS,
            "(a) each member's account",
        ),
        Limit(
            "kms_crypto_low",
            gets / SAME_MINUTE_SECONDS,
            gets / AT_ONCE_SECONDS,
            "(b) the central key's account",
        ),
    ]
