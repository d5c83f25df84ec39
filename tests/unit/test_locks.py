"""The dependency locks: every install is pinned with hashes, and the locks agree with pyproject.toml,
with each other and with what the tests run (`make lock` writes them; nothing here asks an index)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LAYER_IN = ROOT / "layers" / "hygiene" / "requirements.in"
LAYER_LOCK = ROOT / "layers" / "hygiene" / "requirements.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
DEMO_LOCK = ROOT / "requirements" / "demo.txt"
CHECKOV_IN = ROOT / "requirements" / "checkov.in"
CHECKOV_LOCK = ROOT / "requirements" / "checkov.txt"
LOCKS = (LAYER_LOCK, DEV_LOCK, DEMO_LOCK, CHECKOV_LOCK)
PROJECT = "instance-hygiene"
LAMBDA_RUNTIME = frozenset(
    canonicalize_name(n)
    for n in ("boto3", "botocore", "jmespath", "s3transfer", "urllib3", "python-dateutil", "six")
)
"""What the Lambda Python runtime provides (the Makefile's LAMBDA_RUNTIME_PACKAGES)."""
LAMBDA = {"sys_platform": "linux", "platform_system": "Linux", "python_version": "3.13"}
"""Markers are evaluated as on the Lambda runtime and on the Linux machines that run the tests."""


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    hashes: frozenset[str]
    marker: Marker | None


def _pins(lock: Path) -> dict[str, Pin]:
    """A lock's entries by canonical name. An entry is `name==version [; marker]` followed by its
    `--hash=sha256:...` options, continued with backslashes; comments are uv's annotations."""
    text = re.sub(r"\\\n", " ", lock.read_text(encoding="utf-8"))
    pins: dict[str, Pin] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = frozenset(re.findall(r"--hash=(sha256:[0-9a-f]{64})", line))
        requirement = Requirement(re.sub(r"\s*--hash=\S+", "", line).strip())
        assert len(requirement.specifier) == 1, f"{lock.name}: {line[:60]} is not one exact pin"
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{lock.name}: {requirement.name} is not pinned with =="
        name = canonicalize_name(requirement.name)
        assert name not in pins, f"{lock.name}: {name} is listed twice"
        pins[name] = Pin(name, Version(spec.version), hashes, requirement.marker)
    return pins


def _applies(pin: Pin) -> bool:
    return pin.marker is None or pin.marker.evaluate(LAMBDA)


def _project() -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements: "" for the package's own, then one list per extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(r) for r in requirements] for group, requirements in groups.items()}


def _closure(extra: str) -> list[Requirement]:
    """The package's requirements with `extra`, the extras it names of itself included."""
    groups = _project()
    wanted, seen, found = [extra], set(), list(groups[""])
    while wanted:
        group = wanted.pop()
        if group in seen:
            continue
        seen.add(group)
        for requirement in groups[group]:
            if canonicalize_name(requirement.name) == PROJECT:
                wanted.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def _unmet(requirements: list[Requirement], pins: dict[str, Pin]) -> list[str]:
    return [
        str(r)
        for r in requirements
        if (r.marker is None or r.marker.evaluate(LAMBDA))
        and (
            canonicalize_name(r.name) not in pins
            or not r.specifier.contains(pins[canonicalize_name(r.name)].version, prereleases=True)
        )
    ]


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lock_entry_is_one_exact_version_with_its_hashes(lock: Path) -> None:
    # Given a lock, as pip reads it with --require-hashes (each entry parsed and checked in _pins)
    pins = _pins(lock)
    # Then it pins something, every entry carries at least one sha256, and it names no local path
    assert pins
    assert [p.name for p in pins.values() if not p.hashes] == []
    assert PROJECT not in pins, "the package is installed from the checkout, not from the lock"
    assert "file:" not in lock.read_text(encoding="utf-8")


@pytest.mark.parametrize(("extra", "lock"), [("dev", DEV_LOCK), ("demo", DEMO_LOCK)])
def test_the_locks_meet_every_requirement_of_pyproject(extra: str, lock: Path) -> None:
    # Given pyproject.toml's requirements for `make test` (dev) or `make demo` (demo)
    pins = _pins(lock)
    # Then the lock pins a version each range admits (a requirement added without `make lock` fails)
    assert _unmet(_closure(extra), pins) == []
    # And the demo lock holds no test or lint tool
    if extra == "demo":
        tools = {canonicalize_name(r.name) for r in _project()["dev"]} - {
            canonicalize_name(r.name) for r in _closure("demo")
        }
        assert sorted(tools & pins.keys()) == []


def test_the_demo_lock_is_a_part_of_the_dev_lock() -> None:
    # Given both locks (`make test` installs the dev one over a venv that `make demo` made)
    dev, demo = _pins(DEV_LOCK), _pins(DEMO_LOCK)
    # Then every package of the demo is in the dev lock, at the same version with the same files
    assert sorted(demo.keys() - dev.keys()) == []
    assert [n for n, p in demo.items() if (p.version, p.hashes) != (dev[n].version, dev[n].hashes)] == []
    # And it is far smaller: moto without its server extra's cfn-lint, docker and the rest
    assert len(demo) * 3 < len(dev)


def test_the_layer_ships_what_the_tests_run_and_nothing_the_runtime_has() -> None:
    # Given the layer's lock, its input and the dev lock
    layer, dev = _pins(LAYER_LOCK), _pins(DEV_LOCK)
    wanted = [Requirement(line) for line in _lines(LAYER_IN)]
    # Then the lock meets its input, and no package comes twice (the runtime's boto3 and its kin)
    assert _unmet(wanted, layer) == []
    assert sorted(layer.keys() & LAMBDA_RUNTIME) == []
    # And every layer package is the version the tests import (the dev lock is constrained by it)
    assert {n: str(p.version) for n, p in layer.items() if n not in dev or dev[n].version != p.version} == {}
    # And the layer's direct requirements are the package's own (pyproject's dependencies)
    package = {canonicalize_name(r.name) for r in _project()[""]}
    assert sorted(canonicalize_name(r.name) for r in wanted if canonicalize_name(r.name) not in package) == []


def test_the_layer_lock_holds_every_third_party_module_the_layer_imports() -> None:
    # Given the top-level modules the layer's package imports that are neither its own nor stdlib
    package = ROOT / "layers" / "hygiene" / "instance_hygiene"
    modules: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"instance_hygiene", "__future__"}
    third_party -= {m for m in third_party if m.startswith("mypy_boto3_")}  # TYPE_CHECKING only
    # Then each comes from a distribution in the layer's lock or in the Lambda runtime
    provided = _pins(LAYER_LOCK).keys() | LAMBDA_RUNTIME
    owners = metadata.packages_distributions()
    assert {
        m: owners.get(m)
        for m in sorted(third_party)
        if not provided & {canonicalize_name(d) for d in owners.get(m, [])}
    } == {}


def test_checkov_is_the_release_chosen_and_has_a_lock_of_its_own() -> None:
    # Given checkov's input (one exact version, chosen on purpose) and its lock
    (wanted,) = [Requirement(line) for line in _lines(CHECKOV_IN)]
    pins = _pins(CHECKOV_LOCK)
    # Then its lock has that version, and the dev lock has no checkov (it would hold boto3 at 1.35)
    assert str(pins["checkov"].version) == next(iter(wanted.specifier)).version
    assert "checkov" not in _pins(DEV_LOCK)
    assert "bc-detect-secrets" not in _pins(DEV_LOCK)


def test_the_venv_the_tests_run_in_is_the_dev_lock() -> None:
    # Given the dev lock's pins that apply on this machine
    pins = {n: p for n, p in _pins(DEV_LOCK).items() if _applies(p)}
    # Then each is installed at its version (a stale venv: `make venv`)
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    assert {
        n: (str(p.version), installed.get(n)) for n, p in pins.items() if installed.get(n) != str(p.version)
    } == {}


def _lines(path: Path) -> list[str]:
    return [s for line in path.read_text(encoding="utf-8").splitlines() if (s := line.split("#")[0].strip())]
