"""The layer's source tree: what the Lambda functions run, and only that (nothing is built here)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "hygiene"
PACKAGE = LAYER / "instance_hygiene"
PURE_FOLDERS = ("explain", "digest", "render", "secrets")
NOT_IN_LAYER = ("hygiene_cli", "croniter")
"""The CLI and the schedule tools install with the package for users, never into Lambda."""


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports in functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_the_layer_package_imports_no_cli_and_no_schedule_tools() -> None:
    # Given every module of the package the layer ships
    offenders = {
        str(path.relative_to(LAYER)): sorted(
            name for name in _imports(path) if name.split(".")[0] in NOT_IN_LAYER
        )
        for path in _modules(PACKAGE)
    }
    # Then none imports the CLI package or croniter
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_layer_package_has_no_local_folder_reader() -> None:
    # Given the package's source, the local-copy reader (LocalLogs, os.walk over a folder) is the CLI's
    sources = {path: path.read_text(encoding="utf-8") for path in _modules(PACKAGE)}
    # Then no module of the layer defines or walks a local folder of logs
    assert [str(p.relative_to(LAYER)) for p, text in sources.items() if "class LocalLogs" in text] == []
    assert [str(p.relative_to(LAYER)) for p, text in sources.items() if "os.walk(" in text] == []
    # And the package has no `python -m` entry point and no CLI module
    assert not (PACKAGE / "__main__.py").exists()
    assert not (PACKAGE / "cli.py").exists()
    assert not (PACKAGE / "schedule.py").exists()


def test_the_layer_makefile_ships_only_instance_hygiene() -> None:
    # Given the layer's build recipe
    makefile = (LAYER / "Makefile").read_text(encoding="utf-8")
    copies = [line.strip() for line in makefile.splitlines() if line.strip().startswith("tar -c")]
    # Then the one copy of source it makes is the package, and nothing else
    assert copies == ['tar -c --exclude=__pycache__ instance_hygiene | tar -x -C "$(SITE)"']
    # And the CLI folder is not beside the package (so no build could pick it up)
    assert not (LAYER / "hygiene_cli").exists()


@pytest.mark.parametrize("folder", PURE_FOLDERS)
def test_a_pure_folder_imports_no_adapter(folder: str) -> None:
    # Given a pure folder of the package
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in _imports(path)
            if name.startswith("instance_hygiene.aws") or name.split(".")[0] in {"boto3", "hygiene_cli"}
        )
        for path in _modules(PACKAGE / folder)
    }
    # Then none of its modules imports an aws/ module (nor boto3 itself)
    assert {path: names for path, names in offenders.items() if names} == {}
