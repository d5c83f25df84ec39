"""What a deployment writes and which hash each platform's script must have, decided from content."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from instance_hygiene.deploy.scripts_publisher import (
    Action,
    DeclaredScriptMismatch,
    ExistingObject,
    ScriptFile,
    effective_hashes,
    load_scripts,
    overlapping_prefixes,
    plan,
)

NEW = ScriptFile(name="healthcheck.sh", body=b"#!/bin/bash\necho new\n")
OLD = ScriptFile(name="healthcheck.sh", body=b"#!/bin/bash\necho old\n")
WINDOWS = ScriptFile(name="healthcheck.ps1", body=b"Write-Output 'HEALTHCHECK PASS 0 checks'\n")
OPERATOR_BODY = b"#!/bin/bash\necho operator\n"
OPERATOR_SHA = hashlib.sha256(OPERATOR_BODY).hexdigest()
KEY = "scripts/healthcheck.sh"


def found(body: bytes, label: str | None = None) -> ExistingObject:
    return ExistingObject(sha256=hashlib.sha256(body).hexdigest(), labelled_sha256=label)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, Action.PUT),
        (found(NEW.body), Action.UNCHANGED),
        (found(OLD.body, label=OLD.sha256), Action.PUT),
        (found(OPERATOR_BODY), Action.REPLACED_UNKNOWN_CONTENT),
    ],
    ids=["absent", "same-content", "our-older-version", "unknown-content"],
)
def test_with_nothing_declared_the_packaged_script_is_published(
    existing: ExistingObject | None, expected: Action
) -> None:
    in_bucket = {} if existing is None else {KEY: existing}

    (decision,) = plan([NEW], in_bucket, prefix="scripts/")

    assert (decision.key, decision.action, decision.sha256) == (KEY, expected, NEW.sha256)


def test_metadata_that_names_our_hash_does_not_make_other_content_ours() -> None:
    # Anyone who can write the object can set x-amz-meta-hygiene-sha256 too: the content decides.
    forged = ExistingObject(sha256=OPERATOR_SHA, labelled_sha256=NEW.sha256)

    (decision,) = plan([NEW], {KEY: forged}, prefix="scripts/")

    assert decision.action is Action.REPLACED_UNKNOWN_CONTENT
    assert decision.replaced_sha256 == OPERATOR_SHA
    assert decision.sha256 == NEW.sha256


def test_metadata_alone_never_keeps_an_object() -> None:
    # The old rule kept any object without our metadata; now an unlabelled copy of ours is unchanged
    # and an unlabelled other script is replaced.
    (same,) = plan([NEW], {KEY: found(NEW.body)}, prefix="scripts/")
    (other,) = plan([NEW], {KEY: found(OPERATOR_BODY)}, prefix="scripts/")

    assert (same.action, other.action) == (Action.UNCHANGED, Action.REPLACED_UNKNOWN_CONTENT)


def test_a_declared_hash_that_the_content_has_keeps_the_operator_script() -> None:
    (decision,) = plan(
        [NEW], {KEY: found(OPERATOR_BODY)}, prefix="scripts/", declared={"Linux": OPERATOR_SHA}
    )

    assert decision.action is Action.OPERATOR_SCRIPT
    assert decision.sha256 == OPERATOR_SHA


def test_a_declared_hash_the_content_does_not_have_fails_naming_key_and_both_hashes() -> None:
    with pytest.raises(DeclaredScriptMismatch) as refused:
        plan([NEW], {KEY: found(NEW.body)}, prefix="scripts/", declared={"Linux": OPERATOR_SHA})

    message = str(refused.value)
    assert KEY in message
    assert OPERATOR_SHA in message
    assert NEW.sha256 in message


def test_a_declared_hash_with_no_object_fails() -> None:
    with pytest.raises(DeclaredScriptMismatch, match=r"no object at scripts/healthcheck\.sh"):
        plan([NEW], {}, prefix="scripts/", declared={"Linux": OPERATOR_SHA})


def test_a_declared_hash_applies_to_its_own_platform_only() -> None:
    decisions = plan(
        [NEW, WINDOWS],
        {KEY: found(OPERATOR_BODY)},
        prefix="scripts/",
        declared={"Linux": OPERATOR_SHA, "Windows": ""},
    )

    assert [(d.key, d.action) for d in decisions] == [
        ("scripts/healthcheck.ps1", Action.PUT),
        (KEY, Action.OPERATOR_SCRIPT),
    ]
    assert effective_hashes(decisions) == {"LinuxSha256": OPERATOR_SHA, "WindowsSha256": WINDOWS.sha256}


def test_declaring_the_packaged_hash_is_the_same_as_declaring_nothing() -> None:
    (decision,) = plan([NEW], {}, prefix="scripts/", declared={"Linux": NEW.sha256})

    assert (decision.action, decision.sha256) == (Action.PUT, NEW.sha256)


@pytest.mark.parametrize("bad", ["ABC", "G" * 64, OPERATOR_SHA.upper(), OPERATOR_SHA + "0"])
def test_a_declared_hash_of_the_wrong_shape_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        plan([NEW], {}, prefix="scripts/", declared={"Linux": bad})


@pytest.mark.parametrize(
    ("prefix", "others", "expected"),
    [
        ("scripts/", ["ssm_output/", "reports/"], []),
        ("scripts/", ["scripts/logs/", "reports/"], ["scripts/logs/"]),
        ("logs/scripts/", ["logs/", "reports/"], ["logs/"]),
        ("scripts/", ["scripts/", "reports/"], ["scripts/"]),
        ("scripts2/", ["scripts/", "reports/"], []),
    ],
    ids=["apart", "log-inside-scripts", "scripts-inside-log", "equal", "shared-start-only"],
)
def test_overlapping_prefixes_in_either_direction(
    prefix: str, others: list[str], expected: list[str]
) -> None:
    assert overlapping_prefixes(prefix, others) == expected


def test_load_scripts_reads_only_scripts(tmp_path: Path) -> None:
    (tmp_path / "healthcheck.sh").write_text("echo")
    (tmp_path / "healthcheck.ps1").write_text("Write-Output")
    (tmp_path / "README").write_text("not a script")

    assert [s.name for s in load_scripts(tmp_path)] == ["healthcheck.ps1", "healthcheck.sh"]


def test_load_scripts_refuses_an_empty_package(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no healthcheck scripts"):
        load_scripts(tmp_path)


def test_load_scripts_refuses_two_scripts_for_one_platform(tmp_path: Path) -> None:
    (tmp_path / "a.sh").write_text("echo a")
    (tmp_path / "b.sh").write_text("echo b")

    with pytest.raises(ValueError, match="more than one healthcheck script per platform"):
        load_scripts(tmp_path)
