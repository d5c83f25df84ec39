"""What each kind of subscriber receives of the night's notifications.

The SQS subscriber gets the digest (the "default" body) in the SNS envelope; the e-mail and chat
(HTTPS) bodies of the same message are the MessageStructure=json keys SNS picks for those
protocols, read from the stand-in's record of what was published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from moto.sns.models import sns_backends

from local.stack import Clients, Stack
from local.stack import received as received_envelopes


@dataclass(frozen=True)
class Notification:
    """One SNS message as each kind of subscriber receives it."""

    message_id: str
    subject: str
    email: str
    chat: str
    digest: str
    published: str
    """The MessageStructure=json body as published."""

    @property
    def kind(self) -> str:
        schema = str(json.loads(self.digest).get("schema", ""))
        if schema.startswith("instance-hygiene/window-report"):
            return "window"
        return "summary" if schema.startswith("instance-hygiene/summary") else "command"

    @property
    def status(self) -> str:
        return str(json.loads(self.digest).get("status", ""))


def for_protocol(published: str, protocol: str) -> str:
    """The body a subscriber of `protocol` gets from a MessageStructure=json message: its own
    key, else "default" (the rule SNS applies, and moto with it)."""
    structure = json.loads(published)
    return str(structure.get(protocol) or structure["default"])


def received(clients: Clients, stack: Stack) -> list[Notification]:
    """Every message on the subscribed queue (the digest, in the SNS envelope), with the e-mail
    and chat bodies of the same message. The queue gets only the SQS body, so those two are
    taken from the stand-in's record of the published message (moto, in this process)."""
    published = {
        message_id: message
        for message_id, message, *_ in sns_backends[stack.account][stack.region]
        .topics[stack.topic_arn]
        .sent_notifications
    }
    if stack.queue_url is None:
        raise ValueError("the demo's stack has a subscribed queue (local.stack.provision)")
    notifications: list[Notification] = []
    for envelope in received_envelopes(clients.sqs, stack.queue_url):
        body = published[envelope["MessageId"]]
        notifications.append(
            Notification(
                message_id=envelope["MessageId"],
                subject=envelope.get("Subject", ""),
                email=for_protocol(body, "email"),
                chat=for_protocol(body, "https"),
                digest=envelope["Message"],
                published=body,
            )
        )
    return notifications
