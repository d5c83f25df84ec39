"""A window digest as subscribers read it: subject, email text, chat JSON and the console link. Pure."""

from __future__ import annotations

import json

from instance_hygiene.digest.window import WindowDigest, ran_on_no_instance, shortfalls, to_dict
from instance_hygiene.render.command import (
    Rendered,
    defang,
    escape_markdown,
    inert,
    safe_subject,
    systems_manager_console,
)


def subject(report: WindowDigest) -> str:
    name = defang(report.window_name or report.window_id)
    idle = [t for t in report.tasks if t.status == "NOT_RUN" or ran_on_no_instance(t)]
    if report.status == "SUCCESS" and idle:
        # Whatever the status says, the first words say what did not happen.
        if len(idle) == len(report.tasks):
            return safe_subject(f"NOTHING RAN maintenance window {name}: no instance was patched or checked")
        count = f"{len(idle)} of {len(report.tasks)}"
        return safe_subject(f"INCOMPLETE maintenance window {name}: {count} tasks ran on no instance")
    bad = [t for t in report.tasks if t.status not in {"SUCCESS"}]
    tail = f": {len(bad)} of {len(report.tasks)} tasks did not succeed" if report.tasks else ""
    return safe_subject(f"{report.status} maintenance window {name}{tail}")


def console_link(report: WindowDigest) -> str:
    return systems_manager_console(report.region, f"maintenance-windows/{report.window_id}/history")


def text(report: WindowDigest) -> str:
    lines = [
        f"Maintenance window {inert(report.window_name or report.window_id)} ({report.window_id}): "
        f"{report.status}",
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
    lines.append("")
    for t in report.tasks:
        lines.append(f"- priority {t.priority}: {inert(t.name)} [{inert(t.task_arn)}] {inert(t.status)}")
        if t.status_details:
            lines.append(f"    {inert(t.status_details)}")
        for command_id in t.command_ids:
            lines.append(f"    command {command_id} (its own notification carries the details)")
    lines += ["", f"Console: {console_link(report)}"]
    lines.extend(f"Note: {inert(note)}" for note in report.notes)
    return "\n".join(lines) + "\n"


def chat(report: WindowDigest) -> str:
    description = "\n".join(
        f"• P{t.priority} *{escape_markdown(t.name)}*: {escape_markdown(t.status)}"
        + (f" — {escape_markdown(t.status_details)}" if t.status_details else "")
        for t in report.tasks
    )
    payload = {
        "version": "1.0",
        "source": "custom",
        "id": f"{report.window_execution_id}:{report.status}",
        "content": {
            "textType": "client-markdown",
            "title": escape_markdown(subject(report)),
            "description": description[:8000] or escape_markdown(report.status_details or report.status),
            "nextSteps": [f"Window history: {console_link(report)}"],
            "keywords": [escape_markdown(report.status), escape_markdown(report.window_id)],
        },
        "metadata": {
            "threadId": report.window_execution_id,
            "summary": escape_markdown(subject(report)),
            "eventType": "MaintenanceWindowExecution",
            "relatedResources": [report.window_id],
        },
    }
    return json.dumps(payload, ensure_ascii=False)


def render(report: WindowDigest) -> Rendered:
    return Rendered(
        subject=subject(report),
        text=text(report),
        chat=chat(report),
        machine=json.dumps(to_dict(report), ensure_ascii=False),
        trimmed=False,
    )
