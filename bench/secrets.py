"""Our redaction (`instance_hygiene.secrets.redact`) against a well-kept detector library, detect-secrets,
in one run: throughput on a benign log, growth on inputs that drive regex backtracking, recall on
the secret corpus and false positives on the benign one.

detect-secrets *detects*: it reports (line, type, value) and replaces nothing, so its times are
detection cost, ours are detection plus replacement. It runs as `detect-secrets scan` runs on one
file: `detect_secrets.core.scan.scan_file` under `detect_secrets.settings.default_settings()`
(every plugin it ships, its default filters; no git, and no verification: the verification filter
is not among the defaults and is removed if present, so nothing reaches the network), on a file
named `stdout` (what the SSM agent uploads). Its time includes reading that file.

Every measurement runs in one worker process (`python -m bench.secrets --serve`, JSON lines on
stdin/stdout) that the bench kills when a single measurement passes the cap: no input can hang the
bench. detect-secrets comes from the dev lock (pyproject's `bench` extra); checkov, whose
`bc-detect-secrets` fork owns the same `detect_secrets` package directory, has a venv of its own.
Its section of docs/benchmarks.md is written by `bench.secrets_doc`.
"""

from __future__ import annotations

import itertools
import json
import select
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from instance_hygiene.secrets import redact
from instance_hygiene.secrets.redact import sanitize

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "fixtures" / "secrets" / "cases.json"
BENIGN_JSON = ROOT / "tests" / "fixtures" / "secrets" / "benign.json"
LOGS = ROOT / "tests" / "fixtures" / "logs"
CATALOGUE = ROOT / "layers" / "hygiene" / "instance_hygiene" / "catalogue"
SECRET_LOGS = ("linux_secrets_leak",)
"""Log fixtures that hold secrets on purpose: not part of the benign corpus."""

KIB, MIB = 1024, 1024 * 1024
CAP_SECONDS = 20.0
"""A single measurement longer than this stops its series ("over cap")."""
QUICK_CAP_SECONDS = 10.0
SUPERLINEAR_RATIO = 30.0
"""time(10n)/time(n) above this counts as superlinear (linear gives ~10, quadratic ~100)."""
MIN_TIMED_SECONDS = 0.05
"""Calls shorter than this are repeated on the same input and averaged."""
EXAMPLES = 5

OURS, OURS_ASCII, DS = "ours", "ours-ascii", "detect-secrets"
RECALL_CRITERION = (
    "ours: no secret of the case remains in `redact.clean(text)`; detect-secrets: every secret of "
    "the case lies on a line (of the file it scans) where it reports at least one finding. "
    '"Value" is stricter: the value it reports there is, or holds, the secret'
)


# --- inputs (built in the worker; the names are the report's) ------------------------------------


def _run(prefix: str, unit: str) -> Callable[[int], str]:
    def build(n: int) -> str:
        body = unit * ((n - len(prefix)) // len(unit) + 1)
        return (prefix + body)[:n]

    return build


def _long_line(n: int) -> str:
    words = " ".join(benign_corpus()[0])
    return (words * (n // max(1, len(words)) + 1))[:n]


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "`password=` + a*n": _run("password=", "a"),
    '`{"password": "` + `\\"`*n': _run('{"password": "', '\\"'),
    '`"` + `\\"`*n': _run('"', '\\"'),
    "`token: ` + `a `*n": _run("token: ", "a "),
    "base64-ish run `aB3+`*n": _run("", "aB3+"),
    "`-----BEGIN ` repeated": _run("", "-----BEGIN "),
    "`A`*n (key-id-like)": _run("", "A"),
    "`AKIA`*n": _run("", "AKIA"),
    "`://` + `:`*n": _run("://", ":"),
    "`Authorization: Bearer ` + a*n": _run("Authorization: Bearer ", "a"),
    "`mysql` + ` -x`*n": _run("mysql", " -x"),
    "`curl` + ` -H x`*n": _run("curl", " -H x"),
    "benign lines joined, no newline": _long_line,
}


def installed_version() -> str:
    """detect-secrets' version as the worker will import it; "" if absent."""
    try:
        return metadata.version("detect-secrets")
    except metadata.PackageNotFoundError:
        return ""


def benign_corpus() -> tuple[list[str], list[str]]:
    """(distinct non-empty lines, sources): log fixtures without planted secrets (sanitized, as
    the product sees them), every catalogue example, and tests/fixtures/secrets/benign.json."""
    lines: list[str] = []
    sources: list[str] = []
    logs = [p for p in sorted(LOGS.glob("*.std*")) if not p.name.startswith(SECRET_LOGS)]
    for path in logs:
        lines += sanitize(path.read_bytes().decode("utf-8", "replace")).split("\n")
    sources.append(f"{len(logs)} files of tests/fixtures/logs (not {', '.join(SECRET_LOGS)}), sanitized")
    examples = 0
    for path in sorted(CATALOGUE.glob("*.toml")):
        for rule in tomllib.loads(path.read_text()).get("rule", []):
            for example in rule.get("examples", []):
                lines += str(example.get("log", "")).split("\n")
                examples += 1
    sources.append(f"{examples} examples of the rule catalogue (catalogue/*.toml)")
    if BENIGN_JSON.exists():
        extra = _texts(json.loads(BENIGN_JSON.read_text()))
        lines += [line for text in extra for line in text.split("\n")]
        sources.append(f"{len(extra)} texts of tests/fixtures/secrets/benign.json")
    return list(dict.fromkeys(line for line in lines if line.strip())), sources


def _texts(value: Any) -> list[str]:
    """The strings of benign.json, whatever its shape (strings, objects with text/line/lines)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, dict):
        keys = [k for k in ("text", "line", "lines", "cases", "texts") if k in value]
        return [text for k in keys for text in _texts(value[k])]
    return []


def benign_log(size: int) -> str:
    """The benign lines in order, repeated, cut at a line end near `size` characters."""
    lines = benign_corpus()[0]
    block = "\n".join(lines) + "\n"
    text = block * (size // len(block) + 1)
    return text[: text.rfind("\n", 0, size) + 1]


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


# --- the worker ----------------------------------------------------------------------------------


class _Tools:
    """In the worker: both tools, set up once."""

    def __init__(self) -> None:
        self.redact = redact
        self.folder = Path(tempfile.mkdtemp(prefix="bench-secrets-"))
        self.file = self.folder / "stdout"
        try:
            self.version = metadata.version("detect-secrets")
        except metadata.PackageNotFoundError:
            self.version = ""
            try:
                self.fork = metadata.version("bc-detect-secrets")
            except metadata.PackageNotFoundError:
                self.fork = ""
            return
        # Imported here: only the worker needs it.
        import detect_secrets  # noqa: PLC0415
        from detect_secrets.core import scan  # noqa: PLC0415
        from detect_secrets.settings import default_settings, get_plugins  # noqa: PLC0415

        # Shown relative to the repository: the report names no path of the machine it ran on.
        package = Path(detect_secrets.__file__).resolve().parent
        self.location = str(package.relative_to(ROOT)) if package.is_relative_to(ROOT) else package.name
        self.scan = scan
        self.settings = default_settings()
        settings = self.settings.__enter__()
        settings.disable_filters("detect_secrets.filters.common.is_ignored_due_to_verification_policies")
        self.plugins = sorted(type(p).__name__ for p in get_plugins())
        self.filters = sorted(settings.filters)
        self.ds_findings("warm: plugins and filters loaded\npassword=x\n")

    def ds_findings(self, text: str) -> list[tuple[int, str, str]]:
        """(line number, type, value) of each finding detect-secrets reports on `text`."""
        self.file.write_text(text)
        return [(s.line_number, s.type, s.secret_value or "") for s in self.scan.scan_file(str(self.file))]

    def timed(self, tool: str, text: str) -> tuple[float, int]:
        """Seconds per call (repeated on the same input when short), and what the call found:
        detect-secrets' findings, or the lines ours changed (counted after the timing)."""
        if tool == DS:
            self.file.write_text(text)
            path = str(self.file)

            def call() -> Any:
                return list(self.scan.scan_file(path))
        else:
            source = _ascii(text) if tool == OURS_ASCII else text

            def call() -> Any:
                return self.redact.redact(source)

        calls, start = 0, time.perf_counter()
        while True:
            output = call()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= MIN_TIMED_SECONDS:
                break
        if tool == DS:
            return elapsed / calls, len(output)
        pairs = zip(source.split("\n"), output.split("\n"), strict=True)
        return elapsed / calls, sum(a != b for a, b in pairs)

    def recall(self) -> list[dict[str, Any]]:
        rows = []
        for case in json.loads(CASES.read_text()):
            text, secrets = case["text"], case["secrets"]
            cleaned = self.redact.clean(text)
            findings = self.ds_findings(text)
            content = self.file.read_text()  # as detect-secrets read it (universal newlines)
            flagged: dict[int, list[str]] = {}
            for line, _kind, value in findings:
                flagged.setdefault(line, []).append(value)
            by_line = by_value = True
            for secret in secrets:
                where = _lines_of(content, secret)
                values = [v for line in where for v in flagged.get(line, [])]
                by_line &= bool(values)
                by_value &= any(v and (v in secret or secret in v) for v in values)
            rows.append(
                {
                    "name": case.get("class", ""),
                    "family": case.get("family", ""),
                    "ours": all(secret not in cleaned for secret in secrets),
                    "line": by_line,
                    "value": by_value,
                    "types": sorted({kind for _, kind, _ in findings}),
                }
            )
        return rows

    def false_positives(self) -> dict[str, Any]:
        lines, sources = benign_corpus()
        changed = [line for line in lines if self.redact.redact(line) != line]
        findings = self.ds_findings("\n".join(lines) + "\n")
        read = self.file.read_text().split("\n")
        types: dict[int, set[str]] = {}
        for number, kind, _ in findings:
            types.setdefault(number, set()).add(kind)
        return {
            "lines": len(lines),
            "sources": sources,
            "non_ascii": sum(not line.isascii() for line in lines),
            "ours": len(changed),
            "ds": len(types),
            "ours_examples": [_around_change(line, self.redact.redact(line)) for line in changed[:EXAMPLES]],
            "ds_examples": [
                f"{read[n - 1]}  ({', '.join(sorted(types[n]))})" for n in sorted(types)[:EXAMPLES]
            ],
            "ds_types": dict(Counter(k for kinds in types.values() for k in kinds)),
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        what = request["what"]
        if what == "hello":
            if not self.version:
                return {"version": "", "fork": self.fork}
            return {
                "version": self.version,
                "location": self.location,
                "plugins": self.plugins,
                "filters": self.filters,
            }
        if what == "throughput":
            seconds, found = self.timed(request["tool"], benign_log(request["size"]))
            return {"seconds": seconds, "found": found}
        if what == "linear":
            seconds, found = self.timed(request["tool"], ADVERSARIAL[request["input"]](request["size"]))
            return {"seconds": seconds, "found": found}
        if what == "recall":
            return {"cases": self.recall()}
        if what == "fp":
            return self.false_positives()
        raise ValueError(f"unknown request {what!r}")


def _around_change(line: str, redacted: str, width: int = 110) -> str:
    """The redacted line from a little before its first change (benign lines can be long)."""
    first = next((i for i, (a, b) in enumerate(zip(line, redacted, strict=False)) if a != b), 0)
    start = max(0, first - 30)
    return ("..." if start else "") + redacted[start : start + width]


def _lines_of(content: str, secret: str) -> set[int]:
    """1-based numbers of the lines that hold (part of) each occurrence of `secret`."""
    found: set[int] = set()
    start = content.find(secret)
    while start >= 0:
        first = content.count("\n", 0, start) + 1
        found.update(range(first, first + secret.count("\n") + 1))
        start = content.find(secret, start + 1)
    return found


def serve() -> None:
    tools = _Tools()
    for line in sys.stdin:
        try:
            reply = tools.handle(json.loads(line))
        except Exception as error:  # reported to the parent, which raises it
            reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


class Worker:
    """The worker process, restarted after a measurement that passed the cap."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bench.secrets", "--serve"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return self._process

    def ask(self, request: dict[str, Any], cap: float) -> dict[str, Any] | None:
        """The worker's reply, or None when it took longer than `cap` (the worker is killed)."""
        process = self._start()
        assert process.stdin is not None  # noqa: S101 - pipes asked for
        assert process.stdout is not None  # noqa: S101
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], cap)
        if not ready:
            self.stop()
            return None
        line = process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"bench.secrets worker ended on {request}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"bench.secrets worker: {reply['error']} on {request}")
        return reply

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


# --- the step ------------------------------------------------------------------------------------


@dataclass
class Series:
    """One tool on one input at growing sizes: seconds per round at each size measured."""

    tool: str
    input: str
    sizes: list[int]
    seconds: list[list[float]] = field(default_factory=list)
    """Per size (in `sizes` order), the seconds of each round; a size over the cap has []."""
    over_cap: int = 0
    """The first size whose measurement passed the cap (it and larger ones are not measured); 0: none."""
    found: list[int] = field(default_factory=list)
    """Per size: findings (detect-secrets) or lines changed (ours), in the last round."""

    def ratios(self) -> list[float | None]:
        """time(size i+1)/time(size i), the median of per-round ratios; None when not measured."""
        out: list[float | None] = []
        for small, large in itertools.pairwise(self.seconds):
            pairs = list(zip(large, small, strict=False))
            out.append(statistics.median(a / b for a, b in pairs) if pairs else None)
        return out

    def median(self, index: int) -> float | None:
        values = self.seconds[index] if index < len(self.seconds) else []
        return statistics.median(values) if values else None


@dataclass
class FamilyRecall:
    family: str
    cases: int
    ours: int
    ds_line: int
    ds_value: int
    missed_ours: list[str] = field(default_factory=list)
    missed_ds: list[str] = field(default_factory=list)
    """Class names of the cases each missed (detect-secrets: by line)."""


@dataclass
class Secrets:
    skipped: str = ""
    """Why the step measured nothing (detect-secrets not installed); empty when it ran."""
    version: str = ""
    location: str = ""
    plugins: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    cap: float = CAP_SECONDS
    throughput: list[Series] = field(default_factory=list)
    linear: list[Series] = field(default_factory=list)
    recall: list[FamilyRecall] = field(default_factory=list)
    """Per family (when the corpus has `family`), then "all"."""
    benign_lines: int = 0
    benign_sources: list[str] = field(default_factory=list)
    benign_non_ascii: int = 0
    fp_ours: int = 0
    fp_ds: int = 0
    fp_ours_examples: list[str] = field(default_factory=list)
    fp_ds_examples: list[str] = field(default_factory=list)
    fp_ds_types: dict[str, int] = field(default_factory=dict)


def _measure_series(
    worker: Worker, series: list[Series], what: str, *, rounds: int, cap: float, say: Callable[[str], None]
) -> None:
    for round_ in range(rounds):
        order = series if round_ % 2 == 0 else series[::-1]  # neither tool always goes first
        for s in order:
            if not s.seconds:
                s.seconds = [[] for _ in s.sizes]
                s.found = [0 for _ in s.sizes]
            for index, size in enumerate(s.sizes):
                if s.over_cap and size >= s.over_cap:
                    break
                request = {"what": what, "tool": s.tool, "size": size, "input": s.input}
                reply = worker.ask(request, cap)
                if reply is None:
                    s.over_cap = size
                    s.seconds[index] = []
                    say(f"    {s.tool} on {s.input} at {size:,}: over the {cap:.0f} s cap, series stopped")
                    break
                s.seconds[index].append(reply["seconds"])
                s.found[index] = reply["found"]
        say(f"  {what}, round {round_ + 1}/{rounds}")


def measure(quick: bool, say: Callable[[str], None]) -> Secrets:
    cap = QUICK_CAP_SECONDS if quick else CAP_SECONDS
    worker = Worker()
    try:
        hello = worker.ask({"what": "hello"}, 120)
        assert hello is not None  # noqa: S101 - the import takes seconds, not minutes
        if not hello["version"]:
            fork = f" (checkov's fork bc-detect-secrets {hello['fork']} is, and is not measured)"
            reason = (
                "detect-secrets is not installed"
                + (fork if hello.get("fork") else "")
                + ": `make venv` installs it from the dev lock"
            )
            say(f"  secrets: skipped: {reason}")
            return Secrets(skipped=reason)
        result = Secrets(
            version=hello["version"],
            location=hello["location"],
            plugins=hello["plugins"],
            filters=hello["filters"],
            cap=cap,
        )
        say(f"  detect-secrets {result.version} from {result.location}, {len(result.plugins)} plugins")
        sizes = [256 * KIB] if quick else [MIB, 10 * MIB]
        result.throughput = [Series(tool, "benign log", sizes) for tool in (OURS, OURS_ASCII, DS)]
        _measure_series(worker, result.throughput, "throughput", rounds=1 if quick else 3, cap=cap, say=say)
        lengths = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
        result.linear = [Series(tool, name, lengths) for name in ADVERSARIAL for tool in (OURS, DS)]
        _measure_series(worker, result.linear, "linear", rounds=2 if quick else 3, cap=cap, say=say)
        recall = worker.ask({"what": "recall"}, 300)
        fp = worker.ask({"what": "fp"}, 300)
        assert recall is not None  # noqa: S101 - small corpora, well under the timeout
        assert fp is not None  # noqa: S101
        result.recall = _by_family(recall["cases"])
        result.benign_lines, result.benign_sources = fp["lines"], fp["sources"]
        result.benign_non_ascii = fp["non_ascii"]
        result.fp_ours, result.fp_ds = fp["ours"], fp["ds"]
        result.fp_ours_examples, result.fp_ds_examples = fp["ours_examples"], fp["ds_examples"]
        result.fp_ds_types = fp["ds_types"]
        return result
    finally:
        worker.stop()


def _by_family(cases: list[dict[str, Any]]) -> list[FamilyRecall]:
    families: dict[str, list[dict[str, Any]]] = {}
    if any(case["family"] for case in cases):
        for case in cases:
            families.setdefault(case["family"] or "(no family)", []).append(case)
    families["all"] = cases
    return [
        FamilyRecall(
            family=name,
            cases=len(group),
            ours=sum(c["ours"] for c in group),
            ds_line=sum(c["line"] for c in group),
            ds_value=sum(c["value"] for c in group),
            missed_ours=[c["name"] for c in group if not c["ours"]],
            missed_ds=[c["name"] for c in group if not c["line"]],
        )
        for name, group in families.items()
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        print("python -m bench.secrets --serve: the bench's worker (run `python -m bench --only secrets`)")
