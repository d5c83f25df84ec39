"""The demo's run: the night played, its events delivered to the real handlers, and checked.

`run` starts the stand-in, creates the stack (local.stack), plays the night (night.py), routes
each event through the template's own rules (local.eventbridge) in the order EventBridge hands
them over (shuffled, one of them twice) to the handlers of functions/*/app.py (local.lambda_env),
and collects what the subscribers received (subscribers.py).
"""

from __future__ import annotations

import json
import os
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local import agent_logs
from local.demo.night import Night, play_night, set_up
from local.demo.scenario import Scenario
from local.demo.subscribers import Notification, received
from local.eventbridge import DEFAULT_BUS, Rule, route, template_rules
from local.lambda_env import (
    COMMAND_FUNCTION,
    OFF_AWS,
    WINDOW_FUNCTION,
    LambdaContext,
    function_environment,
    load_function,
)
from local.stack import Clients, provision
from local.standin.server import running
from local.template import Deployment

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
FUNCTIONS = (COMMAND_FUNCTION, WINDOW_FUNCTION)
"""The functions the night's events reach."""
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
"""The console shows the notifications: no metrics lines, no INFO logs of the handlers."""


class DemoError(RuntimeError):
    """The demo could not show what it should (a handler raised, a message is missing...)."""


def functions_environment(deployment: Deployment, endpoint_url: str) -> dict[str, str]:
    """Both functions run in this process: their environments (they agree where they overlap)."""
    merged: dict[str, str] = {}
    for function in FUNCTIONS:
        environment = function_environment(
            function, deployment, endpoint_url=endpoint_url, extra=OFF_AWS | QUIET
        )
        clash = {k for k in environment.keys() & merged.keys() if environment[k] != merged[k]}
        if clash:
            raise DemoError(f"the functions' environments differ on {sorted(clash)}")
        merged |= environment
    return merged


@dataclass(frozen=True)
class Delivery:
    """One event as EventBridge delivered it, and what the function it reached returned."""

    position: int
    event: Mapping[str, Any]
    function: str | None
    redelivery: bool = False
    result: Mapping[str, Any] | None = None
    error: str | None = None
    seconds: float = 0.0


def delivery_order(night: Night, rules: Sequence[Rule]) -> tuple[list[dict[str, Any]], int | None]:
    """The night's events in the order EventBridge hands them over (`shuffled`)."""
    return shuffled(night.events, rules, seed=night.scenario.seed)


def shuffled(
    events: Sequence[dict[str, Any]], rules: Sequence[Rule], *, seed: int, bus: str = DEFAULT_BUS
) -> tuple[list[dict[str, Any]], int | None]:
    """Events on `bus` in the order EventBridge hands them over (not guaranteed: shuffled), with
    one event delivered a second time (at least once: same id), a command failure when the rules
    match one. Returns the stream and the position of the repeat."""
    rng = agent_logs.seeded(seed, "eventbridge")
    stream = list(events)
    rng.shuffle(stream)
    if not stream:
        return stream, None
    matched = [i for i, event in enumerate(stream) if route(rules, event, bus)]
    commands = [i for i in matched if stream[i]["detail-type"].startswith("EC2 Command")]
    first = rng.choice(commands or matched or range(len(stream)))
    again = rng.randint(first + 1, len(stream))
    stream.insert(again, json.loads(json.dumps(stream[first])))
    return stream, again


def deliver(
    stream: Sequence[dict[str, Any]],
    rules: Sequence[Rule],
    handlers: Mapping[str, Handler],
    *,
    deployment: Deployment,
    redelivered_at: int | None,
    bus: str = DEFAULT_BUS,
    before: Callable[[str], object] | None = None,
) -> list[Delivery]:
    """Hand each event on `bus` its rule matches to that function's handler, one at a time;
    `before(function)` is called first (e.g. to give it its own credentials)."""
    deliveries = []
    for position, event in enumerate(stream):
        function = route(rules, event, bus)
        if function is None:
            deliveries.append(Delivery(position, event, None, redelivery=position == redelivered_at))
            continue
        context = LambdaContext.of(
            function,
            deployment,
            aws_request_id=str(uuid.uuid4()),
            log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        )
        if before is not None:
            before(function)
        started = time.perf_counter()
        result: Mapping[str, Any] | None = None
        error: str | None = None
        try:
            result = handlers[function](json.loads(json.dumps(event)), context)
        except Exception as raised:  # reported with its event; the demo then fails
            error = f"{type(raised).__name__}: {raised}\n{traceback.format_exc()}"
        deliveries.append(
            Delivery(
                position,
                event,
                function,
                redelivery=position == redelivered_at,
                result=result,
                error=error,
                seconds=time.perf_counter() - started,
            )
        )
    return deliveries


@dataclass
class Result:
    """Everything a run produced, for printing, saving and tests."""

    night: Night
    deliveries: list[Delivery]
    notifications: list[Notification]
    rules: tuple[Rule, ...]
    seconds: float = 0.0
    out: Path | None = None
    folders: list[Path] = field(default_factory=list)
    earlier: list[Result] = field(default_factory=list)
    """The scenario's earlier nights, oldest first, each delivered the same way before tonight's."""

    @property
    def errors(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.error]

    @property
    def invoked(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.function]

    def expected_notifications(self) -> set[tuple[str, str]]:
        """One per (command, status) and (window execution, status) the rules matched whose truth,
        as the night played it, is worth telling: a command that did not succeed on every
        instance, a window execution that did not succeed or ran a task on no instance."""
        keys = set()
        for delivery in self.invoked:
            detail = delivery.event["detail"]
            identity = detail.get("command-id") or detail.get("window-execution-id")
            if self.night.worth_telling(delivery.event):
                keys.add((str(identity), str(detail["status"])))
        return keys


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration; put back the previous environment after."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def reset_standin(url: str) -> None:
    """Empty every moto backend of this process (moto's own reset endpoint)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - our 127.0.0.1
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with direct.open(request, timeout=30):
        pass


def seed_standin(url: str, seed: int) -> None:
    """Seed moto's ids (instances, commands, executions) so one scenario plays the same night
    byte for byte on every run (moto's own seed endpoint)."""
    request = urllib.request.Request(f"{url}/moto-api/seed?a={seed}", method="POST")  # noqa: S310 - our 127.0.0.1
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    with direct.open(request, timeout=30):
        pass


def run(scenario: Scenario, *, tonight: datetime | None = None) -> Result:
    """Play the scenario on a fresh stand-in and deliver its events to the real handlers: its
    earlier nights first, one a day on the same fleet and window, then tonight's, which ends at
    `tonight` (default: now; a fixed moment plays the same renderings byte for byte)."""
    tonight = tonight or datetime.now(UTC)
    with environment({"AWS_DEFAULT_REGION": scenario.region}), running() as endpoint:
        reset_standin(endpoint.url)
        seed_standin(endpoint.url, scenario.seed)
        try:
            clients = Clients.create(scenario.region)
            stack = provision(clients, region=scenario.region, seed=scenario.seed)
            fleet = set_up(scenario, clients, stack)
            deployment = stack.deployment(window_id=fleet.window.window_id)
            rules = template_rules(deployment)
            with environment(functions_environment(deployment, endpoint.url)):
                handlers = {name: load_function(name).handler for name in FUNCTIONS}

                def one_night(played: Scenario, nights_before: int) -> Result:
                    night = play_night(
                        played,
                        clients,
                        stack,
                        end=tonight - timedelta(days=nights_before),
                        fleet=fleet,
                        nights_before=nights_before,
                    )
                    stream, again = delivery_order(night, rules)
                    deliveries = deliver(stream, rules, handlers, deployment=deployment, redelivered_at=again)
                    return Result(night, deliveries, received(clients, stack), rules)

                earlier = [
                    one_night(scenario.nights_before(n), n)
                    for n in range(len(scenario.earlier_nights), 0, -1)
                ]
                result = one_night(scenario, 0)
        finally:
            reset_standin(endpoint.url)
    result.earlier = earlier
    return result


def check(result: Result) -> None:
    """Fail loudly when a night did not end in exactly one notification per failure."""
    for earlier in result.earlier:
        check(earlier)
    if result.errors:
        first = result.errors[0]
        detail = first.event["detail"]
        raise DemoError(
            f"{first.function} raised on event {first.event['id']} ({first.event['detail-type']}, "
            f"{detail.get('status')}): {first.error}"
        )
    expected = result.expected_notifications()
    if len(result.notifications) != len(expected):
        raise DemoError(
            f"expected {len(expected)} notification(s), one per failed command and window execution, "
            f"got {len(result.notifications)}"
        )
