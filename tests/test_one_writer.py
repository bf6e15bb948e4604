"""One writer per group, in-process: overlapping `sinch-groups sync` processes on one group take
turns, a killed holder blocks nobody, and a run that cannot wait says who holds the group.

Real processes against a live emulator whose requests are slowed down, so that a run is still
writing when the next one starts; the lock is a file lock under $SINCH_GROUPS_HOME/locks/.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline.sync.lock import hold_file_locks
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer
from tests.live import client_for, members_by_name, seed_group, set_faults

GROUP = "Shared"


def number(i: int) -> str:
    return f"+4479111{i:05d}"


def contacts(path: Path, numbers: range) -> Path:
    pl.DataFrame({"phone": [number(i) for i in numbers]}).write_csv(path)
    return path


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


def report_of(path: Path) -> dict:
    return json.loads(path.read_text())


def test_two_concurrent_runs_on_one_group_take_turns_and_both_reports_are_true(
    live_emulator: EmulatorServer, env: dict[str, str], tmp_path: Path
) -> None:
    asyncio.run(seed_group(live_emulator, GROUP, [number(i) for i in range(0, 3000)]))
    set_faults(live_emulator, latency_ms=200)  # the first run sends 100 requests: seconds
    first = start_sync(
        contacts(tmp_path / "a.csv", range(1000, 4000)),
        tmp_path / "a.json",
        env,
        "--chunk-size",
        "10",
    )
    holder = wait_for_holder(tmp_path / "home", first)
    second = start_sync(contacts(tmp_path / "b.csv", range(3000, 6000)), tmp_path / "b.json", env)
    second_started = time.monotonic()
    first_output = first.communicate(timeout=180)[0]
    first_ended = time.monotonic()
    second_output = second.communicate(timeout=180)[0]
    set_faults(live_emulator)

    assert [first.returncode, second.returncode] == [0, 0], (first_output, second_output)
    assert second_started < first_ended, "the runs overlapped"
    assert holder["pid"] == first.pid
    assert holder["host"]
    (a,), (b,) = report_of(tmp_path / "a.json")["groups"], report_of(tmp_path / "b.json")["groups"]
    # The second run planned against exactly what the first left (it waited for the lock), so
    # both reports are true: each verified the membership it made.
    assert (a["current"], a["added"], a["removed"], a["final_size"]) == (3000, 1000, 1000, 3000)
    assert (b["current"], b["added"], b["removed"], b["final_size"]) == (3000, 2000, 2000, 3000)
    assert a["verified"] is b["verified"] is True
    assert asyncio.run(members_by_name(live_emulator)) == {
        GROUP: {number(i) for i in range(3000, 6000)}
    }
    assert not list((tmp_path / "home" / "locks").glob("*.holder.json")), "released"


def test_a_killed_holder_blocks_nobody(
    live_emulator: EmulatorServer, env: dict[str, str], tmp_path: Path
) -> None:
    set_faults(live_emulator, latency_ms=200)
    killed = start_sync(contacts(tmp_path / "a.csv", range(0, 2000)), tmp_path / "a.json", env)
    wait_for_holder(tmp_path / "home", killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    set_faults(live_emulator)
    after = start_sync(
        contacts(tmp_path / "b.csv", range(500, 700)),
        tmp_path / "b.json",
        env,
        "--lock-timeout",
        "5",
    )
    output = after.communicate(timeout=120)[0]
    assert after.returncode == 0, output
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
