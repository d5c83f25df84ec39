"""The CloudFormation custom-resource protocol: parse the request, always send one response.

A custom resource that never answers hangs the stack for an hour, so every path, including an
unexpected exception, ends in a SUCCESS or FAILED PUT to the pre-signed ResponseURL.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

LOGGER = logging.getLogger(__name__)

RequestType = Literal["Create", "Update", "Delete"]


@dataclass(frozen=True)
class Request:
    request_type: RequestType
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str | None
    properties: Mapping[str, Any]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        try:
            request_type = event["RequestType"]
            if request_type not in ("Create", "Update", "Delete"):
                raise ValueError(f"unknown RequestType {request_type!r}")
            return cls(
                request_type=request_type,
                response_url=str(event["ResponseURL"]),
                stack_id=str(event["StackId"]),
                request_id=str(event["RequestId"]),
                logical_resource_id=str(event["LogicalResourceId"]),
                physical_resource_id=event.get("PhysicalResourceId"),
                properties=event.get("ResourceProperties", {}),
            )
        except KeyError as missing:
            raise ValueError(f"not a CloudFormation custom resource request: {missing} missing") from None


@dataclass(frozen=True)
class ResourceOutcome:
    physical_resource_id: str
    data: Mapping[str, str] = field(default_factory=dict)


def response_body(request: Request, *, ok: bool, outcome: ResourceOutcome | None, reason: str) -> bytes:
    physical_id = (
        outcome.physical_resource_id
        if outcome
        else request.physical_resource_id or f"{request.logical_resource_id}-failed"
    )
    body = {
        "Status": "SUCCESS" if ok else "FAILED",
        # CloudFormation shows at most 4 KB of the reason.
        "Reason": reason[:3500],
        "PhysicalResourceId": physical_id,
        "StackId": request.stack_id,
        "RequestId": request.request_id,
        "LogicalResourceId": request.logical_resource_id,
        "Data": dict(outcome.data) if outcome else {},
    }
    return json.dumps(body).encode()


def send(url: str, body: bytes, timeout: float = 30.0) -> None:
    if not url.startswith("https://") and not url.startswith("http://"):
        raise ValueError("ResponseURL must be an http(s) URL")
    put = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(put, timeout=timeout) as response:  # noqa: S310
        LOGGER.info("custom resource response sent: HTTP %s", response.status)


def run(
    event: Mapping[str, Any],
    work: Callable[[Request], ResourceOutcome],
    *,
    sender: Callable[[str, bytes], None] = send,
    log_stream: str = "",
) -> None:
    """Do `work` for the request and report the outcome; never leave CloudFormation waiting."""
    request = Request.from_event(event)
    try:
        outcome = work(request)
    except Exception as error:
        LOGGER.exception("custom resource %s failed", request.request_type)
        reason = f"{type(error).__name__}: {error}"
        if log_stream:
            reason += f" (see CloudWatch log stream {log_stream})"
        sender(request.response_url, response_body(request, ok=False, outcome=None, reason=reason))
        return
    sender(request.response_url, response_body(request, ok=True, outcome=outcome, reason="OK"))
