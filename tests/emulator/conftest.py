"""Emulator-only fixtures: a clock tests can move, and clients for any plan or token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sinch_emulator import EmulatorConfig, create_app

from .helpers import ClientFactory, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_app(emulator_config: EmulatorConfig, clock: FakeClock) -> Starlette:
    """The emulator with time under the test's control."""
    return create_app(emulator_config, clock=clock)


@pytest.fixture
def client_for() -> ClientFactory:
    """`async with client_for(app, token=...)`: an ASGI client with any (or no) bearer token."""

    @asynccontextmanager
    async def factory(
        app: Starlette, token: str | None = None, **options: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://emulator.test",
            headers=headers,
            **options,
        ) as client:
            yield client

    return factory
