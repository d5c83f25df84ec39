"""Fault injection for the functions' AWS clients, on top of moto and our SSM stand-in.

`Faults.client(service, config)` builds a boto3 client with the handler's own botocore Config whose
requests pass through one `before-send` hook instead of straight into the emulator. A fault
answers chosen calls with the error AWS itself would send (status, headers and a body in the
service's protocol: rest-xml, query, ec2 or JSON), or with a connection error, *before* the
request reaches the emulator. Everything after that is botocore's own code: error parsing,
retry decisions, backoff and (for a client in adaptive mode) the client-side rate limiter. A
call that is not faulted is handed to moto exactly as moto's own hook would.

`RetryClock` puts botocore's waiting on a virtual clock: each backoff sleep and each wait of the
adaptive token bucket is recorded and advances the clock instead of blocking, so a permanent
fault that costs a Lambda function a minute of backoff costs a test nothing, and the test can
still assert how many retries there were and how long they would have waited.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape

import boto3
import botocore.endpoint
import botocore.retries.bucket
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from instance_hygiene.aws import clients as aws_clients
from local.lambda_env import LambdaContext

REQUEST_ID = "4f2b0d3c-9a1e-4c5b-8d7f-0e6a5b4c3d2e"

# moto's backends are not thread-safe; DynamoDB's conditional writes are atomic on AWS, and the
# idempotency store relies on that. One lock around every emulator call gives the emulator the
# same guarantee when the tests invoke handlers from many threads.
EMULATOR_LOCK = threading.RLock()

KMS_DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/instance-hygiene-CommandFailedRole/hygiene is not "
    "authorized to perform: kms:Decrypt on resource: arn:aws:kms:eu-west-2:123456789012:key/"
    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 because no identity-based policy allows the kms:Decrypt action"
)


# ---------------------------------------------------------------------------------------- clock


class RetryClock:
    """botocore's retry waits on a virtual clock: recorded, never slept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.offset = 0.0
        self.backoffs: list[float] = []
        """Delays botocore chose between attempts (endpoint retry sleeps), in order."""
        self.rate_waits: list[float] = []
        """Waits of the adaptive mode's token bucket (client-side rate limiting after throttling)."""

    def now(self) -> float:
        return time.time() + self.offset

    def _advance(self, seconds: float, into: list[float]) -> None:
        with self._lock:
            into.append(seconds)
            self.offset += max(seconds, 0.0)

    def sleep(self, seconds: float) -> None:
        self._advance(seconds, self.backoffs)

    def spend(self, seconds: float) -> None:
        """Time passing for other reasons (a slow call): moves the clock, counts as no wait."""
        with self._lock:
            self.offset += seconds

    @property
    def waited(self) -> float:
        """Seconds of backoff and rate limiting a real function would have spent."""
        return sum(self.backoffs) + sum(self.rate_waits)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Patch botocore's clocks; clients built afterwards (their token buckets) use it."""
        clock = self

        class Condition(threading.Condition):
            def wait(self, timeout: float | None = None) -> bool:
                clock._advance(timeout or 0.0, clock.rate_waits)
                return False

        endpoint_time = SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if not n.startswith("__")})
        endpoint_time.sleep = self.sleep
        bucket_threading = SimpleNamespace(Lock=threading.Lock, Condition=Condition)
        monkeypatch.setattr(botocore.endpoint, "time", endpoint_time)
        monkeypatch.setattr(botocore.retries.bucket, "threading", bucket_threading)
        monkeypatch.setattr(botocore.retries.bucket.Clock, "current_time", lambda _self: clock.now())
        monkeypatch.setattr(
            botocore.retries.bucket.Clock, "sleep", lambda _self, seconds: clock.sleep(seconds)
        )


# ------------------------------------------------------------------------------- error responses

Respond = Callable[[AWSPreparedRequest], AWSResponse]


def _response(request: AWSPreparedRequest, status: int, body: str, headers: dict[str, str]) -> AWSResponse:
    return AWSResponse(
        request.url,
        status,
        {"x-amzn-RequestId": REQUEST_ID, **headers},
        MockRawResponse(body),  # type: ignore[arg-type]
    )


def error_body(protocol: str, code: str, message: str) -> tuple[str, dict[str, str]]:
    """The body (and headers) of an error in the service's wire protocol, as AWS sends it."""
    code_x, message_x = escape(code), escape(message)
    if protocol == "json":
        return json.dumps({"__type": code, "message": message}), {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-ErrorType": code,
        }
    if protocol == "rest-xml":
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code_x}</Code><Message>{message_x}</Message>"
            f"<RequestId>{REQUEST_ID}</RequestId><HostId>fault-injection</HostId></Error>"
        ), {"Content-Type": "application/xml"}
    if protocol == "ec2":
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code_x}</Code><Message>{message_x}</Message></Error></Errors>"
            f"<RequestID>{REQUEST_ID}</RequestID></Response>"
        ), {"Content-Type": "text/xml;charset=UTF-8"}
    if protocol == "query":
        return (
            '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
            f"<Error><Type>Sender</Type><Code>{code_x}</Code><Message>{message_x}</Message></Error>"
            f"<RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
        ), {"Content-Type": "text/xml"}
    raise ValueError(f"no error format for protocol {protocol}")


def error(status: int, code: str, message: str = "") -> Callable[[str], Respond]:
    """An AWS error response, shaped when the fault is bound to a client (whose protocol decides)."""

    def for_protocol(protocol: str) -> Respond:
        body, headers = error_body(protocol, code, message or code)
        return lambda request: _response(request, status, body, headers)

    return for_protocol


def connection_refused() -> Callable[[str], Respond]:
    """No answer at all (endpoint down, DNS, network): botocore sees EndpointConnectionError."""

    def for_protocol(_protocol: str) -> Respond:
        def respond(request: AWSPreparedRequest) -> AWSResponse:
            raise EndpointConnectionError(endpoint_url=request.url)

        return respond

    return for_protocol


# The faults this suite uses, named as AWS names them.
S3_ACCESS_DENIED = error(403, "AccessDenied", "Access Denied")
S3_KMS_ACCESS_DENIED = error(403, "AccessDenied", KMS_DENIED)
S3_SLOW_DOWN = error(503, "SlowDown", "Please reduce your request rate.")
S3_INTERNAL_ERROR = error(500, "InternalError", "We encountered an internal error. Please try again.")
SSM_THROTTLED = error(400, "ThrottlingException", "Rate exceeded")
SSM_INVALID_COMMAND_ID = error(400, "InvalidCommandId", "")
SSM_ACCESS_DENIED = error(
    400,
    "AccessDeniedException",
    "User: arn:aws:sts::123456789012:assumed-role/hygiene/fn is not authorized to perform: "
    "ssm:DescribeInstanceInformation",
)
EC2_UNAUTHORIZED = error(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
EC2_THROTTLED = error(503, "RequestLimitExceeded", "Request limit exceeded.")
DYNAMODB_UNAVAILABLE = error(503, "ServiceUnavailable", "Service Unavailable")
DYNAMODB_THROTTLED = error(
    400,
    "com.amazonaws.dynamodb.v20120810#ThrottlingException",
    "Throughput exceeds the current capacity for one or more global secondary indexes.",
)
SNS_INTERNAL_ERROR = error(500, "InternalError", "Internal Error")
SNS_THROTTLED = error(400, "Throttling", "Rate exceeded")
# Codes, statuses and texts from botocore's SNS model (Publish's NotFoundException, KMSDisabledException).
SNS_TOPIC_DELETED = error(404, "NotFound", "Indicates that the requested resource does not exist.")
SNS_KEY_DISABLED = error(
    400,
    "KMSDisabled",
    "The request was rejected because the specified Amazon Web Services KMS key isn't enabled.",
)
SNS_KMS_ACCESS_DENIED = error(
    400,
    "KMSAccessDenied",
    "User: arn:aws:sts::123456789012:assumed-role/hygiene/fn is not authorized to perform: "
    "kms:GenerateDataKey on the topic's key",
)


# ----------------------------------------------------------------------------------- injection


@dataclass
class Fault:
    service: str
    operation: str
    respond: Respond
    times: int | None
    """How many matching calls fail (None: all of them, a permanent fault)."""
    where: Callable[[AWSPreparedRequest], bool] | None = None
    served: int = 0

    def takes(self, service: str, operation: str, request: AWSPreparedRequest) -> bool:
        if (service, operation) != (self.service, self.operation):
            return False
        if self.times is not None and self.served >= self.times:
            return False
        return self.where is None or self.where(request)


@dataclass
class Faults:
    """Clients for the handlers under test, with the faults chosen for them."""

    clock: RetryClock
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Every attempt that reached the hook (faulted or not), by (service, operation)."""
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Attempts answered by a fault."""
    before: dict[tuple[str, str], Callable[[AWSPreparedRequest], None]] = field(default_factory=dict)
    latency: dict[tuple[str, str], float] = field(default_factory=dict)
    """Seconds of virtual time an emulator call takes (what the handler's deadline sees)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, config: Config) -> Any:
        """A client built with `config` (the function's own) whose calls go through the faults."""
        client = boto3.client(service, config=config)  # type: ignore[call-overload]
        # This client's requests go through `_send` only (moto's hook would answer them too).
        client.meta.events.unregister("before-send", botocore_stubber)
        client.meta.events.register("before-send", self._send)
        return client

    def fail(
        self,
        service: str,
        operation: str,
        fault: Callable[[str], Respond],
        *,
        times: int | None = None,
        where: Callable[[AWSPreparedRequest], bool] | None = None,
    ) -> Fault:
        """Answer the next `times` calls of `service`.`operation` (all when None) with `fault`."""
        protocol = _PROTOCOLS[service]
        injected = Fault(service, operation, fault(protocol), times, where)
        self.faults.append(injected)
        return injected

    def clear(self) -> None:
        """The outage is over: every later call reaches the emulator."""
        self.faults.clear()

    def _send(self, event_name: str, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        _event, service, operation = event_name.split(".")  # before-send.<service id>.<Operation>
        with self._lock:
            self.calls[(service, operation)] += 1
            fault = next((f for f in self.faults if f.takes(service, operation, request)), None)
            if fault is not None:
                fault.served += 1
                self.failed[(service, operation)] += 1
        if fault is not None:
            return fault.respond(request)
        if (action := self.before.get((service, operation))) is not None:
            action(request)
        if (seconds := self.latency.get((service, operation))) is not None:
            self.clock.spend(seconds)
        with EMULATOR_LOCK:
            response: AWSResponse | None = botocore_stubber(event_name=event_name, request=request)
        return response


_PROTOCOLS = {"s3": "rest-xml", "ssm": "json", "ec2": "ec2", "sns": "query", "dynamodb": "json"}


# ---------------------------------------------------------------------------------------- handler


def deadline(clock: RetryClock, seconds: float, work_per_check: float = 0.0) -> LambdaContext:
    """A Lambda context whose remaining time runs on the retry clock: virtual time spent in
    backoff or in emulated latency brings the deadline closer, as it would in Lambda.

    `work_per_check` models computing between two looks at the clock (summarising a log, say):
    each look after the first costs that much virtual time.
    """
    looked = False

    def now() -> float:
        nonlocal looked
        moment = clock.now()
        if looked:
            clock.spend(work_per_check)
        looked = True
        return moment

    return LambdaContext(timeout_seconds=seconds, clock=now)


def wire(monkeypatch: pytest.MonkeyPatch, app: ModuleType, faults: Faults) -> dict[str, Any]:
    """Hand the functions clients built with their own botocore Config (`clients.RETRIES`) whose
    calls go through `faults`: the factories of instance_hygiene.aws.clients, which both handlers
    (`app` is either) call, are replaced for the test."""
    services = ("ssm", "s3", "ec2", "sns", "dynamodb")
    built: dict[str, Any] = {name: faults.client(name, aws_clients.RETRIES) for name in services}
    for name, client in built.items():
        monkeypatch.setattr(aws_clients, name, lambda *_region, _client=client: _client)
    return built
