"""Publish the packaged healthcheck scripts to the log bucket and say which SHA-256 each must have.

`sam deploy` ships the scripts inside the publish function's package; a CloudFormation custom
resource calls `publish_scripts` on create and on every update that brings a new package or a new
declared hash. Every decision comes from the content of the object at the key, read and hashed
here, never from its metadata (anyone who can write the object can set that too):

- nothing declared for the platform (the stack parameter empty): the packaged script is ours to
  publish. It is written unless the object already holds exactly its bytes; overwriting anything
  else is said (`replaced-unknown-content`).
- a hash declared (the operator put a script of their own there): the object's content must hash to
  it, else the deploy fails naming the key and both hashes. Nothing is written.

The effective hash of each platform is handed back for the healthcheck document, which refuses to
run a downloaded script with any other hash.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LOGGER = logging.getLogger(__name__)

SHA_METADATA_KEY = "hygiene-sha256"
"""S3 user metadata (x-amz-meta-hygiene-sha256) on the objects we write. Only wording reads it
(an earlier version of ours is "put", not "replaced-unknown-content"); no decision does."""

PLATFORMS = {".sh": "Linux", ".ps1": "Windows"}
"""Script suffix -> the platform whose document step downloads it."""
SCRIPT_SUFFIXES = tuple(PLATFORMS)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class ScriptFile:
    """One packaged script: its file name and content."""

    name: str
    body: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def platform(self) -> str:
        return PLATFORMS[Path(self.name).suffix]


@dataclass(frozen=True)
class ExistingObject:
    """The object already at a script's key, as read from S3."""

    sha256: str
    """SHA-256 of the object's content."""
    labelled_sha256: str | None = None
    """What its metadata claims (wording only: see SHA_METADATA_KEY)."""


class Action(StrEnum):
    PUT = "put"
    """Absent, or an earlier version we wrote: the packaged script is written."""
    UNCHANGED = "unchanged"
    """The object already holds the packaged script's bytes."""
    REPLACED_UNKNOWN_CONTENT = "replaced-unknown-content"
    """Nothing was declared and the object held something else: the packaged script replaced it."""
    OPERATOR_SCRIPT = "operator-script"
    """A hash was declared and the object's content has it: kept as it is."""


class DeclaredScriptMismatch(ValueError):
    """A declared hash that the object at the key does not have: the deploy must fail."""


@dataclass(frozen=True)
class Decision:
    key: str
    script: ScriptFile
    action: Action
    sha256: str
    """The hash the document must require for this platform."""
    replaced_sha256: str | None = None
    """For REPLACED_UNKNOWN_CONTENT: the hash of what was overwritten."""


def validate_declared(declared: Mapping[str, str]) -> dict[str, str]:
    """Platform -> declared hash, empty values dropped; anything but 64 lowercase hex refused."""
    unknown = sorted(set(declared) - set(PLATFORMS.values()))
    if unknown:
        raise ValueError(f"declared hashes for unknown platforms: {unknown}")
    kept = {platform: value for platform, value in declared.items() if value}
    for platform, value in kept.items():
        if not SHA256.fullmatch(value):
            raise ValueError(f"declared {platform} script SHA-256 is not 64 lowercase hex digits: {value!r}")
    return kept


def plan(
    scripts: Iterable[ScriptFile],
    existing: Mapping[str, ExistingObject],
    *,
    prefix: str,
    declared: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Decide, per script, what to write and which hash the document requires. Pure.

    `existing` holds the objects already at the keys (absent keys are absent); `declared` maps a
    platform (Linux, Windows) to the hash of the operator's own script, empty or missing for ours.
    Raises DeclaredScriptMismatch when a declared hash is not the object's.
    """
    wanted = validate_declared(declared or {})
    decisions = []
    for script in sorted(scripts, key=lambda s: s.name):
        key = f"{prefix}{script.name}"
        current = existing.get(key)
        own = wanted.get(script.platform)
        if own is not None and own != script.sha256:
            if current is None:
                raise DeclaredScriptMismatch(
                    f"{script.platform} healthcheck script: the stack declares SHA-256 {own} "
                    f"but there is no object at {key}; upload the script there first"
                )
            if current.sha256 != own:
                raise DeclaredScriptMismatch(
                    f"{script.platform} healthcheck script at {key}: the stack declares SHA-256 "
                    f"{own} but the object's content has {current.sha256}"
                )
            decisions.append(Decision(key, script, Action.OPERATOR_SCRIPT, own))
            continue
        if current is None:
            action, replaced = Action.PUT, None
        elif current.sha256 == script.sha256:
            action, replaced = Action.UNCHANGED, None
        elif current.labelled_sha256 == current.sha256:
            action, replaced = Action.PUT, None  # an earlier version of ours: nothing to warn about
        else:
            action, replaced = Action.REPLACED_UNKNOWN_CONTENT, current.sha256
        decisions.append(Decision(key, script, action, script.sha256, replaced))
    return decisions


def overlapping_prefixes(prefix: str, others: Iterable[str]) -> list[str]:
    """The prefixes of `others` that equal `prefix`, hold it, or lie inside it. Keys under both
    would be expired with the logs and writable by the instances (CloudFormation's Rules cannot
    test this: they compare whole values only)."""
    return [other for other in others if other.startswith(prefix) or prefix.startswith(other)]


def load_scripts(folder: Path) -> list[ScriptFile]:
    """Read the packaged scripts; an empty folder, or two scripts for one platform, is an error
    (a broken package must not deploy)."""
    scripts = [
        ScriptFile(name=path.name, body=path.read_bytes())
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix in SCRIPT_SUFFIXES
    ]
    if not scripts:
        raise FileNotFoundError(f"no healthcheck scripts ({', '.join(SCRIPT_SUFFIXES)}) in {folder}")
    platforms = [s.platform for s in scripts]
    if len(set(platforms)) != len(platforms):
        raise ValueError(
            f"more than one healthcheck script per platform in {folder}: {[s.name for s in scripts]}"
        )
    return scripts


def existing_scripts(
    s3: S3Client, *, bucket: str, prefix: str, keys: Iterable[str]
) -> dict[str, ExistingObject]:
    """What is already at `keys`: one listing of `prefix` says which exist, a GET of each listed key
    reads and hashes its content. Keys not listed are absent.

    Existence comes from the listing, never from a GET of a missing key: S3 answers that with 403,
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
    found = {}
    for key in listed:
        response = s3.get_object(Bucket=bucket, Key=key)
        digest = hashlib.sha256()
        with response["Body"] as body:
            for chunk in iter(lambda: body.read(_READ_CHUNK), b""):
                digest.update(chunk)
        label = response.get("Metadata", {}).get(SHA_METADATA_KEY)
        found[key] = ExistingObject(sha256=digest.hexdigest(), labelled_sha256=label)
    return found


def publish_scripts(
    s3: S3Client,
    *,
    bucket: str,
    prefix: str,
    folder: Path,
    declared: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Write the packaged scripts that need writing; return what was decided for each.

    Raises DeclaredScriptMismatch (before writing anything) when an operator's declared hash is not
    the content at its key."""
    scripts = load_scripts(folder)
    existing = existing_scripts(s3, bucket=bucket, prefix=prefix, keys=(f"{prefix}{s.name}" for s in scripts))
    decisions = plan(scripts, existing, prefix=prefix, declared=declared)
    for decision in decisions:
        if decision.action in (Action.PUT, Action.REPLACED_UNKNOWN_CONTENT):
            s3.put_object(
                Bucket=bucket,
                Key=decision.key,
                Body=decision.script.body,
                ContentType="text/plain; charset=utf-8",
                Metadata={SHA_METADATA_KEY: decision.script.sha256},
            )
        if decision.action is Action.REPLACED_UNKNOWN_CONTENT:
            LOGGER.warning(
                "script %s: replaced unknown content (sha256 %s) with the packaged script (sha256 %s)",
                decision.key,
                decision.replaced_sha256,
                decision.sha256,
            )
        else:
            LOGGER.info("script %s: %s (sha256 %s)", decision.key, decision.action.value, decision.sha256)
    return decisions


def effective_hashes(decisions: Iterable[Decision]) -> dict[str, str]:
    """`<Platform>Sha256` -> the hash the document must require (the custom resource's Data)."""
    return {f"{d.script.platform}Sha256": d.sha256 for d in decisions}
