"""`sam build` turns the repository into deployable artefacts (Python 3.13 first on PATH)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cfn import ROOT


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    if sam is None:
        pytest.fail("the SAM CLI is a dev dependency: run `make venv`")
    out = tmp_path_factory.mktemp("sam") / "build"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    # The venv's interpreter is 3.13: SAM's workflow needs `python3.13` on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [sam, "build", "--build-dir", str(out), "--template-file", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_scripts_are_packaged_as_files_with_the_function(build_dir: Path) -> None:
    packaged = build_dir / "PublishScriptsFunction" / "scripts"

    for name in ("healthcheck.sh", "healthcheck.ps1"):
        assert (packaged / name).is_file()
        assert not (packaged / name).is_symlink()
        assert (packaged / name).read_bytes() == (ROOT / "documents" / "scripts" / name).read_bytes()


def test_layer_ships_the_package_and_its_dependencies(build_dir: Path) -> None:
    site = build_dir / "HygieneLayer" / "python"

    assert (site / "instance_hygiene" / "__init__.py").is_file()
    assert (site / "aws_lambda_powertools").is_dir()
    assert (site / "pydantic").is_dir()


# What the Lambda Python runtime provides (boto3 and its dependencies): the layer must not ship a
# second copy that would shadow the runtime's.
RUNTIME_PROVIDED = {"boto3", "botocore", "jmespath", "s3transfer", "urllib3", "python-dateutil", "six"}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_layer_leaves_boto3_and_botocore_to_the_runtime_and_holds_every_other_dependency(
    build_dir: Path,
) -> None:
    site = build_dir / "HygieneLayer" / "python"
    shipped = {
        dist.metadata["Name"].lower().replace("_", "-"): dist
        for dist in importlib.metadata.distributions(path=[str(site)])
    }

    assert not RUNTIME_PROVIDED & set(shipped), "the runtime's boto3 and botocore are not shadowed"
    assert not (site / "botocore").exists()
    for name, dist in shipped.items():
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            needed = _requirement_name(requirement)
            assert needed in shipped or needed in RUNTIME_PROVIDED, f"{name} needs {needed}"


def test_built_template_still_includes_the_document_file(build_dir: Path) -> None:
    text = (build_dir / "template.yaml").read_text()
    location = text.split("Location:", 1)[1].split()[0]

    assert (build_dir / location).resolve() == (ROOT / "documents" / "healthcheck.yaml").resolve()
    assert yaml.safe_load((build_dir / location).read_text())["schemaVersion"] == "2.2"
