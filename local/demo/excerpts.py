"""The demo's output as README.md and docs/demo.md show it, regenerated from a run of the demo.

    python -m local.demo.excerpts [--check]

Plays each excerpt's scenario with tonight pinned to NIGHT_END (so that every id, time and line is
the same on every run), trims the console story by the rules of its `Excerpt` and writes it
between `<!-- demo-output: NAME -->` and `<!-- /demo-output -->` in its file. With --check it
writes nothing and exits 1 when a file is not what the demo prints (the test suite runs that).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from local.demo.plays import load, play, report, save, verify
from local.template import ROOT

NIGHT_END = datetime(2026, 12, 3, 10, 15, tzinfo=UTC)
"""When the excerpts' night ends: 10:15 UTC, the window's 09:00 London run (cron(0 9 ...)) plus
its 75 minutes."""
SUBJECT = re.compile(r"^\[(\d+)/(\d+)\] Subject: (.*)$")
BAR = "=" * 100
KEPT_AFTER_A_CUT = re.compile(r"^(\d+\. |Note: |Run Command:|Full report|Links:|- execution:)")
"""Lines kept past a message's first lines: each cause's headline, the notes, where to click."""


@dataclass(frozen=True)
class Excerpt:
    name: str
    scenario: str
    file: str
    story: bool
    """Keep the lines before the first message (the stage, the earlier nights, the deliveries)."""
    messages: tuple[tuple[str, int], ...]
    """(subject prefix, body lines kept) for each message shown, in the order shown."""
    story_lines: tuple[str, ...] = ()
    """Only the story's lines that start with one of these (all when empty)."""
    also: str = ""
    """A pattern of further lines to keep past the cut."""


EXCERPTS = (
    Excerpt(
        "readme-showcase",
        "showcase",
        "README.md",
        story=False,
        messages=(("FAILED PatchWithHealthcheck patch", 12), ("TIMED_OUT window", 9)),
    ),
    Excerpt(
        "readme-recurring",
        "recurring",
        "README.md",
        story=True,
        story_lines=("  2 earlier night", "    20", "      told:"),
        messages=(("FAILED PatchWithHealthcheck patch", 6), ("FAILED PatchWithHealthcheck healthcheck", 5)),
        also="last patch state",
    ),
    Excerpt(
        "readme-org",
        "org",
        "README.md",
        story=True,
        story_lines=(
            "  Organization ",
            "  retail:",
            "  storefront:",
            "  payments:",
            "  analytics:",
            "  ledger:",
            "  EventBridge:",
            "  STS,",
        ),
        messages=(
            ("FAILED PatchWithHealthcheck patch 2026-12-03: 3/16", 6),
            ("FAILED window mw-7b59a164a88a1987b 2026-12-03: not read", 3),
            ("FAILED PatchWithHealthcheck patch 2026-12-03: 2/12 - yum lock", 2),
            ("NIGHT 2026-12-02", 14),
        ),
    ),
    Excerpt(
        "demo-showcase",
        "showcase",
        "docs/demo.md",
        story=True,
        messages=(
            ("FAILED PatchWithHealthcheck healthcheck", 14),
            ("FAILED PatchWithHealthcheck patch", 16),
            ("TIMED_OUT window", 24),
        ),
    ),
)


@dataclass(frozen=True)
class Message:
    head: str
    """`[2/3] Subject: ...` as printed."""
    subject: str
    body: list[str]


def parse(lines: Sequence[str]) -> tuple[list[str], list[Message], list[str]]:
    """The console story as (lines before the first message, messages, closing lines)."""
    story: list[str] = []
    messages: list[Message] = []
    tail: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == BAR and index + 2 < len(lines) and (subject := SUBJECT.match(lines[index + 1])):
            head, index = lines[index + 1], index + 3
            body: list[str] = []
            while index < len(lines) and not lines[index].startswith("  -> other renderings"):
                body.append(lines[index])
                index += 1
            messages.append(Message(head, subject.group(3), body[:-1] if body and not body[-1] else body))
        elif line.startswith(("Saved to", "Done in")):
            tail.append(line)
        elif not messages:
            story.append(line)
        index += 1
    return story, messages, tail


def trim(excerpt: Excerpt, lines: Sequence[str]) -> list[str]:
    story, messages, tail = parse(lines)
    shown: list[str] = []
    if excerpt.story:
        shown += [line for line in story if not excerpt.story_lines or line.startswith(excerpt.story_lines)]
    for prefix, keep in excerpt.messages:
        (message,) = [m for m in messages if m.subject.startswith(prefix)]
        if shown:
            shown.append("")
        shown.append(message.head)
        shown += message.body[:keep]
        shown += _past_the_cut(message.body[keep:], excerpt.also)
    shown += ["", *(line for line in tail if line.startswith("Saved to"))]
    return shown


def _past_the_cut(rest: Sequence[str], also: str) -> list[str]:
    """The lines kept after the cut, with `...` wherever lines were left out."""
    kept: list[str] = []
    skipped = False
    for line in rest:
        if KEPT_AFTER_A_CUT.match(line) or (also and re.search(also, line)):
            if skipped:
                kept.append("...")
            kept.append(line)
            skipped = False
        else:
            skipped = True
    return kept + (["..."] if skipped else [])


def story(scenario: str, out: Path) -> list[str]:
    """The console story of the scenario's pinned night, its renderings saved in `out`, as it
    reads when they are saved where `make demo` saves them (out/demo/<scenario>/)."""
    result = play(load(scenario), tonight=NIGHT_END)
    save(result, out)
    verify(result)
    lines: list[str] = []
    report(result, write=lines.append)
    shown = f"out/demo/{scenario}"
    return [line.replace(str(out.resolve()), shown) for text in lines for line in text.split("\n")]


def block(name: str, shown: Iterable[str]) -> str:
    return f"<!-- demo-output: {name} -->\n```\n" + "\n".join(shown) + "\n```\n<!-- /demo-output -->"


def replace_block(text: str, name: str, new: str) -> str:
    pattern = re.compile(rf"<!-- demo-output: {re.escape(name)} -->\n.*?<!-- /demo-output -->", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no <!-- demo-output: {name} --> ... <!-- /demo-output --> block to fill")
    return pattern.sub(lambda _: new, text, count=1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demo.excerpts", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file differs")
    args = parser.parse_args(argv)
    scenarios = dict.fromkeys(e.scenario for e in EXCERPTS)
    with tempfile.TemporaryDirectory() as scratch:
        # --check leaves out/ as it is; a regeneration saves the renderings the docs show.
        base = Path(scratch) if args.check else ROOT / "out" / "demo"
        stories = {name: story(name, base / name) for name in scenarios}
    stale = []
    for file in dict.fromkeys(e.file for e in EXCERPTS):
        path = ROOT / file
        text = original = path.read_text()
        for excerpt in (e for e in EXCERPTS if e.file == file):
            text = replace_block(
                text, excerpt.name, block(excerpt.name, trim(excerpt, stories[excerpt.scenario]))
            )
        if text != original:
            stale.append(file)
            if not args.check:
                path.write_text(text)
    if stale:
        verb = "differ from what the demo prints" if args.check else "regenerated"
        print(f"{', '.join(stale)}: {verb}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
