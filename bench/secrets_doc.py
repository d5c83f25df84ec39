"""Section 9 of docs/benchmarks.md: our redaction against detect-secrets, as `bench.secrets`
measured it (throughput, growth on backtracking inputs, recall, false positives)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

from bench.secrets import (
    DS,
    KIB,
    MIB,
    MIN_TIMED_SECONDS,
    OURS,
    OURS_ASCII,
    RECALL_CRITERION,
    SUPERLINEAR_RATIO,
    Secrets,
    Series,
)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _time(seconds: float | None, over: bool, cap: float) -> str:
    if seconds is None:
        return f"over cap (> {cap:.0f} s)" if over else "n/a"
    if seconds < 0.01:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _x(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:,.1f}x"


def _size(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def _count(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def _pct(part: int, whole: int) -> str:
    return f"{part:,}/{whole:,} ({part / whole:.0%})" if whole else "0/0"


def _pair_ratio(top: Series, bottom: Series, index: int) -> float | None:
    pairs = list(zip(top.seconds[index], bottom.seconds[index], strict=False))
    return statistics.median(a / b for a, b in pairs) if pairs else None


def _series(tool: str, where: list[Series]) -> list[Series]:
    return [s for s in where if s.tool == tool]


def _over(s: Series, index: int) -> bool:
    return bool(s.over_cap) and s.sizes[index] >= s.over_cap


def _throughput_table(result: Secrets) -> str:
    by_tool = {s.tool: s for s in result.throughput}
    ours, plain, ds = by_tool[OURS], by_tool[OURS_ASCII], by_tool[DS]
    rows = []
    for index, size in enumerate(ours.sizes):
        rows.append(
            (
                _size(size),
                _time(ours.median(index), _over(ours, index), result.cap),
                _time(plain.median(index), _over(plain, index), result.cap),
                _time(ds.median(index), _over(ds, index), result.cap),
                _x(_pair_ratio(ds, ours, index)),
                _x(_pair_ratio(ds, plain, index)),
                f"{ours.found[index]:,}" if ours.seconds[index] else "n/a",
                f"{ds.found[index]:,}" if ds.seconds[index] else "n/a",
            )
        )
    return _table(
        (
            "Benign log",
            "ours: `redact`",
            "ours, ASCII-only copy",
            "detect-secrets: `scan_file`",
            "detect-secrets / ours",
            "detect-secrets / ours (ASCII)",
            "lines ours changed",
            "findings detect-secrets reported",
        ),
        rows,
    )


def _linear_table(result: Secrets) -> str:
    sizes = result.linear[0].sizes
    rows = []
    for s in result.linear:
        times = [_time(s.median(i), _over(s, i), result.cap) for i in range(len(sizes))]
        ratios = [_x(r) if r is not None else ("over cap" if s.over_cap else "n/a") for r in s.ratios()]
        rows.append((s.input, s.tool, *times, *ratios))
    steps = [f"t({_count(b)})/t({_count(a)})" for a, b in itertools.pairwise(sizes)]
    return _table(("Input (one line)", "Tool", *(f"n = {_count(n)}" for n in sizes), *steps), rows)


def _names(names: list[str], counted_only: bool) -> str:
    if not names:
        return "-"
    return f"{len(names)} (by family above)" if counted_only else ", ".join(names)


def _recall_table(result: Secrets) -> str:
    rows = [
        (
            r.family,
            r.cases,
            _pct(r.ours, r.cases),
            _pct(r.ds_line, r.cases),
            _pct(r.ds_value, r.cases),
            _names(r.missed_ours, r.family == "all" and len(result.recall) > 1),
            _names(r.missed_ds, r.family == "all" and len(result.recall) > 1),
        )
        for r in result.recall
    ]
    return _table(
        (
            "Family",
            "Cases",
            "ours caught",
            "detect-secrets caught (line)",
            "detect-secrets caught (value)",
            "ours missed",
            "detect-secrets missed (line)",
        ),
        rows,
    )


def _worst(series: list[Series]) -> tuple[Series, float] | None:
    """The series with the largest step ratio (over cap counts as infinite)."""
    best: tuple[Series, float] | None = None
    for s in series:
        ratios = [r for r in s.ratios() if r is not None]
        worst = float("inf") if s.over_cap else max(ratios, default=0.0)
        if best is None or worst > best[1]:
            best = (s, worst)
    return best


def says(result: Secrets) -> str:
    """The plain-words paragraph, every claim computed from this run's numbers."""
    sentences = []
    by_tool = {s.tool: s for s in result.throughput}
    ours, plain, ds = by_tool[OURS], by_tool[OURS_ASCII], by_tool[DS]
    for index, size in enumerate(ours.sizes):
        ratio = _pair_ratio(ds, ours, index)
        if ratio is not None:
            sentences.append(
                f"on the {_size(size)} benign log, detecting with detect-secrets took {ratio:.2f}x the "
                "time our redaction took to detect and replace"
            )
        else:
            late = [n for s, n in ((ours, "our redaction"), (ds, "detect-secrets")) if _over(s, index)]
            sentences.append(f"On the {_size(size)} benign log, {' and '.join(late)} passed the cap")
        slow = _pair_ratio(ours, plain, index)
        if slow is not None and slow >= 2:
            sentences.append(
                f"our redaction took {slow:.1f}x as long on that log as on the same log with its few "
                "non-ASCII characters replaced, so its speed depends on whether the text is ASCII"
            )
        elif _over(ours, index) and not _over(plain, index) and plain.median(index) is not None:
            sentences.append(
                "our redaction passed the cap there but not on the same log with its non-ASCII "
                "characters replaced, so its speed depends on whether the text is ASCII"
            )
    for tool, name in ((OURS, "Our redaction"), (DS, "detect-secrets")):
        series = _series(tool, result.linear)
        bad = [s for s in series if s.over_cap or any(r and r > SUPERLINEAR_RATIO for r in s.ratios())]
        worst = _worst(series)
        if not bad and worst is not None:
            sentences.append(
                f"{name} grew linearly on all {len(series)} adversarial inputs (at most "
                f"{worst[1]:.1f}x the time for 10x the input, {worst[0].input})"
            )
        elif bad:
            parts = []
            for s in bad:
                ratio = max((r for r in s.ratios() if r is not None), default=None)
                if s.over_cap:
                    parts.append(f"{s.input} (over the {result.cap:.0f} s cap at {_count(s.over_cap)})")
                else:
                    parts.append(f"{s.input} ({_x(ratio)} for 10x)")
            sentences.append(
                f"{name} grew faster than linearly (ratio above {SUPERLINEAR_RATIO:.0f}x, or the cap) on "
                f"{len(bad)} of {len(series)} adversarial inputs: " + "; ".join(parts)
            )
    overall = next((r for r in result.recall if r.family == "all"), None)
    if overall is not None:
        sentences.append(
            f"On the {overall.cases} secret cases ours caught {overall.ours}, detect-secrets flagged "
            f"the line of {overall.ds_line} and reported the secret itself in {overall.ds_value}"
        )
    if result.benign_lines:
        sentences.append(
            f"on the {result.benign_lines:,} benign lines ours changed "
            f"{_pct(result.fp_ours, result.benign_lines)} and detect-secrets flagged "
            f"{_pct(result.fp_ds, result.benign_lines)}"
        )
    text = ". ".join(s[0].upper() + s[1:] for s in sentences if s)
    return text + "." if text else ""


def section(result: Secrets | None) -> str:
    if result is None:
        return ""
    if result.skipped:
        return f"## 9. Secret detection against detect-secrets\n\nSkipped: {result.skipped}.\n"
    fp_ours = "\n".join(f"- `{line}`" for line in result.fp_ours_examples) or "- none"
    fp_ds = "\n".join(f"- `{line[:140]}`" for line in result.fp_ds_examples) or "- none"
    types = ", ".join(f"{k} {v}" for k, v in sorted(result.fp_ds_types.items(), key=lambda kv: -kv[1]))
    families = (
        "per `family` of the corpus and overall"
        if len(result.recall) > 1
        else "overall (the corpus has no `family` field yet)"
    )
    return f"""## 9. Secret detection against detect-secrets

Our redaction (`instance_hygiene.secrets.redact`) against detect-secrets {result.version}
({len(result.plugins)} plugins: its whole default set; {len(result.filters)} default filters; loaded from
`{result.location}`), in the same run, in one worker process that is killed when a single
measurement passes {result.cap:.0f} s ("over cap": that series stops). detect-secrets **detects
and does not replace**: its times are detection cost (`scan_file` on a file named `stdout`, as
`detect-secrets scan` scans one file, reading included, no git, no verification, no network); ours
are `redact.redact`, detection and replacement. Times are medians of interleaved rounds (the order
alternates), ratios medians of per-round ratios; calls under {MIN_TIMED_SECONDS * 1000:.0f} ms are
repeated and averaged.

**What this says.** {says(result)}

### Throughput on a benign log

The benign corpus below, its lines repeated in order up to the size. The ASCII-only copy is the
same log with its non-ASCII characters replaced by `?` (ours only).

{_throughput_table(result)}

### Growth on inputs that drive backtracking

One line, no newline, at each length; the ratio is time(10n)/time(n) (linear: about 10;
quadratic: about 100; above {SUPERLINEAR_RATIO:.0f} counts as superlinear here).

{_linear_table(result)}

### Recall on tests/fixtures/secrets/cases.json

Criterion: {RECALL_CRITERION}. Shown {families}.

{_recall_table(result)}

### False positives on the benign corpus

{result.benign_lines:,} distinct non-empty lines ({result.benign_non_ascii} with non-ASCII
characters): {"; ".join(result.benign_sources)}. Ours: lines where `redact(line) != line`, each
line alone. detect-secrets: distinct lines with a finding, all lines scanned as one file.

| | Lines | Rate |
|---|---|---|
| ours changed | {result.fp_ours:,} | {result.fp_ours / max(1, result.benign_lines):.1%} |
| detect-secrets flagged | {result.fp_ds:,} | {result.fp_ds / max(1, result.benign_lines):.1%} |

detect-secrets' findings by type: {types or "none"}. The first lines each flagged (ours: as
redacted, from just before the first change):

ours:
{fp_ours}

detect-secrets:
{fp_ds}
"""
