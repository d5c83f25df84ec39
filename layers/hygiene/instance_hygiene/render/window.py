"""A window digest as subscribers read it: subject, email text, console link (chat: render.chat). Pure.

The e-mail closes the night in ten seconds: which tasks ran and how their instances ended, the
night's top causes with their next steps, the patch task's compliance, then the links (the
execution's console page, each command's Run Command page and full report).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from instance_hygiene.digest.compliance import describe as describe_compliance
from instance_hygiene.digest.window import (
    CommandRun,
    TaskCounts,
    TaskRun,
    WindowDigest,
    instance_totals,
    ran_on_no_instance,
    shortfalls,
    to_dict,
    top_causes,
)
from instance_hygiene.render.command import (
    Rendered,
    defang,
    inert,
    s3_console_object_url,
    safe_subject,
    systems_manager_console,
    unread_text,
    where_it_ran,
)

COMMANDS_LINKED_PER_TASK = 10
"""Commands of one task linked in the e-mail (the rest are counted; all are in the JSON)."""


def subject(report: WindowDigest) -> str:
    """`<STATUS> window <name> <local date>: <tasks>, <instances> did not succeed`, or what did not
    happen (NOTHING RAN, INCOMPLETE) first; cut to fit."""
    name = defang(report.window_name or report.window_id)
    night = f"window {name}" + (f" {report.local_date}" if report.local_date else "")
    if report.unread:
        where = where_it_ran(report.account, report.region)
        return safe_subject(f"{report.status} {night}: not read" + (f" in {where}" if where else ""))
    idle = [t for t in report.tasks if t.status == "NOT_RUN" or ran_on_no_instance(t)]
    if report.status == "SUCCESS" and idle:
        # Whatever the status says, the first words say what did not happen.
        if len(idle) == len(report.tasks):
            return safe_subject(f"NOTHING RAN {night}: no instance was patched or checked")
        count = f"{len(idle)} of {len(report.tasks)}"
        return safe_subject(f"INCOMPLETE {night}: {count} tasks ran on no instance")
    bad = [t for t in report.tasks if t.status not in {"SUCCESS"}]
    totals = instance_totals(report)
    if report.tasks and totals and totals[1]:
        # Each instance once, whichever tasks it failed in.
        tail = (
            f": {len(bad)} of {len(report.tasks)} tasks, {totals[0]} of {totals[1]} instances did not succeed"
        )
    elif report.tasks:
        tail = f": {len(bad)} of {len(report.tasks)} tasks did not succeed"
    else:
        tail = ""
    return safe_subject(f"{report.status} {night}{tail}")


def console_link(report: WindowDigest) -> str:
    """The execution's own console page (its tasks and their invocations), under the window's
    history: `maintenance-windows/<window id>/history/<execution id>` as a public window-execution
    notifier on GitHub links it (found with the code search of public repositories; the AWS
    documentation gives no console URLs)."""
    path = f"maintenance-windows/{quote(report.window_id, safe='')}/history/"
    return systems_manager_console(report.region, path + quote(report.window_execution_id, safe=""))


def run_command_link(report: WindowDigest, command_id: str) -> str:
    """A command's Run Command console page (as render/command.console_link links it)."""
    return systems_manager_console(report.region, f"run-command/{quote(command_id, safe='')}")


def counts_text(counts: TaskCounts) -> str:
    """`50 instances, 36 succeeded, 12 failed, 1 timed out, 1 not run` (zeros left out)."""
    parts = [f"{counts.targets} instance{'s' if counts.targets != 1 else ''}"]
    parts += [
        f"{number} {label}"
        for number, label in (
            (counts.succeeded, "succeeded"),
            (counts.failed, "failed"),
            (counts.timed_out, "timed out"),
            (counts.cancelled, "cancelled"),
            (counts.not_run, "not run"),
            (counts.unfinished, "not finished"),
        )
        if number
    ]
    return ", ".join(parts)


def _task_lines(t: TaskRun) -> list[str]:
    head = f"- priority {t.priority}: {inert(t.name)} [{inert(t.task_arn)}] {inert(t.status)}"
    counts = t.counts
    lines = [head + (f": {counts_text(counts)}" if counts else "")]
    if t.status_details:
        lines.append(f"    {inert(t.status_details)}")
    if t.compliance:
        lines.append(f"    patch compliance: {inert(describe_compliance(t.compliance))}")
    return lines


def _cause_lines(report: WindowDigest) -> list[str]:
    causes, omitted = top_causes(report)
    if not causes:
        return []
    lines = ["", "Top causes:"]
    for index, cause in enumerate(causes, start=1):
        plural = "s" if cause.count != 1 else ""
        lines.append(f"{index}. {inert(cause.reason)} - {cause.count} instance{plural} ({cause.outcome})")
        if cause.next_step:
            lines.append(f"   next step: {inert(cause.next_step)}")
    if omitted:
        lines.append(f"and {omitted} more cause{'s' if omitted != 1 else ''} in the commands' full reports")
    return lines


def _command_lines(report: WindowDigest, t: TaskRun, command: CommandRun) -> list[str]:
    page = run_command_link(report, command.command_id)
    lines = [f"- {inert(t.name)} command {inert(command.command_id)}: {page}"]
    if command.report_bucket and command.report_key:
        # The text form (a person reads it; the JSON beside it is for machines).
        key = command.report_key.removesuffix(".json") + ".txt"
        page = s3_console_object_url(command.report_bucket, key, report.region)
        lines.append(f"    full report: {page}")
    elif command.report_note:
        lines.append(f"    {inert(command.report_note)}")
    return lines


def _link_lines(report: WindowDigest) -> list[str]:
    lines = ["", "Links:", f"- execution: {console_link(report)}"]
    for t in report.tasks:
        commands = t.commands or tuple(CommandRun(command_id) for command_id in t.command_ids)
        for command in commands[:COMMANDS_LINKED_PER_TASK]:
            lines.extend(_command_lines(report, t, command))
        if len(commands) > COMMANDS_LINKED_PER_TASK:
            lines.append(f"- and {len(commands) - COMMANDS_LINKED_PER_TASK} more commands of {inert(t.name)}")
    return lines


def text(report: WindowDigest) -> str:
    where = where_it_ran(report.account, report.region, report.account_alias)
    if report.unread:
        what = f"Maintenance window {inert(report.window_id)} execution {inert(report.window_execution_id)}"
        lines = unread_text(where, what, report.status, report.unread, report.notes)
        lines += ["", f"Execution: {console_link(report)}"]
        return "\n".join(lines) + "\n"
    lines = [
        (f"{where}: " if where else "")
        + f"Maintenance window {inert(report.window_name or report.window_id)} ({report.window_id}): "
        f"{report.status}" + (f", {report.local_date}" if report.local_date else ""),
        f"execution {report.window_execution_id}"
        + (
            f", {report.start:%Y-%m-%d %H:%M} to {report.end:%H:%M} UTC"
            if report.start and report.end
            else ""
        ),
    ]
    if report.status_details:
        lines.append(inert(report.status_details))
    missing = shortfalls(report)
    if missing:
        lines += ["", "What did not happen:"]
        lines.extend(f"- {inert(item)}" for item in missing)
    lines += ["", "Tasks:"]
    for t in report.tasks:
        lines.extend(_task_lines(t))
    lines.extend(_cause_lines(report))
    lines.extend(_link_lines(report))
    if report.notes:
        lines.append("")
    lines.extend(f"Note: {inert(note)}" for note in report.notes)
    return "\n".join(lines) + "\n"


def render(report: WindowDigest) -> Rendered:
    from instance_hygiene.render.chat import window_chat  # noqa: PLC0415 - chat imports this module

    return Rendered(
        subject=subject(report),
        text=text(report),
        chat=window_chat(report),
        machine=json.dumps(to_dict(report), ensure_ascii=False),
        trimmed=False,
    )
