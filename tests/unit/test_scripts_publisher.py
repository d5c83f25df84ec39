"""Which packaged scripts a deployment writes, and which operator copies it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from instance_hygiene.scripts_publisher import Action, ExistingObject, ScriptFile, load_scripts, plan

NEW = ScriptFile(name="healthcheck.sh", body=b"#!/bin/bash\necho new\n")
OLD = ScriptFile(name="healthcheck.sh", body=b"#!/bin/bash\necho old\n")


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, Action.PUT),
        (ExistingObject(published_sha256=NEW.sha256), Action.UNCHANGED),
        (ExistingObject(published_sha256=OLD.sha256), Action.PUT),
        (ExistingObject(published_sha256=None), Action.KEPT_OPERATOR_COPY),
    ],
    ids=["absent", "same-as-packaged", "our-older-version", "replaced-by-operator"],
)
def test_plan_per_existing_object(existing: ExistingObject | None, expected: Action) -> None:
    in_bucket = {} if existing is None else {"scripts/healthcheck.sh": existing}

    (decision,) = plan([NEW], in_bucket, prefix="scripts/")

    assert decision.key == "scripts/healthcheck.sh"
    assert decision.action is expected


def test_load_scripts_reads_only_scripts(tmp_path: Path) -> None:
    (tmp_path / "healthcheck.sh").write_text("echo")
    (tmp_path / "healthcheck.ps1").write_text("Write-Output")
    (tmp_path / "README").write_text("not a script")

    assert [s.name for s in load_scripts(tmp_path)] == ["healthcheck.ps1", "healthcheck.sh"]


def test_load_scripts_refuses_an_empty_package(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no healthcheck scripts"):
        load_scripts(tmp_path)
