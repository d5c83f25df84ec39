"""`make invoke` end to end: the Lambda image, the stand-in, the seeding, the env-vars file,
`sam local invoke` and the notification read back, as a person runs it.

Given the image and a current build (the conftest's: `make invoke` then skips `sam build`), when
`make invoke EVENT=events/command-failed.json` runs, then it exits 0 and prints the e-mail of the
one notification CommandFailedFunction (the function the template's rules route the event to)
published.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.sam_local import BIN, run_timed

pytestmark = pytest.mark.container

DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def test_make_invoke_prints_the_notification_the_function_published(built_template: Path) -> None:
    # -o venv and BIN: this test's own venv runs it (make venv would build one in the checkout).
    command = ["make", "--no-print-directory", "-o", "venv", "invoke", f"BIN={BIN}"]
    command += ["EVENT=events/command-failed.json", f"BUILD_DIR={built_template.parent}"]

    result = run_timed(command, what="make invoke EVENT=events/command-failed.json", timeout=600)

    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, output
    assert "is current" in result.stderr, f"the conftest's build is reused\n{output}"
    assert "invoke: sam local invoke CommandFailedFunction -e events/command-failed.json" in result.stderr
    assert "== notification 1 of 1 (e-mail) ==" in result.stdout, output
    assert re.search(rf"^Subject: FAILED AWS-RunPatchBaseline {DATE}: 2/3 - .+$", result.stdout, re.M), output
    assert "errorType" not in result.stdout, output
