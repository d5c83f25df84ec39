"""The offline AWS stand-in as a server: moto's HTTP server with our extensions, in this process.

Everything that plays AWS's part (local.fleet_sim, the seeding of sample events) must run in the
same process, because our SSM extensions and their records live in this process's moto.
Clients anywhere (boto3 in this process, a Lambda container) reach it through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from local import standin

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "standin", "AWS_SECRET_ACCESS_KEY": "standin"}


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        return f"http://{host}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(
    host: str = "127.0.0.1", port: int | None = None, *, configure_env: bool = True
) -> Iterator[Endpoint]:
    """Start the stand-in on host:port (a free port when None); stop it (and its state) on exit.

    With configure_env, this process's boto3 clients are pointed at it (endpoint, region,
    fake credentials) for the duration, and the previous environment is restored afterwards.
    """
    standin.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the console
    endpoint = Endpoint(host=host, port=port or free_port(host))
    server = ThreadedMotoServer(ip_address=endpoint.host, port=endpoint.port, verbose=False)
    server.start()
    saved = dict(os.environ)
    if configure_env:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = endpoint.url
        os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    try:
        yield endpoint
    finally:
        server.stop()
        standin.reset()
        if configure_env:
            os.environ.clear()
            os.environ.update(saved)
