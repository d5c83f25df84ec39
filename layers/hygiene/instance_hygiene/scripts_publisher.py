"""Publish the packaged healthcheck scripts to the log bucket, without clobbering an operator's copy.

`sam deploy` ships the scripts inside the publish function's package; a CloudFormation custom
resource calls `publish_scripts` on create and on every update that brings a new package. An
object we wrote carries our content hash in its metadata. An operator who replaces a script with
`aws s3 cp` writes an object without that metadata: from then on deployments leave it alone
(and say so) until the operator deletes it; the next deployment of new scripts then writes ours.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LOGGER = logging.getLogger(__name__)

SHA_METADATA_KEY = "hygiene-sha256"
"""S3 user metadata (x-amz-meta-hygiene-sha256) marking an object as published by the stack."""

SCRIPT_SUFFIXES = (".sh", ".ps1")


@dataclass(frozen=True)
class ScriptFile:
    """One packaged script: its file name and content."""

    name: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class ExistingObject:
    """What the object already at a script's key says about who wrote it."""

    published_sha256: str | None
    """Our hash from the object's metadata; None when someone else wrote the object."""


class Action(StrEnum):
    PUT = "put"
    UNCHANGED = "unchanged"
    KEPT_OPERATOR_COPY = "kept-operator-copy"


@dataclass(frozen=True)
class Decision:
    key: str
    script: ScriptFile
    action: Action


def plan(
    scripts: Iterable[ScriptFile],
    existing: Mapping[str, ExistingObject],
    *,
    prefix: str,
) -> list[Decision]:
    """Decide, per script, whether to write it. Pure: `existing` holds the keys already in the bucket."""
    decisions = []
    for script in sorted(scripts, key=lambda s: s.name):
        key = f"{prefix}{script.name}"
        current = existing.get(key)
        if current is None:
            action = Action.PUT
        elif current.published_sha256 is None:
            action = Action.KEPT_OPERATOR_COPY
        elif current.published_sha256 == script.sha256:
            action = Action.UNCHANGED
        else:
            action = Action.PUT
        decisions.append(Decision(key=key, script=script, action=action))
    return decisions


def load_scripts(folder: Path) -> list[ScriptFile]:
    """Read the packaged scripts; an empty folder is an error (a broken package must not deploy)."""
    scripts = [
        ScriptFile(name=path.name, body=path.read_bytes())
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix in SCRIPT_SUFFIXES
    ]
    if not scripts:
        raise FileNotFoundError(f"no healthcheck scripts ({', '.join(SCRIPT_SUFFIXES)}) in {folder}")
    return scripts


def existing_scripts(
    s3: S3Client, *, bucket: str, prefix: str, keys: Iterable[str]
) -> dict[str, ExistingObject]:
    """What is already at `keys`: one listing of `prefix` says which exist, a HEAD of each listed key
    reads its metadata. Keys not listed are absent.

    Existence comes from the listing, never from a HEAD of a missing key: S3 answers that with 403,
    not 404, when the caller may not list the bucket (GetObject and HeadObject API reference), and
    a caller allowed to list only under a prefix cannot rely on either answer.
    """
    wanted = set(keys)
    paginator = s3.get_paginator("list_objects_v2")
    listed = [
        obj["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
        if obj["Key"] in wanted
    ]
    return {
        key: ExistingObject(
            published_sha256=s3.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get(SHA_METADATA_KEY)
        )
        for key in listed
    }


def publish_scripts(s3: S3Client, *, bucket: str, prefix: str, folder: Path) -> list[Decision]:
    """Write the packaged scripts that need writing; return what was decided for each."""
    scripts = load_scripts(folder)
    existing = existing_scripts(s3, bucket=bucket, prefix=prefix, keys=(f"{prefix}{s.name}" for s in scripts))
    decisions = plan(scripts, existing, prefix=prefix)
    for decision in decisions:
        if decision.action is Action.PUT:
            s3.put_object(
                Bucket=bucket,
                Key=decision.key,
                Body=decision.script.body,
                ContentType="text/plain; charset=utf-8",
                Metadata={SHA_METADATA_KEY: decision.script.sha256},
            )
        LOGGER.info("script %s: %s", decision.key, decision.action.value)
    return decisions
