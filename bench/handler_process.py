"""The function alone in a process, against a stand-in served elsewhere (see bench.server_mode)."""

from __future__ import annotations

import json
import os
import statistics
import sys
from typing import Any

from bench.calls import CALLS
from bench.measure import Options, divert_stdout, invoke, product, rss_bytes
from bench.naive import NaiveNotifier
from bench.stack import PRODUCT_ENV, connect_stack
from local.lambda_env import load_handler_module


def main() -> None:
    job = json.loads(sys.stdin.read())
    real_stdout = sys.stdout
    os.environ.update(PRODUCT_ENV)
    os.environ["AWS_ENDPOINT_URL"] = job["endpoint"]

    divert_stdout()
    CALLS.install()
    rss_start = rss_bytes()
    stack = connect_stack(job["topic_arn"])
    event = job["event"]
    if job["variant"] == "naive":
        notifier = NaiveNotifier(job["topic_arn"])

        def call() -> Any:
            return notifier.handler(event)

        forget = None
    else:
        app = load_handler_module("command_failed")
        call = product(app, event)
        forget = stack
    rss_loaded = rss_bytes()
    cold = invoke(call, forget, Options(collect=True))
    warm = [invoke(call, forget, Options(collect=True)) for _ in range(job["repeats"])]
    traced = invoke(call, forget, Options(trace_memory=True, collect=True))
    result = {
        "rss_start": rss_start,
        "rss_loaded": rss_loaded,
        "first_wall": cold.wall,
        "first_rss_growth": cold.maxrss_growth,
        "rss_growth_warm": max((r.maxrss_growth or 0 for r in warm), default=0),
        "rss_end": rss_bytes(),
        "tracemalloc_peak": traced.tracemalloc_peak,
        "walls": [r.wall for r in warm],
        "inside": [r.inside for r in warm],
        "wall": statistics.median(r.wall for r in warm) if warm else cold.wall,
        "gets": cold.gets,
        "get_bytes": cold.get_bytes,
        "calls": len(cold.calls),
        "error": cold.error,
    }
    print(json.dumps(result), file=real_stdout, flush=True)


if __name__ == "__main__":
    main()
