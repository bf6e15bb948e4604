"""Fixtures shared by the whole suite: a fresh emulator, in process or over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_PROJECT,
    DEFAULT_TOKEN,
    EmulatorConfig,
    EmulatorServer,
    Plan,
    create_app,
)

EMULATOR_BASE_URL = "http://emulator.test"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """In-memory storage, no faults: the demo plan, a second plan and the demo project key."""
    return EmulatorConfig(
        plans=[
            Plan(id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN),
            Plan(id="secondplan", token="second-token"),
        ],
        projects=[DEFAULT_PROJECT],
    )


@pytest.fixture
def emulator_app(emulator_config: EmulatorConfig) -> Starlette:
    """The emulator as an ASGI app (no network)."""
    return create_app(emulator_config)


@pytest.fixture
async def emulator_http(emulator_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP client on the ASGI app, authorized for the demo plan."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator_app),
        base_url=EMULATOR_BASE_URL,
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    ) as client:
        yield client


@pytest.fixture
def live_emulator(emulator_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    """A real uvicorn server on a free 127.0.0.1 port (starts and stops in about 0.2 s)."""
    with EmulatorServer(emulator_config, host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def fresh_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], EmulatorServer]]:
    """Starts a new empty emulator on each call and points SINCH_* at it."""
    servers: list[EmulatorServer] = []

    def start() -> EmulatorServer:
        server = EmulatorServer(EmulatorConfig(), host="127.0.0.1", port=0)
        server.start()
        servers.append(server)
        monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
        monkeypatch.setenv("SINCH_API_TOKEN", DEFAULT_TOKEN)
        monkeypatch.setenv("SINCH_BASE_URL", server.base_url)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def sinch_groups_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tool's own folder (group locks, the embedded emulator's state) of every run in the
    session is a temporary one, never the user's."""
    path = tmp_path_factory.mktemp("sinch-groups-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SINCH_GROUPS_HOME", str(path))
        yield path


@pytest.fixture(scope="session", autouse=True)
def normalize_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The normalization cache of every run in the session (subprocesses included) lives in a
    temporary folder, never in the user's cache."""
    path = tmp_path_factory.mktemp("normalize-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SINCH_GROUPS_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def prefect_harness_api_url() -> Iterator[str]:
    """One temporary Prefect API for the whole session (starting one takes seconds).

    Yields its URL, so tests that run the CLI in a subprocess can point it there too.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def prefect_harness(prefect_harness_api_url: str) -> str:
    """Flows in this test run against the session's temporary Prefect API."""
    return prefect_harness_api_url


@pytest.fixture
def sinch_env(
    live_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> EmulatorServer:
    """SINCH_* variables point at the live emulator's demo plan; the working directory is tmp_path
    (where runs write their reports)."""
    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
    monkeypatch.setenv("SINCH_API_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("SINCH_BASE_URL", live_emulator.base_url)
    monkeypatch.chdir(tmp_path)
    return live_emulator


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps output to the terminal (80 columns without one); CLI tests compare whole lines."""
    monkeypatch.setenv("COLUMNS", "250")
