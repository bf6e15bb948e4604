"""One writer per group: overlapping `sinch-groups sync` processes on one group take turns, in
process (a file lock under $SINCH_GROUPS_HOME/locks/) and through Prefect (a global concurrency
limit per group on a real `prefect server start`: the temporary test server takes no lease back);
a killed holder blocks nobody for longer than its lease; a run that cannot wait says who holds
the group; and a change made by another writer during a run is reported.

Real processes against a live emulator whose requests are slowed down, so that a run is still
writing when the next one starts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import polars as pl
import pytest

from pipeline.sync.lock import hold_file_locks
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer
from tests.live import client_for, members_by_name, seed_group, set_faults

GROUP = "Shared"
LEASE_S = 60  # the shortest a Prefect server grants


def number(i: int) -> str:
    return f"+4479111{i:05d}"


def contacts(path: Path, numbers: range) -> Path:
    pl.DataFrame({"phone": [number(i) for i in numbers]}).write_csv(path)
    return path


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prefect server start` on a free port, with its repossessor (which takes expired leases
    back) running every second; yields its API URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("prefect-server")
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS": "1",
    }
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with open(home / "server.log", "wb") as log:
        server = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (home / "server.log").read_text()[-3000:]
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass(frozen=True)
class Mode:
    """How the syncs run, and how a test sees that a run holds the group."""

    env: dict[str, str]
    wait_until_held: Callable[[subprocess.Popen[str]], None]


@pytest.fixture
def env(live_emulator: EmulatorServer, tmp_path: Path) -> dict[str, str]:
    """A user's environment: the live emulator's plan, one SINCH_GROUPS_HOME, no Prefect API."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SINCH_", "PREFECT_"))}
    return {
        **base,
        "SINCH_SERVICE_PLAN_ID": DEFAULT_PLAN_ID,
        "SINCH_API_TOKEN": DEFAULT_TOKEN,
        "SINCH_BASE_URL": live_emulator.base_url,
        "SINCH_GROUPS_HOME": str(tmp_path / "home"),
        "SINCH_GROUPS_CACHE": "off",
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }


@pytest.fixture(params=["in-process", "prefect"])
def mode(request: pytest.FixtureRequest, env: dict[str, str], tmp_path: Path) -> Mode:
    if request.param == "in-process":
        return Mode(env, lambda process: wait_for_holder(tmp_path / "home", process))
    api = request.getfixturevalue("prefect_server")
    env = {**env, "PREFECT_API_URL": api, "SINCH_GROUPS_LOCK_LEASE": str(LEASE_S)}
    return Mode(env, lambda process: wait_for_slot(api, f"name:{GROUP}", process))


def start_sync(
    source: Path, report: Path, env: dict[str, str], *extra: str
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "flows.cli", "sync", str(source), "--group", GROUP]
    command += ["--mode", "mirror", "--force", "--no-progress"]
    command += ["--report", str(report), "--rejects", str(report.with_suffix(".csv")), *extra]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def wait_for_holder(home: Path, process: subprocess.Popen[str], timeout: float = 60) -> dict:
    """The holder file of the first lock taken by `process` (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for holder in (home / "locks").glob("*.holder.json"):
            found = json.loads(holder.read_text())
            if found["pid"] == process.pid:
                return found
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.05)
    raise AssertionError("the run never took its lock")


def active_slots(api: str, key: str) -> int:
    name = quote(f"sinch-groups:{DEFAULT_PLAN_ID}:{key}", safe="")
    response = httpx.get(f"{api}/v2/concurrency_limits/{name}", timeout=10)
    return 0 if response.status_code == 404 else int(response.json()["active_slots"])


def wait_for_slot(api: str, key: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while active_slots(api, key) < 1:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the flow run never took the group's slot"
        time.sleep(0.1)


def report_of(path: Path) -> dict:
    return json.loads(path.read_text())


def test_two_concurrent_runs_on_one_group_take_turns_and_both_reports_are_true(
    live_emulator: EmulatorServer, mode: Mode, tmp_path: Path
) -> None:
    asyncio.run(seed_group(live_emulator, GROUP, [number(i) for i in range(0, 3000)]))
    set_faults(live_emulator, latency_ms=200)  # the first run sends 100 requests: seconds
    first = start_sync(
        contacts(tmp_path / "a.csv", range(1000, 4000)),
        tmp_path / "a.json",
        mode.env,
        "--chunk-size",
        "10",
    )
    mode.wait_until_held(first)
    second = start_sync(
        contacts(tmp_path / "b.csv", range(3000, 6000)), tmp_path / "b.json", mode.env
    )
    second_started = time.monotonic()
    first_output = first.communicate(timeout=240)[0]
    first_ended = time.monotonic()
    second_output = second.communicate(timeout=240)[0]
    set_faults(live_emulator)

    assert [first.returncode, second.returncode] == [0, 0], (first_output, second_output)
    assert second_started < first_ended, "the runs overlapped"
    (a,), (b,) = report_of(tmp_path / "a.json")["groups"], report_of(tmp_path / "b.json")["groups"]
    # The second run planned against exactly what the first left (it waited for the group), so
    # both reports are true: each verified the membership it made.
    assert (a["current"], a["added"], a["removed"], a["final_size"]) == (3000, 1000, 1000, 3000)
    assert (b["current"], b["added"], b["removed"], b["final_size"]) == (3000, 2000, 2000, 3000)
    assert a["verified"] is b["verified"] is True
    assert asyncio.run(members_by_name(live_emulator)) == {
        GROUP: {number(i) for i in range(3000, 6000)}
    }
    assert not list((tmp_path / "home" / "locks").glob("*.holder.json")), "released"
    if "PREFECT_API_URL" in mode.env:
        assert "Running locally" not in first_output + second_output
        assert active_slots(mode.env["PREFECT_API_URL"], f"name:{GROUP}") == 0, "released"


def test_a_killed_holder_blocks_nobody_beyond_its_lease(
    live_emulator: EmulatorServer, mode: Mode, tmp_path: Path
) -> None:
    """In-process the lock dies with its process; through Prefect the slot comes back when the
    lease runs out and the server's repossessor passes."""
    set_faults(live_emulator, latency_ms=300)
    killed = start_sync(
        contacts(tmp_path / "a.csv", range(0, 2000)),
        tmp_path / "a.json",
        mode.env,
        "--chunk-size",
        "10",
    )
    mode.wait_until_held(killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    killed_at = time.monotonic()
    set_faults(live_emulator)
    after = start_sync(
        contacts(tmp_path / "b.csv", range(500, 700)),
        tmp_path / "b.json",
        mode.env,
        "--lock-timeout",
        "150",
    )
    output = after.communicate(timeout=240)[0]
    assert after.returncode == 0, output
    waited = time.monotonic() - killed_at
    assert waited < (LEASE_S + 60 if "PREFECT_API_URL" in mode.env else 30), waited
    groups = asyncio.run(members_by_name(live_emulator))  # fails on a duplicate group
    assert groups == {GROUP: {number(i) for i in range(500, 700)}}


async def test_a_run_that_cannot_wait_names_the_holder(
    live_emulator: EmulatorServer, env: dict[str, str], tmp_path: Path
) -> None:
    source = contacts(tmp_path / "a.csv", range(10))
    locks = tmp_path / "home" / "locks"
    async with hold_file_locks(DEFAULT_PLAN_ID, [f"name:{GROUP}"], wait_s=0, directory=locks):
        command = [sys.executable, "-m", "flows.cli", "sync", str(source), "--group", GROUP]
        command += ["--no-progress", "--lock-timeout", "0"]
        blocked = await asyncio.to_thread(
            subprocess.run, command, env=env, capture_output=True, text=True, timeout=120
        )
    assert blocked.returncode == 1
    last = blocked.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Error: group '{GROUP}' is being written by pid {os.getpid()} on "), (
        blocked.stderr
    )
    assert last.endswith(
        "(--lock-timeout 0); run again when it is done, or wait longer with --lock-timeout"
    )
    assert await members_by_name(live_emulator) == {}, "nothing was written"


def test_a_writer_outside_the_tool_during_the_run_is_reported_with_its_own_exit_status(
    live_emulator: EmulatorServer, env: dict[str, str], tmp_path: Path
) -> None:
    outsider = "+447700900123"
    set_faults(live_emulator, latency_ms=100)  # 300 add requests, 8 at a time: seconds
    run = start_sync(
        contacts(tmp_path / "a.csv", range(3000)), tmp_path / "a.json", env, "--chunk-size", "10"
    )

    async def write_meanwhile() -> None:
        async with client_for(live_emulator) as client:
            while run.poll() is None:
                groups = [g async for g in client.iter_groups()]
                if groups and groups[0].size > 0:  # created, and being filled by the run
                    await client.update_group(groups[0].id, add=[outsider])
                    return
                await asyncio.sleep(0.05)
        raise AssertionError("the run ended before the outside write")

    asyncio.run(write_meanwhile())
    output = run.communicate(timeout=180)[0]
    set_faults(live_emulator)

    assert run.returncode == 3, output
    assert f"Warning: group '{GROUP}' was changed by another writer during the run: +1 -0" in output
    assert output.strip().splitlines()[-1] == (
        "Error: 1 group(s) changed by another writer during the run; the report lists the "
        "numbers. Run again to converge, once the other writer is done"
    )
    (group,) = report_of(tmp_path / "a.json")["groups"]
    assert (group["verified"], group["changed_by_others"], group["unexpected"]) == (
        False,
        [1, 0],
        [outsider],
    )
