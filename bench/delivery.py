"""What each way of being told delivers: messages, bytes, and per failed instance its id, name,
exit code and cause line. Baseline (b), SSM's own NotificationConfig, is modelled here.

SSM native (Run Command `NotificationConfig` to an SNS topic, as documented): with
NotificationType=Invocation, one message per invocation reaching a notified status (Failed,
TimedOut, Cancelled), holding commandId, documentName, instanceId, requestedDateTime, status,
detailedStatus and eventTime; with NotificationType=Command, one message per command status
with the targeted instanceIds and the output location. Neither carries a name, an exit code or
any output. The JSON bodies below follow that documented shape; nothing is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.scenarios import DOCUMENT, PREFIX, Seeded
from bench.stack import BUCKET

SNS_LIMIT = 262_144


def sns_bytes(params: Mapping[str, Any]) -> int:
    """What SNS counts against its 256 KiB: the message, plus attribute names, types and values."""
    size = len(str(params.get("Message", "")).encode())
    for name, attribute in (params.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        size += len(str(attribute.get("StringValue", "")).encode())
    return size


@dataclass(frozen=True)
class Delivery:
    scheme: str
    messages: int
    total_bytes: int
    max_bytes: int
    failed: int
    with_id: int
    with_name: int
    with_exit_code: int
    with_cause: int
    complete_count: bool
    """One message states how many instances failed (no adding up N messages)."""

    def share(self, value: int) -> float:
        return value / self.failed if self.failed else 0.0


def _has_cause(text: str, fragments: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(fragment in lowered for fragment in fragments)


def _exit_matches(value: Any, expected: int) -> bool:
    return isinstance(value, int) and value % 2**32 == expected % 2**32


def assess_product(published: list[dict[str, Any]], seeded: Seeded) -> Delivery:
    """The digest JSON ("default" body) of the one message: listed failures, their group's reason."""
    sizes = [sns_bytes(p) for p in published]
    listed: dict[str, tuple[dict[str, Any], str]] = {}
    complete = False
    for params in published:
        bodies = json.loads(params["Message"])
        digest = json.loads(bodies["default"])
        counts = digest["counts"]
        complete = complete or (counts["targets"] - counts["succeeded"] == len(seeded.failed))
        for group in digest["groups"]:
            for failure in group["failures"]:
                listed[failure["instance_id"]] = (failure, group["reason"])
    with_id = with_name = with_exit = with_cause = 0
    for instance_id, kind in seeded.failed.items():
        if instance_id not in listed:
            continue
        failure, reason = listed[instance_id]
        with_id += 1
        with_name += failure.get("instance_name") == seeded.names.get(instance_id)
        with_exit += _exit_matches(failure.get("exit_code"), kind.exit_code)
        text = " ".join([reason, failure.get("reason") or "", *failure.get("excerpt", [])])
        with_cause += _has_cause(text, kind.cause)
    return Delivery(
        scheme="this product",
        messages=len(published),
        total_bytes=sum(sizes),
        max_bytes=max(sizes, default=0),
        failed=len(seeded.failed),
        with_id=with_id,
        with_name=with_name,
        with_exit_code=with_exit,
        with_cause=with_cause,
        complete_count=complete,
    )


def assess_texts(
    scheme: str, messages: list[str], seeded: Seeded, sizes: list[int] | None = None
) -> Delivery:
    """Messages as plain text (the naive Lambda's, SSM's JSON): an instance is covered by a message
    that names its id; the rest is looked for in that message."""
    by_instance: dict[str, str] = {}
    for text in messages:
        for instance_id in seeded.failed:
            if instance_id in text:
                by_instance[instance_id] = by_instance.get(instance_id, "") + "\n" + text
    with_id = with_name = with_exit = with_cause = 0
    for instance_id, kind in seeded.failed.items():
        found = by_instance.get(instance_id)
        if found is None:
            continue
        text = found
        with_id += 1
        with_name += seeded.names.get(instance_id, "\0") in text
        with_exit += f"exit code {kind.exit_code}" in text
        with_cause += _has_cause(text, kind.cause)
    sizes = sizes if sizes is not None else [len(m.encode()) for m in messages]
    return Delivery(
        scheme=scheme,
        messages=len(messages),
        total_bytes=sum(sizes),
        max_bytes=max(sizes, default=0),
        failed=len(seeded.failed),
        with_id=with_id,
        with_name=with_name,
        with_exit_code=with_exit,
        with_cause=with_cause,
        complete_count=len(messages) == 1,
    )


def assess_naive(published: list[dict[str, Any]], seeded: Seeded) -> Delivery:
    return assess_texts(
        "naive Lambda",
        [f"{p.get('Subject', '')}\n{p['Message']}" for p in published],
        seeded,
        [sns_bytes(p) for p in published],
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def native_invocation_messages(seeded: Seeded) -> list[str]:
    """NotificationType=Invocation: one message per failed invocation."""
    return [
        json.dumps(
            {
                "commandId": seeded.command_id,
                "documentName": DOCUMENT,
                "instanceId": instance_id,
                "requestedDateTime": _now(),
                "status": "Failed",
                "detailedStatus": "Failed",
                "eventTime": _now(),
            }
        )
        for instance_id in seeded.failed
    ]


def native_command_message(seeded: Seeded, targets: list[str]) -> str:
    """NotificationType=Command: one message for the command's status, every target listed."""
    return json.dumps(
        {
            "commandId": seeded.command_id,
            "documentName": DOCUMENT,
            "instanceIds": targets,
            "requestedDateTime": _now(),
            "expiresAfter": _now(),
            "outputS3BucketName": BUCKET,
            "outputS3KeyPrefix": PREFIX,
            "status": "Failed",
            "eventTime": _now(),
        }
    )


def assess_native(seeded: Seeded, targets: list[str]) -> tuple[Delivery, Delivery]:
    invocation = assess_texts("SSM native, per invocation", native_invocation_messages(seeded), seeded)
    command = native_command_message(seeded, targets)
    size = len(command.encode())
    # Every target is listed, failed or not: naming an instance is not saying it failed.
    as_command = Delivery(
        scheme="SSM native, per command",
        messages=1,
        total_bytes=size,
        max_bytes=size,
        failed=len(seeded.failed),
        with_id=len(seeded.failed) if len(targets) == len(seeded.failed) else 0,
        with_name=0,
        with_exit_code=0,
        with_cause=0,
        complete_count=False,
    )
    return invocation, as_command
