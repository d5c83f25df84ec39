"""Unit tests open no sockets: every test under tests/unit runs with pytest-socket's guard on.

The guard (the plugin's `socket_disabled` fixture, autouse here and so for this folder only)
refuses every socket, Unix ones too (no unit test needs one), and name lookups; it is lifted
after each test, so integration tests, which run moto in process and sometimes a
ThreadedMotoServer, are not affected. tests/unit/test_no_sockets.py proves it holds.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_sockets(socket_disabled: None) -> None:
    """Request the plugin's guard for every unit test."""
