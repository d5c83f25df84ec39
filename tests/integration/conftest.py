"""Fixtures: the stack in moto (tests.support.stack), botocore's virtual retry clock, the handlers."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from local.lambda_env import COMMAND_FUNCTION, WINDOW_FUNCTION, load_function
from tests.faults import RetryClock
from tests.support.stack import Stack, stack_in_moto


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with stack_in_moto(monkeypatch) as built:
        yield built


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> RetryClock:
    """botocore's retry backoff on a virtual clock: retries are counted, never waited for."""
    retry_clock = RetryClock()
    retry_clock.install(monkeypatch)
    return retry_clock


@pytest.fixture
def command_function(stack: Stack) -> ModuleType:
    return load_function(COMMAND_FUNCTION)


@pytest.fixture
def window_function(stack: Stack) -> ModuleType:
    return load_function(WINDOW_FUNCTION)
