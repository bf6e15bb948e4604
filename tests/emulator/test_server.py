"""EmulatorServer (real uvicorn on a thread), persistence across restarts, the start-up banner."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_PROJECT,
    DEFAULT_TOKEN,
    EmulatorConfig,
    EmulatorServer,
    Faults,
)
from sinch_emulator.server import _bind, banner

from .helpers import GROUPS

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def test_live_server_answers_on_its_base_url(live_emulator: EmulatorServer) -> None:
    response = httpx.get(f"{live_emulator.base_url}{GROUPS}", headers=AUTH)

    assert live_emulator.base_url == f"http://127.0.0.1:{live_emulator.port}"
    assert live_emulator.port > 0
    assert response.json() == {"page": 0, "page_size": 0, "count": 0, "groups": []}


def test_start_and_stop_release_the_port(emulator_config: EmulatorConfig) -> None:
    server = EmulatorServer(emulator_config).start()
    url = f"{server.base_url}{GROUPS}"
    assert httpx.get(url, headers=AUTH).status_code == 200
    with pytest.raises(RuntimeError, match="already running"):
        server.start()

    server.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.get(url, headers=AUTH)
    server.stop()  # a second stop is harmless


def test_each_server_has_its_own_in_memory_state(emulator_config: EmulatorConfig) -> None:
    with EmulatorServer(emulator_config) as first:
        httpx.post(f"{first.base_url}{GROUPS}", json={}, headers=AUTH)
    with EmulatorServer(emulator_config) as second:
        count = httpx.get(f"{second.base_url}{GROUPS}", headers=AUTH).json()["count"]

    assert count == 0


def test_state_outlives_a_restart_with_a_database_file(
    emulator_config: EmulatorConfig, tmp_path: Path
) -> None:
    db_path = tmp_path / "emulator.sqlite3"
    config = replace(emulator_config, db_path=db_path)
    with EmulatorServer(config) as server:
        created = httpx.post(
            f"{server.base_url}{GROUPS}",
            headers=AUTH,
            json={"name": "durable", "members": ["+12018881111"]},
        ).json()

    with EmulatorServer(config) as server:
        group = httpx.get(f"{server.base_url}{GROUPS}/{created['id']}", headers=AUTH).json()
        members = httpx.get(
            f"{server.base_url}{GROUPS}/{created['id']}/members", headers=AUTH
        ).json()

    assert group == created
    assert members == ["12018881111"]
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_banner_tells_a_user_how_to_connect() -> None:
    config = EmulatorConfig(faults=Faults(latency_ms=5, seed=9))

    text = banner(config, "http://127.0.0.1:8765")

    assert "http://127.0.0.1:8765" in text
    assert f"service plan {DEFAULT_PLAN_ID}  token {DEFAULT_TOKEN}" in text
    assert f"http://127.0.0.1:8765/xms/v1/{DEFAULT_PLAN_ID}/groups" in text
    assert "POST http://127.0.0.1:8765/oauth2/token" in text
    assert DEFAULT_PROJECT.key_id in text
    assert DEFAULT_PROJECT.key_secret in text
    assert "latency_ms" in text
    assert "in memory" in text


def test_ipv6_hosts_are_bracketed(emulator_config: EmulatorConfig) -> None:
    try:
        server = EmulatorServer(emulator_config, host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert server.base_url == f"http://[::1]:{server.port}"
        assert httpx.get(f"{server.base_url}{GROUPS}", headers=AUTH).status_code == 200
    finally:
        server.stop()


def test_listening_socket_lets_asyncio_disable_nagle() -> None:
    """asyncio sets TCP_NODELAY only on connections accepted from an IPPROTO_TCP socket; without
    it every keep-alive request stalls ~40 ms on Nagle + delayed ACK."""
    with _bind("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP


def test_serve_prints_how_to_connect_then_serves() -> None:
    """`serve` in its own process, as the CLI runs it; stopped with SIGTERM like Ctrl-C."""
    code = "from sinch_emulator import EmulatorConfig, serve; serve(EmulatorConfig(), port=0)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        base_url = first_line.rsplit(" ", 1)[-1].strip()
        response = httpx.get(f"{base_url}{GROUPS}", headers=AUTH, timeout=10)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert first_line.startswith("Sinch Groups emulator at http://127.0.0.1:")
    assert response.status_code == 200
