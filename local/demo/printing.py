"""The demo's outputs: the folder of renderings per notification, summary.json, events.json, and
the console story (what was played, what EventBridge delivered, each e-mail)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from local.agent_logs import LINUX, MACOS, WINDOWS
from local.demo.night import Night, PlayedTask
from local.demo.organization import MemberNight, OrganizationResult
from local.demo.run import Delivery, Result
from local.demo.scenario import PATCH_GROUP, StandinPlan
from local.demo.subscribers import Notification
from local.fleet_sim import WINDOW_TIMEZONE


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80]


def _folder_name(number: int, notification: Notification, owner: str = "") -> str:
    """`NN-[<owner>-]<command-document | window-name>-<status>` (owner: a member account's name),
    `NN-summary-<night>` for the morning summary."""
    digest = json.loads(notification.digest)
    if notification.kind == "summary":
        return f"{number:02d}-summary-{_slug(str(digest.get('night', '')))}"
    if notification.kind == "window":
        what = f"window-{digest.get('window_name') or digest.get('window_id', '')}"
    else:
        what = f"command-{digest.get('document_name', '')}"
    owned = f"{_slug(owner)}-" if owner else ""
    return f"{number:02d}-{owned}{_slug(what)}-{_slug(notification.status.lower())}"


def _clear(out: Path) -> None:
    """Remove what an earlier run saved here (only our own files and folders)."""
    for name in ("summary.json", "events.json"):
        (out / name).unlink(missing_ok=True)
    for folder in out.glob("[0-9][0-9]-*"):
        if folder.is_dir() and (folder / "subject.txt").exists():
            shutil.rmtree(folder)
    for earlier in out.glob("night-before-[0-9]*"):
        if earlier.is_dir():
            _clear(earlier)
            if not any(earlier.iterdir()):
                earlier.rmdir()


def earlier_folder(out: Path, nights_before: int) -> Path:
    """Where an earlier night's renderings are saved: night-before-1 is last night's."""
    return out / f"night-before-{nights_before}"


def _pretty(text: str) -> str:
    return json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def _local_date(night: Night) -> str:
    """The night's date in the window's time zone (as its messages give it)."""
    return f"{night.start.astimezone(ZoneInfo(WINDOW_TIMEZONE)):%Y-%m-%d}"


def summary(result: Result) -> dict[str, Any]:
    night = result.night
    platforms = Counter(h.platform for h in night.hosts)
    redelivered = [d for d in result.deliveries if d.redelivery]
    return {
        "scenario": night.scenario.name,
        "description": night.scenario.description,
        "seconds": round(result.seconds, 2),
        "fleet": {
            "instances": len(night.hosts),
            "by_platform": dict(platforms),
            "managed": sum(h.instance_id.startswith("mi-") for h in night.hosts),
            "offline": night.offline,
            "targeted": night.scenario.targeted,
        },
        "standin": asdict(night.scenario.standin),
        "stack": {
            "bucket": night.stack.bucket,
            "topic": night.stack.topic_arn,
            "healthcheck_document": night.stack.healthcheck_document,
        },
        "window": {
            "id": night.window.window_id,
            "name": night.scenario.window.name,
            "max_errors": night.scenario.window.max_errors,
            "max_errors_why": night.scenario.window.max_errors_why,
            "cutoff_behavior": night.scenario.window.cutoff_behavior,
            "execution_id": night.window_execution_id,
            "status": night.window_status,
            "tasks": {
                t.task: {
                    "status": t.task_status,
                    "status_details": t.task_status_details,
                    "command_id": t.command.command_id if t.command else None,
                }
                for t in night.tasks.values()
            },
        },
        "commands": [
            {
                "task": t.task,
                "command_id": t.command.command_id,
                "document": t.document,
                "status": t.command_status,
                "invocations": dict(t.statuses()),
                "kinds": dict(Counter(t.kinds.values())),
            }
            for t in night.commands()
            if t.command is not None
        ],
        "events": {
            "emitted": len(night.events),
            "delivered": len(result.deliveries),
            "matched": len(result.invoked),
            "redelivered": [d.event["id"] for d in redelivered],
            "errors": [d.error for d in result.errors],
        },
        "notifications": [
            {"folder": folder.name, "subject": n.subject, "kind": n.kind, "status": n.status}
            for n, folder in zip(result.notifications, result.folders, strict=True)
        ],
        "earlier_nights": [
            {
                "nights_before": earlier.night.nights_before,
                "date": _local_date(earlier.night),
                "window_execution_id": earlier.night.window_execution_id,
                "window_status": earlier.night.window_status,
                "commands": {
                    t.task: {"command_id": t.command.command_id, "status": t.command_status}
                    for t in earlier.night.commands()
                    if t.command is not None
                },
                "notifications": [
                    {
                        "folder": f"{folder.parent.name}/{folder.name}",
                        "subject": n.subject,
                        "kind": n.kind,
                        "status": n.status,
                    }
                    for n, folder in zip(earlier.notifications, earlier.folders, strict=True)
                ],
            }
            for earlier in result.earlier
        ],
    }


def save(result: Result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    for earlier in result.earlier:
        folder = earlier_folder(out, earlier.night.nights_before)
        folder.mkdir()
        _save_night(earlier, folder)
    _save_night(result, out)
    (out / "summary.json").write_text(json.dumps(summary(result), indent=2) + "\n")


def _save_night(result: Result, out: Path) -> None:
    """One night's notification folders and its events.json, in `out`."""
    result.out = out
    result.folders = _save_notifications(result.notifications, out)
    _save_events(result.deliveries, out)


def _save_notifications(
    notifications: Sequence[Notification], out: Path, owners: Sequence[str] = ()
) -> list[Path]:
    """A folder per notification, numbered in the order received, in `out`."""
    folders = []
    for number, notification in enumerate(notifications, start=1):
        folder = out / _folder_name(number, notification, owners[number - 1] if owners else "")
        folder.mkdir()
        (folder / "subject.txt").write_text(notification.subject + "\n")
        (folder / "email.txt").write_text(notification.email)
        (folder / "chat.json").write_text(_pretty(notification.chat))
        (folder / "digest.json").write_text(_pretty(notification.digest))
        (folder / "sns-message.json").write_text(notification.published)
        folders.append(folder)
    return folders


def _save_events(deliveries: Sequence[Delivery], out: Path) -> None:
    """events.json: every delivered event in delivery order, the function it reached, its result."""
    events = [
        {
            "position": d.position,
            "redelivery": d.redelivery,
            "function": d.function,
            "seconds": round(d.seconds, 3),
            "result": d.result,
            "error": d.error,
            "event": d.event,
        }
        for d in deliveries
    ]
    (out / "events.json").write_text(json.dumps(events, indent=1, default=str) + "\n")


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _command_line(task: PlayedTask) -> str:
    statuses = task.statuses()
    failed = len(task.outcomes) - statuses["Success"]
    listed = ", ".join(
        f"{kind} {n}" for kind, n in Counter(task.kinds.values()).most_common() if kind != "success"
    )
    return f"{task.document} {task.command_status}: {failed} of {len(task.outcomes)} did not succeed" + (
        f" ({listed})" if listed else ""
    )


def _stage_lines(night: Night) -> list[str]:
    """The fleet, the window, what the stand-in was told to assume, and how each task ended."""
    scenario, hosts = night.scenario, night.hosts
    platforms = Counter(h.platform for h in hosts)
    managed = sum(h.instance_id.startswith("mi-") for h in hosts)
    lines = [
        f"fleet: {len(hosts)} instances ({platforms[LINUX]} Linux, {platforms[WINDOWS]} Windows"
        + (f", {platforms[MACOS]} macOS (EC2 Mac)" if platforms[MACOS] else "")
        + (f"; {managed} hybrid mi- nodes" if managed else "")
        + (f"; {len(night.offline)} stopped" if night.offline else "")
        + ")"
    ]
    if scenario.targeted < scenario.size:
        tags = sorted({g.patch_group for g in scenario.fleet if g.patch_group != PATCH_GROUP})
        lines.append(
            f"window target tag:Patch Group={PATCH_GROUP} matches {scenario.targeted} of them "
            f"(the others are tagged {', '.join(tags)})"
        )
    window = scenario.window
    lines.append(
        f"window {window.name}: MaxErrors {window.max_errors}, CutoffBehavior {window.cutoff_behavior}"
        + (f" ({window.max_errors_why})" if window.max_errors_why else "")
    )
    assumed = scenario.standin
    if assumed != StandinPlan():
        lines.append(
            "stand-in, UNVERIFIED AWS behaviour as this scenario assumes it: an Incomplete command's "
            f"Status is {assumed.incomplete_status}; delivery timeouts "
            f"{'count' if assumed.delivery_timeouts_count else 'do not count'} against MaxErrors; "
            f"a command's final event carries its {assumed.command_event_status}"
        )
    for task in night.tasks.values():
        if task.command is not None:
            lines.append(f"{task.task:<11} {_command_line(task)}")
        elif task.task in window.not_run:
            lines.append(f"{task.task:<11} not run by this execution (window.not_run)")
        elif task.task_status == "NOT_RUN":
            lines.append(f"{task.task:<11} never started")
        else:
            lines.append(f"{task.task:<11} ran on no instance: the target matched none, no command was sent")
    return lines


def _earlier_lines(result: Result) -> list[str]:
    """The earlier nights, as played and told (each delivered to the handlers like tonight's, so
    history holds them): a line per night and the subject of each of its messages."""
    if not result.earlier:
        return []
    lines = [
        f"{len(result.earlier)} earlier night(s) of the same window on the same fleet, one a day, "
        "delivered to the handlers before tonight's (what history remembers):"
    ]
    for earlier in result.earlier:
        night = earlier.night
        commands = "; ".join(f"{t.task} {_command_line(t)}" for t in night.commands())
        lines.append(
            f"  {_local_date(night)} ({night.nights_before} night(s) before): window execution "
            f"{night.window_status}" + (f"; {commands}" if commands else "")
        )
        lines.extend(f"    told: {n.subject}" for n in earlier.notifications)
        if not earlier.notifications:
            lines.append("    told: nothing (no failure)")
    return lines


def _redelivery_outcome(delivery: Delivery) -> str:
    if not delivery.function:
        return "no rule matches it, nothing ran"
    if delivery.result and delivery.result.get("notified") is False:
        return f"{delivery.function} found nothing to tell again, no message"
    return f"{delivery.function} returned the stored outcome, no second message"


def report(result: Result, *, detail: str = "text", write: Callable[[str], object] = print) -> None:
    """The console story: what was played, what EventBridge delivered, each notification."""
    night = result.night
    scenario = night.scenario
    write(f'Instance hygiene demo: scenario "{scenario.name}" on the offline stand-in (nothing reaches AWS)')
    if scenario.description:
        write(f"  {scenario.description}")
    for line in _stage_lines(night):
        write(f"  {line}")
    for line in _earlier_lines(result):
        write(f"  {line}")
    tasks = ", ".join(f"{t.task} {t.task_status}" for t in night.tasks.values())
    write(f"  window execution {night.window_status} ({tasks})" + (" tonight" if result.earlier else ""))
    invoked = Counter(d.function for d in result.invoked)
    write(
        f"  EventBridge: {len(night.events)} aws.ssm events in shuffled order"
        f"{', one of them delivered twice' if any(d.redelivery for d in result.deliveries) else ''}; "
        f"the stack's rules matched {len(result.invoked)}: "
        + (", ".join(f"{name} x{n}" for name, n in sorted(invoked.items())) or "no function ran")
    )
    for delivery in result.deliveries:
        if delivery.redelivery:
            what = f"{delivery.event['detail-type']} {delivery.event['detail']['status']}"
            outcome = _redelivery_outcome(delivery)
            write(f"  redelivered {what} (same id {delivery.event['id'][:8]}...): {outcome}")
    if not result.notifications:
        write("")
        write(
            "No failures: every invocation succeeded and the window execution ended "
            f"{night.window_status} with every task run on its targets. The functions checked each "
            "end state against the API (the commands' counts, the window's tasks), found nothing "
            "to tell, and no notification was sent."
        )
    else:
        write(
            f"  {len(result.notifications)} notification(s) on the topic; each as the e-mail "
            "subscriber reads it:"
        )
    _write_messages(result.notifications, result.folders, detail=detail, write=write)
    _write_end(result.out, result.folders, result.seconds, write=write)


def _write_messages(
    notifications: Sequence[Notification],
    folders: Sequence[Path],
    *,
    detail: str,
    write: Callable[[str], object],
) -> None:
    """Each notification as the e-mail subscriber reads it, then where its other renderings are."""
    bar = "=" * 100
    for number, (notification, folder) in enumerate(zip(notifications, folders, strict=True), start=1):
        write("")
        write(bar)
        write(f"[{number}/{len(notifications)}] Subject: {notification.subject}")
        write(bar)
        write(notification.email.rstrip("\n"))
        write("")
        write(
            f"  -> other renderings: chat (HTTPS, Amazon Q Developer) {_shown(folder / 'chat.json')}; "
            f"digest (SQS, Lambda, HTTP: default) {_shown(folder / 'digest.json')}"
        )
        if detail == "all":
            write("")
            write("  chat (https):")
            write(_pretty(notification.chat).rstrip("\n"))
            write("  digest (sqs / default):")
            write(_pretty(notification.digest).rstrip("\n"))


def _write_end(
    out: Path | None, folders: Sequence[Path], seconds: float, *, write: Callable[[str], object]
) -> None:
    write("")
    if out is not None:
        saved = "summary.json, events.json" + (", one folder per notification" if folders else "")
        write(f"Saved to {_shown(out)}/ ({saved})")
    write(f"Done in {seconds:.1f} s.")


# ---------------------------------------------------------------- an Organization's night


def _member_names(result: OrganizationResult) -> dict[str, str]:
    return {m.account: m.member.name for m in result.members}


def _owner(result: OrganizationResult, notification: Notification) -> str:
    """The member account a notification is about, by its name ("" if none: not expected)."""
    return _member_names(result).get(str(json.loads(notification.digest).get("account", "")), "")


def organization_summary(result: OrganizationResult) -> dict[str, Any]:
    scenario = result.scenario
    redelivered = [d for d in result.deliveries if d.redelivery]
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "seconds": round(result.seconds, 2),
        "organization": {"id": result.organization.id, "management_account": result.central.account},
        "central": {
            "account": result.central.account,
            "alias": scenario.central_alias,
            "region": result.central.region,
            "stack": result.central.stack_name,
            "bus": result.bus_arn,
            "bucket": result.central.bucket,
            "topic": result.central.topic_arn,
        },
        "members": [
            {
                "name": m.member.name,
                "account": m.account,
                "alias": m.member.alias,
                "region": m.region,
                "member_role": m.member_role_arn,
                "instance_role_writes_logs": m.member.instance_role_writes_logs,
                "bucket": m.stack.bucket,
                "window": {
                    "id": m.night.window.window_id,
                    "execution_id": m.night.window_execution_id,
                    "status": m.night.window_status,
                },
                "instances": len(m.night.hosts),
                "commands": [
                    {
                        "task": t.task,
                        "command_id": t.command.command_id,
                        "status": t.command_status,
                        "invocations": dict(t.statuses()),
                        "kinds": dict(Counter(t.kinds.values())),
                    }
                    for t in m.night.commands()
                    if t.command is not None
                ],
                "events": {"emitted": len(m.night.events), "forwarded": len(m.forwarded)},
            }
            for m in result.members
        ],
        "events": {
            "on_central_bus": sum(len(m.forwarded) for m in result.members),
            "delivered": len(result.deliveries),
            "matched": len(result.invoked),
            "redelivered": [d.event["id"] for d in redelivered],
            "errors": [d.error for d in result.errors],
        },
        "assume_role": [
            {"caller": d.caller, "role": d.role, "allowed": d.allowed, "reason": d.reason}
            for d in result.trust
        ],
        "notifications": [
            {
                "folder": folder.name,
                "subject": n.subject,
                "kind": n.kind,
                "status": n.status,
                "account": json.loads(n.digest).get("account"),
                "region": json.loads(n.digest).get("region"),
            }
            for n, folder in zip(result.notifications, result.folders, strict=True)
        ],
    }


def save_organization(result: OrganizationResult, out: Path) -> None:
    """The central topic's notifications (a folder each, named after the member account), the
    central bus's events.json and summary.json, in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    result.out = out
    owners = [_owner(result, n) for n in result.notifications]
    result.folders = _save_notifications(result.notifications, out, owners)
    _save_events(result.deliveries, out)
    (out / "summary.json").write_text(json.dumps(organization_summary(result), indent=2) + "\n")


def _member_lines(played: MemberNight) -> list[str]:
    member, night = played.member, played.night
    head = f"{member.name}: account {played.account} ({member.alias}), {played.region}"
    if not member.member_role:
        head += "; its member stack was deployed without MemberReadRole"
    if not member.instance_role_writes_logs:
        head += (
            "; its instances' role may not write to the log bucket (s3:PutObject, kms:GenerateDataKey), "
            "so no output reached S3"
        )
    tasks = ", ".join(f"{t.task} {t.task_status}" for t in night.tasks.values())
    return [
        head,
        *(f"  {line}" for line in _stage_lines(night)),
        f"  window execution {night.window_status} ({tasks}); ForwardToCentralRule sent "
        f"{len(played.forwarded)} of its {len(night.events)} aws.ssm events to the central bus",
    ]


def _assume_role_lines(result: OrganizationResult) -> list[str]:
    """What STS decided on the functions' AssumeRole calls, per member account."""
    names = _member_names(result)
    assumed = {names[d.role.split(":")[4]] for d in result.trust if d.allowed}
    allowed = [name for name in dict.fromkeys(m.member.name for m in result.members) if name in assumed]
    refused = Counter((names[d.role.split(":")[4]], d.reason) for d in result.trust if not d.allowed)
    line = "STS, role trust enforced: the functions assumed MemberReadRole in " + (
        ", ".join(allowed) or "no account"
    )
    line += "".join(f"; refused {n} time(s) in {name} ({why})" for (name, why), n in sorted(refused.items()))
    return [line]


def report_organization(
    result: OrganizationResult, *, detail: str = "text", write: Callable[[str], object] = print
) -> None:
    """The console story of an Organization's night: the central stack, each member's night, what
    the central bus delivered and what STS allowed, then each notification."""
    scenario, central = result.scenario, result.central
    write(f'Instance hygiene demo: scenario "{scenario.name}" on the offline stand-in (nothing reaches AWS)')
    if scenario.description:
        write(f"  {scenario.description}")
    write(
        f"  Organization {result.organization.id}: its management account {central.account} "
        f"({scenario.central_alias}) runs the central stack {central.stack_name} (DeploymentRole central) "
        f"in {central.region}, its functions on the event bus {result.bus}"
    )
    write(
        f"  {len({m.account for m in result.members})} member accounts, {len(result.members)} member stacks, "
        "one per account and region (DeploymentRole member: the window, its logs, MemberReadRole, "
        "ForwardToCentralRule to that bus):"
    )
    for played in result.members:
        for line in _member_lines(played):
            write(f"  {line}")
    invoked = Counter(d.function for d in result.invoked)
    twice = ", one of them delivered twice" if any(d.redelivery for d in result.deliveries) else ""
    write(
        f"  EventBridge: {sum(len(m.forwarded) for m in result.members)} events on the central bus in "
        f"shuffled order{twice}; "
        f"the central stack's rules matched {len(result.invoked)}: "
        + (", ".join(f"{name} x{n}" for name, n in sorted(invoked.items())) or "no function ran")
    )
    for line in _assume_role_lines(result):
        write(f"  {line}")
    names = _member_names(result)
    for delivery in result.deliveries:
        if delivery.redelivery:
            what = f"{delivery.event['detail-type']} {delivery.event['detail']['status']}"
            write(
                f"  redelivered {what} of {names[delivery.event['account']]} (same id "
                f"{delivery.event['id'][:8]}...): {_redelivery_outcome(delivery)}"
            )
    write(
        f"  {len(result.notifications)} notification(s) on the central topic; each as the e-mail "
        "subscriber reads it:"
    )
    _write_messages(result.notifications, result.folders, detail=detail, write=write)
    _write_end(result.out, result.folders, result.seconds, write=write)
