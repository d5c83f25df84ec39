"""Runs of either task that did not end on their own: stopped by the execution timeout or a
cancel (with the output written so far and the agent's exit code for a stopped step), or never
delivered (no step, no output)."""

from __future__ import annotations

import random
from collections.abc import Callable

from local.agent_logs.common import HEALTHCHECK, LINUX, PATCH, WINDOWS, Host, TaskContext
from local.agent_logs.healthcheck import healthcheck_pass_stdout, healthcheck_steps, run_step
from local.agent_logs.linux_patch import interrupted_patch_log, linux_patch_steps, patch_linux
from local.agent_logs.windows_patch import patch_windows, windows_patch_steps
from local.fleet_sim import InstanceResult

# The agent's exit code for a step stopped before it finished (timeout or cancel): SIGKILL on
# Linux, -1 on Windows (amazon-ssm-agent appconfig, CommandStoppedPreemptivelyExitCode).
STOPPED_EXIT_CODE = {LINUX: 137, WINDOWS: -1}


def _partial_stdout(host: Host, context: TaskContext, rng: random.Random) -> str:
    """What a step had written when it was stopped: the first half of a normal run's output."""
    if context.task == HEALTHCHECK:
        lines = healthcheck_pass_stdout(host, context, rng).splitlines()[: rng.randint(1, 3)]
        return "\n".join(lines) + "\n"
    if host.platform == WINDOWS:
        return ""  # the Windows patch run prints its summary only at the end
    return interrupted_patch_log(host, context, rng)


def stopped(
    status: str, details: str
) -> Callable[[Host, TaskContext, random.Random, float | None], InstanceResult]:
    """A step stopped by a timeout or a cancel, with the output written so far."""

    def build(host: Host, context: TaskContext, rng: random.Random, _: float | None) -> InstanceResult:
        code = STOPPED_EXIT_CODE[host.platform]
        stdout = _partial_stdout(host, context, rng)
        if context.task == PATCH:
            step = (patch_linux if host.platform == LINUX else patch_windows)(status, code, stdout)
            steps = (linux_patch_steps if host.platform == LINUX else windows_patch_steps)(step)
        else:
            steps = healthcheck_steps(host.platform, run_step(host.platform, status, code, stdout))
        return InstanceResult(status, details, steps)

    return build


def cancelled(host: Host, context: TaskContext, rng: random.Random, size_mb: float | None) -> InstanceResult:
    """Cancelled (CancelCommand, e.g. at the window's cutoff): every other instance had not
    started yet (no step, no output), the rest were stopped mid-run."""
    if host.index % 2:
        return InstanceResult("Cancelled", "Cancelled")
    return stopped("Cancelled", "Cancelled")(host, context, rng, size_mb)


def delivery_timed_out(
    host: Host, context: TaskContext, rng: random.Random, _: float | None
) -> InstanceResult:
    """The instance never picked the command up (stopped, or its agent offline): no step ran."""
    return InstanceResult("TimedOut", "Delivery Timed Out")
