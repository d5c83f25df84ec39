"""hygiene_cli.sources: a local copy of a command's output folder is read like the S3 bucket."""

from __future__ import annotations

from typing import Any

from hygiene_cli.sources import LocalLogs
from instance_hygiene.digest.logs import find_streams

COMMAND_ID = "0b4f9a2e-6c1d-4e8f-9a7b-3c2d1e0f4a5b"
STDOUT = b"06/11/2024 02:00:41 root [ERROR]: Patch operation failed: unable to acquire yum lock\n"


# --------------------------------------------------------------------------- a local copy


def test_given_a_local_copy_then_every_file_is_looked_at(tmp_path: Any) -> None:
    for n in range(3):
        path = tmp_path / f"i-{n}" / "awsrunShellScript" / "PatchLinux" / "stdout"
        path.parent.mkdir(parents=True)
        path.write_bytes(STDOUT)

    listing = LocalLogs(tmp_path).find(COMMAND_ID, {"i-0": "PatchLinux", "i-2": "PatchLinux"})

    assert {instance for instance, _ in listing.index} == {"i-0", "i-2"}
    streams = find_streams(listing.index, "i-2", "PatchLinux")
    assert streams is not None
    assert streams.stdout is not None
    assert LocalLogs(tmp_path).read(streams.stdout).text.head == STDOUT.decode()
