"""Every AWS API call made in this process, timed and counted, through botocore's event hooks.

`CallLog.install()` wraps `botocore.session.Session.create_client`, so every client created
afterwards (the handler's, Powertools' DynamoDB client, the baselines') gets three hooks:
`before-parameter-build` (start, the original parameters), `after-call` / `after-call-error`
(end, status, bytes). Calls, and client creations, are recorded only while `recording()` is
active, so the bench's own seeding and checking stay out of the numbers.

"Time inside a call" runs from parameter build to the parsed response: the SDK's serialising
and parsing plus, here, the emulator; on AWS it would be the SDK plus the network and service.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session

_START = "bench_start"
_PARAMS = "bench_params"


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    thread: int
    start: float
    end: float
    bytes_in: int
    """Body bytes received (Content-Length), e.g. what a GetObject downloaded."""
    error: str | None
    params: dict[str, Any]
    """The original keyword arguments (for replay and for inspecting what was published)."""

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def seconds(self) -> float:
        return self.end - self.start


def union_seconds(calls: list[Call]) -> float:
    """Wall time during which at least one call was in flight (threads overlap)."""
    spans = sorted((c.start, c.end) for c in calls)
    total, current_start, current_end = 0.0, None, None
    for start, end in spans:
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total


def max_concurrency(calls: list[Call], operation: str | None = None) -> int:
    """The most calls (of one operation, if given) in flight at the same moment."""
    events: list[tuple[float, int]] = []
    for call in calls:
        if operation is None or call.operation == operation:
            events += [(call.start, 1), (call.end, -1)]
    peak = level = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)
    clients_created: list[tuple[str, float]] = field(default_factory=list)
    """(service, seconds) of every boto3/botocore client created while recording."""

    def by_operation(self) -> Counter[str]:
        return Counter(c.name for c in self.calls)

    def count(self, operation: str) -> int:
        return sum(1 for c in self.calls if c.operation == operation)

    def bytes_in(self, operation: str) -> int:
        return sum(c.bytes_in for c in self.calls if c.operation == operation)

    def seconds_inside(self) -> float:
        return union_seconds(self.calls)

    def seconds_summed(self) -> float:
        return sum(c.seconds for c in self.calls)

    def published(self) -> list[dict[str, Any]]:
        """The parameters of every SNS Publish (Subject, Message, MessageAttributes...)."""
        return [c.params for c in self.calls if c.name == "sns:Publish"]


class CallLog:
    """Hooks on every botocore client; one `Recording` at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Recording | None = None
        self._original: Any = None

    def install(self) -> None:
        if self._original is not None:
            return
        original = botocore.session.Session.create_client
        log = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            client = original(session, *args, **kwargs)
            recording = log._current
            if recording is not None:
                service = str(kwargs.get("service_name") or (args[0] if args else "?"))
                recording.clients_created.append((service, time.perf_counter() - started))
            events = client.meta.events
            events.register("before-parameter-build.*.*", log._before, unique_id="bench-before")
            events.register("after-call.*.*", log._after, unique_id="bench-after")
            events.register("after-call-error.*.*", log._after_error, unique_id="bench-after-error")
            return client

        self._original = original
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    @contextmanager
    def recording(self) -> Iterator[Recording]:
        recording = Recording()
        with self._lock:
            self._current = recording
        try:
            yield recording
        finally:
            with self._lock:
                self._current = None

    def _before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self._current is None:
            return
        context[_START] = time.perf_counter()
        context[_PARAMS] = dict(params)

    def _record(self, model: Any, context: dict[str, Any], bytes_in: int, error: str | None) -> None:
        start = context.pop(_START, None)
        recording = self._current
        if start is None or recording is None:
            return
        recording.calls.append(
            Call(
                service=str(model.service_model.service_name),
                operation=str(model.name),
                thread=threading.get_ident(),
                start=start,
                end=time.perf_counter(),
                bytes_in=bytes_in,
                error=error,
                params=context.pop(_PARAMS, {}),
            )
        )

    def _after(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        error = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
        length = parsed.get("ContentLength")
        if not isinstance(length, int):
            length = int(http_response.headers.get("content-length", 0) or 0)
        self._record(model, context, length, error)

    def _after_error(self, model: Any, context: dict[str, Any], exception: Exception, **_: Any) -> None:
        self._record(model, context, 0, type(exception).__name__)


CALLS = CallLog()
