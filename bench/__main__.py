"""`python -m bench [--quick] [--with-1gb] [--out docs/] [--json FILE]`: run, then write the report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import benchmarks_doc, flood, results_io
from bench.measure import divert_stdout, say
from bench.results import Config
from bench.run import STEP_NAMES, run_all
from bench.stack import ROOT, set_product_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smaller fleets, fewer rounds (CI: under 2 minutes)"
    )
    parser.add_argument("--with-1gb", action="store_true", help="add the 1 GiB log (needs ~5 GB free memory)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where benchmarks.md and bench/ go")
    parser.add_argument("--json", type=Path, help="also dump the raw results here")
    parser.add_argument("--from-json", type=Path, help="write the report from saved results; measure nothing")
    parser.add_argument(
        "--flood-only", action="store_true", help="only the listing flood (issue 10): its section to stdout"
    )
    parser.add_argument(
        "--only",
        type=lambda text: frozenset(text.split(",")),
        default=frozenset(),
        help=f"comma-separated steps to run, of: {', '.join(STEP_NAMES)} (the report has only those)",
    )
    args = parser.parse_args(argv)
    if unknown := args.only - set(STEP_NAMES):
        parser.error(f"unknown step(s) for --only: {', '.join(sorted(unknown))}")

    # The function's logs and metrics go to stdout in Lambda: counted, not printed (see measure.py).
    real_stdout = sys.stdout
    divert_stdout()
    set_product_env()

    started = time.perf_counter()
    if args.flood_only:
        print(flood.section(flood.measure(args.quick, say)), file=real_stdout)
        return 0
    if args.from_json:
        results = results_io.load(args.from_json)
    else:
        config = Config(quick=args.quick, with_1gb=args.with_1gb, out=args.out, only=tuple(sorted(args.only)))
        results = run_all(config)
    if args.json:
        results_io.dump(results, args.json)
    path = benchmarks_doc.write(results, args.out)
    say(f"wrote {path} in {time.perf_counter() - started:.0f}s")
    print(path, file=real_stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
