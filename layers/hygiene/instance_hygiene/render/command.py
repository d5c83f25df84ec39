"""Three renderings of one digest (email text, chat JSON, machine JSON) that always fit SNS. Pure.

Budget: SNS takes 262,144 bytes of UTF-8 including message attributes. When the renderings do not
fit, excerpts shrink first, then groups keep fewer listed instances, then the smallest groups go;
counts, the largest groups' reasons and links always stay, and every failure left out is counted
in `omitted`. Whatever was cut is in the full report written to S3 and linked.

Every rendering is valid UTF-8 (a lone surrogate in any field becomes U+FFFD), and text from
logs or the API cannot add markup to the chat rendering (see `render.chat.chat_text`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import quote

from instance_hygiene.digest.compliance import describe_instance
from instance_hygiene.digest.model import (
    SEVERITY_ORDER,
    CommandDigest,
    Failure,
    Group,
    Unread,
    severity_rank,
    to_dict,
    trim_groups,
)
from instance_hygiene.events import REGION_PATTERN
from instance_hygiene.secrets.redact import sanitize

SNS_LIMIT_BYTES = 262_144
SUBJECT_MAX = 99
# Room left for message attributes and the JSON envelope of MessageStructure=json.
ENVELOPE_RESERVE = 4_096
EXCERPT_STEPS = (None, 5, 2, 0)
LISTED_STEPS = (None, 50, 10, 3, 1, 0)
EMAIL_INSTANCES_PER_GROUP = 20
EMAIL_LINE_BUDGET = 40
"""Lines an e-mail aims for: log excerpts are added while they fit (issue: a night in ten seconds)."""
NOTE_MAX_CHARS = 500
"""Notes are cut to this in the last-resort rendering (no groups at all)."""

_SUBJECT_UNSAFE = re.compile(r"[^\x20-\x7e]+")
_LINE_BREAKS = re.compile(r"[\n\t\v\f\x85]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_REGION = re.compile(REGION_PATTERN)
# A host name a mail or chat client would turn into a link: labels and a top-level domain of
# letters (`evil.example.com`, `README.md`; not `libc.so.6`, `kernel-5.10.x86_64`, `10.0.0.1`).
_DOMAIN = re.compile(
    r"(?<![A-Za-z0-9-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}+)\.(?=[A-Za-z0-9]))++[A-Za-z]{2,24}+(?![A-Za-z0-9-])"
)
_HTTP_SCHEME = re.compile(r"(?i)\b(h)tt(ps?)(?=://)")
# Schemes a client links (s3:// is not linked anywhere and stays copyable).
_LINKED_SCHEME = re.compile(
    r"(?i)\b(hxxps?|ftps?|file|wss?|sftp|ssh|git|svn|irc|telnet|ldaps?|smb|vnc|rdp)://"
)
_MAILTO = re.compile(r"(?i)\b(mailto|tel|sms|callto):")
_IPV4 = re.compile(
    r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})(?![0-9.])"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    chat: str
    machine: str
    trimmed: bool

    def sns_message(self) -> str:
        """The MessageStructure=json body: "default" (the digest JSON) serves SQS, Lambda, HTTP and
        email-json, which fall back to it; e-mail gets the text and HTTPS (chat) the chat JSON.
        Each body is in the 256 KiB once, which is why the other protocols are not repeated."""
        return json.dumps(
            {"default": self.machine, "email": self.text, "https": self.chat, "sms": self.subject},
            ensure_ascii=False,
        )


def safe_subject(text: str) -> str:
    """Printable ASCII, one line, under 100 characters (SNS rejects anything else)."""
    flat = _SUBJECT_UNSAFE.sub(" ", text).strip()
    flat = re.sub(r" {2,}", " ", flat)
    if len(flat) > SUBJECT_MAX:
        flat = flat[: SUBJECT_MAX - 3].rstrip() + "..."
    return flat or "Instance hygiene notification"


def headline_status(digest: CommandDigest) -> str:
    """The subject's first word: the worst thing that happened to an instance when it is worse than
    the command's own status (a command the cutoff cancelled, on which two disks were full, is
    FAILED), else the command's status. Only a timed-out or cancelled command is re-headed: a status
    such as Incomplete (a Success with failures under MaxErrors) says more than FAILED would."""
    own = severity_rank(digest.status)
    worst = min((g.severity_rank for g in digest.groups), default=own)
    if 0 < own < len(SEVERITY_ORDER) - 1 and worst < own:  # own: timed out or cancelled
        return SEVERITY_ORDER[worst].replace(" ", "").upper()  # FAILED, TIMEDOUT (the status words)
    return digest.status.upper()


def night_label(digest: CommandDigest) -> str:
    """What the command was, as the person who scheduled it knows it: the window task's comment
    (our tasks set `<WindowName> patch|healthcheck`), else the window's name and the document, else
    (a command sent by hand) the document."""
    if digest.window_name:
        if digest.comment.startswith(digest.window_name):
            return digest.comment
        return f"{digest.window_name} {digest.document_name}"
    return digest.document_name


def subject(digest: CommandDigest) -> str:
    """`<WORST> <window task or document> <local date>: <n>/<N> - <worst cause>`, cut to fit; for a
    command that could not be read, `<STATUS> <document> <date>: not read in account <id>, <region>`."""
    counts = digest.counts
    when = f" {digest.local_date}" if digest.local_date else ""
    if digest.unread:
        where = where_it_ran(digest.account, digest.region)
        head = f"{digest.status.upper()} {night_label(digest)}{when}: not read"
        return safe_subject(defang(head + (f" in {where}" if where else "")))
    cause = f" - {digest.groups[0].reason}" if digest.groups else " instances"
    return safe_subject(
        defang(
            f"{headline_status(digest)} {night_label(digest)}{when}: "
            f"{counts.not_succeeded}/{counts.targets}{cause}"
        )
    )


def systems_manager_console(region: str, path: str) -> str:
    """A Systems Manager console page in the region (us-east-1 when unknown or not a region name:
    the region is part of the host name, so nothing else may reach the URL)."""
    region = _region_or_default(region)
    return f"https://{region}.console.aws.amazon.com/systems-manager/{path}?region={region}"


def _region_or_default(region: str | None) -> str:
    return region if region is not None and is_region(region) else "us-east-1"


def _url_part(text: str, safe: str = "") -> str:
    """`text` percent-encoded for a URL; when it holds something a client would link (a host name or
    an address in an S3 key: a prefix may hold anything) its dots too, so that no client shows it as
    a host. Lone surrogates become U+FFFD first."""
    encoded = quote(utf8_safe(text), safe=safe)
    return encoded.replace(".", "%2E") if defang(text) != text else encoded


def s3_console_object_url(bucket: str, key: str, region: str | None) -> str:
    """The S3 console page of one object (its overview, with Open and Download), as the console
    itself links it: `/s3/object/<bucket>?region=<r>&prefix=<key>` (bucket and key quoted)."""
    return (
        f"https://s3.console.aws.amazon.com/s3/object/{_url_part(bucket)}"
        f"?region={_region_or_default(region)}&prefix={_url_part(key, safe='/')}"
    )


def s3_console_folder_url(bucket: str, prefix: str, region: str | None) -> str:
    """The S3 console page listing the objects under `prefix` (a folder ending in `/`)."""
    return (
        f"https://s3.console.aws.amazon.com/s3/buckets/{_url_part(bucket)}"
        f"?region={_region_or_default(region)}&prefix={_url_part(prefix, safe='/')}"
    )


def console_link(digest: CommandDigest) -> str:
    return systems_manager_console(digest.region, f"run-command/{quote(digest.command_id)}")


def instance_output_link(region: str, command_id: str, instance_id: str) -> str:
    """Run Command's page of one instance's invocation (its status and the output the API keeps):
    `run-command/<command id>/<instance id>`, the path a public notifier links on invocation events
    (nak2k/node-aws-cdk-util, src/aws-events/handler/ssmHandler.ts)."""
    return systems_manager_console(
        region, f"run-command/{quote(command_id, safe='')}/{quote(instance_id, safe='')}"
    )


def _output_page(failure: Failure, region: str, command_id: str) -> tuple[str, str] | None:
    """Where a person reads this instance's output, as (label, page): its S3 log's console page
    ("log"), else, when the API kept its output, its Run Command invocation page ("output"); None
    when it wrote nothing anywhere."""
    page = log_page(failure.log.links, region)
    if page is not None:
        return "log", page
    if failure.log.source == "api" and command_id:
        return "output", instance_output_link(region, command_id, failure.instance_id)
    return None


def _who(failure: Failure) -> str:
    return (
        f"{inert(failure.instance_name)} ({failure.instance_id})"
        if failure.instance_name
        else failure.instance_id
    )


_S3_URI = re.compile(r"s3://([^/]+)/(.+)")


def log_page(links: tuple[str, ...], region: str) -> str | None:
    """One console page for a failure's logs: the object's page when there is one stream, the
    step's folder (stdout and stderr side by side) when there are more. None without S3 links."""
    parsed = [m.groups() for m in map(_S3_URI.fullmatch, links) if m]
    if not parsed:
        return None
    bucket, key = parsed[0]
    if len(parsed) == 1:
        return s3_console_object_url(bucket, key, region)
    return s3_console_folder_url(bucket, key.rsplit("/", 1)[0] + "/", region)


def _where(failure: Failure) -> str:
    """Where and how it stopped: `PatchLinux, exit 1 (failure)`, or the status when no step ran."""
    if not failure.step:
        return inert(failure.status_details or failure.status)
    code = "" if failure.exit_code is None else f", exit {failure.exit_code}"
    meaning = f" ({inert(failure.exit_meaning)})" if failure.exit_meaning and code else ""
    return f"{inert(failure.step)}{code}{meaning}"


def _patches(failure: Failure) -> str:
    """Its patch counts: this run's patch state (Systems Manager's), else the counts its log
    printed, else an earlier run's patch state, said as such."""
    compliance = failure.compliance
    if compliance is not None and compliance.current:
        return f"; {describe_instance(compliance)}"
    p = failure.patch
    if p is None or (p.installed is None and p.missing is None and p.failed is None):
        # counts unknown: the run failed before it could count
        return f"; {describe_instance(compliance)}" if compliance is not None else ""
    counts = {
        "installed": p.installed,
        "missing": p.missing,
        "failed": p.failed,
        "pending reboot": p.installed_pending_reboot,
    }
    return "; patches " + ", ".join(f"{name} {n}" for name, n in counts.items() if n is not None)


def _group_head(
    index: int,
    group: Group,
    digest: CommandDigest,
    *,
    every_instance: bool,
) -> list[str]:
    """A cause in at most four lines: reason and count, next step, where it stopped and on which
    instances, its output page. With `every_instance` (the full report), one line per instance with
    its own counts and output page instead."""
    region, command_id = digest.region, digest.command_id
    first = group.failures[0] if group.failures else None
    plural = "s" if group.count != 1 else ""
    since = f" ({inert(history)})" if (history := digest.history.get(group.signature)) else ""
    lines = [f"{index}. {inert(group.reason)} - {group.count} instance{plural}{since}"]
    if first is None:
        lines.append(f"   {group.count} instances, listed in the full report")
        return lines
    if first.next_step:
        lines.append(f"   next step: {inert(first.next_step)}")
    steps = group.steps
    where = _where(first) if len(steps) <= 1 else f"steps {', '.join(inert(s) for s in steps)}"
    if every_instance:
        lines.append(f"   {where}:")
        for failure in group.failures:
            output = _output_page(failure, region, command_id)
            page = output[1] if output else None
            other = _where(failure) if _where(failure) != _where(first) else ""
            counts = _patches(failure).removeprefix("; ")
            detail = ", ".join(part for part in (other, counts, page or "") if part)
            lines.append(f"   - {_who(failure)}" + (f": {detail}" if detail else ""))
        if group.omitted:
            lines.append(f"   - and {group.omitted} more")
        return lines
    shown = group.failures[:EMAIL_INSTANCES_PER_GROUP]
    rest = group.count - len(shown)
    names = ", ".join(_who(f) for f in shown) + (f" and {rest} more" if rest > 0 else "")
    lines.append(f"   {where}{_patches(first)}: {names}")
    output = _output_page(first, region, command_id)
    if output:
        lines.append(f"   {output[0]}: {output[1]}")
    return lines


def _excerpt(group: Group, excerpt_lines: int | None, room: int | None = None) -> list[str]:
    """The group's log excerpt under its label; with `room` lines only (label included, at least
    two), its last lines, which hold the error (the whole excerpt is in the full report)."""
    first = group.failures[0] if group.failures else None
    if first is None:
        return []
    excerpt = first.excerpt if excerpt_lines is None else first.excerpt[:excerpt_lines]
    if not excerpt:
        return []
    label = _log_label(first)
    if room is not None and room - 1 < len(excerpt):
        label += f"; its last {room - 1} of {len(excerpt)} lines"
        excerpt = excerpt[len(excerpt) - (room - 1) :]
    return [f"   log ({label}):", *(f"     | {inert(line)}" for line in excerpt)]


def _log_label(failure: Failure) -> str:
    if failure.log.source == "api":
        return "API output: first 2,500 characters only"
    if failure.log.complete:
        return f"{failure.log.source}, complete"
    return f"{failure.log.source}, head and tail of {failure.log.bytes_total or 0:,} bytes"


def is_region(region: str | None) -> bool:
    """A region name (anything else from an event or a digest is shown nowhere as one)."""
    return bool(region) and _REGION.fullmatch(region or "") is not None


def where_it_ran(account: str, region: str, alias: str | None = None) -> str:
    """`account 123456789012 (alias), eu-west-2` as far as known (an invalid region is left out)."""
    named = account + (f" ({inert(alias)})" if alias else "")
    parts = (f"account {inert(named)}" if named else "", region if is_region(region) else "")
    return ", ".join(part for part in parts if part)


def unread_text(where: str, what: str, status: str, unread: Unread, notes: tuple[str, ...]) -> list[str]:
    """The lines of a message about something that could not be read: what, where, why, next step."""
    lines = [
        f"{where + ': ' if where else ''}{what} {inert(status)}: it could not be read",
        inert(unread.reason),
        f"next step: {inert(unread.next_step)}",
    ]
    if notes:
        lines.append("")
        lines.extend(f"Note: {inert(note)}" for note in notes)
    return lines


def email_text(digest: CommandDigest, line_budget: int | None = EMAIL_LINE_BUDGET) -> str:
    """The e-mail: a night's failure read in ten seconds, within `line_budget` lines where the causes
    allow (log excerpts are added worst cause first while they fit; the rest are in the full
    report). `line_budget=None` is the full report: every excerpt and every instance."""
    if digest.unread:
        where = where_it_ran(digest.account, digest.region, digest.account_alias)
        what = f"command {digest.command_id} ({inert(digest.document_name)})"
        lines = unread_text(where, what, digest.status, digest.unread, digest.notes)
        lines += ["", f"Run Command: {console_link(digest)}"]
        return _CONTROL.sub("", "\n".join(lines)) + "\n"
    counts = digest.counts
    when = f", {digest.local_date}" if digest.local_date else ""
    context = f" ({inert(digest.comment)})" if digest.comment else ""
    where = where_it_ran(digest.account, digest.region, digest.account_alias)
    head = [
        f"{where + ': ' if where else ''}{inert(digest.document_name)} {inert(digest.status)} on "
        f"{counts.not_succeeded} of {counts.targets} instances{context}{when}",
        (f"window {inert(digest.window_name or '')} ({digest.window_id}); " if digest.window_id else "")
        + f"failed {counts.failed}, timed out {counts.timed_out}, cancelled {counts.cancelled}, "
        f"other {counts.other}, succeeded {counts.succeeded}",
        *(inert(line) for line in digest.history_notes),
        "",
    ]
    every_instance = line_budget is None
    causes = [
        _group_head(index, group, digest, every_instance=every_instance)
        for index, group in enumerate(digest.groups, start=1)
    ]
    tail: list[str] = []
    if digest.notes:
        tail.append("")
        tail.extend(f"Note: {inert(note)}" for note in digest.notes)
    tail.append("")
    tail.append(f"Run Command: {console_link(digest)}")
    if digest.output_bucket:
        prefix = (digest.output_prefix or "").strip("/")
        root = f"{prefix}/{digest.command_id}/" if prefix else f"{digest.command_id}/"
        if every_instance:
            tail.append(f"Logs: {s3_console_folder_url(digest.output_bucket, root, digest.region)}")
    if digest.report_uri:
        match = _S3_URI.fullmatch(digest.report_uri)
        report = (
            s3_console_object_url(
                match.group(1),
                match.group(2).removesuffix(".json") + ".txt",
                digest.report_region or digest.region,
            )
            if match
            else as_data(digest.report_uri)
        )
        tail.append(f"Full report (nothing cut): {report}")
    if digest.omitted:
        tail.append(f"{digest.omitted} failure(s) are counted above but not listed, to fit the message size.")
    excerpts = [_excerpt(group, digest.excerpt_lines) for group in digest.groups]
    left = None if line_budget is None else line_budget - len(head) - sum(map(len, causes)) - len(tail) - 1
    body: list[str] = []
    without: list[int] = []
    shown = False
    for index, (group, cause, excerpt) in enumerate(
        zip(digest.groups, causes, excerpts, strict=True), start=1
    ):
        body.extend(cause)
        if left is None or len(excerpt) <= left:
            body.extend(excerpt)
            left = None if left is None else left - len(excerpt)
            shown = shown or bool(excerpt)
        elif excerpt and not shown and left >= 2:
            # The worst cause with an excerpt gets what room is left rather than none, before any
            # smaller excerpt of a lesser cause takes it.
            body.extend(_excerpt(group, digest.excerpt_lines, room=left))
            left, shown = 0, True
        elif excerpt:
            without.append(index)
    if without:
        tail.insert(
            0,
            f"Log excerpts of cause{'s' if len(without) > 1 else ''} "
            f"{', '.join(map(str, without))} are in the full report.",
        )
    return _CONTROL.sub("", "\n".join([*head, *body, *tail])) + "\n"


def defang(text: str) -> str:
    """Links as text: `https://evil.example.com` becomes `hxxps[:]//evil[.]example[.]com`, a bare
    host `evil[.]example[.]com`, an address `203[.]0[.]113[.]7`, `mailto:` `mailto[:]`, so no
    client turns quoted text into a link (`s3://` is linked by none and stays as it is)."""
    if "." not in text and ":" not in text:
        return text
    text = _LINKED_SCHEME.sub(r"\1[:]//", _HTTP_SCHEME.sub(r"\1xx\2", text))
    text = _MAILTO.sub(r"\1[:]", text)
    text = _IPV4.sub(_dots, text)
    return _DOMAIN.sub(_host, text)


def _dots(match: re.Match[str]) -> str:
    return match.group(0).replace(".", "[.]")


def _host(match: re.Match[str]) -> str:
    """A host a client would link: its top-level domain is one (a country code, or a generic
    domain clients know), and it is not a file in a path (`/var/run/yum.pid`, `C:\\x\\a.ps`)."""
    text, start = match.string, match.start()
    in_path = start > 0 and text[start - 1] in "/\\" and not text.endswith("//", 0, start)
    tld = match.group(0).rsplit(".", 1)[1].lower()
    linked = tld in GENERIC_TLDS or (len(tld) == 2 and tld not in FILE_EXTENSIONS)
    return _dots(match) if linked and not in_path else match.group(0)


GENERIC_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "name",
        "pro",
        "mobi",
        "asia",
        "tel",
        "travel",
        "jobs",
        "aero",
        "coop",
        "museum",
        "arpa",
        "io",
        "ai",
        "app",
        "dev",
        "xyz",
        "online",
        "site",
        "top",
        "shop",
        "store",
        "cloud",
        "tech",
        "page",
        "link",
        "click",
        "help",
        "live",
        "email",
        "blog",
        "news",
        "club",
        "space",
        "fun",
        "icu",
        "vip",
        "work",
        "wiki",
        "ninja",
        "lol",
        "zip",
        "mov",
        "web",
        "host",
        "website",
        "digital",
        "network",
        "systems",
        "solutions",
        "services",
        "support",
        "security",
        "run",
        "download",
        "bot",
        "chat",
    ]
)
"""Generic top-level domains that mail and chat clients link (with every two-letter country code)."""
FILE_EXTENSIONS = frozenset(
    ["md", "py", "sh", "pl", "so", "rs", "ps", "ts", "cs", "js", "gz", "xz", "bz", "db", "ko", "mo"]
)
"""Two letters that end file names in logs far more often than host names: not defanged."""


def inert(text: str) -> str:
    """Untrusted text (log lines, names, keys, comments) as one line of plain text for the e-mail:
    no control characters, no line break that could add a line, no link a client would follow."""
    return defang(_LINE_BREAKS.sub(" ", sanitize(text)))


def as_data(text: str) -> str:
    """A value shown as data, not prose (an S3 key, a URI built from one): inert and in quotes."""
    return json.dumps(inert(text), ensure_ascii=False)


def utf8_safe(text: str) -> str:
    """`text` with lone surrogates (from JSON `\\udXXX` escapes or undecodable bytes) as U+FFFD,
    so that it always encodes to UTF-8."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def render(digest: CommandDigest, trimmed: bool = False) -> Rendered:
    from instance_hygiene.render.chat import command_chat  # noqa: PLC0415 - chat imports this module

    return Rendered(
        subject=subject(digest),
        text=utf8_safe(email_text(digest)),
        chat=utf8_safe(command_chat(digest)),
        machine=utf8_safe(json.dumps(to_dict(digest), ensure_ascii=False)),
        trimmed=trimmed,
    )


def message_bytes(rendered: Rendered) -> int:
    return len(rendered.sns_message().encode("utf-8"))


def fit(
    digest: CommandDigest,
    limit: int = SNS_LIMIT_BYTES - ENVELOPE_RESERVE,
    renderer: Callable[[CommandDigest, bool], Rendered] = render,
) -> tuple[CommandDigest, Rendered]:
    """The fullest rendering within `limit` bytes: shrink excerpts, then listed instances."""
    for listed in LISTED_STEPS:
        groups = digest.groups if listed is None else trim_groups(digest.groups, listed)
        for excerpt in EXCERPT_STEPS:
            candidate = replace(digest, groups=groups, excerpt_lines=excerpt)
            trimmed = listed is not None or excerpt is not None
            rendered = renderer(candidate, trimmed)
            if message_bytes(rendered) <= limit:
                return candidate, rendered
    # Even one line per group is too much: keep counts, the biggest groups' reasons and links;
    # the failures of the groups left out are counted in `omitted`. Last resort: no group at
    # all and shortened notes.
    keep = len(digest.groups)
    while keep > 0:
        keep //= 2
        left_out = digest.groups[keep:]
        notes = digest.notes if keep else tuple(_cut(note, NOTE_MAX_CHARS) for note in digest.notes[:10])
        candidate = replace(
            digest,
            groups=trim_groups(digest.groups[:keep], 0),
            excerpt_lines=0,
            dropped_failures=digest.dropped_failures + sum(group.count for group in left_out),
            notes=(*notes, f"{len(left_out)} smaller group(s) of failures are only in the full report."),
        )
        rendered = renderer(candidate, True)
        if message_bytes(rendered) <= limit:
            return candidate, rendered
    raise ValueError("digest cannot fit an SNS message even without its groups")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
