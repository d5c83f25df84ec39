"""The handler over HTTP, in a process of its own: memory that is the function's alone.

Two child processes per scenario:

- `python -m bench.standin_process SPEC`: `local.standin.server.running()` (moto's threaded
  server with our SSM extensions), the stack and the scenario seeded in that process; prints
  one JSON line (endpoint, topic, event) and serves until its stdin closes.
- `python -m bench.handler_process`: reads its job as JSON on stdin, points boto3 at the
  endpoint, imports the function and invokes it: once cold (max RSS growth, clients created),
  once under tracemalloc (peak), then `repeats` timed runs; prints one JSON line.

Whatever the emulator allocates (stock moto reads a whole object to serve a range) stays in the
stand-in's process, so the handler process's tracemalloc peak and max RSS are the function's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.stack import ROOT

CHILD_ENV = {"PYTHONPATH": f"{ROOT / 'layers' / 'hygiene'}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Spec:
    """What the stand-in process seeds: one big log, or a fleet."""

    log_size: int | None = None
    instances: int = 0
    fraction: float = 0.0
    faithful_ranges: bool = True

    def as_args(self) -> list[str]:
        return [json.dumps(self.__dict__)]


def measure(spec: Spec, variants: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Seed `spec` in a stand-in process; run each variant ("product", "naive": repeats) against it."""
    env = {**os.environ, **CHILD_ENV}
    standin = subprocess.Popen(
        [sys.executable, "-m", "bench.standin_process", *spec.as_args()],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert standin.stdout is not None  # noqa: S101 - Popen with stdout=PIPE
        line = standin.stdout.readline()
        if not line:
            raise RuntimeError(f"the stand-in process failed to start ({standin.poll()})")
        served = json.loads(line)
        results: dict[str, dict[str, Any]] = {}
        for variant, repeats in variants.items():
            job = {**served, "variant": variant, "repeats": repeats}
            done = subprocess.run(
                [sys.executable, "-m", "bench.handler_process"],
                cwd=ROOT,
                env=env,
                input=json.dumps(job),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                tail = done.stderr.strip().splitlines()[-3:]
                results[variant] = {"error": f"exit {done.returncode}: {' / '.join(tail)}"}
            else:
                results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
        return results
    finally:
        if standin.stdin:
            standin.stdin.close()
        try:
            standin.wait(timeout=30)
        except subprocess.TimeoutExpired:
            standin.kill()
            standin.wait()
