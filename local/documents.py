"""The healthcheck document's inline scripts, run here the way the agent's aws:runShellScript runs them.

A step whose output the demo shows is taken from documents/healthcheck.yaml itself, not retyped:
`run_step("RunMacOSHealthcheck")` runs that step's script with bash and returns what it printed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DOCUMENT = Path(__file__).resolve().parent.parent / "documents" / "healthcheck.yaml"


@dataclass(frozen=True)
class StepRun:
    """What one run of a step's script printed, and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


def step_script(name: str, document: Path = DOCUMENT) -> str:
    """The runCommand of an aws:runShellScript step of the document (one script, joined)."""
    steps = {step["name"]: step for step in yaml.safe_load(document.read_text())["mainSteps"]}
    step = steps.get(name)
    if step is None or step.get("action") != "aws:runShellScript":
        raise ValueError(f"{document.name} has no aws:runShellScript step {name!r}")
    return "\n".join(step["inputs"]["runCommand"])


@cache
def run_step(name: str) -> StepRun:
    """Run the step's script with bash (one that takes no parameters: one run serves every node)."""
    script = step_script(name)
    if "{{" in script:
        raise ValueError(f"step {name!r} takes document parameters: running it here is not modelled")
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False, timeout=30)
    return StepRun(run.returncode, run.stdout, run.stderr)
