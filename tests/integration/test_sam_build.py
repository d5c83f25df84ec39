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


def sam_build(out: Path, *options: str) -> Path:
    sam = shutil.which("sam", path=str(Path(sys.executable).parent)) or shutil.which("sam")
    if sam is None:
        pytest.fail("the SAM CLI is a dev dependency: run `make venv`")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    # The venv's interpreter is 3.13: SAM's workflow needs `python3.13` on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [sam, "build", "--build-dir", str(out), "--template-file", str(ROOT / "template.yaml"), *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sam_build(tmp_path_factory.mktemp("sam") / "build")


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


# e_machine of the System V ABI supplements; CPython picks an extension by these name suffixes
# (importlib.machinery.EXTENSION_SUFFIXES on each platform).
MACHINES = {"x86_64": 0x3E, "aarch64": 0xB7}


def extensions(site: Path) -> dict[str, dict[str, int]]:
    """Each compiled extension module by its name without the platform part: architecture -> e_machine."""
    found: dict[str, dict[str, int]] = {}
    for path in site.rglob("*.so"):
        match = re.fullmatch(r"(.+)\.cpython-313-(x86_64|aarch64)-linux-gnu\.so", path.name)
        assert match, f"{path.name}: an extension without its architecture would load on both"
        module = str(path.relative_to(site).parent / match.group(1))
        found.setdefault(module, {})[match.group(2)] = int.from_bytes(path.read_bytes()[18:20], "little")
    return found


def test_one_layer_holds_each_compiled_extension_for_both_architectures(build_dir: Path) -> None:
    # arm64 is proven without an arm64 machine: each extension is there for both, each an ELF of
    # the machine its name says, and the rest of the two wheel sets is the same (dual_arch.py)
    found = extensions(build_dir / "HygieneLayer" / "python")

    assert {"pydantic_core/_pydantic_core", "re2/_re2"} <= set(found)
    for module, machines in found.items():
        assert machines == MACHINES, module
    built = yaml.safe_load((build_dir / "template.yaml").read_text())
    assert built["Resources"]["HygieneLayer"]["Properties"]["CompatibleArchitectures"] == ["x86_64", "arm64"]


def test_sam_build_for_arm64_functions_builds_the_same_layer(
    build_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    arm64 = sam_build(
        tmp_path_factory.mktemp("sam-arm64") / "build", "--parameter-overrides", "FunctionArchitecture=arm64"
    )

    layer, default = arm64 / "HygieneLayer" / "python", build_dir / "HygieneLayer" / "python"
    assert extensions(layer) == extensions(default)
    assert sorted(p.relative_to(layer) for p in layer.rglob("*.py")) == sorted(
        p.relative_to(default) for p in default.rglob("*.py")
    )
