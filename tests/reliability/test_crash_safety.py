"""Crash safety: lost create responses, a sync SIGKILLed again and again, an emulator that dies.

Creating a group is the one operation that is not idempotent, so these tests aim at it: a create
whose response never arrives (the emulator applied it, the client did not hear), and a client
killed while its create is in flight. Whatever happens, re-running the same command must give
exactly the file's membership, with one group per name.
"""

from __future__ import annotations

import asyncio
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import polars as pl
import pytest

from flows.sync_groups import sync_groups
from pipeline.errors import PipelineError
from pipeline.sinch import SinchError
from pipeline.sync.report import SyncReport
from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_TOKEN,
    EmulatorConfig,
    EmulatorServer,
    Faults,
)
from tests.live import members_by_name, memberships, seed_group

from .helpers import (
    Traffic,
    cli,
    cli_env,
    kill,
    uk_mobile,
)


def write_segments(path: Path, wanted: dict[str, set[str]]) -> Path:
    """A multi-group contacts file (`phone,segment`) holding exactly `wanted`."""
    rows = [(number, name) for name, numbers in wanted.items() for number in sorted(numbers)]
    random.Random(0).shuffle(rows)
    pl.DataFrame(rows, schema=["phone", "segment"], orient="row").write_csv(path)
    return path


async def test_lost_create_responses_never_duplicate_a_group(
    tmp_path: Path, prefect_harness: str, traffic: list[Traffic], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every create is applied by the emulator and its response lost: the client must find the
    group it made instead of creating it again."""
    wanted = {f"new-{g}": {uk_mobile(g * 1000 + i) for i in range(300)} for g in range(3)}
    wanted["old"] = {uk_mobile(5000 + i) for i in range(100)}
    source = write_segments(tmp_path / "segments.csv", wanted)
    with EmulatorServer(EmulatorConfig()) as server:
        await seed_group(server, "old", sorted(wanted["old"])[:50])
        [watch] = traffic
        watch.lose_creates = 3
        monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
        monkeypatch.setenv("SINCH_API_TOKEN", DEFAULT_TOKEN)
        monkeypatch.setenv("SINCH_BASE_URL", server.base_url)
        monkeypatch.chdir(tmp_path)

        report = await sync_groups(source=str(source), group_column="segment")

        assert watch.lose_creates == 0, "every create response was lost"
        assert watch.creates == 4, "3 lost creates and the seeding one, none sent twice"
        assert await members_by_name(server) == wanted
    assert {g.key: g.created for g in report.groups} == {
        "new-0": True,
        "new-1": True,
        "new-2": True,
        "old": False,
    }
    assert report.retries >= 3
    # A group the crashed run finished is left alone by the re-run: unchanged, not "verified".
    assert all(g.verified is True or (g.verified is None and g.added == 0) for g in report.groups)


def wait_for(
    process: subprocess.Popen[bytes], condition: Callable[[], bool], timeout: float = 120
) -> bool:
    """Poll until `condition()` holds (True) or the process ends or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(0.002)
    return False


@pytest.mark.parametrize("seed", [11])
@pytest.mark.timeout(240)
async def test_a_sync_killed_at_random_points_converges_when_run_again(
    seed: int, tmp_path: Path, traffic: list[Traffic]
) -> None:
    """SIGKILL after the emulator applied a create but before its answer arrived, then twice more
    after a random number of updates, then run to completion: exact membership, and every group
    created exactly once (the re-run finds the group the killed run never heard of)."""
    rng = random.Random(seed)
    wanted = {f"seg-{g}": {uk_mobile(g * 10_000 + i) for i in range(1200)} for g in range(4)}
    old = {"seg-0": sorted(wanted["seg-0"])[:1100] + [uk_mobile(90_000 + i) for i in range(60)]}
    source = write_segments(tmp_path / "crm.csv", wanted)
    config = EmulatorConfig(db_path=tmp_path / "state.sqlite3", faults=Faults(latency_ms=40))
    with EmulatorServer(config) as server:
        await seed_group(server, "seg-0", old["seg-0"])
        [watch] = traffic
        watch.hold_creates = 0.5  # the first kill lands after a create, before its answer
        # In-process: a killed run's group locks die with it (the test Prefect server would keep
        # a killed flow run's concurrency slot; see test_one_writer_prefect.py for that case).
        env = cli_env(server.base_url, "")
        command = cli(
            "sync", str(source), "--group-column", "segment", "--mode", "mirror",
            "--chunk-size", "40", "--no-progress",
        )  # fmt: skip

        def create_unanswered(start: tuple[int, int]) -> bool:
            return watch.created > start[0]

        def after_updates(count: int) -> Callable[[tuple[int, int]], bool]:
            return lambda start: watch.updates >= start[1] + count

        kills = [
            create_unanswered,
            after_updates(rng.randint(3, 25)),
            after_updates(rng.randint(3, 25)),
        ]
        for number, condition in enumerate(kills, start=1):
            start = (watch.created, watch.updates)
            process = subprocess.Popen(
                command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            landed = wait_for(process, lambda c=condition, s=start: c(s))
            kill(process)
            assert landed, f"kill {number} must land before the run ends"
            time.sleep(0.2)  # requests in flight at the kill still reach the emulator
            state = await members_by_name(server)  # also fails on a duplicated group
            assert state != wanted, f"kill {number} must land before everything is applied"
            if number == 1:
                assert len(state) > 1, "the killed run's create was applied, never answered"

        finished = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
        )
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert await members_by_name(server) == wanted
        assert watch.created == 1 + 3, "the emulator created each new group exactly once"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


EMULATOR = """
import sys
from pathlib import Path
from sinch_emulator import EmulatorConfig, Faults, serve
serve(EmulatorConfig(db_path=Path(sys.argv[1]), faults=Faults(latency_ms=30)), port=int(sys.argv[2]))
"""


@contextmanager
def emulator_process(db: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    """The emulator in its own process (so it can be SIGKILLed), SQLite storage in `db`."""
    process = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, str(db), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "Sinch Groups emulator at" in process.stdout.readline()
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def consistent(base_url: str) -> list[tuple[str | None, int, int]]:
    """(name, size the group reports, members listed) of every group, read over raw HTTP."""
    url = f"{base_url}/xms/v1/{DEFAULT_PLAN_ID}/groups"
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        groups = (await http.get(url, params={"page_size": 100})).json()["groups"]
        return [
            (
                group.get("name"),
                group["size"],
                len((await http.get(f"{url}/{group['id']}/members")).json()),
            )
            for group in groups
        ]


@pytest.mark.timeout(240)
async def test_an_emulator_killed_and_restarted_mid_run_fails_clearly_or_recovers(
    tmp_path: Path, prefect_harness: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL the emulator (SQLite storage) while a sync applies, restart it on the same port:
    the run either recovers or fails with an error the CLI prints as one line (a PipelineError
    or SinchError, never anything else), its storage is consistent, and a re-run converges."""
    wanted = {f"seg-{g}": {uk_mobile(g * 10_000 + i) for i in range(2000)} for g in range(3)}
    source = write_segments(tmp_path / "crm.csv", wanted)
    db, port = tmp_path / "state.sqlite3", free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
    monkeypatch.setenv("SINCH_API_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("SINCH_BASE_URL", base_url)
    monkeypatch.chdir(tmp_path)

    def sync() -> asyncio.Task[SyncReport]:
        return asyncio.ensure_future(
            sync_groups(source=str(source), group_column="segment", chunk_size=50)
        )

    with emulator_process(db, port) as emulator:
        run = sync()
        deadline = time.monotonic() + 120
        while sum(size for _, size, _ in await consistent(base_url)) < 1000:
            assert not run.done(), "the emulator must die in the middle of applying"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        emulator.kill()
    await asyncio.sleep(0.3)
    with emulator_process(db, port):
        [outcome] = await asyncio.gather(run, return_exceptions=True)
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, PipelineError | SinchError), repr(outcome)
        else:
            assert outcome.ok
        state = await consistent(base_url)
        assert all(size == listed for _, size, listed in state), "storage survived the kill"
        assert len(state) == len({name for name, _, _ in state}), "no duplicated group"

        await sync()
        final = await memberships(base_url)
    assert {name: members for name, _, members in final} == wanted
    assert len(final) == len(wanted)
