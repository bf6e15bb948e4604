"""Fixtures for the client tests, on top of the shared emulator fixtures in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sinch_helpers import Recorder, asgi_client
from starlette.applications import Starlette

from pipeline.sinch import GroupsClient


@pytest.fixture
def recorder(emulator_app: Starlette) -> Recorder:
    """The shared in-process emulator, watched."""
    return Recorder(emulator_app)


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[GroupsClient]:
    """A demo-plan client over ASGI with a fast retry policy."""
    async with asgi_client(recorder) as sinch:
        yield sinch
