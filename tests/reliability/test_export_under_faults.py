"""Export under the soak's faults: a snapshot is either complete and correct, or not there at all.

An analyst reads whatever `snapshot_at=*` folders exist; a snapshot missing one group, or holding
a group's members only in part, would be taken for the truth. So under 429s, 5xx and dropped
connections the export either lands every member of every group, or leaves nothing a reader
(or `diff`, or `migrate --from-snapshot`) would see.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import polars as pl
import pytest

from flows.export_groups import export_groups
from pipeline.sinch import RetryPolicy, SinchError
from pipeline.snapshot import Snapshot, export_snapshot, list_snapshots
from sinch_emulator import EmulatorConfig, EmulatorServer
from tests.live import client_for, memberships, set_faults

from .helpers import SOAK_FAULTS as FAULTS
from .helpers import FaultLog, uk_mobile


async def seed_groups(server: EmulatorServer, seed: int) -> None:
    """24 groups of 0 to 2,000 members (the same number may be in several groups)."""
    rng = random.Random(seed)
    sizes = [rng.choice([0, 1, 10, 300, 2000]) for _ in range(24)]
    async with client_for(server) as client:
        for index, size in enumerate(sizes):
            numbers = sorted({uk_mobile(rng.randrange(200_000)) for _ in range(size)})
            await client.create_group(name=f"g{index:02d}", members=numbers or None)


def snapshot_members(snapshot: Snapshot) -> dict[tuple[str | None, str], set[str]]:
    """(group name, id) -> members, as a reader of the snapshot sees them."""
    groups = pl.read_parquet(snapshot.groups_path)
    members = pl.read_parquet(snapshot.members_path)
    found: dict[tuple[str | None, str], set[str]] = {
        (row["name"], row["id"]): set() for row in groups.iter_rows(named=True)
    }
    for row in members.iter_rows(named=True):
        found[(row["group_name"], row["group_id"])].add(row["phone_e164"])
    return found


@pytest.mark.parametrize("seed", [1, 2])
async def test_export_under_faults_writes_a_complete_and_exact_snapshot(
    seed: int,
    tmp_path: Path,
    prefect_harness: str,
    fault_log: FaultLog,
    sinch_env: EmulatorServer,
) -> None:
    await seed_groups(sinch_env, seed)
    truth = {(name, gid): members for name, gid, members in await memberships(sinch_env)}
    set_faults(sinch_env, **FAULTS, seed=seed)
    fault_log.clear()

    result = await export_groups(out_dir=str(tmp_path / "snapshots"), concurrency=8)

    set_faults(sinch_env)
    assert fault_log.injected > 0, fault_log.summary()
    [snapshot] = list_snapshots(tmp_path / "snapshots")
    assert snapshot.path == result.path
    assert snapshot_members(snapshot) == truth
    assert (snapshot.group_count, snapshot.member_count) == (
        len(truth),
        sum(len(members) for members in truth.values()),
    )
    assert result.size_mismatches == ()
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["groups", "members"], "no staging left"


@pytest.mark.parametrize("seed", [1, 2])
async def test_an_export_that_gives_up_leaves_no_snapshot(
    seed: int, tmp_path: Path, fault_log: FaultLog
) -> None:
    """A client that gives up quickly, under heavy faults, fails part-way through the groups:
    the run raises a SinchError (one `Error:` line in the CLI) and leaves nothing behind."""
    with EmulatorServer(EmulatorConfig()) as server:
        await seed_groups(server, seed)
        set_faults(server, error_rate=0.2, reset_rate=0.2, seed=seed)
        fault_log.clear()
        out = tmp_path / "snapshots"
        impatient = RetryPolicy(max_attempts=2, initial=0.001, maximum=0.001)
        async with client_for(server, retry=impatient) as client:
            with pytest.raises(SinchError):
                await export_snapshot(client, out, target={}, concurrency=4)
        set_faults(server)
    assert fault_log.requests > 3, "it failed part-way through the groups, not at the start"
    assert list_snapshots(out) == []
    assert os.listdir(out) == [], "the staging folder is removed too"
