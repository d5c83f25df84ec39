"""Which outcomes are told: the status of an event, checked against what the API says. Pure.

Silence must mean the fleet is patched and healthy, so an event's status alone decides only when
it is a documented failure (tell) or still running (a later event will come). Anything else, a
Success included, is checked against the command or window execution as the API reports it:

- A command can end Success without having succeeded everywhere: invocations that timed out
  before delivery or were undeliverable do not count against MaxErrors, and with MaxErrors above
  0 a command with some failed invocations ends Incomplete (SSM API reference, Command and
  CommandInvocation StatusDetails). ListCommands' counts (TargetCount, CompletedCount,
  ErrorCount, DeliveryTimedOutCount) and StatusDetails show it in the one call the digest makes
  anyway; a command that reached no instance (TargetCount 0) is told too.
- A status the product does not know (EventBridge's values beyond the documented ones are not
  documented) is decided on the API's status the same way.
- A window execution that ended SUCCESS is told when one of its tasks never ran or ran on no
  instance at all (window.shortfalls): "nothing was patched tonight" is the most important
  message there is.
"""

from __future__ import annotations

from dataclasses import dataclass

from instance_hygiene.digest.invocations import Command

# Command events (user guide, "EC2 Command Status-change Notification"; API CommandStatus).
COMMAND_FAILED = frozenset({"Failed", "TimedOut", "Cancelled"})
COMMAND_RUNNING = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})

# Window executions (API MaintenanceWindowExecutionStatus).
WINDOW_FAILED = frozenset({"FAILED", "TIMED_OUT", "CANCELLED", "SKIPPED_OVERLAPPING"})
WINDOW_RUNNING = frozenset({"PENDING", "IN_PROGRESS", "CANCELLING"})

SUCCESS_DETAILS = frozenset({"Success", ""})


@dataclass(frozen=True)
class Verdict:
    """Whether to tell, about which status, and why (logged when nothing is told)."""

    notify: bool
    status: str
    why: str


def needs_api(event_status: str, *, failed: frozenset[str], running: frozenset[str]) -> bool:
    """True when the event's status alone cannot decide (a success or a status not known)."""
    return event_status not in failed and event_status not in running


def command_shortfall(command: Command) -> str | None:
    """Why a command the API calls finished did not succeed everywhere, or None if it did."""
    if command.target_count == 0:
        return "the command reached no instance (TargetCount 0)"
    if command.status_details not in SUCCESS_DETAILS:
        return f"its status details are {command.status_details}"
    if command.error_count:
        return f"{command.error_count} invocation(s) failed or timed out"
    if command.delivery_timed_out_count:
        return f"{command.delivery_timed_out_count} invocation(s) were never delivered"
    if (
        command.target_count is not None
        and command.completed_count is not None
        and command.completed_count < command.target_count
    ):
        return f"only {command.completed_count} of {command.target_count} invocations completed"
    if command.status != "Success":
        return f"the command ended {command.status}"
    return None


def judge_command(event_status: str, command: Command | None) -> Verdict:
    """Tell, or acknowledge, a command event. `command` is ListCommands' view; it is needed only
    when `needs_api` says so (a documented failure or a running status decides alone)."""
    if event_status in COMMAND_FAILED:
        return Verdict(True, event_status, "the command failed")
    if event_status in COMMAND_RUNNING:
        return Verdict(False, event_status, "still running: a later event tells how it ended")
    if command is None:
        raise ValueError(f"status {event_status!r} needs the command as the API reports it")
    if command.status in COMMAND_RUNNING:
        return Verdict(False, event_status, f"the API says the command is still {command.status}")
    shortfall = command_shortfall(command)
    if shortfall is None:
        return Verdict(False, event_status, "every invocation succeeded")
    if event_status != "Success":
        return Verdict(True, event_status, shortfall)
    # Told as what the API calls it (Incomplete), not as a success.
    shown = command.status_details if command.status_details not in SUCCESS_DETAILS else "Incomplete"
    if command.target_count == 0 and shown == "Incomplete":
        shown = "No Instances"
    return Verdict(True, shown, shortfall)


def judge_window(
    event_status: str, api_status: str | None, shortfalls: tuple[str, ...], *, on_success: bool
) -> Verdict:
    """Tell, or acknowledge, a window execution event. `api_status` and `shortfalls` come from
    the execution as the API reports it; they are needed only when `needs_api` says so."""
    if event_status in WINDOW_FAILED:
        return Verdict(True, event_status, "the window execution did not succeed")
    if event_status in WINDOW_RUNNING:
        return Verdict(False, event_status, "not an end state: a later event tells how it ended")
    if api_status is None:
        raise ValueError(f"status {event_status!r} needs the window execution as the API reports it")
    if api_status in WINDOW_RUNNING:
        return Verdict(False, event_status, f"the API says the execution is still {api_status}")
    if api_status in WINDOW_FAILED:
        return Verdict(True, api_status, f"the API says the execution ended {api_status}")
    if shortfalls:
        return Verdict(True, event_status, "; ".join(shortfalls))
    if on_success:
        return Verdict(True, event_status, "NOTIFY_ON_SUCCESS is set")
    return Verdict(False, event_status, "every task ran on its targets")
