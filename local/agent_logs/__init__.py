"""Synthetic SSM-agent and package-manager logs: what the agent writes for each way a command of
the window can end on one instance, for the demo, the bench and the tests.

For the window's two documents (AWS-RunPatchBaseline and our healthcheck) `outcome(kind, host,
context)` builds the `local.fleet_sim.InstanceResult` of one instance: invocation status and
details, and every step of the document as the agent reports it (name, action, status, response
code, full stdout and stderr). Texts follow aws-ssm-facts.md section 4 and the fixtures in
tests/fixtures/logs.

Deterministic: every variation (package lists, free-space figures, retry counts, timestamps
after the task's start) comes from `random.Random` seeded with the night's seed, the task, the
outcome kind and the instance's index in the fleet (`seeded`), never from the clock or the hash
seed.

The modules, by what they generate:
  common         the inputs (Host, TaskContext, HealthcheckSettings), `seeded`, shared pieces
  linux_distros  the Linux distributions a host runs and the packages they update
  linux_patch    AWS-RunPatchBaseline on Linux: yum, dnf and apt runs, their failures, huge logs
  windows_patch  AWS-RunPatchBaseline on Windows: patch summary, Windows Update errors
  healthcheck    our healthcheck document: CHECK lines, failures, the macOS step
  stopped        either task stopped (execution timeout, cancel) or never delivered
  catalogue      the outcome kinds (`KINDS`) and `outcome`, which ties them together
"""

from __future__ import annotations

from local.agent_logs.catalogue import KINDS, Kind, default_kind, outcome
from local.agent_logs.common import (
    HEALTHCHECK,
    LINUX,
    MACOS,
    PATCH,
    WINDOWS,
    HealthcheckSettings,
    Host,
    TaskContext,
    seeded,
)
from local.agent_logs.healthcheck import healthcheck_pass_stdout
from local.agent_logs.linux_patch import large_patch_log

__all__ = [
    "HEALTHCHECK",
    "KINDS",
    "LINUX",
    "MACOS",
    "PATCH",
    "WINDOWS",
    "HealthcheckSettings",
    "Host",
    "Kind",
    "TaskContext",
    "default_kind",
    "healthcheck_pass_stdout",
    "large_patch_log",
    "outcome",
    "seeded",
]
