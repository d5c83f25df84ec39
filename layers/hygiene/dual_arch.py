"""Merge the arm64 wheels' compiled extensions into the x86_64 layer: one layer for both.

    python dual_arch.py SITE ARM64_SITE

CPython imports an extension module by the suffixes of its own platform
(`importlib.machinery.EXTENSION_SUFFIXES`: `.cpython-313-x86_64-linux-gnu.so` or
`.cpython-313-aarch64-linux-gnu.so` first), so both files can sit side by side. This refuses, and
fails the build, when that would not hold: an extension whose name carries no architecture (an
`.abi3.so` or plain `.so` would be loaded on both), an ELF that is not of the architecture its name
says, or any other file that differs between the two wheel sets (beyond the wheels' own metadata).
"""

from __future__ import annotations

import filecmp
import shutil
import sys
from pathlib import Path

TAGS = {"x86_64": 0x3E, "aarch64": 0xB7}
"""The architecture in an extension's name, and the ELF e_machine it must have."""
METADATA = frozenset({"RECORD", "WHEEL"})
"""Files of a wheel's .dist-info that name its platform (and the hashes of its files)."""


def machine(path: Path) -> int:
    """The ELF header's e_machine (little-endian, both Lambda architectures)."""
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise SystemExit(f"{path}: not an ELF file")
    return int.from_bytes(header[18:20], "little")


def architecture(path: Path) -> str:
    """The architecture an extension's name says; the build stops when it says none."""
    for tag, expected in TAGS.items():
        if path.name.endswith(f"-{tag}-linux-gnu.so"):
            if machine(path) != expected:
                raise SystemExit(f"{path}: named {tag} but built for e_machine {machine(path):#x}")
            return tag
    raise SystemExit(f"{path}: an extension without its architecture in its name would load on both")


def is_metadata(relative: Path) -> bool:
    dist_info = any(part.endswith(".dist-info") for part in relative.parts[:-1])
    return dist_info and (relative.name in METADATA or "sboms" in relative.parts)


def files(site: Path) -> dict[Path, Path]:
    return {
        path.relative_to(site): path
        for path in site.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def merge(site: Path, arm64: Path) -> list[Path]:
    """Copy arm64's extensions into `site`; returns them (relative to the site)."""
    ours, theirs = files(site), files(arm64)
    added = []
    for relative, path in sorted(theirs.items()):
        if path.suffix == ".so":
            if architecture(path) != "aarch64":
                raise SystemExit(f"{path}: the arm64 wheels hold an extension of another architecture")
            shutil.copy2(path, site / relative)
            added.append(relative)
        elif is_metadata(relative):
            continue
        elif relative not in ours or not filecmp.cmp(path, ours[relative], shallow=False):
            raise SystemExit(f"{relative}: differs between the x86_64 and arm64 wheels")
    for relative, path in ours.items():
        if path.suffix == ".so" and architecture(path) != "x86_64":
            raise SystemExit(f"{path}: the x86_64 wheels hold an extension of another architecture")
        if path.suffix != ".so" and not is_metadata(relative) and relative not in theirs:
            raise SystemExit(f"{relative}: only in the x86_64 wheels")
    x86 = {r.parent / r.name.replace("-x86_64-", "-aarch64-") for r in ours if r.suffix == ".so"}
    if x86 != set(added):
        raise SystemExit(f"extensions without their arm64 twin: {sorted(map(str, x86 ^ set(added)))}")
    return added


if __name__ == "__main__":
    added = merge(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"arm64: {len(added)} extension(s) added beside their x86_64 twins: {', '.join(map(str, added))}")
