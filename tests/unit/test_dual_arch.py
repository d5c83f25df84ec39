"""layers/hygiene/dual_arch.py: one layer for x86_64 and arm64, or a failed build.

The trees are built here the way pip lays out two wheel sets (`--target`); the ELF headers carry
the e_machine values of the System V ABI supplements (x86-64 0x3E, AArch64 0xB7).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dual_arch", ROOT / "layers" / "hygiene" / "dual_arch.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dual_arch = load()


def elf(machine: int) -> bytes:
    return b"\x7fELF" + b"\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(44)


def site(
    root: Path, arch: str, machine: int, *, extension: str | None = None, source: str = "x = 1\n"
) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text(source)
    name = extension or f"_core.cpython-313-{arch}-linux-gnu.so"
    (root / "pkg" / name).write_bytes(elf(machine))
    info = root / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "WHEEL").write_text(f"Tag: cp313-cp313-manylinux_2_28_{arch}\n")
    (info / "RECORD").write_text(f"pkg/{name},sha256=...,64\n")
    (info / "METADATA").write_text("Name: pkg\nVersion: 1.0\n")
    return root


def test_the_arm64_extension_joins_its_x86_64_twin(tmp_path: Path) -> None:
    x86 = site(tmp_path / "x86", "x86_64", 0x3E)
    arm = site(tmp_path / "arm", "aarch64", 0xB7)

    added = dual_arch.merge(x86, arm)

    assert added == [Path("pkg/_core.cpython-313-aarch64-linux-gnu.so")]
    assert sorted(p.name for p in (x86 / "pkg").glob("*.so")) == [
        "_core.cpython-313-aarch64-linux-gnu.so",
        "_core.cpython-313-x86_64-linux-gnu.so",
    ]
    assert "x86_64" in (x86 / "pkg-1.0.dist-info" / "WHEEL").read_text(), "the x86_64 metadata stays"


@pytest.mark.parametrize(
    ("arm_changes", "message"),
    [
        ({"extension": "_core.abi3.so"}, "without its architecture in its name"),
        ({"source": "x = 2\n"}, "pkg/__init__.py: differs between the x86_64 and arm64 wheels"),
    ],
)
def test_what_one_layer_cannot_hold_for_both_fails_the_build(
    tmp_path: Path, arm_changes: dict[str, str], message: str
) -> None:
    x86 = site(tmp_path / "x86", "x86_64", 0x3E)
    arm = site(tmp_path / "arm", "aarch64", 0xB7, **arm_changes)

    with pytest.raises(SystemExit, match=message):
        dual_arch.merge(x86, arm)


def test_an_extension_built_for_another_machine_than_its_name_says_fails_the_build(tmp_path: Path) -> None:
    x86 = site(tmp_path / "x86", "x86_64", 0x3E)
    arm = site(tmp_path / "arm", "aarch64", 0x3E)  # named aarch64, built for x86-64

    with pytest.raises(SystemExit, match="named aarch64 but built for e_machine 0x3e"):
        dual_arch.merge(x86, arm)


def test_an_x86_64_extension_without_an_arm64_twin_fails_the_build(tmp_path: Path) -> None:
    x86 = site(tmp_path / "x86", "x86_64", 0x3E)
    (x86 / "pkg" / "_more.cpython-313-x86_64-linux-gnu.so").write_bytes(elf(0x3E))
    arm = site(tmp_path / "arm", "aarch64", 0xB7)

    with pytest.raises(SystemExit, match="without their arm64 twin"):
        dual_arch.merge(x86, arm)
