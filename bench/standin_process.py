"""The stand-in as a server in its own process, with one scenario seeded (see bench.server_mode)."""

from __future__ import annotations

import json
import os
import sys

from bench import scenarios
from bench.emulator import faithful_ranges
from bench.server_mode import Spec
from bench.stack import PRODUCT_ENV, create_stack
from local.standin import server


def main(spec_json: str) -> None:
    spec = Spec(**json.loads(spec_json))
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    os.environ.update(PRODUCT_ENV)
    with server.running() as endpoint:
        faithful_ranges(spec.faithful_ranges)
        stack = create_stack()
        fleet = scenarios.Fleet(stack)
        if spec.log_size is not None:
            seeded = scenarios.seed_big_log(stack, fleet, spec.log_size)
        else:
            seeded = scenarios.seed_fleet(stack, fleet, spec.instances, spec.fraction)
        reply = {"endpoint": endpoint.url, "topic_arn": stack.topic_arn, "event": seeded.event}
        print(json.dumps(reply), file=real_stdout, flush=True)
        sys.stdin.read()  # serve until the parent closes our stdin


if __name__ == "__main__":
    main(sys.argv[1])
